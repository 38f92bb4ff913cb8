"""Keyboard teleoperation in the PyBullet GUI window (``pybullet.getKeyboardEvents``).

Same key map as the terminal keyboard (``robolang.teleop.mapping.DEFAULT_KEYS``), but the
window reports real key-down and key-up, so keys combine (diagonals, move while turning)
and a tap moves exactly while the key is down. PyBullet's own single-key shortcuts (w:
wireframe, s: shadows, g: GUI panels, ...) are switched off while connected. Esc closes
PyBullet's window whatever we do; a closed window reads as ``stop``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pybullet as pb

from robolang.teleop import KeyboardMapping, TeleopDevice, TeleopEvent, TeleopInput, idle_action

ESCAPE = 27  # B3G_ESCAPE in Bullet's b3gWindowInterface; pybullet does not export it
PYBULLET_KEYS = {
    pb.B3G_UP_ARROW: "up",
    pb.B3G_DOWN_ARROW: "down",
    pb.B3G_LEFT_ARROW: "left",
    pb.B3G_RIGHT_ARROW: "right",
    pb.B3G_PAGE_UP: "page_up",
    pb.B3G_PAGE_DOWN: "page_down",
    pb.B3G_RETURN: "enter",
    pb.B3G_BACKSPACE: "backspace",
    pb.B3G_SPACE: "space",
    ESCAPE: "esc",
    9: "tab",
}


def key_name(code: int) -> str | None:
    """A pybullet key code -> the mapping's key name (letters lower-cased), None if unused."""
    if code in PYBULLET_KEYS:
        return PYBULLET_KEYS[code]
    if 33 <= code <= 126:
        return chr(code).lower()
    return None


def held_and_triggered(events: Mapping[int, int]) -> tuple[frozenset[str], frozenset[str]]:
    """``getKeyboardEvents()`` ({key code: KEY_IS_DOWN | KEY_WAS_TRIGGERED | KEY_WAS_RELEASED
    flags}) -> (keys down now, keys that went down since the last call)."""
    held, triggered = set(), set()
    for code, flags in events.items():
        name = key_name(code)
        if name is None:
            continue
        if flags & pb.KEY_IS_DOWN:
            held.add(name)
        if flags & pb.KEY_WAS_TRIGGERED:
            triggered.add(name)
    return frozenset(held), frozenset(triggered)


class PyBulletGuiKeyboard(TeleopDevice):
    """The keyboard of a PyBullet GUI window.

    ``client_id``: the GUI physics client to read (the window showing the scene); None opens
    a window of its own that only takes the keyboard focus. ``events_fn``: returns event
    dicts in place of ``pybullet.getKeyboardEvents`` (tests; no window is needed then).
    """

    name = "PyBullet window keyboard"

    def __init__(
        self,
        client_id: int | None = None,
        mapping: KeyboardMapping | None = None,
        events_fn: Callable[[], Mapping[int, int]] | None = None,
    ):
        super().__init__()
        self.mapping = mapping or KeyboardMapping()
        self.client_id = client_id
        self._events_fn = events_fn
        self._owns_client = False
        self._was_held: frozenset[str] = frozenset()

    @property
    def key_map(self) -> list[tuple[str, str]]:
        return self.mapping.key_map

    def _connect(self) -> None:
        self._was_held = frozenset()
        if self._events_fn is not None:
            return
        if self.client_id is None:
            self.client_id = pb.connect(pb.GUI)
            self._owns_client = True
            pb.addUserDebugText(
                "robolang teleop: keep this window focused", [0, 0, 0.5], physicsClientId=self.client_id
            )
        info = pb.getConnectionInfo(physicsClientId=self.client_id)
        if not info["isConnected"] or info["connectionMethod"] != pb.GUI:
            raise ValueError(
                f"physics client {self.client_id} is not a connected GUI client: keyboard events come only "
                "from a PyBullet GUI window. Create the scene with pybullet.GUI, or leave client_id out."
            )
        pb.configureDebugVisualizer(pb.COV_ENABLE_KEYBOARD_SHORTCUTS, 0, physicsClientId=self.client_id)

    def _disconnect(self) -> None:
        if self._events_fn is not None or not pb.isConnected(self.client_id):
            return
        if self._owns_client:
            pb.disconnect(self.client_id)
            self.client_id, self._owns_client = None, False
        else:
            pb.configureDebugVisualizer(pb.COV_ENABLE_KEYBOARD_SHORTCUTS, 1, physicsClientId=self.client_id)

    def _window_closed(self) -> bool:
        return self.client_id is not None and not pb.isConnected(self.client_id)

    def _poll(self) -> TeleopInput:
        if self._window_closed():
            return TeleopInput(idle_action(self.mapping.gripper.value), frozenset({TeleopEvent.STOP}))
        events = self._events_fn() if self._events_fn else pb.getKeyboardEvents(physicsClientId=self.client_id)
        held, triggered = held_and_triggered(events)
        # A key already down at the last poll is not pressed again, whether or not the window
        # system re-triggers it while auto-repeating: one toggle per press.
        pressed = triggered - self._was_held
        self._was_held = held
        return self.mapping.update(held, pressed)

    def reset(self) -> None:
        self.mapping.reset()


def gui_keyboard(robot=None, mapping=None) -> PyBulletGuiKeyboard:
    """The GUI keyboard reading the window of ``robot``'s scene (``robot.config.gui=true``), or a
    window of its own when the robot has no GUI scene."""
    scene = getattr(robot, "scene", None)
    client = scene.client if scene is not None and scene.config.gui else None
    return PyBulletGuiKeyboard(client_id=client, mapping=mapping)
