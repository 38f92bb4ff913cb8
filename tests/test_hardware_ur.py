"""The UR driver against a fake ur_rtde: the conformance suite, faults, and what reaches the arm.

The SDK modules (``rtde_control``, ``rtde_receive``, ``rtde_io``) are replaced in ``sys.modules``
by fakes that share one ``FakeArm``: it holds the TCP pose, joints, outputs and safety flags
and logs every command (servoL, servoStop, stopScript, moveJ, setTcp, digital outputs). The
cameras are LeRobot's ``OpenCVCamera`` class replaced by a fake. The robot class itself is the
real one (STYLE.md 9).
"""

from __future__ import annotations

import ast
import math
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from lerobot.cameras import opencv

from hardware.cameras import CameraConfigError
from hardware.ur import URConfigError, URRobot, URRobotConfig
from hardware.ur_pose import matrix_to_rotvec, nearest_rotvec, rotvec_to_matrix, servo_target, tool_yaw
from robolang.errors import RobolangError
from robolang.features import ACTION_NAMES, STATE_NAMES
from robolang.robot import RobotFault
from robolang.safety import UnsafeActionError
from robolang.testing import RobotConformanceSuite

REPO = Path(__file__).resolve().parents[1]
HOME_POSE = [0.45, -0.05, 0.30, 0.0, math.pi, 0.0]  # TCP pointing straight down
HOME_Q = [0.0, -1.57, 1.57, -1.57, -1.57, 0.0]
COMMANDS = ("servoL", "servoStop", "stopScript", "moveJ", "setTcp", "setStandardDigitalOut", "setToolDigitalOut")
CAMERAS = {
    "static": {"type": "opencv", "index_or_path": 0, "width": 64, "height": 48},
    "wrist": {"type": "opencv", "index_or_path": 1, "width": 32, "height": 24},
}


# ---- the fake controller and SDK ------------------------------------------------------------------
class FakeArm:
    """What the three fake RTDE interfaces talk to: state, safety flags and a command log."""

    def __init__(self):
        self.pose, self.q = list(HOME_POSE), list(HOME_Q)
        self.outputs = [False] * 18  # standard 0-7, configurable 8-15, tool 16-17
        self.clear()
        self.link_error: str | None = None  # servoL raises RuntimeError(link_error) when set
        self.commands: list[tuple[str, tuple]] = []
        self.opened: list[str] = []  # the interfaces constructed, by name
        self.closed: list[str] = []

    def clear(self) -> None:
        """No stop, the script running, the link up."""
        self.connected, self.program_running = True, True
        self.protective_stop = self.emergency_stop = False
        self.safety_mode = 1  # NORMAL

    def log(self, name: str, *args) -> bool:
        self.commands.append((name, args))
        return True

    def last(self, name: str) -> tuple:
        return [args for n, args in self.commands if n == name][-1]


class FakeReceive:
    def __init__(self, arm: FakeArm, host: str):
        self.arm = arm
        arm.opened.append("receive")

    def getActualTCPPose(self):
        return list(self.arm.pose)

    def getActualQ(self):
        return list(self.arm.q)

    def getDigitalOutState(self, output_id):
        return self.arm.outputs[output_id]

    def isConnected(self):
        return self.arm.connected

    def isProtectiveStopped(self):
        return self.arm.protective_stop

    def isEmergencyStopped(self):
        return self.arm.emergency_stop

    def getSafetyMode(self):
        return self.arm.safety_mode

    def disconnect(self):
        self.arm.closed.append("receive")


class FakeControl:
    def __init__(self, arm: FakeArm, host: str):
        self.arm = arm
        arm.opened.append("control")

    def servoL(self, pose, speed, acceleration, time, lookahead_time, gain):
        if self.arm.link_error:
            raise RuntimeError(self.arm.link_error)
        self.arm.pose = list(pose)  # the fake tracks its target at once
        return self.arm.log("servoL", list(pose), speed, acceleration, time, lookahead_time, gain)

    def servoStop(self, a=10.0):
        return self.arm.log("servoStop")

    def stopScript(self):
        self.arm.log("stopScript")

    def moveJ(self, q, speed, acceleration):
        self.arm.q = list(q)
        return self.arm.log("moveJ", list(q), speed, acceleration)

    def setTcp(self, tcp_offset):
        return self.arm.log("setTcp", list(tcp_offset))

    def isConnected(self):
        return self.arm.connected

    def isProgramRunning(self):
        return self.arm.program_running

    def disconnect(self):
        self.arm.closed.append("control")


class FakeIO:
    def __init__(self, arm: FakeArm, host: str):
        self.arm = arm
        arm.opened.append("io")

    def setStandardDigitalOut(self, output_id, signal_level):
        self.arm.outputs[output_id] = bool(signal_level)
        return self.arm.log("setStandardDigitalOut", output_id, signal_level)

    def setToolDigitalOut(self, output_id, signal_level):
        self.arm.outputs[16 + output_id] = bool(signal_level)
        return self.arm.log("setToolDigitalOut", output_id, signal_level)

    def disconnect(self):
        self.arm.closed.append("io")


class FakeCamera:
    """Stands in for LeRobot's OpenCVCamera: solid frames of the configured size, stamped like
    LeRobot's (``latest_frame``/``latest_timestamp`` in ``time.perf_counter()`` under ``frame_lock``)."""

    opened: list[FakeCamera] = []

    def __init__(self, config):
        self.config, self.is_connected = config, False
        self.frame_lock, self.latest_frame, self.latest_timestamp = threading.Lock(), None, None
        self.age_s = 0.0  # how old each frame is when read
        self.dead = False  # True: no frame comes any more

    def connect(self, warmup: bool = True):
        self.is_connected = True
        FakeCamera.opened.append(self)

    def async_read(self, timeout_ms: float = 200):
        if self.dead:
            raise TimeoutError(f"Timed out waiting for frame after {timeout_ms} ms.")
        with self.frame_lock:
            self.latest_frame = np.full((self.config.height, self.config.width, 3), 90, dtype=np.uint8)
            self.latest_timestamp = time.perf_counter() - self.age_s
            return self.latest_frame

    def disconnect(self):
        self.is_connected = False


def install_fake_sdk(monkeypatch) -> FakeArm:
    arm = FakeArm()
    for module, name, cls in (
        ("rtde_control", "RTDEControlInterface", FakeControl),
        ("rtde_receive", "RTDEReceiveInterface", FakeReceive),
        ("rtde_io", "RTDEIOInterface", FakeIO),
    ):
        monkeypatch.setitem(sys.modules, module, SimpleNamespace(**{name: lambda host, cls=cls: cls(arm, host)}))
    FakeCamera.opened = []
    monkeypatch.setattr(opencv, "OpenCVCamera", FakeCamera)
    return arm


def make_config(**overrides) -> URRobotConfig:
    # Small, non-square images: an (H, W) swap anywhere fails the conformance shape checks.
    settings = dict(
        host="192.168.1.10", cameras=CAMERAS, static_width=48, static_height=40, wrist_width=32, wrist_height=24
    )
    return URRobotConfig(**{**settings, **overrides})


def action(**values) -> dict[str, float]:
    return {**{k: 0.0 for k in ACTION_NAMES}, "gripper": -1.0, **values}


def commands(arm: FakeArm) -> int:
    return sum(name in COMMANDS for name, _ in arm.commands)


@pytest.fixture
def arm(monkeypatch) -> FakeArm:
    return install_fake_sdk(monkeypatch)


@pytest.fixture
def robot(arm):
    robot = URRobot(make_config())
    robot.connect()
    yield robot
    if robot.is_connected:
        robot.disconnect()


# ---- the contract ------------------------------------------------------------------------------
class TestURConformance(RobotConformanceSuite):
    @pytest.fixture(autouse=True)
    def _fake_sdk(self, monkeypatch):
        self.arm = install_fake_sdk(monkeypatch)

    def make_robot(self) -> URRobot:
        return URRobot(make_config())

    def commands_sent(self, robot: URRobot) -> int:
        return commands(self.arm)  # servoL, IO writes, and every other command to the controller


# ---- what reaches the arm ----------------------------------------------------------------------
def test_servo_target_is_the_pose_plus_the_scaled_clipped_delta(robot, arm):
    before = np.array(arm.pose)
    applied = robot.send_action(action(dx=5.0, dy=-0.5, dz=-3.0))
    pose, speed, accel, t, lookahead, gain = arm.last("servoL")
    lim = robot.limits.translation_m
    np.testing.assert_allclose(pose, [*(before[:3] + [lim, -0.5 * lim, -lim]), *before[3:]], rtol=0, atol=1e-12)
    assert (t, lookahead, gain) == (1.0 / robot.control_fps, 0.1, 300.0)
    assert applied["dx"] == pytest.approx(1.0) and applied["dz"] == pytest.approx(-1.0)
    assert robot.last_clipped == {"dx": True, "dy": False, "dz": True, "dyaw": False, "gripper": False}


def test_yaw_turns_the_tcp_about_base_z(robot, arm):
    before = np.array(arm.pose)
    applied = robot.send_action(action(dyaw=4.0))  # clipped to 1: a full yaw_rad turn
    pose = np.array(arm.last("servoL")[0])
    np.testing.assert_array_equal(pose[:3], before[:3])
    c, s = math.cos(robot.limits.yaw_rad), math.sin(robot.limits.yaw_rad)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    np.testing.assert_allclose(rotvec_to_matrix(pose[3:]), rz @ rotvec_to_matrix(before[3:]), atol=1e-12)
    assert applied["dyaw"] == pytest.approx(1.0) and robot.last_clipped["dyaw"]
    yaw = robot.get_observation()["ee.yaw"]
    assert tool_yaw(before[3:]) == pytest.approx(-math.pi)  # [0, pi, 0]: the tool x axis points along -x
    assert yaw == pytest.approx(-math.pi + robot.limits.yaw_rad)


def test_nan_action_writes_nothing(robot, arm):
    sent = commands(arm)
    with pytest.raises(UnsafeActionError):
        robot.send_action(action(dx=math.nan))
    assert commands(arm) == sent


def test_gripper_output_is_written_only_when_it_changes(robot, arm):
    gripper = [robot.send_action(action(gripper=g))["gripper"] for g in (0.7, 1.0, -0.2, -1.0)]
    assert gripper == [1.0, 1.0, -1.0, -1.0]
    writes = [args for name, args in arm.commands if name == "setStandardDigitalOut"]
    assert writes == [(0, True), (0, False)]
    assert robot.get_observation()["gripper.width"] == pytest.approx(0.08)
    robot.send_action(action(gripper=1.0))
    assert robot.get_observation()["gripper.width"] == 0.0


def test_observation_reads_the_arm(robot, arm):
    obs = robot.get_observation()
    assert [obs[k] for k in ("ee.x", "ee.y", "ee.z")] == HOME_POSE[:3]
    assert [obs[f"joint{i}.pos"] for i in range(1, 8)] == [*HOME_Q, 0.0]  # UR arms have six joints
    assert list(obs)[: len(STATE_NAMES)] == list(STATE_NAMES)


def test_lerobot_sees_the_cameras(arm):
    robot = URRobot(make_config())
    assert robot.cameras == {"static": None, "wrist": None}  # LeRobot sizes its writers by len(robot.cameras)
    with robot:
        assert robot.cameras == dict(zip(("static", "wrist"), FakeCamera.opened, strict=True))
    assert robot.cameras == {"static": None, "wrist": None}


def test_workspace_box_clamps_the_target(arm):
    robot = URRobot(make_config(workspace_low=[0.2, -0.5, 0.30], workspace_high=[0.8, 0.5, 0.6]))
    assert robot.workspace == ((0.2, -0.5, 0.3), (0.8, 0.5, 0.6))
    with robot:
        applied = robot.send_action(action(dx=1.0, dz=-1.0))  # z is already on the floor of the box
        assert arm.last("servoL")[0][2] == pytest.approx(0.30)
        assert applied["dz"] == 0.0 and applied["dx"] == pytest.approx(1.0)


def test_tcp_offset_and_home_are_sent_on_connect(arm):
    home = [0.1, -1.2, 1.3, -1.6, -1.57, 0.2]
    with URRobot(make_config(tcp_offset=[0, 0, 0.15, 0, 0, math.pi], home_joints=home)):
        assert arm.last("setTcp") == ([0.0, 0.0, 0.15, 0.0, 0.0, math.pi],)
        assert arm.last("moveJ") == (home, 0.25, 0.5)


def test_disconnect_stops_the_servo_and_closes_everything(robot, arm):
    robot.disconnect()
    assert [name for name, _ in arm.commands][-2:] == ["servoStop", "stopScript"]
    assert sorted(arm.closed) == ["control", "io", "receive"]
    assert not any(cam.is_connected for cam in FakeCamera.opened)


def test_data_timestamp_is_the_oldest_reading(robot, arm):
    assert robot.data_timestamp() == -math.inf  # nothing read yet
    robot.get_observation()
    assert time.monotonic() - robot.data_timestamp() < 1.0
    FakeCamera.opened[1].age_s = 5.0  # the wrist camera's frames are 5 s old: the oldest reading wins
    robot.get_observation()
    assert time.monotonic() - robot.data_timestamp() == pytest.approx(5.0, abs=0.5)


# ---- faults ------------------------------------------------------------------------------------
FAULTS = [
    pytest.param({"protective_stop": True}, "protectively stopped", id="protective-stop"),
    pytest.param({"emergency_stop": True}, "emergency-stopped", id="emergency-stop"),
    pytest.param({"safety_mode": 5}, "SAFEGUARD_STOP", id="safeguard-stop"),
    pytest.param({"program_running": False}, "control script", id="script-stopped"),
    pytest.param({"connected": False}, "lost the RTDE connection", id="connection-lost"),
]


@pytest.mark.parametrize(("change", "message"), FAULTS)
def test_fault_raises_and_nothing_is_sent_after_it(robot, arm, change, message):
    robot.send_action(action(dx=0.5, gripper=1.0))
    vars(arm).update(change)
    sent = commands(arm)
    with pytest.raises(RobotFault, match=message) as err:
        robot.send_action(action(dx=0.5))
    assert "\n" not in str(err.value) and "reconnect" in str(err.value)
    arm.clear()  # the cause goes away...
    with pytest.raises(RobotFault, match=message):  # ...but the fault holds until a reconnect
        robot.send_action(action(dx=0.5))
    with pytest.raises(RobotFault, match=message):
        robot.get_observation()
    robot.disconnect()
    assert commands(arm) == sent, "something was sent to the arm after the fault"
    robot.connect()  # a reconnect starts clean
    robot.send_action(action(dx=0.5))
    assert commands(arm) > sent


def test_connection_lost_while_sending_is_a_fault(robot, arm):
    arm.link_error = "RTDE control: socket closed"
    with pytest.raises(RobotFault, match="lost the RTDE connection.*socket closed"):
        robot.send_action(action(dx=0.5))
    arm.link_error = None
    sent = commands(arm)
    with pytest.raises(RobotFault):
        robot.send_action(action(dx=0.5))
    robot.disconnect()
    assert commands(arm) == sent


def test_camera_fault_stops_the_arm_too(robot, arm):
    FakeCamera.opened[1].dead = True
    sent = commands(arm)
    with pytest.raises(RobotFault, match="camera 'wrist' .* sent no usable frame"):
        robot.get_observation()
    with pytest.raises(RobotFault, match="camera 'wrist'"):
        robot.send_action(action(dx=0.5))
    robot.disconnect()
    assert commands(arm) == sent


def test_refuses_to_start_in_a_protective_stop(arm):
    arm.protective_stop = True
    robot = URRobot(make_config(home_joints=HOME_Q))
    with pytest.raises(RobotFault, match="protectively stopped"):
        robot.connect()
    assert not robot.is_connected and commands(arm) == 0, "nothing may be sent to a stopped arm"
    assert sorted(arm.closed) == ["control", "io", "receive"]
    assert not any(cam.is_connected for cam in FakeCamera.opened)


# ---- set-up errors -----------------------------------------------------------------------------
def test_missing_sdk_is_one_clear_line(arm, monkeypatch):
    monkeypatch.setitem(sys.modules, "rtde_control", None)  # what `import rtde_control` sees without ur_rtde
    robot = URRobot(make_config())
    with pytest.raises(URConfigError, match=r'pip install -e "\.\[ur\]"') as err:
        robot.connect()
    assert "\n" not in str(err.value)
    assert not robot.is_connected and arm.opened == [] and FakeCamera.opened == []


def test_sdk_is_imported_only_on_connect():
    for module in ("hardware/ur.py", "hardware/config_ur.py", "hardware/ur_pose.py", "hardware/cameras.py"):
        tree = ast.parse((REPO / module).read_text())
        top = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
        top += [n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)]
        sdk = [m for m in top if m.split(".")[0] in ("rtde_control", "rtde_receive", "rtde_io", "pyrealsense2")]
        assert not sdk, f"{module} imports {sdk} at module level; import it in connect()"


CONFIG_ERRORS = [
    pytest.param({"host": "not a host!"}, URConfigError, "host", id="bad-host"),
    pytest.param({"host": "192.168.1.300"}, URConfigError, "host", id="bad-ip"),
    pytest.param({"host": ""}, URConfigError, "host", id="empty-host"),
    pytest.param({"control_fps": 0}, URConfigError, "control_fps", id="zero-rate"),
    pytest.param({"control_fps": -10}, URConfigError, "control_fps", id="negative-rate"),
    pytest.param({"servo_gain": 5}, URConfigError, "servo_gain", id="gain"),
    pytest.param({"servo_lookahead_s": 1.0}, URConfigError, "servo_lookahead_s", id="lookahead"),
    pytest.param({"translation_m": 0.0}, URConfigError, "translation_m", id="zero-scale"),
    pytest.param({"tcp_offset": [0, 0, 0.1]}, URConfigError, "tcp_offset", id="short-tcp"),
    pytest.param({"workspace_low": [0, 0, 0]}, URConfigError, "both", id="half-box"),
    pytest.param({"workspace_low": [1, 0, 0], "workspace_high": [0, 1, 1]}, URConfigError, "below", id="inverted-box"),
    pytest.param({"gripper": {"type": "vacuum"}}, URConfigError, "gripper.type", id="gripper-type"),
    pytest.param({"gripper": {"output": 9}}, URConfigError, "gripper.output", id="gripper-output"),
    pytest.param({"static_width": 0}, URConfigError, "static_width", id="image-size"),
    pytest.param({"cameras": {**CAMERAS, "static": {"type": "webcam"}}}, CameraConfigError, "webcam", id="camera-type"),
    pytest.param({"cameras": {**CAMERAS, "top": CAMERAS["static"]}}, CameraConfigError, "top", id="camera-name"),
    pytest.param({"cameras": {"static": CAMERAS["static"]}}, CameraConfigError, "wrist", id="missing-camera"),
]


@pytest.mark.parametrize(("overrides", "error", "names"), CONFIG_ERRORS)
def test_config_error_is_one_line_and_commands_nothing(arm, overrides, error, names):
    with pytest.raises(error, match=names) as err:
        URRobot(make_config(**overrides))
    assert isinstance(err.value, RobolangError) and "\n" not in str(err.value)
    assert arm.opened == [] and FakeCamera.opened == []


def test_hydra_config_builds_the_robot(arm):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(REPO / "configs/robot/ur5e.yaml")
    robot = instantiate(cfg, _convert_="all")
    assert isinstance(robot, URRobot) and not robot.is_connected
    assert robot.camera_shape("static") == (128, 128, 3) and robot.control_fps == 10
    assert arm.opened == []


def test_fakes_use_only_the_installed_sdk():
    """Every method the fakes offer exists in ur_rtde, so the driver is tested against real names."""
    real = {name: pytest.importorskip(module) for module, name in
            (("rtde_control", "RTDEControlInterface"), ("rtde_receive", "RTDEReceiveInterface"), ("rtde_io", "RTDEIOInterface"))}  # fmt: skip
    for fake, name in (
        (FakeControl, "RTDEControlInterface"),
        (FakeReceive, "RTDEReceiveInterface"),
        (FakeIO, "RTDEIOInterface"),
    ):
        cls = getattr(real[name], name)
        missing = [m for m in vars(fake) if not m.startswith("_") and not hasattr(cls, m)]
        assert not missing, f"{name} has no {missing}"


# ---- pose geometry -----------------------------------------------------------------------------
def random_rotvecs(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = rng.uniform(0, math.pi, size=(n, 1))
    angles[:20] = math.pi - rng.uniform(0, 1e-6, size=(20, 1))  # half turns: a tool pointing down
    angles[20:25] = 0.0
    return axes * angles


def test_rotvec_round_trip_including_half_turns():
    for r in random_rotvecs(500):
        m = rotvec_to_matrix(r)
        np.testing.assert_allclose(rotvec_to_matrix(matrix_to_rotvec(m)), m, atol=1e-9)
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)


def test_nearest_rotvec_keeps_targets_continuous():
    flipped = nearest_rotvec(np.array([0.0, -math.pi + 1e-3, 0.0]), np.array([0.0, math.pi, 0.0]))
    np.testing.assert_allclose(flipped, [0.0, math.pi + 1e-3, 0.0])


@pytest.mark.parametrize("yaw", [-3.0, -1.0, 0.0, 0.5, 3.0])
def test_tool_yaw_matches_the_simulator(yaw):
    c, s = math.cos(yaw), math.sin(yaw)
    pointing_down = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag([1.0, -1.0, -1.0])  # Rz(yaw) Rx(pi)
    assert tool_yaw(matrix_to_rotvec(pointing_down)) == pytest.approx(yaw)


def test_servo_target_never_pulls_an_arm_outside_the_box_in_a_jump():
    box = ((0.2, -0.5, 0.0), (0.8, 0.5, 0.5))
    outside = [1.0, 0.0, 0.3, 0.0, math.pi, 0.0]  # 20 cm beyond x high
    target, moved = servo_target(outside, [-0.02, 0.0, 0.0, 0.0], box)
    assert moved[0] == pytest.approx(-0.02) and target[0] == pytest.approx(0.98)
    target, moved = servo_target(outside, [0.02, 0.0, 0.0, 0.0], box)
    assert moved[0] == 0.0 and target[0] == 1.0  # never further out
