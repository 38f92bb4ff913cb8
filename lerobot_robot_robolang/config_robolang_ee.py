"""Configs of LeRobot's end-effector teleoperators emitting robolang actions (``robolang_ee.py``).

``--teleop.type=robolang_keyboard_ee`` / ``robolang_gamepad`` take every option of LeRobot's
``keyboard_ee`` / ``gamepad`` (``--teleop.use_gripper``, ``--teleop.id``) and ``scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lerobot.teleoperators import TeleoperatorConfig
from lerobot.teleoperators.gamepad.configuration_gamepad import GamepadTeleopConfig
from lerobot.teleoperators.keyboard.configuration_keyboard import KeyboardEndEffectorTeleopConfig


@TeleoperatorConfig.register_subclass("robolang_keyboard_ee")
@dataclass
class RobolangKeyboardEETeleopConfig(KeyboardEndEffectorTeleopConfig):
    """LeRobot's ``keyboard_ee`` (pynput: needs a display) for a robolang robot."""

    # A key held for one step commands scale x full scale (the robot's per-step limit; the
    # sim's is 2 cm), the same default as `robolang teleop device=lerobot_keyboard_ee`.
    scale: float = 1.0


@TeleoperatorConfig.register_subclass("robolang_gamepad")
@dataclass
class RobolangGamepadTeleopConfig(GamepadTeleopConfig):
    """LeRobot's ``gamepad`` (pygame / hidapi) for a robolang robot."""

    scale: float = 1.0  # a stick at full deflection commands scale x full scale
