"""The SO-101 driver and leader arm against fake Feetech servos on a fake serial port.

Below LeRobot's bus only the serial port is replaced (``helpers/feetech.py``: register tables per
motor that answer the SDK's packets), so LeRobot's ``SO101Follower`` / ``SO101Leader``, their
calibration files and degree conversion, and the robolang driver all run for real; cameras are
LeRobot's ``OpenCVCamera`` replaced by a fake (STYLE.md 9: mock the bus, not the robot).
"""

from __future__ import annotations

import ast
import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import feetech
from helpers.feetech import MOTORS, RANGES, FakeChain, arm_ticks, radians_of
from hydra.utils import instantiate
from lerobot.cameras import opencv
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from hardware.config_so101 import SO101ConfigError, SO101RobotConfig
from hardware.so101 import SO101PortError, SO101Robot, gripper_goal, step_target
from hardware.so101_urdf import SHIPPED_URDF, generate_urdf
from robolang import teleop_record
from robolang.config import load_config
from robolang.features import ACTION_NAMES, STATE_NAMES
from robolang.kinematics import ArmKinematics
from robolang.robot import EEDeltaLimits, RobotFault
from robolang.safety import UnsafeActionError
from robolang.teleop import ScriptedDevice, TeleopEvent, TeleopInput, TerminalKeyboard, idle_action, run_teleop
from robolang.teleop.leader_arm import LeaderArm, LeaderArmError, leader_action, trigger_command
from robolang.testing import RobotConformanceSuite

REPO = Path(__file__).resolve().parents[1]
FOLLOWER, LEADER = "/dev/fake-so101", "/dev/fake-leader"
ARM = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")
# Over the table, 22 cm out and 10 cm up, gripper tilted down: LeRobot degrees.
START_DEGREES = {"shoulder_lift": -33.0, "elbow_flex": 33.0, "wrist_flex": 52.0}
CAMERAS = {
    "static": {"type": "opencv", "index_or_path": 0, "width": 64, "height": 48},
    "wrist": {"type": "opencv", "index_or_path": 1, "width": 32, "height": 24},
}
STEP_M = 0.02  # full scale, EEDeltaLimits' default


class FakeCamera:
    """Stands in for LeRobot's OpenCVCamera: solid frames of the configured size."""

    def __init__(self, config):
        self.config, self.is_connected = config, False

    def connect(self, warmup: bool = True):
        self.is_connected = True

    def async_read(self, timeout_ms: float = 200):
        return np.full((self.config.height, self.config.width, 3), 90, dtype=np.uint8)

    def disconnect(self):
        self.is_connected = False


class Rig:
    """The fake follower (and leader) motors and calibration files of one test."""

    def __init__(self, monkeypatch, folder: Path):
        self.follower = FakeChain(arm_ticks(START_DEGREES, 50.0))
        self.leader = FakeChain(arm_ticks(START_DEGREES, 50.0))
        self.follower_calibration = folder / "follower"
        self.leader_calibration = folder / "leader"
        feetech.write_calibration(self.follower_calibration, "arm")
        feetech.write_calibration(self.leader_calibration, "leader")
        self.chains = {FOLLOWER: self.follower, LEADER: self.leader}
        feetech.install(monkeypatch, self.chains)
        monkeypatch.setattr(opencv, "OpenCVCamera", FakeCamera)

    def config(self, **overrides) -> SO101RobotConfig:
        # Small, non-square images: an (H, W) swap anywhere fails the conformance shape checks.
        settings = dict(
            port=FOLLOWER,
            id="arm",
            calibration_dir=self.follower_calibration,
            cameras=CAMERAS,
            static_width=48,
            static_height=40,
            wrist_width=32,
            wrist_height=24,
        )
        return SO101RobotConfig(**{**settings, **overrides})

    def goal_radians(self) -> np.ndarray:
        """The arm joint goals of the last goal-position write (rad)."""
        return np.array([radians_of(self.follower.goals[-1][m], m) for m in ARM])


def action(**values) -> dict[str, float]:
    return {**{k: 0.0 for k in ACTION_NAMES}, "gripper": -1.0, **values}


def pose_of(robot: SO101Robot) -> np.ndarray:
    obs = robot.get_observation()
    return np.array([obs["ee.x"], obs["ee.y"], obs["ee.z"], obs["ee.yaw"]])


@pytest.fixture
def rig(monkeypatch, tmp_path) -> Rig:
    return Rig(monkeypatch, tmp_path)


@pytest.fixture
def robot(rig):
    robot = SO101Robot(rig.config())
    robot.connect()
    yield robot
    if robot.is_connected:
        robot.disconnect()


@pytest.fixture(scope="module")
def kinematics():
    model = ArmKinematics(SHIPPED_URDF, "gripper_frame_link")
    yield model
    model.close()


# ---- the contract ------------------------------------------------------------------------------
class TestSO101Conformance(RobotConformanceSuite):
    @pytest.fixture(autouse=True)
    def _fake_bus(self, monkeypatch, tmp_path):
        self.rig = Rig(monkeypatch, tmp_path)

    def make_robot(self) -> SO101Robot:
        return SO101Robot(self.rig.config())

    def commands_sent(self, robot: SO101Robot) -> int:
        return self.rig.follower.writes  # every write and sync-write packet on the bus


def test_shipped_urdf_is_the_generators_output():
    assert SHIPPED_URDF.read_text() == generate_urdf(), "run: python -m hardware.so101_urdf"


# ---- what reaches the motors -------------------------------------------------------------------
@pytest.mark.parametrize(("key", "axis"), [("dx", 0), ("dy", 1), ("dz", 2)])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_each_axis_moves_the_gripper_by_the_scaled_step(robot, rig, kinematics, key, axis, sign):
    before = pose_of(robot)
    applied = robot.send_action(action(**{key: 0.5 * sign}))
    assert applied[key] == pytest.approx(0.5 * sign)
    goal = kinematics.forward(rig.goal_radians())  # where the written goals put the gripper
    expected = before[:3].copy()
    expected[axis] += 0.5 * sign * STEP_M
    assert np.linalg.norm(goal.position - expected) < 0.002
    assert math.remainder(goal.yaw - before[3], math.tau) == pytest.approx(0.0, abs=math.radians(1))
    assert np.linalg.norm(pose_of(robot)[:3] - expected) < 0.002  # the ideal servos got there


def test_dyaw_is_carried_by_the_wrist_roll(robot, rig, kinematics):
    roll_before = rig.follower.present("wrist_roll")
    before = pose_of(robot)
    assert robot.send_action(action(dyaw=1.0))["dyaw"] == pytest.approx(1.0)
    after = pose_of(robot)
    assert math.remainder(after[3] - before[3], math.tau) == pytest.approx(0.15, abs=math.radians(1))
    assert np.linalg.norm(after[:3] - before[:3]) < 0.002  # turning in place
    turned = radians_of(rig.follower.present("wrist_roll"), "wrist_roll") - radians_of(roll_before, "wrist_roll")
    assert abs(turned) > 0.1  # the roll moved most; pan and the rest only correct the 8 mm jaw offset


def test_clipped_action_writes_the_clipped_goal(monkeypatch, tmp_path):
    written = []
    for dx in (5.0, 1.0):  # the same start each time: a fresh rig
        fresh = Rig(monkeypatch, tmp_path / str(dx))
        robot = SO101Robot(fresh.config())
        robot.connect()
        applied = robot.send_action(action(dx=dx))
        written.append(fresh.follower.goals[-1])
        assert applied["dx"] == 1.0 and robot.last_clipped["dx"] is (dx > 1)
        robot.disconnect()
    assert written[0] == written[1]  # dx=5 wrote exactly what dx=1 writes


def test_nan_writes_nothing(robot, rig):
    robot.send_action(action(dx=0.5))
    writes, goals = rig.follower.writes, list(rig.follower.goals)
    for bad in (math.nan, math.inf):
        with pytest.raises(UnsafeActionError):
            robot.send_action(action(dy=bad))
    assert rig.follower.writes == writes and rig.follower.goals == goals


def test_gripper_command_spans_the_calibrated_gripper_range(robot, rig):
    low, high = RANGES["gripper"]
    for command, ticks in ((-1.0, high), (1.0, low), (0.0, (low + high) // 2)):
        robot.send_action(action(gripper=command))
        assert rig.follower.goals[-1]["gripper"] == pytest.approx(ticks, abs=1)  # LeRobot: 100 open, 0 closed
    assert gripper_goal(-1.0, 100.0, 0.0) == 100.0 and gripper_goal(1.0, 100.0, 0.0) == 0.0
    assert trigger_command(gripper_goal(0.3, 80.0, 10.0), 80.0, 10.0) == pytest.approx(
        0.3
    )  # a leader's trigger maps back


def test_holding_still_resends_the_last_goal(robot, rig):
    robot.send_action(action(dx=0.7, dz=-0.4))
    moved = dict(rig.follower.goals[-1])
    robot.send_action(action(gripper=1.0))
    held = rig.follower.goals[-1]
    assert {m: held[m] for m in ARM} == {m: moved[m] for m in ARM}
    assert held["gripper"] != moved["gripper"]


def test_a_sagging_arm_does_not_sink(robot, rig, kinematics):
    """Servos that settle 1.5 deg below their goals: steps continue from the last target, not
    from the sagged pose, so the commanded height stays put instead of sinking every step."""
    rig.follower.servos[MOTORS["shoulder_lift"]].sag = 17  # ticks, ~1.5 deg
    start_z = pose_of(robot)[2]
    for _ in range(8):
        robot.send_action(action(dx=0.5))
    assert kinematics.forward(rig.goal_radians()).position[2] == pytest.approx(start_z, abs=0.002)


def test_proprioception_is_fk_of_the_measured_joints(robot, rig, kinematics):
    obs = robot.get_observation()
    joints = np.array([radians_of(rig.follower.present(m), m) for m in ARM])
    assert [obs[f"joint{i}.pos"] for i in range(1, 6)] == pytest.approx(joints.tolist())
    assert obs["joint6.pos"] == 0.0 and obs["joint7.pos"] == 0.0
    pose = kinematics.forward(joints)
    assert [obs["ee.x"], obs["ee.y"], obs["ee.z"], obs["ee.yaw"]] == pytest.approx([*pose.position, pose.yaw])
    assert obs["ee.x"] == pytest.approx(0.22, abs=0.01) and obs["ee.z"] == pytest.approx(0.10, abs=0.01)
    assert obs["gripper.width"] == pytest.approx(0.04, abs=1e-3)  # half open of 0.08 m
    assert list(obs)[: len(STATE_NAMES)] == list(STATE_NAMES)


def test_data_timestamp_is_the_oldest_reading(robot):
    before = time.monotonic()
    robot.get_observation()
    assert before <= robot.data_timestamp() <= time.monotonic()  # the cameras' frames and the joint read


def test_workspace_box_never_pulls_the_arm_in_with_a_jump():
    box = ((0.10, -0.28, 0.01), (0.38, 0.28, 0.30))
    target, yaw, moved = step_target([0.30, 0.0, 0.29], 0.5, [0.0, 0.0, 0.02, 0.1], box)
    assert target.tolist() == pytest.approx([0.30, 0.0, 0.30]) and moved.tolist() == pytest.approx([0, 0, 0.01, 0.1])
    target, _, moved = step_target([0.05, 0.0, 0.2], 0.0, [-0.02, 0.0, 0.0, 0.0], box)  # outside, pushing out
    assert target[0] == pytest.approx(0.05) and moved[0] == 0.0
    target, _, moved = step_target([0.05, 0.0, 0.2], 0.0, [0.02, 0.0, 0.0, 0.0], box)  # outside, coming back
    assert target[0] == pytest.approx(0.07) and moved[0] == pytest.approx(0.02)
    assert step_target([0.2, 0, 0.1], 3.1, [0, 0, 0, 0.1], box)[1] == pytest.approx(3.2 - 2 * math.pi)


def test_step_out_of_reach_holds_the_arm(rig):
    """A box wider than the arm's reach: pushing outwards ends in holding, and says so."""
    robot = SO101Robot(rig.config(workspace_high=[0.9, 0.5, 0.6]))
    robot.connect()
    try:
        for _ in range(40):
            applied = robot.send_action(action(dx=1.0, dz=1.0))
        goals = rig.follower.goals[-1]
        assert applied["dx"] == 0.0 and applied["dz"] == 0.0  # held: nothing applied
        robot.send_action(action(dx=1.0, dz=1.0))
        assert rig.follower.goals[-1] == goals
        assert robot.send_action(action(dx=-1.0))["dx"] < 0.0  # and comes back (stretched out: in a shorter step)
    finally:
        robot.disconnect()


# ---- faults and set-up errors ------------------------------------------------------------------
@pytest.mark.parametrize("failure", ["silent", "unplugged"])
def test_bus_failure_mid_run_is_a_robot_fault(robot, rig, failure):
    robot.send_action(action(dx=0.5))
    setattr(rig.follower, failure, True)
    with pytest.raises(RobotFault, match=f"SO-101 on {FOLLOWER}: lost contact with the motors") as error:
        robot.get_observation()
    assert "\n" not in str(error.value) and "USB cable" in str(error.value)
    setattr(rig.follower, failure, False)  # even if it answers again: nothing more is sent
    writes = rig.follower.writes
    with pytest.raises(RobotFault):
        robot.send_action(action(dx=0.5))
    robot.disconnect()
    assert rig.follower.writes == writes and not robot.is_connected  # no torque-off after a fault


def test_lost_bus_while_writing_is_a_robot_fault(robot, rig):
    rig.follower.unplug_at_write = rig.follower.writes  # the joints read fine; the goal write fails
    with pytest.raises(RobotFault, match="while writing the goal positions"):
        robot.send_action(action(dx=0.5))


def test_wrong_port_is_one_line_naming_the_port_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(opencv, "OpenCVCamera", FakeCamera)
    feetech.write_calibration(tmp_path, "arm")
    port = str(tmp_path / "ttyACM9")  # the real serial module: no such device
    robot = SO101Robot(SO101RobotConfig(port=port, id="arm", calibration_dir=tmp_path, cameras=CAMERAS))
    with pytest.raises(SO101PortError, match="no serial device at") as error:
        robot.connect()
    message = str(error.value)
    assert port in message and "lerobot-find-port" in message and "robot.config.port" in message
    assert "\n" not in message and not robot.is_connected


def test_port_without_motors_says_so(rig):
    rig.follower.silent = True
    robot = SO101Robot(rig.config())
    with pytest.raises(SO101PortError, match="did not answer") as error:
        robot.connect()
    assert "follower's port" in str(error.value) and "\n" not in str(error.value)
    assert not robot.is_connected


def test_missing_calibration_names_lerobot_calibrate(rig):
    robot = SO101Robot(rig.config(id="other"))
    with pytest.raises(SO101ConfigError, match="lerobot-calibrate --robot.type=so101_follower") as error:
        robot.connect()
    assert "--robot.id=other" in str(error.value) and rig.follower.writes == 0


def test_calibration_file_is_written_to_uncalibrated_motors(monkeypatch, tmp_path):
    rig = Rig(monkeypatch, tmp_path)
    rig.follower = rig.chains[FOLLOWER] = FakeChain(arm_ticks(START_DEGREES, 50.0), calibrated=False)
    robot = SO101Robot(rig.config())
    robot.connect()
    servo = rig.follower.servos[MOTORS["elbow_flex"]]
    assert (servo.get(feetech.MIN_LIMIT), servo.get(feetech.MAX_LIMIT)) == RANGES["elbow_flex"]
    robot.disconnect()


def test_joint_limits_come_from_the_calibration(robot):
    half_pan = math.radians((RANGES["shoulder_pan"][1] - RANGES["shoulder_pan"][0]) / 2 * 360 / 4095)
    assert robot.kinematics.upper[0] == pytest.approx(half_pan)  # tighter than the URDF's 110 deg
    assert robot.kinematics.upper[4] == pytest.approx(2.79253)  # the roll's full turn: the URDF's 160 deg


def test_missing_sdk_is_one_line_naming_the_extra(rig, monkeypatch):
    monkeypatch.setitem(sys.modules, "scservo_sdk", None)
    robot = SO101Robot(rig.config())
    with pytest.raises(SO101ConfigError, match=r'pip install -e "\.\[so101\]"'):
        robot.connect()
    assert not robot.is_connected and rig.follower.writes == 0


def test_sdk_is_imported_only_on_connect():
    """No module-level import of the Feetech SDK or LeRobot's SO-101 classes: ``import hardware``
    and ``robolang.teleop`` work without the so101 extra."""
    sdk = ("scservo_sdk", "lerobot.robots.so_follower", "lerobot.teleoperators.so_leader", "lerobot.motors.feetech")
    for path in (
        "hardware/so101.py",
        "hardware/config_so101.py",
        "hardware/so101_urdf.py",
        "robolang/teleop/leader_arm.py",
    ):
        tree = ast.parse((REPO / path).read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert not [m for m in names if m.startswith(sdk)], f"{path} imports the SDK at module level"


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        pytest.param({"port": ""}, "port", id="port"),
        pytest.param({"id": None}, "lerobot-calibrate", id="id"),
        pytest.param({"workspace_low": [0.4, 0.0, 0.0]}, "workspace_low", id="box"),
        pytest.param({"gripper_open": 150}, "0-100", id="gripper-range"),
        pytest.param({"gripper_open": 0}, "must differ", id="gripper-equal"),
        pytest.param({"max_joint_step_deg": 0}, "max_joint_step_deg", id="joint-step"),
    ],
)
def test_config_error_is_one_line(rig, overrides, names):
    with pytest.raises(SO101ConfigError, match=names) as error:
        rig.config(**overrides)
    assert "\n" not in str(error.value)


def test_hydra_config_builds_the_robot(rig):
    cfg = load_config(
        "teleop", ["robot=so101", "device=so101_leader", f"robot.config.calibration_dir={rig.follower_calibration}"]
    )
    robot = instantiate(cfg.robot, _convert_="all")
    assert isinstance(robot, SO101Robot) and not robot.is_connected
    assert robot.config.port == "/dev/ttyACM0" and robot.camera_shape("wrist") == (128, 128, 3)
    assert robot.arm_model.urdf == SHIPPED_URDF and robot.workspace[1] == (0.38, 0.28, 0.30)


# ---- the leader arm ----------------------------------------------------------------------------
def leader_device(rig: Rig, robot, **overrides) -> LeaderArm:
    settings = dict(port=LEADER, id="leader", calibration_dir=str(rig.leader_calibration), robot=robot)
    return LeaderArm(**{**settings, **overrides})


def test_leader_action_is_the_clipped_normalized_step_towards_the_leader(kinematics):
    leader = kinematics.forward(np.radians([0.0, -33.0, 33.0, 52.0, 0.0]))
    limits = EEDeltaLimits()
    near = leader_action(leader, leader.position - [0.01, 0.0, 0.0], leader.yaw - 0.03, 1.0, limits, 0.002, 0.026)
    assert [near[k] for k in ACTION_NAMES] == pytest.approx([0.5, 0.0, 0.0, 0.2, 1.0])
    far = leader_action(leader, leader.position - [0.0, 0.3, -0.1], leader.yaw + 1.0, -1.0, limits, 0.002, 0.026)
    assert [far[k] for k in ACTION_NAMES] == pytest.approx([0.0, 1.0, -1.0, -1.0, -1.0])  # full scale at most
    still = leader_action(leader, leader.position + [0.001, 0, 0], leader.yaw + 0.01, 0.0, limits, 0.002, 0.026)
    assert [still[k] for k in ACTION_NAMES[:4]] == [0.0] * 4  # encoder noise: hold still
    wrapped = leader_action(leader, leader.position, leader.yaw - 2 * math.pi + 0.05, 0.0, limits, 0.002, 0.026)
    assert wrapped["dyaw"] == pytest.approx(-0.05 / 0.15)  # the short way round
    assert trigger_command(0.0, 100.0, 0.0) == 1.0 and trigger_command(100.0, 100.0, 0.0) == -1.0


def test_leader_arm_brings_the_follower_to_its_pose(rig, robot, kinematics):
    """The leader held 4 cm further out, 3 cm to the left, its trigger pulled: the follower's
    gripper ends where the leader's is (at most 2 cm per step on the way) and closes."""
    leader_degrees = {"shoulder_pan": -8.0, "shoulder_lift": -20.0, "elbow_flex": 25.0, "wrist_flex": 48.0}
    rig.leader.move(arm_ticks(leader_degrees, 0.0))
    target = kinematics.forward(np.radians([leader_degrees.get(m, 0.0) for m in ARM]))
    steps = []
    device = leader_device(rig, robot)
    clock = iter(np.arange(0.0, 100.0, 0.1))
    run_teleop(
        robot,
        device,
        max_steps=12,
        on_step=lambda *f: steps.append(f),
        clock=lambda: next(clock),
        sleep=lambda s: None,
        print_fn=None,
    )
    assert not device.is_connected and not rig.leader.goals  # the leader is only read, never driven
    assert np.linalg.norm(pose_of(robot)[:3] - target.position) < 0.004
    moved = [np.linalg.norm([f[1][k] for k in ("dx", "dy", "dz")]) for f in steps]
    assert max(moved) <= math.sqrt(3) and moved[0] > 0.5 and moved[-1] == 0.0  # then it holds still
    assert all(f[1]["gripper"] == 1.0 for f in steps)
    assert rig.follower.goals[-1]["gripper"] == RANGES["gripper"][0]  # closed


def test_leader_arm_events_come_from_its_events_device(rig, robot):
    script = [{"dx": 1.0}, TeleopInput(idle_action(), frozenset({TeleopEvent.NEXT_EPISODE}))]
    with leader_device(rig, robot, events_from=ScriptedDevice(script)) as device:
        first = device.poll()
        assert first.events == frozenset() and first.action["dx"] == 0.0  # its motion keys are ignored
        assert device.poll().events == {TeleopEvent.NEXT_EPISODE}
        assert device.poll().events == {TeleopEvent.STOP}
    assert "stop teleoperating" in leader_device(rig, robot, events_from=TerminalKeyboard()).format_key_map()


def test_leader_arm_errors_are_one_clear_line(rig, robot):
    with pytest.raises(LeaderArmError, match="lerobot-calibrate --teleop.type=so101_leader") as error:
        leader_device(rig, robot, id="other").connect()
    assert "--teleop.id=other" in str(error.value)
    with pytest.raises(LeaderArmError, match="/dev/fake-nothing.*lerobot-find-port"):
        leader_device(rig, robot, port="/dev/fake-nothing", calibration_dir=str(rig.leader_calibration)).connect()
    with pytest.raises(LeaderArmError, match="robot=so101"):
        leader_device(rig, None).connect()
    rig.leader.unplugged = True
    device = leader_device(rig, robot)
    with pytest.raises(LeaderArmError, match=LEADER):
        device.connect()
    assert not device.is_connected


# ---- walk-through: robolang teleop robot=so101 device=so101_leader -------------------------------
def test_walkthrough_teleoperated_play_on_the_so101_is_recorded(rig, tmp_path):
    """What a user runs, on the fake buses: the leader moved by hand along a path (and its
    trigger squeezed) for 1.5 s, recorded as one play episode of the follower."""
    path = [
        arm_ticks(
            {"shoulder_pan": -0.8 * i, "shoulder_lift": -33.0 + 0.6 * i, "elbow_flex": 33.0, "wrist_flex": 52.0},
            50.0 - 3 * i,
        )
        for i in range(20)
    ]
    rig.leader.trajectory = iter(path)
    out = tmp_path / "teleop"
    overrides = [
        "robot=so101",
        "device=so101_leader",
        f"robot.config.port={FOLLOWER}",
        "robot.config.id=arm",
        f"robot.config.calibration_dir={rig.follower_calibration}",
        "robot.config.static_width=48",
        "robot.config.static_height=40",
        "robot.config.wrist_width=32",
        "robot.config.wrist_height=24",
        f"device.port={LEADER}",
        "device.id=leader",
        f"device.calibration_dir={rig.leader_calibration}",
        "device.events_from=null",  # no terminal under pytest: the session ends after `minutes`
        f"out={out}",
        "minutes=0.025",  # 15 steps at 10 Hz
        "fps=1000",  # paced fast: a test need not wait 1.5 s
    ]
    assert teleop_record.run(load_config("teleop", overrides)) == 1
    dataset = LeRobotDataset("robolang/teleop", root=out)
    assert dataset.num_episodes == 1 and dataset.meta.total_frames == 15
    assert dataset.meta.robot_type == "robolang_so101"
    frame = dataset[14]
    assert frame["task"] == "play" and tuple(frame["observation.images.static"].shape) == (3, 40, 48)
    actions = np.stack([dataset[i]["action"].numpy() for i in range(15)])
    assert actions[:, 1].max() > 0.1 and actions[-1, 4] > 0.5  # followed the pan to the left, closing the gripper
    state = np.stack([dataset[i]["observation.state"].numpy() for i in range(15)])
    assert state[-1, 1] - state[0, 1] > 0.02  # the follower's gripper went left (ee.y)
    assert len(rig.follower.goals) == 15 and not rig.leader.goals
