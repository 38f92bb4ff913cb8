"""The phrasing grammar's vocabulary: the pattern language, frames, direction phrases and nouns.

A task's templates are imperative *patterns* grouped under their verb synonym (the key: the
word whose absence from training the ``heldout_phrasing`` split measures), plus verb-less
*goals* ("I want {x} in {d}"). Patterns are wrapped in politeness *frames*; goals stand alone.

Slots: ``{x}`` and ``{y}`` are the task's object arguments; ``{p}`` the plate, ``{d}`` the
drawer, ``{s}`` the sliding door, ``{l}`` the light, ``{b}`` the button (scene nouns, filled
from ``grammar_describe``). ``<name>`` expands to each phrase of ``ALTERNATIVES[name]`` (directions,
regions, prepositions), so one line stands for several patterns. The task table itself is
``robolang.captioning.tasks`` (each ``Task.phrasing``).

Rules the tests hold the vocabulary to: the first verb of a task is its canonical one (never
held out); a pattern contains its verb key as a word; a held-out verb or noun key never occurs
as a word in that task's training phrasings, so frames and goals use none of a task's keys.
Directions are the robot's: left = +y, forward (away from the robot) = +x; the door's left and
right are as seen facing the door cabinet (on the robot's left), so its right is +x.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# Politeness frames around an imperative pattern {c}. None may use a task's verb key as a word.
FRAMES: dict[str, str] = {
    "bare": "{c}",
    "please": "please {c}",
    "please_end": "{c}, please",
    "can_you": "can you {c}?",
    "could_you": "could you please {c}?",
    "would_you": "would you {c} for me?",
    "want_you": "I want you to {c}",
    "like_you": "I'd like you to {c}",
    "need_you": "I need you to {c}",
    "go_ahead": "go ahead and {c}",
    "now": "now {c}",
    "lets": "let's {c}",
}

ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "left": ("to the left", "left", "to your left", "towards the left"),
    "right": ("to the right", "right", "to your right", "towards the right"),
    "forward": ("forward", "forwards", "away from you", "further away"),
    "back": ("back", "backwards", "towards you", "back towards you"),
    "toward": ("towards you", "closer to you", "closer", "back towards you"),
    "ccw": ("to the left", "left", "counterclockwise", "counter-clockwise", "anticlockwise"),
    "cw": ("to the right", "right", "clockwise"),
    "on_left": (
        "on the left side",
        "on the left side of the table",
        "on the left half of the table",
        "on your left side",
    ),
    "to_left": (
        "to the left side",
        "to the left side of the table",
        "over to the left side",
        "to the left half of the table",
    ),
    "on_right": (
        "on the right side",
        "on the right side of the table",
        "on the right half of the table",
        "on your right side",
    ),
    "to_right": (
        "to the right side",
        "to the right side of the table",
        "over to the right side",
        "to the right half of the table",
    ),
    "on_front": ("at the front of the table", "near you", "close to you", "on the near side of the table"),
    "to_front": ("to the front of the table", "to the front", "to the near side of the table", "close to you"),
    "on_back": (
        "at the back of the table",
        "on the far side of the table",
        "at the far end of the table",
        "far from you",
    ),
    "to_back": (
        "to the back of the table",
        "to the back",
        "to the far side of the table",
        "to the far end of the table",
    ),
    "next": ("next to", "beside", "alongside", "right next to"),
    "front_of": ("in front of", "right in front of", "just in front of"),
    "behind": ("behind", "right behind", "just behind"),
    "door_left": ("to the left", "left", "over to the left", "towards the left"),
    "door_right": ("to the right", "right", "over to the right", "towards the right"),
}

# Object nouns by shape; the first is the canonical noun. "block" and "brick" also fit a bar
# (a long block). Unknown shapes are called by their shape word.
SHAPE_NOUNS: dict[str, tuple[str, ...]] = {
    "cube": ("cube", "block", "box", "brick"),
    "bar": ("bar", "block", "stick", "beam", "rod", "plank", "brick"),
    "cylinder": ("cylinder", "canister", "tube", "pillar", "column"),
    "sphere": ("sphere", "ball", "orb"),
    "cone": ("cone",),
    "pyramid": ("pyramid",),
    "plate": ("plate", "dish", "platter"),
}
GENERIC_NOUNS = ("object", "thing", "item", "piece", "toy")  # any movable object
PRONOUN = "one"  # "the red one": needs an adjective; never held out
LANDMARK_SHAPES = ("plate",)  # not movable: no generic nouns, no size comparisons, used as a landmark
COLOUR_VARIANTS = {"grey": ("grey", "gray"), "gray": ("gray", "grey")}

# Fixture noun phrases as (key, phrase); a fixture's first key is canonical.
FIXTURE_NOUNS: dict[str, tuple[tuple[str, str], ...]] = {
    "drawer": (
        ("drawer", "the drawer"),
        ("cabinet", "the cabinet drawer"),
        ("cabinet", "the drawer of the cabinet"),
        ("desk", "the desk drawer"),
    ),
    "door": (
        ("door", "the sliding door"),
        ("door", "the door"),
        ("slider", "the slider"),
        ("panel", "the sliding panel"),
        ("cupboard", "the cupboard door"),
    ),
    "light": (
        ("light", "the light"),
        ("light", "the lights"),
        ("lamp", "the lamp"),
        ("bulb", "the light bulb"),
        ("bulb", "the bulb"),
    ),
    "button": (("button", "the button"), ("switch", "the switch"), ("switch", "the light switch")),
}
SLOT_KINDS = {"x": "object", "y": "object", "p": "plate", "d": "drawer", "s": "door", "l": "light", "b": "button"}


@dataclass(frozen=True)
class TaskTemplates:
    """One task's phrasing: ``verbs`` maps a verb synonym (canonical first) to imperative
    patterns; ``goals`` are verb-less statements. ``meaning`` is what the task id means."""

    meaning: str
    verbs: dict[str, tuple[str, ...]]
    goals: tuple[str, ...]


def expand(pattern: str) -> tuple[str, ...]:
    """``"push {x} <left>"`` -> one pattern per phrase of ``ALTERNATIVES["left"]``."""
    names = re.findall(r"<(\w+)>", pattern)
    out = []
    for choice in itertools.product(*(ALTERNATIVES[n] for n in names)):
        text = pattern
        for name, phrase in zip(names, choice, strict=True):
            text = text.replace(f"<{name}>", phrase, 1)
        out.append(text)
    return tuple(out)


def templates(meaning: str, verbs: dict[str, tuple[str, ...] | str], goals: tuple[str, ...] = ()) -> TaskTemplates:
    """A ``TaskTemplates`` with every ``<name>`` expanded; a verb may map to one pattern or several."""
    expanded = {}
    for key, patterns in verbs.items():
        patterns = (patterns,) if isinstance(patterns, str) else patterns
        expanded[key] = tuple(e for p in patterns for e in expand(p))
    return TaskTemplates(meaning, expanded, tuple(e for g in goals for e in expand(g)))
