"""The table backdrop is an optimisation only: static frames must be pixel-identical to
drawing the table; wrist frames may differ only in the odd pixel where an object sinks into
the table top by contact tolerance (the analytic fill ignores depth)."""

import numpy as np
import pytest

from sim.cameras import CameraSpec
from sim.randomization import WorldRandomization
from sim.scene import PlayTableScene, SceneConfig

ACTIONS = [np.array([0.012, 0.006 * np.sin(i), -0.015, 0.05, 1.0 if i > 10 else -1.0]) for i in range(25)]


def frames(world: WorldRandomization, backdrop: bool, seed: int = 3):
    scene = PlayTableScene(
        SceneConfig(
            static_camera=CameraSpec(96, 96), wrist_camera=CameraSpec(80, 64), table_backdrop=backdrop, world=world
        )
    )
    scene.reset(seed)
    out = []
    for a in ACTIONS:
        scene.step(a)
        out += [scene.render("static"), scene.render("wrist")]
    active = scene._backdrop_active()
    scene.close()
    return out, active


@pytest.mark.parametrize(
    "world",
    [
        WorldRandomization(),
        WorldRandomization(
            name="colours",
            surface_rgb_low=(0.2, 0.3, 0.4),
            surface_rgb_high=(0.9, 0.8, 0.7),
            light_azimuth_deg=(-90, 90),
            camera_eye_jitter_m=0.05,
        ),
    ],
)
def test_backdrop_frames_equal_drawn_table(world):
    drawn, active_off = frames(world, backdrop=False)
    composited, active_on = frames(world, backdrop=True)
    assert active_on and not active_off
    wrist_mismatch = wrist_pixels = 0
    for i, (a, b) in enumerate(zip(drawn, composited, strict=True)):
        if i % 2 == 0:
            np.testing.assert_array_equal(a, b)  # static
        else:
            wrist_mismatch += int(np.any(a != b, axis=-1).sum())
            wrist_pixels += a.shape[0] * a.shape[1]
    assert wrist_mismatch <= 1e-3 * wrist_pixels


def test_textured_table_falls_back_to_drawing():
    world = WorldRandomization(name="tex", texture_probability=1.0)
    _, active = frames(world, backdrop=True)
    assert not active
