"""The play agent's vocabulary: behaviours, targets, directions, phases, and the intent record.

Intents are a debug log (what the scripted agent meant to do, frame by frame) used only to
evaluate a captioner; they are never training labels. Every name has a fixed index, so an
intent packs into one stable integer for a dataset column (``Intent.code`` / ``decode_intent``).
Append new names at the end of a tuple; never reorder, or old datasets decode wrongly.

Directions are in the robot base frame (x forward, away from the robot; y to its left):
``left`` +y, ``right`` -y, ``forward`` +x, ``back`` -x. ``rotate`` uses ``left`` for a
counter-clockwise turn seen from above (+yaw) and ``right`` for clockwise. The sliding door
travels along x, so it slides ``forward`` or ``back``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim import assets

BEHAVIOURS: tuple[str, ...] = (
    "none",  # before the first act()
    "reach",  # hover the open gripper just above an object
    "grasp",  # close the gripper on an object (not lifted)
    "lift",  # pick an object up and hold it in the air
    "carry",  # pick an object up and put it down elsewhere on the table
    "place_on_plate",
    "put_in_drawer",
    "stack",  # put the target on top of ``arg`` (another object)
    "unstack",  # take the target off ``arg`` and put it on the table
    "push",  # push the target along ``arg`` (a direction)
    "rotate",  # turn the target in place, ``arg`` left (ccw) or right (cw)
    "open_drawer",
    "close_drawer",
    "slide_door",  # ``arg`` forward (+x) or back (-x)
    "press_button",  # toggles the lamp
    "pause",
    "wander",  # move the empty gripper about without touching anything
    "topple",  # knock the standing target over onto its side, falling along ``arg`` (a direction)
    "place_beside",  # put the target down next to ``arg`` (another object), on any side
)
OBJECT_NAMES: tuple[str, ...] = tuple(o.name for o in assets.OBJECTS)
TARGETS: tuple[str, ...] = ("none", *OBJECT_NAMES, "drawer", "door", "button")
DIRECTIONS: dict[str, tuple[float, float]] = {
    "left": (0.0, 1.0),
    "right": (0.0, -1.0),
    "forward": (1.0, 0.0),
    "back": (-1.0, 0.0),
}
# ``arg`` of an intent is a direction or a second object (stack / unstack).
ARGS: tuple[str, ...] = ("none", *DIRECTIONS, *OBJECT_NAMES)
PHASES: tuple[str, ...] = (
    "none",
    "approach",  # travel at a safe height towards the target
    "descend",
    "close",  # closing the gripper on the target
    "lift",
    "transport",  # carrying a held object
    "lower",
    "release",
    "retreat",
    "push",
    "turn",
    "pull",  # moving a fixture (drawer, door)
    "press",
    "hold",  # pause
    "move",  # wander
    "hesitate",  # an unplanned pause (lower skill)
)

# Layout of ``Intent.code`` (low bits first): retry 3 bits, phase 5, arg 5, target 5,
# behaviour 6, then the attempt id in the remaining high bits (an int64 holds 2**39 attempts).
_FIELDS = (("retry", 3), ("phase", 5), ("arg", 5), ("target", 5), ("behaviour", 6))
_VOCABS = {"phase": PHASES, "arg": ARGS, "target": TARGETS, "behaviour": BEHAVIOURS}
for _name, _bits in _FIELDS[1:]:
    assert len(_VOCABS[_name]) <= 1 << _bits, f"{_name} vocabulary outgrew its {_bits} bits"


@dataclass(frozen=True)
class Intent:
    """What the agent is doing now: behaviour, its target and argument, the phase, which
    attempt (a running id, one per behaviour started) and how many retries so far."""

    behaviour: str = "none"
    target: str = "none"
    arg: str = "none"  # a direction, a second object, or "none"
    phase: str = "none"
    attempt: int = -1
    retry: int = 0

    @property
    def direction(self) -> str | None:
        return self.arg if self.arg in DIRECTIONS else None

    @property
    def code(self) -> int:
        """A stable non-negative integer; ``decode_intent(code) == self`` (retry caps at 7)."""
        values = {
            "retry": min(self.retry, 7),
            "phase": PHASES.index(self.phase),
            "arg": ARGS.index(self.arg),
            "target": TARGETS.index(self.target),
            "behaviour": BEHAVIOURS.index(self.behaviour),
        }
        code, shift = 0, 0
        for name, bits in _FIELDS:
            code |= values[name] << shift
            shift += bits
        return code | ((self.attempt + 1) << shift)


def decode_intent(code: int) -> Intent:
    """Inverse of ``Intent.code``."""
    code = int(code)
    values = {}
    for name, bits in _FIELDS:
        values[name] = code & ((1 << bits) - 1)
        code >>= bits
    return Intent(
        behaviour=BEHAVIOURS[values["behaviour"]],
        target=TARGETS[values["target"]],
        arg=ARGS[values["arg"]],
        phase=PHASES[values["phase"]],
        attempt=code - 1,
        retry=values["retry"],
    )


def behaviour_of_code(codes: np.ndarray) -> np.ndarray:
    """Behaviour index of each intent code (vectorised, for dataset columns)."""
    shift = sum(bits for name, bits in _FIELDS if name != "behaviour")
    return (np.asarray(codes, dtype=np.int64) >> shift) & ((1 << _FIELDS[-1][1]) - 1)


@dataclass(frozen=True)
class Choice:
    """One behaviour the agent may start: what, on which target, with which argument."""

    behaviour: str
    target: str = "none"
    arg: str = "none"


@dataclass
class BehaviourRecord:
    """A finished behaviour. ``success`` comes from ``sim.play.checks`` on the scene states at
    ``start_step`` and ``end_step`` (steps are ``act()`` calls; the behaviour's actions are
    ``[start_step, end_step)``), never from the agent's own belief. ``aborted`` and ``reason``
    say why the agent stopped early (timeouts, a dropped object, giving up)."""

    behaviour: str
    target: str
    args: dict = field(default_factory=dict)
    start_step: int = 0
    end_step: int = 0
    success: bool = False
    attempt: int = 0
    retries: int = 0
    aborted: bool = False
    reason: str = ""
    # The caption tasks it should produce if it succeeded, and those it entails on the way
    # (``sim.play.behaviours.expected_tasks`` / ``implied_tasks``): caption quality reads them.
    expected_tasks: tuple[str, ...] = ()
    implied_tasks: tuple[str, ...] = ()
