"""Configuration of a Universal Robots arm (``URRobotConfig``) and its gripper, checked on creation.

Kept apart from the driver (``hardware/ur.py``) the way LeRobot lays out a device
(``config_<device>.py`` beside ``<device>.py``): LeRobot's ``make_robot_from_config`` finds
``URRobot`` in ``hardware.ur`` from this module's name. Every check raises ``URConfigError``
(or the cameras' ``CameraConfigError``) with one line that names the fix, before anything is
opened.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Protocol

from hardware.cameras import DEFAULT_TIMEOUT_MS, CameraSettings
from robolang.errors import RobolangError
from robolang.features import CONTROL_FPS
from robolang.robot import EEDeltaLimits, RobotConfig

UR_JOINTS = 6
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class URConfigError(RobolangError, ValueError):
    """A UR set-up that cannot work: a bad config value, or ur_rtde not installed."""


# ---- grippers ----------------------------------------------------------------------------------
class Gripper(Protocol):
    """What the driver needs from a gripper: open/close it and say how wide it is."""

    def set_closed(self, io, closed: bool) -> bool:
        """Command the gripper through ``rtde_io``; return the SDK's answer (False: refused)."""

    def width(self, receive) -> float:
        """Finger opening (m) for ``gripper.width``, read through ``rtde_receive``."""


@dataclass(frozen=True)
class DigitalOutputGripper:
    """A gripper switched by one digital output of the controller (pneumatic, or electric with a
    digital input), wired to the control box (``setStandardDigitalOut``, outputs 0-7) or to the
    tool connector (``tool: true``, ``setToolDigitalOut``, outputs 0-1). An action's gripper
    value > 0 closes it, <= 0 opens it. It has no width sensor: ``width`` reports
    ``closed_width_m`` or ``open_width_m`` from the output's actual level."""

    output: int = 0
    tool: bool = False
    close_level: bool = True  # the output level that closes the gripper
    open_width_m: float = 0.08  # reported when open (the simulated Panda opens 0.08 m)
    closed_width_m: float = 0.0

    def __post_init__(self) -> None:
        top = 1 if self.tool else 7
        if isinstance(self.output, bool) or not isinstance(self.output, int) or not 0 <= self.output <= top:
            where = "tool" if self.tool else "standard"
            raise URConfigError(f"gripper.output must be a {where} digital output 0-{top}, got {self.output!r}")
        for key in ("open_width_m", "closed_width_m"):
            value = getattr(self, key)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise URConfigError(f"gripper.{key} must be a width in metres >= 0, got {value!r}")

    def set_closed(self, io, closed: bool) -> bool:
        level = self.close_level if closed else not self.close_level
        write = io.setToolDigitalOut if self.tool else io.setStandardDigitalOut
        return write(self.output, level)

    def width(self, receive) -> float:
        # RTDE's actual digital output bits: standard 0-7, configurable 8-15, tool 16-17.
        level = receive.getDigitalOutState(self.output + (16 if self.tool else 0))
        return float(self.closed_width_m if bool(level) == self.close_level else self.open_width_m)


GRIPPERS = {"digital_output": DigitalOutputGripper}


def make_gripper(settings: Mapping) -> Gripper:
    """A gripper from its config mapping (``type`` plus that type's settings)."""
    if not isinstance(settings, Mapping):
        raise URConfigError(f"gripper must be a mapping like {{type: digital_output, output: 0}}, got {settings!r}")
    options = dict(settings)
    kind = options.pop("type", "digital_output")
    if kind not in GRIPPERS:
        raise URConfigError(f"gripper.type {kind!r} is unknown: use one of {sorted(GRIPPERS)}")
    allowed = [f.name for f in fields(GRIPPERS[kind])]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise URConfigError(f"gripper: unknown setting(s) {unknown} for {kind}; allowed: {allowed}")
    return GRIPPERS[kind](**options)


# ---- configuration -----------------------------------------------------------------------------
@RobotConfig.register_subclass("robolang_ur")
@dataclass(kw_only=True)
class URRobotConfig(CameraSettings, RobotConfig):
    """A UR arm, its gripper and cameras (plain values, hydra- and draccus-friendly).

    ``cameras`` maps ``static`` and ``wrist`` to ``hardware.cameras.CameraRig`` settings; the
    ``*_width``/``*_height`` are the image sizes the robot delivers (the policy's input).
    """

    host: str  # the controller's IP address or host name (pendant: Settings > System > Network)
    control_fps: int = CONTROL_FPS  # one servoL target per step; the action scale assumes this rate
    servo_lookahead_s: float = 0.1  # servoL lookahead, 0.03-0.2 s: longer is smoother but lags more
    servo_gain: float = 300.0  # servoL gain, 100-2000: higher tracks tighter, and can oscillate
    tcp_offset: list[float] | None = None  # flange -> TCP [x, y, z, rx, ry, rz]; None keeps the pendant's
    home_joints: list[float] | None = None  # six joint angles (rad) to moveJ to on connect; None: stay
    home_speed_rad_s: float = 0.25  # slow: the home move runs before any watchdog does
    translation_m: float = EEDeltaLimits.translation_m
    yaw_rad: float = EEDeltaLimits.yaw_rad
    workspace_low: list[float] | None = None  # [x, y, z] m, base frame; both or neither
    workspace_high: list[float] | None = None
    gripper: dict = field(default_factory=lambda: {"type": "digital_output", "output": 0})
    cameras: dict = field(default_factory=dict)
    camera_timeout_ms: float = DEFAULT_TIMEOUT_MS
    static_width: int = 128
    static_height: int = 128
    wrist_width: int = 128
    wrist_height: int = 128

    def __post_init__(self) -> None:
        # Not RobotConfig.__post_init__: it expects LeRobot camera objects in ``cameras``; these
        # are plain mappings, checked by CameraRig below.
        _check_config(self)
        self.make_gripper()
        self.camera_rig()

    def make_gripper(self) -> Gripper:
        return make_gripper(self.gripper)

    def workspace_box(self) -> tuple[tuple[float, float, float], tuple[float, float, float]] | None:
        if self.workspace_low is None:
            return None
        return tuple(map(float, self.workspace_low)), tuple(map(float, self.workspace_high))


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_config(c: URRobotConfig) -> None:
    """Every scalar and list of the config, each with a one-line message that names the fix."""
    if not _valid_host(c.host):
        raise URConfigError(
            f"host {c.host!r} is not an IP address or host name: set it to the controller's "
            "address (teach pendant: Settings > System > Network)"
        )
    if isinstance(c.control_fps, bool) or not isinstance(c.control_fps, int) or c.control_fps <= 0:
        raise URConfigError(f"control_fps must be a positive whole number of steps per second, got {c.control_fps!r}")
    if not (_number(c.servo_lookahead_s) and 0.03 <= c.servo_lookahead_s <= 0.2):
        raise URConfigError(
            f"servo_lookahead_s must be within [0.03, 0.2] s (servoL's range), got {c.servo_lookahead_s!r}"
        )
    if not (_number(c.servo_gain) and 100 <= c.servo_gain <= 2000):
        raise URConfigError(f"servo_gain must be within [100, 2000] (servoL's range), got {c.servo_gain!r}")
    for key in ("translation_m", "yaw_rad", "home_speed_rad_s"):
        value = getattr(c, key)
        if not (_number(value) and value > 0):
            raise URConfigError(f"{key} must be a positive number, got {value!r}")
    for key, size, what in (
        ("tcp_offset", 6, "[x, y, z, rx, ry, rz] (m, rad)"),
        ("home_joints", UR_JOINTS, "six joint angles (rad)"),
        ("workspace_low", 3, "[x, y, z] (m)"),
        ("workspace_high", 3, "[x, y, z] (m)"),
    ):
        value = getattr(c, key)
        if value is not None and not (isinstance(value, Sequence) and len(value) == size and all(map(_number, value))):
            raise URConfigError(f"{key} must be {what} or null, got {value!r}")
    if (c.workspace_low is None) != (c.workspace_high is None):
        raise URConfigError("set both workspace_low and workspace_high, or neither")
    if c.workspace_low is not None and not all(
        lo < hi for lo, hi in zip(c.workspace_low, c.workspace_high, strict=True)
    ):
        raise URConfigError(
            f"workspace_low {list(c.workspace_low)} must be below workspace_high {list(c.workspace_high)} on every axis"
        )
    for key in ("static_width", "static_height", "wrist_width", "wrist_height"):
        value = getattr(c, key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise URConfigError(f"{key} must be a positive number of pixels, got {value!r}")


def _valid_host(host) -> bool:
    if not isinstance(host, str) or not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    # All-numeric dotted names are meant as IPv4 addresses, and 192.168.1.300 is not one.
    return HOSTNAME.match(host) is not None and not host.replace(".", "").isdigit()
