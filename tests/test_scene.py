"""Behaviour of the play table: fixtures, contacts, workspace limits, cameras, state vector."""

import numpy as np
import pytest

from sim import assets
from sim.cameras import CameraSpec
from sim.scene import PlayTableScene, SceneConfig

SMALL = SceneConfig(static_camera=CameraSpec(64, 64), wrist_camera=CameraSpec(64, 64, fov=75.0))


@pytest.fixture
def scene():
    s = PlayTableScene(SMALL)
    s.reset(0)
    yield s
    s.close()


def move_to(scene, target, gripper=1.0, max_steps=80):
    """Servo the commanded end-effector target to ``target`` (m) in 2 cm steps."""
    for _ in range(max_steps):
        delta = np.clip(np.asarray(target) - scene.arm.target_pos, -0.02, 0.02)
        scene.step(np.array([*delta, 0.0, gripper]))
        if np.linalg.norm(np.asarray(target) - scene.scene_state()["robot"]["ee_pos"]) < 0.005:
            return
    raise AssertionError(f"end effector did not reach {target}")


def test_pressing_the_button_toggles_the_light_once_per_press(scene):
    bx, by = assets.BUTTON_POS
    before = scene.light_on
    move_to(scene, [bx, by, 0.15])
    assert scene.light_on == before  # hovering does nothing
    press(scene, bx, by)
    assert scene.scene_state()["fixtures"]["button"] < -0.6 * assets.BUTTON_TRAVEL
    assert scene.light_on != before
    move_to(scene, [bx, by, 0.15])
    assert scene.scene_state()["fixtures"]["button"] > -0.001  # the spring returns it
    assert scene.light_on != before  # releasing does not toggle again
    press(scene, bx, by)
    assert scene.light_on == before


def press(scene, x, y, steps=15):
    """Push down on (x, y) with a closed gripper: the button stops the hand above the target."""
    for _ in range(steps):
        delta = np.clip(np.array([x, y, 0.02]) - scene.arm.target_pos, -0.02, 0.02)
        scene.step(np.array([*delta, 0.0, 1.0]))


def test_objects_rest_on_the_table_after_reset(scene):
    state = scene.scene_state()
    for spec in assets.OBJECTS:
        pos = state["objects"][spec.name]["pos"]
        assert pos[2] == pytest.approx(spec.half_height, abs=0.005)
        assert assets.OBJECT_REGION_LOW[0] - 0.01 <= pos[0] <= assets.OBJECT_REGION_HIGH[0] + 0.01
        assert (spec.name, "table") in state["contacts"] or ("table", spec.name) in state["contacts"]


def test_layout_and_fixtures_depend_on_the_seed(scene):
    first = scene.scene_vector()
    scene.reset(1)
    assert not np.array_equal(first, scene.scene_vector())


def test_grasping_reports_gripper_contact(scene):
    cube = np.array(scene.scene_state()["objects"]["red_cube"]["pos"])
    yaw = scene.scene_state()["objects"]["red_cube"]["yaw"]
    # Align the fingers with the cube's faces (cube symmetry: any multiple of 90 degrees).
    target_yaw = (yaw + np.pi / 4) % (np.pi / 2) - np.pi / 4
    for _ in range(10):
        scene.step(np.array([0, 0, 0, np.clip(target_yaw - scene.arm.target_yaw, -0.15, 0.15), -1.0]))
    move_to(scene, [*cube[:2], 0.12], gripper=-1.0)
    move_to(scene, [*cube[:2], cube[2]], gripper=-1.0)
    for _ in range(5):
        scene.step(np.array([0, 0, 0, 0, 1.0]))
    state = scene.scene_state()
    assert ("gripper", "red_cube") in state["contacts"]
    move_to(scene, [*cube[:2], 0.15], gripper=1.0)
    assert scene.scene_state()["objects"]["red_cube"]["pos"][2] > 0.08  # lifted


def test_workspace_clamp_is_reported_in_the_applied_delta(scene):
    scene.arm.target_pos = np.array(scene.config.workspace.high) - [0, 0, 0.005]
    applied = scene.step(np.array([0.0, 0.0, 0.02, 0.0, -1.0]))
    assert applied[2] == pytest.approx(0.005)


def test_cameras_have_configured_shapes_and_show_the_scene(scene):
    static, wrist = scene.render("static"), scene.render("wrist")
    assert static.shape == (64, 64, 3) and wrist.shape == (64, 64, 3)
    assert static.dtype == np.uint8
    # Not a blank frame: several distinct colours (table, arm, blocks, fixtures).
    assert len(np.unique(static.reshape(-1, 3), axis=0)) > 50
    with pytest.raises(ValueError, match="unknown camera"):
        scene.render("top")


def test_scene_vector_names_every_entry(scene):
    vec = scene.scene_vector()
    fields = scene.vector.fields
    assert vec.shape == (len(fields),) and vec.dtype == np.float32
    assert len(set(fields)) == len(fields)
    assert vec[fields.index("drawer.pos")] == pytest.approx(scene.scene_state()["fixtures"]["drawer"])
    assert vec[fields.index("contact.red_cube.table")] == 1.0
