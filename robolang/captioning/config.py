"""Thresholds of the oracle captioner: task predicates and segmentation.

Defaults live here, each with the reason for its value; ``configs/caption/default.yaml``
mirrors them (a test keeps the two equal). All lengths are metres, angles degrees, times
frames at the dataset's 10 Hz. The dataclasses are frozen, so a config is hashable and
derived per-frame features can be cached per (episode, config).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path

from robolang.captioning.errors import CaptionError

Box = tuple[tuple[float, float, float], tuple[float, float, float]]  # (low corner, high corner)


@dataclass(frozen=True)
class TaskThresholds:
    """What counts as a task having happened between a start and an end state."""

    # A move of 5 cm is clearly visible in a 128 px camera and is the scripted checks' bar
    # (sim/play/checks.py MOVED_M): pushes, slides, lifts, drawer and door moves, carries; an
    # object held 5 cm clear of where it rested is "in the air" (put_down starts there).
    move_min_m: float = 0.05
    # A push: < 2 cm sideways per 5 cm along the direction, so a diagonal shove is not "left".
    push_sideways_ratio: float = 0.4
    # A push never raises the object more than 1.5 cm above its rest height: a push, not a carry.
    push_max_rise_m: float = 0.015
    # A turn of 30 degrees or more is unmistakable (sim/play/checks.py TURNED_RAD).
    rotate_min_deg: float = 30.0
    # A rotation moves the object's centre less than 5 cm: a turn in place, not a carry.
    rotate_max_shift_m: float = 0.05
    # "On the table": centre within 1.2 cm of its resting height (lying cylinder: 0.5 cm off).
    rest_tolerance_m: float = 0.012
    # Held: touching the gripper with the fingers neither shut on nothing (< 4 mm) nor wide
    # open (the open gripper is 8 cm, the widest graspable object 5.5 cm).
    held_width_min_m: float = 0.004
    held_width_max_m: float = 0.07
    # Graspable: the narrower horizontal side fits between fingers held under 7 cm.
    grasp_max_width_m: float = 0.07
    # Fits in the drawer: the longer horizontal side under 12 cm (inside is 22 x 16.5 cm).
    drawer_fit_max_m: float = 0.12
    # Still: the centre moves less than 2 mm per frame (2 cm/s); resting objects sleep at 0.
    still_m: float = 0.002
    # On top of: centre higher by 70% of the two half heights (sim/play/checks.py resting_on),
    # and within the base's footprint radius plus 1 cm.
    stack_rise_ratio: float = 0.7
    stack_margin_m: float = 0.01
    # Table regions: outer thirds of the object region x 0.33-0.62, y -0.22-0.22 (sim/assets.py).
    left_min_y: float = 0.07
    right_max_y: float = -0.07
    back_min_x: float = 0.52
    front_max_x: float = 0.43
    # Next to: the gap between the two footprint circles is under 5 cm (about a block's width).
    next_to_gap_m: float = 0.05
    # Topple: upright within 20 degrees at the start, tilted more than 60 at the end.
    upright_max_deg: float = 20.0
    toppled_min_deg: float = 60.0
    # Tall enough to topple: height at least 1.2 times the narrower horizontal side.
    tall_ratio: float = 1.2
    # Button pressed: below 60% of its travel, the lamp's latch (sim/scene.py _update_button);
    # released again above 30%.
    press_fraction: float = 0.6
    release_fraction: float = 0.3
    # Drawer inside relative to its cabinet at joint 0 (sim/assets.py desk_urdf: inner faces of
    # the drawer's sides, back and front; below the cabinet's top board).
    drawer_inside: Box = ((-0.11, -0.08, 0.0), (0.11, 0.085, 0.125))


@dataclass(frozen=True)
class SegmentConfig:
    """How task instances are found in continuous play and how their windows are trimmed."""

    # Stays true 0.5 s: settles physics jitter and a release's bounce, not a passing state.
    stay_frames: int = 5
    # The robot acts on an object when the end-effector is within 10 cm of its footprint
    # circle (hovering over it, about to grasp or push; transit height is 12 cm).
    reach_m: float = 0.10
    # A rest shorter than 0.3 s inside one interaction does not start a new one.
    min_rest_frames: int = 3
    # Lead-in: the end-effector's approach (its distance shrinking by >= 2 mm per frame) before
    # it came within reach, at least 0.2 s and at most 3 s (a transit across the table).
    approach_eps_m: float = 0.002
    lead_in_min_frames: int = 2
    lead_in_max_frames: int = 30
    # Windows of 1 s to 20 s: the scripted behaviours take 1.3 s (a press) to 11 s (a slow
    # carry with retries). Shorter windows are extended at the start; longer ones clipped
    # at the start; either is dropped if the task no longer holds over the new window.
    min_frames: int = 10
    max_frames: int = 200
    # How far after its start a task may complete (30 s), so the scan stays O(T).
    search_frames: int = 300
    # Fixture parts the robot touches, relative to their cabinet (button: its centre) at
    # joint 0 (sim/assets.py desk_urdf): drawer front board and handle, door panel, button cap.
    drawer_front: Box = ((-0.125, 0.085, 0.015), (0.125, 0.136, 0.125))
    door_panel: Box = ((-0.145, -0.102, 0.015), (0.005, -0.09, 0.205))
    button_cap: Box = ((-0.024, -0.024, 0.0), (0.024, 0.024, 0.05))


@dataclass(frozen=True)
class VisionConfig:
    """How sure the vision captioner must be (``captioner=vision``; the oracle ignores this).

    Where an object's position comes from the cameras (not pinned by the hand), it is uncertain:
    by the estimator's error and by how much its readings there scatter. The episode is segmented
    again ``draws`` times with each such stretch moved by a random offset of that size, and a label
    is kept only where at least ``agreement`` of the draws find it too (a relation that a few
    centimetres would undo is not asserted). ``draws: 0`` keeps every label of the estimate."""

    # 8 draws: agreement in steps of 1/8; each costs one more segmentation of the episode.
    draws: int = 8
    # The estimator's error on an object it reads well (median 1.1-1.5 cm in default, BENCHMARKS.md
    # "State estimator"): added to the readings' own scatter and to how far off the hand found the
    # cameras (1-5 cm made no difference on the development recordings: those two dominate).
    sigma_m: float = 0.02
    # A label found in at least 7 of the 8 draws is kept (0.75 -> 0.875 -> 1: about +1 point
    # precise and -0.3 recall per step on the development recordings).
    agreement: float = 0.875
    # Draws are seeded by (seed, episode): reruns give the same labels.
    seed: int = 0


@dataclass(frozen=True)
class CaptionConfig:
    """Everything the oracle captioner's detection needs (and the vision captioner's certainty)."""

    tasks: TaskThresholds = field(default_factory=TaskThresholds)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    vision: VisionConfig = field(default_factory=VisionConfig)

    @classmethod
    def from_dict(cls, data: dict | None, strict: bool = False) -> CaptionConfig:
        """Build from the ``tasks``, ``segment`` and ``vision`` sections of plain data (a yaml mapping,
        or a hydra config as a dict), checking every value (``CaptionConfigError`` names the key,
        the value and what is allowed). Unknown keys inside these sections raise; other
        sections too when ``strict`` (the whole file is the captioner's), else they are left
        to their owners."""
        data = dict(data or {})
        known = {"tasks", "segment", "vision"}
        if strict and set(data) - known:
            raise CaptionConfigError(
                f"unknown caption config sections {sorted(set(data) - known)}; known: {sorted(known)}"
            )
        return cls(
            _build(TaskThresholds, "tasks", data.get("tasks")),
            _build(SegmentConfig, "segment", data.get("segment")),
            _build(VisionConfig, "vision", data.get("vision")),
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> CaptionConfig:
        import yaml

        return cls.from_dict(yaml.safe_load(Path(path).read_text()))


class CaptionConfigError(CaptionError):
    """A caption config value that is not allowed: the key, the value and what is allowed."""


# What each value may be, where "a number > 0" (floats) or "an integer >= 1" (ints) is not
# enough: (low, high, low excluded). Region bounds are coordinates and may be negative.
LIMITS: dict[str, tuple[float | None, float | None, bool]] = {
    "rotate_min_deg": (0.0, 180.0, True),
    "held_width_min_m": (0.0, None, False),
    "stack_margin_m": (0.0, None, False),
    "next_to_gap_m": (0.0, None, False),
    **dict.fromkeys(("left_min_y", "right_max_y", "back_min_x", "front_max_x"), (None, None, False)),
    **dict.fromkeys(("upright_max_deg", "toppled_min_deg"), (0.0, 90.0, False)),
    "press_fraction": (0.0, 1.0, True),
    "release_fraction": (0.0, 1.0, False),
    "lead_in_min_frames": (0, None, False),
    "draws": (0, None, False),
    "sigma_m": (0.0, None, False),
    "agreement": (0.0, 1.0, True),
    "seed": (0, None, False),
}
# (smaller, larger, may they be equal): pairs that only make sense in this order.
ORDERED = (
    ("held_width_min_m", "held_width_max_m", False),
    ("right_max_y", "left_min_y", False),
    ("front_max_x", "back_min_x", False),
    ("upright_max_deg", "toppled_min_deg", False),
    ("release_fraction", "press_fraction", False),
    ("lead_in_min_frames", "lead_in_max_frames", True),
    ("min_frames", "max_frames", True),
)


def _build(kind, section: str, values: dict | None):
    values = dict(values or {})
    names = {f.name for f in fields(kind)}
    unknown = set(values) - names
    if unknown:
        raise CaptionConfigError(f"unknown {kind.__name__} keys {sorted(unknown)}; known: {sorted(names)}")
    types = {f.name: f.type for f in fields(kind)}
    built = kind(**{k: _checked(f"{section}.{k}", types[k], v) for k, v in values.items()})
    for small, large, equal in ORDERED:
        if small in names and not _in_order(getattr(built, small), getattr(built, large), equal):
            a, b = f"{section}.{small}", f"{section}.{large}"
            relation = "at most" if equal else "below"
            raise CaptionConfigError(
                f"{a}={getattr(built, small)!r} with {b}={getattr(built, large)!r} is not allowed: "
                f"{a} must be {relation} {b}"
            )
    return built


def _in_order(small, large, equal: bool) -> bool:
    return small <= large if equal else small < large


def _checked(key: str, kind: str, value):
    """``value`` for the field ``key`` of type ``kind`` ("float", "int" or "Box"), frozen (lists
    become tuples, so the config stays hashable); ``CaptionConfigError`` when not allowed."""
    name = key.rsplit(".", 1)[1]
    if kind == "Box":
        if not _is_box(value):
            raise CaptionConfigError(
                f"{key}={value!r} is not allowed: {key} must be a box [[x, y, z], [x, y, z]] "
                "(metres, low corner below the high corner on every axis)"
            )
        return tuple(tuple(float(v) for v in corner) for corner in value)
    integer = kind == "int"
    low, high, open_low = LIMITS.get(name, (1, None, False) if integer else (0.0, None, True))
    ok = _is_number(value, integer) and (low is None or value > low or (value == low and not open_low))
    if not ok or (high is not None and value > high):
        what = "an integer" if integer else "a number"
        if low is not None:
            what += f" {'>' if open_low else '>='} {low:g}"
        if high is not None:
            what += f" and <= {high:g}"
        raise CaptionConfigError(f"{key}={value!r} is not allowed: {key} must be {what}")
    return int(value) if integer else float(value)


def _is_number(value, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return float(value).is_integer() if integer else math.isfinite(value)


def _is_box(value) -> bool:
    if not isinstance(value, list | tuple) or len(value) != 2:
        return False
    if not all(isinstance(c, list | tuple) and len(c) == 3 and all(_is_number(v, False) for v in c) for c in value):
        return False
    return all(lo < hi for lo, hi in zip(*value, strict=True))
