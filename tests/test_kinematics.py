"""Forward and inverse kinematics for any URDF (robolang.kinematics), on the SO-101 model and on
pybullet_data's 7-DOF Panda: round trips, limits, unreachable targets and clear errors."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pybullet as pb
import pybullet_data
import pytest

from robolang.kinematics import ArmKinematics, ArmModel, KinematicsError, UnreachableTargetError, yaw_of_rotation

REPO = Path(__file__).resolve().parents[1]
SO101_URDF = REPO / "hardware" / "so101.urdf"
PANDA_URDF = Path(pybullet_data.getDataPath()) / "franka_panda" / "panda.urdf"


@pytest.fixture(scope="module")
def so101():
    kinematics = ArmKinematics(SO101_URDF, "gripper_frame_link")
    yield kinematics
    kinematics.close()


@pytest.fixture(scope="module")
def panda():
    kinematics = ArmKinematics(PANDA_URDF, "panda_hand")
    yield kinematics
    kinematics.close()


def random_configurations(kinematics: ArmKinematics, n: int, seed: int = 0):
    """Joint vectors well inside the limits whose yaw is defined (the tool x axis not near vertical)."""
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < n:
        q = rng.uniform(kinematics.lower * 0.8, kinematics.upper * 0.8)
        if np.hypot(*kinematics.forward(q).rotation[:2, 0]) > 0.3:
            found.append(q)
    return found


def test_default_joints_are_the_chain_to_the_end_effector(so101, panda):
    assert so101.joints == ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")
    assert panda.joints == tuple(f"panda_joint{i}" for i in range(1, 8))  # not the fingers
    assert np.allclose(so101.upper, [1.91986, 1.74533, 1.69, 1.65806, 2.79253])


def test_so101_frames_base_on_the_pan_axis_gripper_forward(so101):
    """At the calibration zero (every joint mid-range) the arm reaches straight forward (+x) with
    the gripper pointing forward and its x axis to the left: yaw +90 deg."""
    pose = so101.forward(np.zeros(5))
    assert pose.position == pytest.approx([0.3525, 0.0, 0.2265], abs=1e-3)
    assert pose.approach == pytest.approx([1.0, 0.0, 0.0], abs=1e-3)
    assert pose.yaw == pytest.approx(math.pi / 2, abs=1e-3)
    turned = so101.forward([0.5, 0, 0, 0, 0])  # the pan turns about the base z axis through the origin
    assert np.hypot(*turned.position[:2]) == pytest.approx(np.hypot(*pose.position[:2]), abs=1e-6)
    assert turned.position[2] == pytest.approx(pose.position[2], abs=1e-6)


@pytest.mark.parametrize("yaw", [-3.0, -1.2, 0.0, 0.7, 2.9])
def test_yaw_is_the_tool_x_axis_heading_as_in_the_simulator(yaw):
    down = np.asarray(pb.getMatrixFromQuaternion(pb.getQuaternionFromEuler((math.pi, 0.0, yaw)))).reshape(3, 3)
    assert yaw_of_rotation(down) == pytest.approx(yaw, abs=1e-9)  # sim.panda.down_quaternion's yaw


@pytest.mark.parametrize("fixture", ["so101", "panda"])
def test_ik_round_trip_within_2_mm_and_1_deg(fixture, request):
    kinematics = request.getfixturevalue(fixture)
    rng = np.random.default_rng(1)
    for q in random_configurations(kinematics, 25):
        pose = kinematics.forward(q)
        seed = kinematics.clip(q + rng.normal(0.0, 0.15, q.shape))  # "the current joints": nearby
        solved = kinematics.inverse(pose.position, pose.yaw, seed, approach=pose.approach)
        assert np.all(solved >= kinematics.lower) and np.all(solved <= kinematics.upper)
        reached = kinematics.forward(solved)
        assert np.linalg.norm(reached.position - pose.position) < 0.002
        assert abs(math.remainder(reached.yaw - pose.yaw, math.tau)) < math.radians(1.0)


def test_small_steps_keep_the_so101_pitch(so101):
    """A 2 cm step (one full-scale action) leaves the gripper's pitch (the approach axis's angle
    below the horizontal) where it was; a sideways step turns it with the pan, as it must."""
    q = np.radians([0.0, -33.0, 33.0, 52.0, 0.0])
    pose = so101.forward(q)
    for step in ([0.02, 0, 0], [0, 0.02, 0], [0, 0, -0.02]):
        solved = so101.inverse(pose.position + step, pose.yaw, q, approach=pose.approach)
        pitch_change = np.arcsin(so101.forward(solved).approach[2]) - np.arcsin(pose.approach[2])
        assert abs(np.degrees(pitch_change)) < 3.0


def test_unreachable_target_is_refused_quickly_with_the_target_named(so101):
    start = time.perf_counter()
    with pytest.raises(UnreachableTargetError, match=r"\[1\.0, 0\.0, 0\.1\] m.*out of reach of so101\.urdf"):
        so101.inverse([1.0, 0.0, 0.1], 0.0, np.zeros(5))
    assert time.perf_counter() - start < 0.5


def test_ik_keeps_to_tighter_limits(so101):
    """A calibration narrower than the URDF: IK never leaves it, and refuses what needs more."""
    tight = ArmKinematics(SO101_URDF, "gripper_frame_link", limits={"shoulder_pan": (-0.2, 0.2)})
    try:
        assert tight.lower[0] == -0.2 and tight.upper[0] == 0.2 and tight.upper[1] == so101.upper[1]
        q = np.radians([0.0, -33.0, 33.0, 52.0, 0.0])
        pose = tight.forward(q)
        beside = pose.position + [0.0, 0.03, 0.0]  # a small pan (~0.14 rad): reachable
        assert abs(tight.inverse(beside, pose.yaw, q)[0]) <= 0.2
        far = so101.forward([1.0, *q[1:]])  # needs a 1 rad pan
        with pytest.raises(UnreachableTargetError):
            tight.inverse(far.position, far.yaw, q)
    finally:
        tight.close()


def test_forward_checks_the_joint_count(so101):
    with pytest.raises(ValueError, match="expected 5 joint angles"):
        so101.forward([0.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"urdf": REPO / "missing.urdf"}, "not found", id="missing-file"),
        pytest.param({"ee_link": "tool0"}, "no link 'tool0'", id="unknown-link"),
        pytest.param({"joints": ["shoulder_pan", "elbow"]}, r"no movable joints \['elbow'\]", id="unknown-joint"),
        pytest.param({"limits": {"gripper": (0, 1)}}, "does not move", id="limits-of-another-joint"),
        pytest.param({"limits": {"shoulder_pan": (3.0, 4.0)}}, "do not overlap", id="disjoint-limits"),
    ],
)
def test_bad_model_is_one_clear_line(kwargs, message):
    args = {"urdf": SO101_URDF, "ee_link": "gripper_frame_link", **kwargs}
    with pytest.raises(KinematicsError, match=message) as error:
        ArmKinematics(**args)
    assert "\n" not in str(error.value)


def test_urdf_pybullet_cannot_load_is_one_clear_line(tmp_path):
    broken = tmp_path / "arm.urdf"
    broken.write_text(
        '<robot name="arm"><link name="a"><visual><geometry><mesh filename="assets/a.stl"/></geometry></visual></link></robot>'
    )
    with pytest.raises(KinematicsError, match="are the meshes it names") as error:
        ArmKinematics(broken, "a")
    assert "\n" not in str(error.value)


def test_arm_model_builds_its_kinematics():
    model = ArmModel(SO101_URDF, "gripper_frame_link", ("shoulder_pan", "shoulder_lift", "elbow_flex"))
    kinematics = model.kinematics()
    try:
        assert kinematics.joints == model.joints
        assert kinematics.forward([0.0, 0.0, 0.0]).position.shape == (3,)
    finally:
        kinematics.close()
