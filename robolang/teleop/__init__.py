"""Teleoperation: one device interface for every input, each producing end-effector deltas.

Every device (``TerminalKeyboard``, ``Gamepad``, ``SpaceMouse``, ``LeRobotTeleopAdapter``,
and the PyBullet GUI window keyboard in ``sim.teleop_gui``) returns, per ``poll()``, a
``TeleopInput``: an action of the robot contract (``dx, dy, dz, dyaw, gripper`` in [-1, 1],
robot base frame, gripper -1 open / +1 closed, zeros when idle) and the recording events the
person asked for (``next_episode``, ``rerecord_episode``, ``stop``). ``run_teleop`` drives a
robot from a device at a fixed rate and hands every frame to a callback (the recorder).
Optional hardware libraries (pygame, pyspacemouse) are imported only when a device connects.
"""

from robolang.teleop.analog import AnalogMapping, apply_deadzone
from robolang.teleop.device import (
    GRIPPER_CLOSED,
    GRIPPER_OPEN,
    ScriptedDevice,
    SpeedLevels,
    StickyGripper,
    TeleopDevice,
    TeleopDeviceNotConnectedError,
    TeleopEvent,
    TeleopInput,
    format_table,
    idle_action,
)
from robolang.teleop.gamepad import Gamepad, GamepadConfig
from robolang.teleop.lerobot_adapter import LeRobotTeleopAdapter, convert_lerobot_action, convert_lerobot_events
from robolang.teleop.loop import run_teleop
from robolang.teleop.mapping import DEFAULT_KEYS, KeyboardMapping
from robolang.teleop.spacemouse import SpaceMouse, SpaceMouseConfig
from robolang.teleop.terminal import KeyHoldTracker, TerminalKeyboard, parse_terminal_keys

__all__ = [
    "DEFAULT_KEYS",
    "GRIPPER_CLOSED",
    "GRIPPER_OPEN",
    "AnalogMapping",
    "Gamepad",
    "GamepadConfig",
    "KeyHoldTracker",
    "KeyboardMapping",
    "LeRobotTeleopAdapter",
    "ScriptedDevice",
    "SpaceMouse",
    "SpaceMouseConfig",
    "SpeedLevels",
    "StickyGripper",
    "TeleopDevice",
    "TeleopDeviceNotConnectedError",
    "TeleopEvent",
    "TeleopInput",
    "TerminalKeyboard",
    "apply_deadzone",
    "convert_lerobot_action",
    "convert_lerobot_events",
    "format_table",
    "idle_action",
    "parse_terminal_keys",
    "run_teleop",
]
