"""A gamepad through pygame's joystick module (optional extra ``gamepad``).

Default layout (an Xbox-style pad as SDL reports it on Linux; other pads: change
``GamepadConfig.axes`` / ``buttons``): the left stick moves in the table plane, the right
stick moves up / down and turns, A toggles the gripper, Y saves the episode, X re-records
it and B stops (Y / X / B as in LeRobot's gamepad teleoperator), LB / RB change the speed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from robolang.teleop.analog import AnalogMapping, require
from robolang.teleop.device import SpeedLevels, TeleopDevice, TeleopInput
from robolang.teleop.mapping import FASTER, GRIPPER_TOGGLE, SLOWER

# SDL axis index -> (name, direction giving a positive value, direction giving a negative one).
# SDL's stick axes are positive to the right and *down*.
XBOX_AXES = {
    0: ("left stick", "right", "left"),
    1: ("left stick", "down", "up"),
    3: ("right stick", "right", "left"),
    4: ("right stick", "down", "up"),
}
XBOX_BUTTONS = {0: "A", 1: "B", 2: "X", 3: "Y", 4: "LB", 5: "RB", 6: "Back", 7: "Start"}


@dataclass
class GamepadConfig:
    """Which stick axis drives which action component, and what each button does.

    ``axes``: component -> (SDL axis index, sign); the default inverts the sticks' y axes
    so pushing up moves away from the base / up. ``deadzone``: sticks rarely rest at exactly
    0; 0.1 of the range is LeRobot's gamepad default.
    """

    axes: dict[str, tuple[int, float]] = field(
        default_factory=lambda: {"dx": (1, -1.0), "dy": (0, -1.0), "dz": (4, -1.0), "dyaw": (3, -1.0)}
    )
    buttons: dict[int, str] = field(
        default_factory=lambda: {
            0: GRIPPER_TOGGLE,
            1: "stop",
            2: "rerecord_episode",
            3: "next_episode",
            4: SLOWER,
            5: FASTER,
        }
    )
    deadzone: float = 0.1
    joystick_index: int = 0


def import_pygame():
    """pygame, set up to read a pad without a window (headless, and in the background)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    # The pad is read while the terminal or the PyBullet window has the focus.
    os.environ.setdefault("SDL_JOYSTICK_ALLOW_BACKGROUND_EVENTS", "1")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # event pumping needs a video driver
    return require("pygame", "gamepad", "gamepad")


class Gamepad(TeleopDevice):
    """A gamepad read with pygame. ``backend``: the pygame module, or a stand-in in tests."""

    name = "gamepad"

    def __init__(self, config: GamepadConfig | None = None, backend=None, speed: SpeedLevels | None = None):
        super().__init__()
        self.config = config or GamepadConfig()
        self.mapping = AnalogMapping(self.config.axes, self.config.buttons, self.config.deadzone, speed)
        self._backend = backend
        self._pygame = None
        self._joystick = None

    @property
    def key_map(self) -> list[tuple[str, str]]:
        def axis_label(axis, direction):
            name, positive, negative = XBOX_AXES.get(axis, (f"axis {axis}", "+", "-"))
            return f"{name} {positive if direction > 0 else negative}"

        return self.mapping.key_map(axis_label, lambda i: f"button {XBOX_BUTTONS.get(i, i)}")

    def _connect(self) -> None:
        pg = self._backend or import_pygame()
        pg.display.init()  # the event queue needs a video driver (dummy when headless); no audio
        pg.joystick.init()
        count = pg.joystick.get_count()
        if count <= self.config.joystick_index:
            raise RuntimeError(f"no gamepad #{self.config.joystick_index} found ({count} connected); plug one in")
        joystick = pg.joystick.Joystick(self.config.joystick_index)
        joystick.init()
        n_axes = joystick.get_numaxes()
        missing = sorted(a for a, _ in self.config.axes.values() if a >= n_axes)
        if missing:
            raise RuntimeError(
                f"{joystick.get_name()} has {n_axes} axes; GamepadConfig.axes uses {missing}: remap them"
            )
        self._pygame, self._joystick = pg, joystick
        self.mapping.reset()

    def _disconnect(self) -> None:
        self._joystick.quit()
        self._pygame.joystick.quit()
        self._pygame = self._joystick = None

    def _poll(self) -> TeleopInput:
        pg, js = self._pygame, self._joystick
        # Fetching the events refreshes the pad's state (and keeps SDL's queue from filling);
        # a click shorter than one control step shows only as an event, so it counts too.
        me = js.get_instance_id()
        clicked = {
            e.button for e in pg.event.get() if e.type == pg.JOYBUTTONDOWN and getattr(e, "instance_id", me) == me
        }
        buttons = [bool(js.get_button(i)) or i in clicked for i in range(js.get_numbuttons())]
        return self.mapping.update(js.get_axis, buttons)

    def reset(self) -> None:
        self.mapping.reset()
