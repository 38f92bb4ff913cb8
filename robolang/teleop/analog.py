"""Shared mapping of analog devices (gamepads, spacemice): axes -> motion, buttons -> commands.

Pure: the device reads its library and hands over axis values and button states.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence

from robolang.features import ACTION_NAMES
from robolang.teleop.device import SpeedLevels, StickyGripper, TeleopInput, idle_action
from robolang.teleop.mapping import MEANINGS, MOTION, apply_one_shot, check_commands


def require(module: str, extra: str, device: str):
    """Import an optional package, or raise an ``ImportError`` that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"the {device} device needs the optional package '{module}', which is not installed: "
            f"pip install 'robolang[{extra}]'"
        ) from exc


def apply_deadzone(value: float, deadzone: float) -> float:
    """0 inside the deadzone; outside it, rescaled so the output still spans [-1, 1] smoothly."""
    magnitude = abs(value)
    if magnitude <= deadzone:
        return 0.0
    scaled = min(1.0, (magnitude - deadzone) / (1.0 - deadzone))
    return scaled if value > 0 else -scaled


class AnalogMapping:
    """Axis values and button states -> a ``TeleopInput``.

    ``axes``: action component (``dx``, ``dy``, ``dz``, ``dyaw``) -> (device axis, sign).
    ``buttons``: button index -> command (``robolang.teleop.mapping`` vocabulary); commands
    act once per press (on the button's down edge).
    """

    def __init__(
        self,
        axes: Mapping[str, tuple[object, float]],
        buttons: Mapping[int, str],
        deadzone: float,
        speed: SpeedLevels | None = None,
    ):
        unknown = set(axes) - set(ACTION_NAMES[:4])
        if unknown:
            raise ValueError(f"axes can drive {list(ACTION_NAMES[:4])}, not {sorted(unknown)}")
        if not 0 <= deadzone < 1:
            raise ValueError(f"deadzone must be in [0, 1), got {deadzone}")
        check_commands(buttons)
        self.axes = dict(axes)
        self.buttons = dict(buttons)
        self.deadzone = deadzone
        # Sticks and caps are proportional already: start at full scale.
        self.speed = speed or SpeedLevels(start=1.0)
        self.gripper = StickyGripper()
        self._was_down: set[int] = set()

    def update(self, read_axis: Callable[[object], float], buttons_down: Sequence[int]) -> TeleopInput:
        down = {i for i in self.buttons if i < len(buttons_down) and buttons_down[i]}
        pressed = sorted(down - self._was_down)
        self._was_down = down
        events, gripper_changed = apply_one_shot([self.buttons[i] for i in pressed], self.gripper, self.speed)
        action = idle_action(self.gripper.value)
        for component, (axis, sign) in self.axes.items():
            value = sign * apply_deadzone(float(read_axis(axis)), self.deadzone) * self.speed.value
            action[component] = max(-1.0, min(1.0, value))
        intervention = gripper_changed or any(action[k] for k in ACTION_NAMES[:4])
        return TeleopInput(action, events, intervention)

    def reset(self) -> None:
        self.gripper.reset()
        self._was_down = set()

    def key_map(self, axis_label: Callable[[object, float], str], button_label: Callable[[int], str]) -> list:
        """Rows for each axis direction and each button. ``axis_label(axis, +1/-1)`` names the
        physical motion that makes the axis value positive / negative."""
        rows = []
        for command, (component, command_sign) in MOTION.items():
            if component in self.axes:
                axis, sign = self.axes[component]
                rows.append((axis_label(axis, command_sign * sign), MEANINGS[command]))
        rows += [(button_label(i), MEANINGS[c]) for i, c in sorted(self.buttons.items())]
        return rows
