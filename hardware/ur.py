"""Universal Robots arms (UR3e/5e/10e/16e, and CB3) behind the robolang contract, over RTDE.

Each action's normalized deltas are scaled by the limits and applied in the robot **base
frame** to the TCP pose the arm reports (dx, dy, dz added to the position; dyaw a turn about
the base z axis through the TCP), and the result is sent with ``servoL`` once per control step.
Starting each step from the measured pose (not from the last target) means a blocked arm never
winds up a target far from where it is. Proprioception comes from RTDE: ``ee.x/y/z`` and
``ee.yaw`` from ``getActualTCPPose`` (yaw of the tool x axis about base z, as in the simulator),
the six joints from ``getActualQ`` (``joint7.pos`` is 0: UR arms have six), and
``gripper.width`` from the gripper. UR arms have no gripper built in: ``DigitalOutputGripper``
switches one digital output of the controller.

A protective stop, an emergency stop, any other safety stop, a stopped control script, a lost
connection or a camera that stops sending raises ``robolang.robot.RobotFault``, and from then
on nothing is sent to the arm (not even on ``disconnect``) until it is reconnected.
``ur_rtde`` is imported only in ``connect()``; an invalid config (``hardware/config_ur.py``)
raises ``URConfigError`` before anything is opened.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import numpy as np

from hardware.config_ur import UR_JOINTS, DigitalOutputGripper, Gripper, URConfigError, URRobotConfig, make_gripper
from hardware.ur_pose import servo_target, tool_yaw
from robolang.features import N_ARM_JOINTS, STATE_NAMES
from robolang.robot import EEDeltaLimits, EEDeltaRobot, RobotFault

# The config and gripper live in hardware/config_ur.py (LeRobot's layout); they are part of
# this module's interface: hydra targets hardware.ur.URRobotConfig.
__all__ = ["DigitalOutputGripper", "Gripper", "URConfigError", "URRobot", "URRobotConfig", "make_gripper"]

logger = logging.getLogger(__name__)

# RTDE safety_mode values (UR's RTDE guide); only the first two let the arm move.
SAFETY_MODES = {1: "NORMAL", 2: "REDUCED", 3: "PROTECTIVE_STOP", 4: "RECOVERY", 5: "SAFEGUARD_STOP",
                6: "SYSTEM_EMERGENCY_STOP", 7: "ROBOT_EMERGENCY_STOP", 8: "VIOLATION", 9: "FAULT",
                10: "VALIDATE_JOINT_ID", 11: "UNDEFINED_SAFETY_MODE", 12: "AUTOMATIC_MODE_SAFEGUARD_STOP",
                13: "SYSTEM_THREE_POSITION_ENABLING_STOP"}  # fmt: skip
MOVING_SAFETY_MODES = (1, 2)
# servoL's speed and acceleration arguments are unused by the controller (ur_rtde docs); these
# are the values ur_rtde's own examples pass.
SERVO_SPEED, SERVO_ACCELERATION = 0.5, 0.5
HOME_ACCELERATION = 0.5  # rad/s^2 for the moveJ home on connect; gentle next to UR's default 1.4


def load_sdk():
    """ur_rtde's control, receive and IO modules, imported only when an arm connects."""
    try:
        import rtde_control
        import rtde_io
        import rtde_receive
    except ImportError as e:
        raise URConfigError(f'the UR driver needs ur_rtde, which is not installed ({e}): pip install -e ".[ur]"') from e
    return rtde_control, rtde_receive, rtde_io


def arm_problem(receive, control, host: str) -> str | None:
    """Why the arm cannot be commanded now (one line with what to do), or None."""
    try:
        if not (receive.isConnected() and control.isConnected()):
            return f"lost the RTDE connection to the UR at {host}: check the network cable and the controller, then reconnect"
        if receive.isEmergencyStopped():
            return (
                f"the UR at {host} is emergency-stopped: release the emergency stop button, power on and release "
                "the brakes on the teach pendant, then reconnect"
            )
        if receive.isProtectiveStopped():
            return (
                f"the UR at {host} is protectively stopped (a collision or a safety limit): clear the cause, press "
                "Unlock on the teach pendant, then reconnect"
            )
        mode = receive.getSafetyMode()
        if mode not in MOVING_SAFETY_MODES:
            return f"the UR at {host} is in safety mode {SAFETY_MODES.get(mode, mode)}: resolve it on the teach pendant, then reconnect"
        if not control.isProgramRunning():
            return (
                f"the control script on the UR at {host} stopped (Stop pressed on the pendant, or another program "
                "took control): reconnect to start it again"
            )
    except RuntimeError as e:
        return f"lost the RTDE connection to the UR at {host} ({_one_line(e)}): check the network, then reconnect"
    return None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


# ---- the robot ---------------------------------------------------------------------------------
class URRobot(EEDeltaRobot):
    """A Universal Robots arm with a gripper and two cameras, a ``lerobot.robots.Robot``."""

    config_class = URRobotConfig
    name = "robolang_ur"

    def __init__(self, config: URRobotConfig):
        super().__init__(config)
        self.config = config
        self.limits = EEDeltaLimits(config.translation_m, config.yaw_rad)
        self.control_fps = config.control_fps
        self.workspace = config.workspace_box()
        self.gripper = config.make_gripper()
        self.camera_rig = config.camera_rig()  # ``self.cameras`` (the base class's) is LeRobot's view
        self._control = self._receive = self._io = None
        self._fault: str | None = None  # once set, nothing more is sent until reconnected
        self._gripper_closed: bool | None = None  # the last gripper command (None: none yet)
        self._state_at = -math.inf

    def camera_shape(self, camera: str) -> tuple[int, int, int]:
        return self.config.camera_shapes()[camera]

    def data_timestamp(self) -> float:
        """``time.monotonic()`` of the oldest reading in the last observation: a camera frame's
        capture, or the moment the arm's state was read."""
        return min(self._state_at, self.camera_rig.oldest_capture())

    # ---- connection ----------------------------------------------------------------------
    def _connect(self) -> None:
        sdk = load_sdk()  # a missing SDK stops us before anything is opened
        self.camera_rig.connect()  # a missing camera stops us before the arm is touched
        try:
            self._open_arm(*sdk)
        except BaseException:
            self._close_arm(stop=False)
            self.camera_rig.disconnect()
            raise
        self.cameras = self.camera_rig.devices  # LeRobot's scripts read robot.cameras

    def _open_arm(self, rtde_control, rtde_receive, rtde_io) -> None:
        host = self.config.host
        self._fault, self._gripper_closed, self._state_at = None, None, -math.inf
        try:
            self._receive = rtde_receive.RTDEReceiveInterface(host)
            self._control = rtde_control.RTDEControlInterface(host)
            self._io = rtde_io.RTDEIOInterface(host)
        except RuntimeError as e:
            raise RobotFault(
                f"could not connect to the UR at {host} ({_one_line(e)}): check the address and the network, "
                "that the arm is on with its brakes released, and that the pendant is in Remote Control"
            ) from e
        self._check_arm()  # never start in a protective or emergency stop
        if self.config.tcp_offset is not None:
            self._send("setTcp", self._control.setTcp, [float(v) for v in self.config.tcp_offset])
        if self.config.home_joints is not None:
            home = [float(v) for v in self.config.home_joints]
            self._send("moveJ", self._control.moveJ, home, float(self.config.home_speed_rad_s), HOME_ACCELERATION)

    def _disconnect(self) -> None:
        try:
            self._close_arm(stop=self._fault is None)
        finally:
            self.camera_rig.disconnect()
            self.cameras = self.camera_rig.devices

    def _close_arm(self, stop: bool) -> None:
        """Stop servoing and the control script (unless faulted: then nothing is sent) and close."""
        if stop and self._control is not None:
            for method in ("servoStop", "stopScript"):
                try:
                    getattr(self._control, method)()
                except RuntimeError as e:  # the link is already gone; closing must go on
                    logger.warning("UR %s: %s failed: %s", self.config.host, method, e)
        for interface in (self._io, self._control, self._receive):
            if interface is not None:
                try:
                    interface.disconnect()
                except RuntimeError as e:
                    logger.warning("UR %s: closing %s failed: %s", self.config.host, type(interface).__name__, e)
        self._control = self._receive = self._io = None

    # ---- faults ----------------------------------------------------------------------------
    def _fault_for(self, message: str) -> RobotFault:
        """Record a fault (nothing is sent after it) and return the exception to raise."""
        self._fault = message
        return RobotFault(message)

    def _link_lost(self, error: RuntimeError) -> RobotFault:
        return self._fault_for(
            f"lost the RTDE connection to the UR at {self.config.host} ({_one_line(error)}): "
            "check the network cable and the controller, then reconnect"
        )

    def _check_arm(self) -> None:
        """Raise ``RobotFault`` if the arm faulted before or cannot be commanded now."""
        if self._fault is None:
            self._fault = arm_problem(self._receive, self._control, self.config.host)
        if self._fault is not None:
            raise RobotFault(self._fault)

    def _send(self, what: str, command: Callable, *args) -> None:
        """One command to the controller; a refusal or a lost link is a fault and ends sending."""
        try:
            accepted = command(*args)
        except RuntimeError as e:
            raise self._link_lost(e) from e
        if accepted is False:
            self._check_arm()  # names the stop when the controller reports one
            raise self._fault_for(
                f"the UR at {self.config.host} refused {what}: see the teach pendant's log, then reconnect"
            )

    # ---- observation and action -----------------------------------------------------------
    def _read_observation(self) -> dict:
        self._check_arm()
        try:
            images = self.camera_rig.read()
        except RobotFault as e:  # a camera fault stops the arm too: nothing is sent after any fault
            self._fault = str(e)
            raise
        try:
            pose = np.asarray(self._receive.getActualTCPPose(), dtype=np.float64)
            joints = np.asarray(self._receive.getActualQ(), dtype=np.float64)
            width = self.gripper.width(self._receive)
        except RuntimeError as e:
            raise self._link_lost(e) from e
        self._state_at = time.monotonic()
        if pose.shape != (6,) or joints.shape != (UR_JOINTS,) or not np.isfinite([*pose, *joints, width]).all():
            raise self._fault_for(
                f"the UR at {self.config.host} sent an invalid state (pose {pose.tolist()}, joints {joints.tolist()}): reconnect"
            )
        padded = np.zeros(N_ARM_JOINTS)
        padded[:UR_JOINTS] = joints  # joint7.pos stays 0: UR arms have six joints
        values = [*pose[:3], tool_yaw(pose[3:]), width, *padded]
        obs = {k: float(v) for k, v in zip(STATE_NAMES, values, strict=True)}
        return {**obs, **images}

    def _apply_action(self, action: np.ndarray) -> np.ndarray:
        self._check_arm()
        try:
            pose = np.asarray(self._receive.getActualTCPPose(), dtype=np.float64)
        except RuntimeError as e:
            raise self._link_lost(e) from e
        if pose.shape != (6,) or not np.isfinite(pose).all():
            raise self._fault_for(f"the UR at {self.config.host} sent an invalid TCP pose {pose.tolist()}: reconnect")
        target, moved = servo_target(pose, self.limits.scale(action)[:4], self.workspace)
        self._send(
            "servoL",
            self._control.servoL,
            target.tolist(),
            SERVO_SPEED,
            SERVO_ACCELERATION,
            1.0 / self.control_fps,
            float(self.config.servo_lookahead_s),
            float(self.config.servo_gain),
        )
        closed = bool(action[4] > 0.0)
        if closed != self._gripper_closed:  # write the output only when it changes
            self._send("the gripper output", self.gripper.set_closed, self._io, closed)
            self._gripper_closed = closed
        return self.limits.normalize(np.array([*moved, 1.0 if closed else -1.0]))
