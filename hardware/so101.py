"""The SO-101 arm (TheRobotStudio / Hugging Face) behind the robolang contract, over LeRobot's Feetech bus.

``SO101Robot`` wraps LeRobot's ``SO101Follower``: its motor table, its calibration file (made by
``lerobot-calibrate``; nothing here invents one) and its bus. Joint angles are read and written in
LeRobot's degrees (0 = the middle of each joint's calibrated range, the zero of the makers'
``so101_new_calib`` model that ``hardware/so101.urdf`` is generated from), the gripper in LeRobot's
0-100 (0 closed, 100 open).

**Each action.** The normalized deltas are scaled by the limits (``EEDeltaLimits``, as in the
sim) and added to the end-effector reference pose: the pose last commanded while the arm tracks
it (within ``track_tolerance_m`` / ``track_tolerance_rad``), otherwise the pose measured by
forward kinematics of the joints read from the bus. Anchoring on the last target is what keeps
a compliant servo arm from creeping: an STS3215 at LeRobot's gains settles a little below its
goal under gravity, and adding each step to that measured pose would turn the sag of every step
into a steady sinking. Anchoring on the measured pose when tracking is lost (the arm blocked,
pushed, or overloaded) means a target never winds up further than the tolerance.
The target is kept in the workspace box (never pulled into it by more than the step), then
``robolang.kinematics`` solves the five arm joints seeded from the measured ones, within the
joint limits of the calibration file (intersected with the URDF's). **Yaw**: on this 5-DOF arm
the target position fixes the pan and the arm's reach; ``dyaw`` turns the gripper about its own
axis, i.e. it is carried by **wrist_roll**, and the gripper's pitch (the one freedom left) is
kept as it was. A target IK cannot reach, or one that would move a joint more than
``max_joint_step_deg`` in a step, is retried at half and a quarter of the step, then the arm
holds; the action returned says what was applied. An all-zero motion re-sends the last joint
goals (holding still means keeping the goal).

**Proprioception** (``STATE_NAMES``, same units as the sim): ``ee.x/y/z`` (m) and ``ee.yaw``
(rad) by FK of the measured joints, ``gripper.width`` (m) a linear map of the gripper motor
between closed and ``gripper_max_width_m``, ``joint1-5.pos`` the arm joints (rad) and
``joint6/7.pos`` 0 (the SO-101 has five arm joints).

**Errors.** A missing SDK is one line naming the extra; a port that cannot be opened, or that
opens onto no SO-101 motors, is an ``SO101PortError`` naming the port and the fix; a missing
calibration names the ``lerobot-calibrate`` command. Losing the bus mid-run (no status packet, a
motor error, the USB unplugged) raises ``robolang.robot.RobotFault``, and from then on nothing is
sent until the arm is reconnected.
"""

from __future__ import annotations

import errno
import logging
import math
import time
from collections.abc import Sequence

import numpy as np

from hardware.config_so101 import SO101ConfigError, SO101RobotConfig
from hardware.so101_urdf import ARM_JOINTS
from robolang.errors import RobolangError
from robolang.features import N_ARM_JOINTS, STATE_NAMES
from robolang.kinematics import ArmKinematics, ArmModel, EEPose, UnreachableTargetError
from robolang.robot import EEDeltaLimits, EEDeltaRobot, RobotFault
from robolang.safety import wrap_angle

logger = logging.getLogger(__name__)

GRIPPER = "gripper"  # LeRobot's name of the gripper motor
TICKS_PER_TURN = 4095  # STS3215: LeRobot's degrees are (ticks - mid) * 360 / 4095
BACK_OFF = (1.0, 0.5, 0.25)  # fractions of a step tried before the arm holds


class SO101PortError(RobolangError, ConnectionError):
    """The serial port cannot be opened, or no SO-101 motors answer on it."""


# ---- pure geometry and units -------------------------------------------------------------------
def calibrated_limits(calibration: dict, motors: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Joint limits (rad) from LeRobot ``MotorCalibration``s: in LeRobot's degrees mode a joint's
    zero is the middle of its calibrated range, so it reaches +-half that range."""
    limits = {}
    for motor in motors:
        cal = calibration[motor]
        half = math.radians((cal.range_max - cal.range_min) / 2 * 360 / TICKS_PER_TURN)
        limits[motor] = (-half, half)
    return limits


def step_target(position, yaw: float, step, workspace) -> tuple[np.ndarray, float, np.ndarray]:
    """(target position, target yaw, (dx, dy, dz, dyaw) applied) one ``step`` (m, rad) from the
    reference. The box is widened to include ``position``, so an arm outside it (moved by hand)
    comes back by at most the step and never goes further out; no step is longer than asked."""
    position, step = np.asarray(position, dtype=np.float64), np.asarray(step, dtype=np.float64)
    low, high = (np.asarray(b, dtype=np.float64) for b in workspace)
    wanted = position + step[:3]
    target = np.clip(wanted, np.minimum(low, position), np.maximum(high, position))
    moved = np.where(target == wanted, step[:3], target - position)  # exact where nothing was clamped
    return target, float(wrap_angle(yaw + step[3])), np.array([*moved, step[3]])


def gripper_goal(command: float, open_pos: float, closed_pos: float) -> float:
    """Gripper motor goal (LeRobot 0-100) for a command in [-1 open, +1 closed]."""
    return open_pos + (float(command) + 1.0) / 2.0 * (closed_pos - open_pos)


def load_sdk():
    """LeRobot's SO-101 follower classes, imported only when the arm connects."""
    try:
        import scservo_sdk  # noqa: F401  (LeRobot's Feetech bus imports it only when a bus is built)
        from lerobot.robots.so_follower import SO101Follower, SO101FollowerConfig
    except ImportError as e:
        raise SO101ConfigError(
            f'the SO-101 driver needs the Feetech servo SDK, which is not installed ({e}): pip install -e ".[so101]"'
        ) from e
    return SO101Follower, SO101FollowerConfig


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def port_error(port: str, error: BaseException) -> SO101PortError:
    """One line naming the port, what went wrong and the fix, for a failure to open the bus."""
    cause = error.__cause__ or error
    code = getattr(cause, "errno", None)
    if code == errno.ENOENT or "No such file" in str(cause):
        why = f"no serial device at '{port}': plug in the arm's USB cable and find its port with `lerobot-find-port`"
    elif code == errno.EACCES or "Permission denied" in str(cause):
        why = f"permission denied on '{port}': add yourself to the dialout group (sudo usermod -aG dialout $USER, log in again)"
    elif isinstance(error, RuntimeError):  # the port opened; the handshake found no (or other) motors
        why = (
            f"'{port}' opened but the SO-101 motors did not answer as expected ({_one_line(error)[:300]}): "
            "is the arm's power supply on, and is this the follower's port, not the leader's?"
        )
    else:
        why = f"could not open '{port}' ({_one_line(cause)}): check the cable and the port with `lerobot-find-port`"
    return SO101PortError(f"SO-101: {why}; then set robot.config.port")


# ---- the robot ---------------------------------------------------------------------------------
class SO101Robot(EEDeltaRobot):
    """An SO-101 follower arm with two cameras, a ``lerobot.robots.Robot`` (see the module doc)."""

    config_class = SO101RobotConfig
    name = "robolang_so101"

    def __init__(self, config: SO101RobotConfig):
        super().__init__(config)
        self.config = config
        self.limits = EEDeltaLimits(config.translation_m, config.yaw_rad)
        self.workspace = (tuple(config.workspace_low), tuple(config.workspace_high))
        self.arm_model = ArmModel(config.urdf_path(), config.ee_link, ARM_JOINTS)
        self.camera_rig = config.camera_rig()  # ``self.cameras`` (the base class's) is LeRobot's view
        self.follower = None  # LeRobot's SO101Follower while connected
        self.kinematics: ArmKinematics | None = None
        self._fault: str | None = None
        self._target: tuple[np.ndarray, float] | None = None  # the (position, yaw) last commanded
        self._goal: np.ndarray | None = None  # the arm joint goals last written (rad)
        self._state_at = -math.inf

    def camera_shape(self, camera: str) -> tuple[int, int, int]:
        return self.config.camera_shapes()[camera]

    def data_timestamp(self) -> float:
        """``time.monotonic()`` of the oldest reading in the last observation: a camera frame's
        capture, or the moment the joints were read."""
        return min(self._state_at, self.camera_rig.oldest_capture())

    # ---- connection ----------------------------------------------------------------------------
    def _connect(self) -> None:
        follower_class, follower_config = load_sdk()
        follower = follower_class(
            follower_config(
                port=self.config.port,
                id=self.config.id,
                calibration_dir=self.config.calibration_dir,
                disable_torque_on_disconnect=self.config.disable_torque_on_disconnect,
                use_degrees=True,  # the URDF's joint angles, in degrees
            )
        )
        if not follower.calibration:
            raise SO101ConfigError(
                f"no LeRobot calibration for the SO-101 '{self.config.id}' at {follower.calibration_fpath}: run "
                f"`lerobot-calibrate --robot.type=so101_follower --robot.port={self.config.port} "
                f"--robot.id={self.config.id}` (or set robot.config.id / calibration_dir to the ones you used)"
            )
        self._fault, self._target, self._goal, self._state_at = None, None, None, -math.inf
        self.camera_rig.connect()  # a missing camera stops us before the arm is touched
        try:
            self._open_bus(follower)
            self.kinematics = ArmKinematics(
                self.arm_model.urdf,
                self.arm_model.ee_link,
                self.arm_model.joints,
                limits=calibrated_limits(follower.calibration, ARM_JOINTS),
            )
        except BaseException:
            self._close_bus(follower, disable_torque=False)
            self.camera_rig.disconnect()
            raise
        self.follower = follower
        self.cameras = self.camera_rig.devices  # LeRobot's scripts read robot.cameras

    def _open_bus(self, follower) -> None:
        """LeRobot's connect order: open and handshake, write the calibration file to the motors
        if they differ (what ``lerobot-calibrate``'s prompt does on Enter), then configure."""
        try:
            follower.bus.connect()
        except (ConnectionError, RuntimeError) as e:
            raise port_error(self.config.port, e) from e
        try:
            if not follower.is_calibrated:
                logger.info("writing the calibration of %s to its motors", self.config.id)
                follower.bus.write_calibration(follower.calibration)
            follower.configure()
        except (ConnectionError, RuntimeError, OSError) as e:
            raise RobotFault(
                f"SO-101 on {self.config.port}: configuring the motors failed ({_one_line(e)}): "
                "check the power supply and the cable, then reconnect"
            ) from e

    def _close_bus(self, follower, disable_torque: bool) -> None:
        """Release the motors (unless faulted: then nothing is sent) and close the port."""
        bus = follower.bus
        try:
            if bus.is_connected:
                bus.disconnect(disable_torque and self.config.disable_torque_on_disconnect)
        except (ConnectionError, RuntimeError, OSError) as e:  # the link is already gone; closing must go on
            logger.warning("SO-101 on %s: releasing the motors failed: %s", self.config.port, e)
            if bus.port_handler.is_open:
                bus.port_handler.closePort()

    def _disconnect(self) -> None:
        try:
            if self.follower is not None:
                self._close_bus(self.follower, disable_torque=self._fault is None)
        finally:
            self.follower = None
            if self.kinematics is not None:
                self.kinematics.close()
                self.kinematics = None
            self.camera_rig.disconnect()
            self.cameras = self.camera_rig.devices

    # ---- the bus -------------------------------------------------------------------------------
    def _fault_for(self, message: str) -> RobotFault:
        self._fault = message
        return RobotFault(message)

    def _read_joints(self) -> tuple[np.ndarray, float]:
        """Measured arm joints (rad, ``ARM_JOINTS`` order) and gripper (LeRobot 0-100)."""
        if self._fault is not None:
            raise RobotFault(self._fault)
        try:
            positions = self.follower.get_observation()
        except (ConnectionError, RuntimeError, OSError) as e:
            raise self._lost(e, "reading the joints") from e
        self._state_at = time.monotonic()
        values = np.array([positions[f"{m}.pos"] for m in (*ARM_JOINTS, GRIPPER)], dtype=np.float64)
        if not np.isfinite(values).all():
            raise self._fault_for(f"SO-101 on {self.config.port} sent invalid joint positions {values.tolist()}")
        return np.radians(values[:-1]), float(values[-1])

    def _write_goals(self, joints: np.ndarray, gripper: float) -> None:
        goals = {f"{m}.pos": float(v) for m, v in zip(ARM_JOINTS, np.degrees(joints), strict=True)}
        goals[f"{GRIPPER}.pos"] = float(gripper)
        try:
            self.follower.send_action(goals)
        except (ConnectionError, RuntimeError, OSError) as e:
            raise self._lost(e, "writing the goal positions") from e
        self._goal = np.array(joints, dtype=np.float64)

    def _lost(self, error: BaseException, what: str) -> RobotFault:
        return self._fault_for(
            f"SO-101 on {self.config.port}: lost contact with the motors while {what} ({_one_line(error)[:300]}): "
            "check the USB cable and the arm's power supply, then reconnect"
        )

    def ee_pose(self) -> EEPose:
        """The end-effector pose measured now (FK of the joints read from the bus; no cameras)."""
        self._require_connected()
        return self.kinematics.forward(self._read_joints()[0])

    # ---- observation and action ----------------------------------------------------------------
    def _read_observation(self) -> dict:
        images = self.camera_rig.read()
        joints, gripper = self._read_joints()
        pose = self.kinematics.forward(joints)
        c = self.config
        opening = (gripper - c.gripper_closed) / (c.gripper_open - c.gripper_closed)
        padded = np.zeros(N_ARM_JOINTS)
        padded[: len(joints)] = joints  # joint6/7.pos stay 0: the SO-101 has five arm joints
        values = [*pose.position, pose.yaw, c.gripper_max_width_m * float(np.clip(opening, 0.0, 1.0)), *padded]
        return {**{k: float(v) for k, v in zip(STATE_NAMES, values, strict=True)}, **images}

    def _apply_action(self, action: np.ndarray) -> np.ndarray:
        step = self.limits.scale(action)
        joints, _ = self._read_joints()
        measured = self.kinematics.forward(joints)
        reference = self._reference(measured)
        goal, moved = self._goal if self._goal is not None else joints, np.zeros(4)
        if np.any(step[:4] != 0.0):
            goal, moved, reference = self._solve(reference, measured, joints, goal, step[:4])
        self._write_goals(goal, gripper_goal(action[4], self.config.gripper_open, self.config.gripper_closed))
        self._target = reference
        return self.limits.normalize(np.array([*moved, action[4]]))

    def _reference(self, measured: EEPose) -> tuple[np.ndarray, float]:
        """The last target while the arm tracks it, else the measured pose (see the module doc)."""
        if self._target is not None:
            position, yaw = self._target
            off = np.linalg.norm(position - measured.position)
            turned = abs(float(wrap_angle(yaw - measured.yaw)))
            if off <= self.config.track_tolerance_m and turned <= self.config.track_tolerance_rad:
                return self._target
        return measured.position, measured.yaw

    def _solve(self, reference: tuple[np.ndarray, float], measured: EEPose, joints, hold, step):
        """(joint goals, step applied, new target): the step, or the largest of ``BACK_OFF``
        that IK reaches without a joint moving more than ``max_joint_step_deg``; else hold."""
        max_step = math.radians(self.config.max_joint_step_deg)
        for fraction in BACK_OFF:
            position, yaw, moved = step_target(*reference, step * fraction, self.workspace)
            try:
                goal = self.kinematics.inverse(position, yaw, joints, approach=measured.approach)
            except UnreachableTargetError as e:
                logger.debug("SO-101: %s", e)
                continue
            if np.max(np.abs(goal - joints)) <= max_step:
                return goal, moved, (position, yaw)
        logger.info("SO-101: step %s out of reach from %s; holding", np.round(step, 4), np.round(reference[0], 3))
        return hold, np.zeros(4), reference
