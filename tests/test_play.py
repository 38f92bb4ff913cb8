"""`robolang play`: the simulator under scripted random motion, written as a video of both cameras."""

import av
import numpy as np
import pytest

from robolang import cli
from robolang.waypoint_motion import RandomWaypointMotion

SMALL = [
    "robot.config.static_width=64",
    "robot.config.static_height=64",
    "robot.config.wrist_width=64",
    "robot.config.wrist_height=48",
]


def decode(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_play_writes_a_video_of_both_cameras(tmp_path):
    out = tmp_path / "play.mp4"
    assert cli.main(["play", "steps=12", f"out={out}", "upscale=2", *SMALL]) == 0
    frames = decode(out)
    assert len(frames) == 12
    assert frames[0].shape == (128, 256, 3)  # (64 + 64 wide) x 2, height 64 x 2
    assert frames[0].std() > 20  # a scene, not a blank frame
    assert not (tmp_path / "play.mp4.partial").exists()


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("world=nonexistent", "world"),
        ("steps=0", "steps=0 is not allowed: steps must be an integer >= 1"),
        ("steps=abc", "steps='abc' is not allowed"),
        ("upscale=-2", "upscale=-2"),
    ],
)
def test_play_rejects_bad_input_with_a_clear_message(tmp_path, capsys, override, says):
    assert cli.main(["play", override, f"out={tmp_path / 'x.mp4'}"]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_play_refuses_a_video_format_it_cannot_write(tmp_path, capsys):
    assert cli.main(["play", f"out={tmp_path / 'x.avi'}", "steps=1"]) == 2
    assert "robolang play: error:" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_waypoint_motion_moves_towards_waypoints_and_validates_its_box():
    motion = RandomWaypointMotion(low=(0.3, -0.2, 0.05), high=(0.6, 0.2, 0.2), seed=1)
    obs = {"ee.x": 0.45, "ee.y": 0.0, "ee.z": 0.1, "ee.yaw": 0.0}
    action = motion(obs)
    direction = motion.waypoint - np.array([0.45, 0.0, 0.1])
    assert np.all(np.sign([action["dx"], action["dy"], action["dz"]]) == np.sign(direction))
    with pytest.raises(ValueError, match="low < high"):
        RandomWaypointMotion(low=(0.6, 0, 0), high=(0.3, 1, 1))
