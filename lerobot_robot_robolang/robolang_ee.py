"""LeRobot's end-effector teleoperators, emitting robolang actions for LeRobot's own scripts.

``keyboard_ee`` and ``gamepad`` emit ``delta_x, delta_y, delta_z`` and a 0 / 1 / 2 gripper
command, which a robolang robot refuses. These subclasses pass it through
``EEDeltaToRobolangStep`` (``RobolangActionTeleop``; the conversion ``robolang teleop`` uses)
and emit ``dx, dy, dz, dyaw, gripper``. Episode events (``get_teleop_events``) are LeRobot's.
"""

from __future__ import annotations

from lerobot.teleoperators.gamepad.teleop_gamepad import GamepadTeleop
from lerobot.teleoperators.keyboard.teleop_keyboard import KeyboardEndEffectorTeleop

from lerobot_robot_robolang.config_robolang_ee import RobolangGamepadTeleopConfig, RobolangKeyboardEETeleopConfig
from robolang.teleop.lerobot_processor import RobolangActionTeleop


class RobolangKeyboardEETeleop(RobolangActionTeleop, KeyboardEndEffectorTeleop):
    """``keyboard_ee`` emitting robolang actions: arrows move in the table plane, the Shift keys
    up and down, Left / Right Ctrl close / open the gripper (it stays as set)."""

    config_class = RobolangKeyboardEETeleopConfig
    name = "robolang_keyboard_ee"
    lerobot_type = "keyboard_ee"


class RobolangGamepadTeleop(RobolangActionTeleop, GamepadTeleop):
    """``gamepad`` emitting robolang actions: the left stick moves in the table plane, the right
    stick up and down, buttons 6 / 7 close / open the gripper."""

    config_class = RobolangGamepadTeleopConfig
    name = "robolang_gamepad"
    lerobot_type = "gamepad"
