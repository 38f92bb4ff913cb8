"""A leader arm as a teleop device: the follower's end effector goes where the leader's would be.

``LeaderArm`` reads the joints of LeRobot's SO-101 leader (``so101_leader``: the same arm with a
handle and a trigger, its motors unpowered and moved by hand), turns them into an end-effector
pose by forward kinematics of the robot's own arm model (``robot.arm_model``: the same URDF, so
the two arms agree where their joints agree), and each step emits the normalized delta from the
robot's measured end-effector pose towards it, clipped to full scale: a leader moved faster than
the robot's speed limit (``EEDeltaLimits``, 0.2 m/s) is followed at that limit. Within a small
deadband the motion is 0, so a leader held still holds the robot still (no jitter from encoder
noise). The trigger maps linearly onto the gripper command (-1 open, +1 closed).

A leader arm has no buttons: ``events_from`` (by default, in ``configs/device/so101_leader.yaml``,
the terminal keyboard) supplies the recording events (Enter saves the episode, Backspace
re-records it, Esc stops); its motion keys are ignored. LeRobot's leader classes (and the Feetech
SDK they need) are imported only when the device connects.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from robolang.errors import RobolangError
from robolang.features import ACTION_NAMES
from robolang.kinematics import ArmKinematics, ArmModel, EEPose
from robolang.robot import EEDeltaLimits, RobotFault
from robolang.safety import wrap_angle
from robolang.teleop.device import TeleopDevice, TeleopEvent, TeleopInput
from robolang.teleop.mapping import MEANINGS

logger = logging.getLogger(__name__)

GRIPPER = "gripper"  # LeRobot's name of the leader's trigger motor


class LeaderArmError(RobolangError, ValueError):
    """A leader arm that cannot be used: no arm model, no calibration, its port, the SDK missing."""


def leader_action(
    leader: EEPose,
    follower_position: np.ndarray,
    follower_yaw: float,
    gripper: float,
    limits: EEDeltaLimits,
    deadband_m: float,
    deadband_rad: float,
) -> dict[str, float]:
    """The normalized action moving the follower's end effector towards the leader's pose,
    clipped to [-1, 1]; 0 motion within the deadbands (pure: no device needed)."""
    delta = np.asarray(leader.position, dtype=np.float64) - np.asarray(follower_position, dtype=np.float64)
    turn = float(wrap_angle(leader.yaw - follower_yaw))
    if np.linalg.norm(delta) <= deadband_m:
        delta = np.zeros(3)
    if abs(turn) <= deadband_rad:
        turn = 0.0
    normalized = np.clip(limits.normalize(np.array([*delta, turn, gripper])), -1.0, 1.0)
    return {k: float(v) for k, v in zip(ACTION_NAMES, normalized, strict=True)}


def trigger_command(position: float, open_pos: float, closed_pos: float) -> float:
    """Leader trigger (LeRobot 0-100) -> gripper command, -1 at ``open_pos``, +1 at ``closed_pos``."""
    return float(np.clip(2.0 * (position - open_pos) / (closed_pos - open_pos) - 1.0, -1.0, 1.0))


class LeaderArm(TeleopDevice):
    """An SO-101 leader arm on ``port``, calibrated by LeRobot as ``id`` (see the module doc).

    ``robot``: the robot driven (``robolang teleop`` passes it); its ``arm_model`` gives the
    kinematics unless ``urdf`` and ``ee_link`` are set, its ``limits`` the action scale, and its
    ``ee_pose()`` (or, for robots without one, its observation) the pose to move from.
    ``gripper_open`` / ``gripper_closed``: trigger positions (LeRobot 0-100) for -1 / +1.
    ``teleop``: an already built LeRobot teleoperator with the same motor names (else an
    ``SO101Leader`` is built on connect).
    """

    name = "SO-101 leader arm"

    def __init__(
        self,
        port: str = "/dev/ttyACM1",
        id: str = "so101_leader",  # LeRobot's name for it (--teleop.id)
        calibration_dir: str | None = None,
        robot=None,
        urdf: str | None = None,
        ee_link: str | None = None,
        gripper_open: float = 100.0,
        gripper_closed: float = 0.0,
        deadband_m: float = 0.002,  # ~3x the STS3215's resolution (0.088 deg) at 0.35 m reach
        deadband_rad: float = math.radians(1.5),
        events_from: TeleopDevice | None = None,
        teleop=None,
    ):
        super().__init__()
        if gripper_open == gripper_closed:
            raise LeaderArmError("gripper_open and gripper_closed must differ")
        self.port, self.id, self.calibration_dir = port, id, calibration_dir
        if urdf and not ee_link:
            raise LeaderArmError("set ee_link together with urdf (the end-effector link of that URDF)")
        self.robot = robot
        self.model = ArmModel(Path(urdf), ee_link, ()) if urdf else getattr(robot, "arm_model", None)
        self.limits: EEDeltaLimits = getattr(robot, "limits", EEDeltaLimits())
        self.gripper_open, self.gripper_closed = float(gripper_open), float(gripper_closed)
        self.deadband_m, self.deadband_rad = float(deadband_m), float(deadband_rad)
        self.events_from = events_from
        self.teleop = teleop
        self.kinematics: ArmKinematics | None = None
        self._gripper = math.nan

    @property
    def key_map(self) -> list[tuple[str, str]]:
        rows = [
            ("leader arm", "move it: the robot's gripper goes where the leader's would be"),
            ("leader trigger", "open / close the gripper"),
        ]
        if self.events_from is not None:  # only its recording keys: its motion keys are ignored
            events = {MEANINGS[e.value] for e in TeleopEvent}
            rows += [(key, meaning) for key, meaning in self.events_from.key_map if meaning in events]
        return rows

    # ---- connection ------------------------------------------------------------------------------
    def _connect(self) -> None:
        if self.model is None:
            raise LeaderArmError(
                "the leader arm needs the robot's arm model: use it with robot=so101, or set device.urdf and device.ee_link"
            )
        teleop = self.teleop if self.teleop is not None else self._build_leader()
        self.kinematics = ArmKinematics(self.model.urdf, self.model.ee_link, self.model.joints or None)
        try:
            _open_leader(teleop, self.port)
            if self.events_from is not None:
                self.events_from.connect()
        except BaseException:
            self._release(teleop)
            raise
        self.teleop, self._gripper = teleop, math.nan

    def _build_leader(self):
        try:
            import scservo_sdk  # noqa: F401  (LeRobot's Feetech bus needs it when the bus is built)
            from lerobot.teleoperators.so_leader import SO101Leader, SO101LeaderConfig
        except ImportError as e:
            raise LeaderArmError(
                f'the SO-101 leader needs the Feetech servo SDK, which is not installed ({e}): pip install -e ".[so101]"'
            ) from e
        calibration_dir = Path(self.calibration_dir).expanduser() if self.calibration_dir else None
        leader = SO101Leader(SO101LeaderConfig(port=self.port, id=self.id, calibration_dir=calibration_dir))
        if not leader.calibration:
            raise LeaderArmError(
                f"no LeRobot calibration for the leader '{self.id}' at {leader.calibration_fpath}: run "
                f"`lerobot-calibrate --teleop.type=so101_leader --teleop.port={self.port} --teleop.id={self.id}` "
                "(or set device.id / device.calibration_dir to the ones you used)"
            )
        return leader

    def _disconnect(self) -> None:
        try:
            if self.events_from is not None:
                self.events_from.disconnect()
        finally:
            self._release(self.teleop)

    def _release(self, teleop) -> None:
        if self.kinematics is not None:
            self.kinematics.close()
            self.kinematics = None
        try:
            if teleop is not None and teleop.is_connected:
                teleop.disconnect()
        except (ConnectionError, RuntimeError, OSError) as e:  # its cable is gone; closing must go on
            logger.warning("leader arm on %s: disconnect failed: %s", self.port, e)

    # ---- each step -------------------------------------------------------------------------------
    def _poll(self) -> TeleopInput:
        events = self.events_from.poll().events if self.events_from is not None else frozenset()
        try:
            raw = self.teleop.get_action()
        except (ConnectionError, RuntimeError, OSError) as e:
            raise RobotFault(
                f"lost contact with the leader arm on {self.port} ({' '.join(str(e).split())[:300]}): "
                "check its USB cable and power supply, then start again"
            ) from e
        joints = np.radians([float(raw[f"{j}.pos"]) for j in self.kinematics.joints])
        leader = self.kinematics.forward(joints)
        position, yaw = self._follower_pose()
        gripper = trigger_command(float(raw[f"{GRIPPER}.pos"]), self.gripper_open, self.gripper_closed)
        action = leader_action(leader, position, yaw, gripper, self.limits, self.deadband_m, self.deadband_rad)
        changed = not abs(gripper - self._gripper) <= 0.05  # also true on the first step (nan)
        self._gripper = gripper
        return TeleopInput(action, events, changed or any(action[k] for k in ACTION_NAMES[:4]))

    def _follower_pose(self) -> tuple[np.ndarray, float]:
        """The robot's measured end-effector position and yaw."""
        ee_pose = getattr(self.robot, "ee_pose", None)
        if ee_pose is not None:  # a real arm: one bus read, no camera frames
            pose = ee_pose()
            return pose.position, pose.yaw
        obs = self.robot.get_observation()
        return np.array([obs["ee.x"], obs["ee.y"], obs["ee.z"]]), float(obs["ee.yaw"])

    def reset(self) -> None:
        if self.events_from is not None:
            self.events_from.reset()


def _open_leader(teleop, port: str) -> None:
    """LeRobot's connect without its interactive calibration prompt: open the bus, write the
    calibration file to the motors if they differ (what the prompt does on Enter), configure
    (torque off: the leader is moved by hand)."""
    bus = getattr(teleop, "bus", None)
    if bus is None:  # another kind of LeRobot teleoperator: its own connect
        teleop.connect(calibrate=False)
        return
    try:
        bus.connect()
    except (ConnectionError, RuntimeError) as e:
        cause = " ".join(str(e.__cause__ or e).split())[:300]
        raise LeaderArmError(
            f"cannot open the leader arm on '{port}' ({cause}): check its USB cable and power, find its port with "
            "`lerobot-find-port`, then set device.port"
        ) from e
    if not teleop.is_calibrated:
        bus.write_calibration(teleop.calibration)
    teleop.configure()
