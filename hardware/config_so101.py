"""Configuration of an SO-101 follower arm (``SO101RobotConfig``), checked on creation.

Kept apart from the driver (``hardware/so101.py``) the way LeRobot lays out a device
(``config_<device>.py`` beside ``<device>.py``): LeRobot's ``make_robot_from_config`` finds
``SO101Robot`` in ``hardware.so101`` from this module's name. Every check raises
``SO101ConfigError`` (or the cameras' ``CameraConfigError``) with one line that names the fix,
before anything is opened.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hardware.cameras import DEFAULT_TIMEOUT_MS, CameraSettings
from hardware.so101_urdf import EE_LINK, default_urdf_path
from robolang.errors import RobolangError
from robolang.robot import EEDeltaLimits, RobotConfig


class SO101ConfigError(RobolangError, ValueError):
    """An SO-101 set-up that cannot work: a bad config value, no calibration, or the SDK missing."""


@RobotConfig.register_subclass("robolang_so101")
@dataclass(kw_only=True)
class SO101RobotConfig(CameraSettings, RobotConfig):
    """An SO-101 follower arm and its cameras (plain values, hydra- and draccus-friendly).

    ``id`` and ``calibration_dir`` are LeRobot's: the arm's ``--robot.id`` from
    ``lerobot-calibrate`` and where that put the file (None: LeRobot's default folder).
    """

    port: str  # the follower's serial port, e.g. /dev/ttyACM0 (`lerobot-find-port` tells)
    urdf: str | None = None  # None: hardware/so101.urdf; joints named as LeRobot's motors
    ee_link: str = EE_LINK
    translation_m: float = EEDeltaLimits.translation_m
    yaw_rad: float = EEDeltaLimits.yaw_rad
    # Box (m, base frame) the end effector is commanded into: in front of the base, over a table
    # at z = 0, within the arm's ~0.35 m reach with the gripper pointing down.
    workspace_low: list[float] = field(default_factory=lambda: [0.10, -0.28, 0.01])
    workspace_high: list[float] = field(default_factory=lambda: [0.38, 0.28, 0.30])
    track_tolerance_m: float = 0.03  # beyond this from its last target the arm has lost tracking
    track_tolerance_rad: float = 0.3
    max_joint_step_deg: float = 25.0  # per step: 250 deg/s at 10 Hz, about the STS3215's top speed
    gripper_open: float = 100.0  # gripper motor (LeRobot 0-100, 0 closed) for an action of -1 ...
    gripper_closed: float = 0.0  # ... and +1
    gripper_max_width_m: float = 0.08  # jaw opening at gripper_open (approximate: ~82 mm jaw, ~90 deg)
    disable_torque_on_disconnect: bool = True  # LeRobot's default: the arm goes limp on disconnect
    cameras: dict = field(default_factory=dict)
    camera_timeout_ms: float = DEFAULT_TIMEOUT_MS
    static_width: int = 128
    static_height: int = 128
    wrist_width: int = 128
    wrist_height: int = 128

    def __post_init__(self) -> None:
        # Not RobotConfig.__post_init__: it expects LeRobot camera objects in ``cameras``; these
        # are plain mappings, checked by CameraRig.
        if isinstance(self.calibration_dir, str):  # from yaml or the command line
            self.calibration_dir = Path(self.calibration_dir).expanduser()
        _check_config(self)
        self.camera_rig()

    def urdf_path(self) -> Path:
        return Path(self.urdf).expanduser() if self.urdf else default_urdf_path()


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_config(c: SO101RobotConfig) -> None:
    """Every value that could make the arm misbehave, each with a one-line message."""
    if not isinstance(c.port, str) or not c.port:
        raise SO101ConfigError(f"port must name the arm's serial port (e.g. /dev/ttyACM0), got {c.port!r}")
    if not isinstance(c.id, str) or not c.id:
        raise SO101ConfigError(
            f"id must be the --robot.id you calibrated the arm with (lerobot-calibrate), got {c.id!r}"
        )
    for key in ("translation_m", "yaw_rad", "track_tolerance_m", "track_tolerance_rad", "max_joint_step_deg"):
        if not (_number(getattr(c, key)) and getattr(c, key) > 0):
            raise SO101ConfigError(f"{key} must be a positive number, got {getattr(c, key)!r}")
    for key in ("workspace_low", "workspace_high"):
        value = getattr(c, key)
        if not (isinstance(value, Sequence) and len(value) == 3 and all(map(_number, value))):
            raise SO101ConfigError(f"{key} must be [x, y, z] (m, base frame), got {value!r}")
    if not all(lo < hi for lo, hi in zip(c.workspace_low, c.workspace_high, strict=True)):
        raise SO101ConfigError(f"workspace_low {list(c.workspace_low)} must be below workspace_high on every axis")
    for key in ("gripper_open", "gripper_closed"):
        if not (_number(getattr(c, key)) and 0 <= getattr(c, key) <= 100):
            raise SO101ConfigError(
                f"{key} must be a gripper motor position in LeRobot's 0-100, got {getattr(c, key)!r}"
            )
    if c.gripper_open == c.gripper_closed:
        raise SO101ConfigError("gripper_open and gripper_closed must differ")
    if not (_number(c.gripper_max_width_m) and c.gripper_max_width_m >= 0):
        raise SO101ConfigError(f"gripper_max_width_m must be a width in metres >= 0, got {c.gripper_max_width_m!r}")
    for key in ("static_width", "static_height", "wrist_width", "wrist_height"):
        value = getattr(c, key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise SO101ConfigError(f"{key} must be a positive number of pixels, got {value!r}")
