"""Pure input mapping: held keys (or pressed buttons) -> one action of the contract + events.

Every keyboard (the PyBullet GUI window, a terminal) and every button of a gamepad or
spacemouse speaks the same small command vocabulary, so one key map prints the same
everywhere and one table-driven test covers the meaning of each command.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

from robolang.features import ACTION_NAMES
from robolang.teleop.device import SpeedLevels, StickyGripper, TeleopEvent, TeleopInput, idle_action

# Motion commands: command -> (action component, sign). Held -> moves every step.
MOTION: dict[str, tuple[str, float]] = {
    "+x": ("dx", 1.0),
    "-x": ("dx", -1.0),
    "+y": ("dy", 1.0),
    "-y": ("dy", -1.0),
    "+z": ("dz", 1.0),
    "-z": ("dz", -1.0),
    "+yaw": ("dyaw", 1.0),
    "-yaw": ("dyaw", -1.0),
}
# One-shot commands: act once per press.
GRIPPER_TOGGLE, GRIPPER_OPEN, GRIPPER_CLOSE = "gripper", "open", "close"
FASTER, SLOWER = "faster", "slower"
ONE_SHOT = (GRIPPER_TOGGLE, GRIPPER_OPEN, GRIPPER_CLOSE, FASTER, SLOWER, *(e.value for e in TeleopEvent))

MEANINGS: dict[str, str] = {
    "+x": "move away from the robot base (+x)",
    "-x": "move toward the robot base (-x)",
    "+y": "move to the robot's left (+y)",
    "-y": "move to the robot's right (-y)",
    "+z": "move up (+z)",
    "-z": "move down (-z)",
    "+yaw": "turn the gripper counter-clockwise seen from above (+yaw)",
    "-yaw": "turn the gripper clockwise seen from above (-yaw)",
    GRIPPER_TOGGLE: "toggle the gripper (open <-> closed)",
    GRIPPER_OPEN: "open the gripper",
    GRIPPER_CLOSE: "close the gripper",
    FASTER: "faster (next speed level)",
    SLOWER: "slower (previous speed level)",
    TeleopEvent.NEXT_EPISODE.value: "end the episode and save it, start the next",
    TeleopEvent.RERECORD_EPISODE.value: "discard the episode in progress and record it again",
    TeleopEvent.STOP.value: "stop teleoperating (saves what was recorded)",
}

# Keys are lower-case characters or named keys (see KEY_LABELS). WASD + arrows move in the
# plane, R/F up and down, Q/E turn (robosuite's and most games' layout); the recording keys
# follow lerobot-record (Enter/Backspace here, since the arrows move the arm). Esc cannot be
# the only stop key: in the PyBullet GUI it closes the window, so X stops too.
DEFAULT_KEYS: dict[str, str] = {
    "w": "+x",
    "up": "+x",
    "s": "-x",
    "down": "-x",
    "a": "+y",
    "left": "+y",
    "d": "-y",
    "right": "-y",
    "r": "+z",
    "f": "-z",
    "q": "+yaw",
    "e": "-yaw",
    "space": GRIPPER_TOGGLE,
    "=": FASTER,
    "+": FASTER,
    "-": SLOWER,
    "enter": TeleopEvent.NEXT_EPISODE.value,
    "backspace": TeleopEvent.RERECORD_EPISODE.value,
    "esc": TeleopEvent.STOP.value,
    "x": TeleopEvent.STOP.value,
}

KEY_LABELS = {
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "space": "Space",
    "enter": "Enter",
    "backspace": "Backspace",
    "esc": "Esc",
    "tab": "Tab",
    "page_up": "PageUp",
    "page_down": "PageDown",
}


def check_commands(bindings: Mapping[object, str]) -> None:
    """Raise ``ValueError`` naming any binding whose command is not in the vocabulary."""
    bad = {k: c for k, c in bindings.items() if c not in MOTION and c not in ONE_SHOT}
    if bad:
        raise ValueError(f"unknown teleop commands {bad}; known: {[*MOTION, *ONE_SHOT]}")


def key_map_rows(bindings: Mapping[object, str], label=str) -> list[tuple[str, str]]:
    """(inputs, meaning) rows in vocabulary order, several inputs of one command joined."""
    rows = []
    for command in [*MOTION, *ONE_SHOT]:
        inputs = [label(k) for k, c in bindings.items() if c == command]
        if inputs:
            rows.append((" / ".join(inputs), MEANINGS[command]))
    return rows


def apply_one_shot(
    commands: Iterable[str], gripper: StickyGripper, speed: SpeedLevels
) -> tuple[frozenset[TeleopEvent], bool]:
    """Carry out one-shot commands; returns the events raised and whether the gripper changed."""
    events, before = set(), gripper.value
    for command in commands:
        if command == GRIPPER_TOGGLE:
            gripper.toggle()
        elif command == GRIPPER_OPEN:
            gripper.open()
        elif command == GRIPPER_CLOSE:
            gripper.close()
        elif command == FASTER:
            speed.faster()
        elif command == SLOWER:
            speed.slower()
        elif command not in MOTION:
            events.add(TeleopEvent(command))
    return frozenset(events), gripper.value != before


def motion_action(commands: Iterable[str], scale: float, gripper: float) -> dict[str, float]:
    """Sum held motion commands (opposites cancel), scale, clip to [-1, 1]."""
    action = idle_action(gripper)
    for command in set(commands):
        if command in MOTION:
            key, sign = MOTION[command]
            action[key] += sign
    for key in ACTION_NAMES[:4]:
        action[key] = max(-1.0, min(1.0, action[key] * scale))
    return action


class KeyboardMapping:
    """Held and newly pressed keys -> a ``TeleopInput``. No I/O: every keyboard device feeds it.

    ``update(held, pressed)``: ``held`` are keys down now, ``pressed`` keys that went down
    since the last update (a tap shorter than one control step is in ``pressed`` only and
    still moves one step). Motion follows held keys, scaled by the speed level; gripper
    toggles, speed changes and events act once per press.
    """

    def __init__(self, bindings: Mapping[str, str] | None = None, speed: SpeedLevels | None = None):
        self.bindings = dict(DEFAULT_KEYS if bindings is None else bindings)
        check_commands(self.bindings)
        self.speed = speed or SpeedLevels()
        self.gripper = StickyGripper()

    def update(self, held: Set[str], pressed: Set[str] = frozenset()) -> TeleopInput:
        commands = [self.bindings[k] for k in pressed if k in self.bindings]
        events, gripper_changed = apply_one_shot(commands, self.gripper, self.speed)
        moving = [self.bindings[k] for k in set(held) | set(pressed) if k in self.bindings]
        action = motion_action(moving, self.speed.value, self.gripper.value)
        intervention = gripper_changed or any(action[k] for k in ACTION_NAMES[:4])
        return TeleopInput(action, events, intervention)

    def reset(self) -> None:
        """New episode: the gripper command goes back to open (the speed level stays)."""
        self.gripper.reset()

    @property
    def key_map(self) -> list[tuple[str, str]]:
        levels = ", ".join(f"{v:g}" for v in self.speed.levels)
        rows = key_map_rows(self.bindings, lambda k: KEY_LABELS.get(k, k))
        return [(k, f"{m} [{levels}; now {self.speed.value:g}]" if m.startswith("faster") else m) for k, m in rows]
