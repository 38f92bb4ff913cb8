"""Pieces several task families share: argument slots, directions and predicate patterns.

Directions are in the robot base frame: left +y, right -y, forward / back +x / -x ("back"
and "front" of the table: away from / toward the robot). Thresholds come from
``TaskThresholds`` (``configs/caption/default.yaml``), each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable

from robolang.captioning import relations as rel
from robolang.captioning.tasks.base import Slot

X, GRASP, FITS = Slot("object"), Slot("object", "graspable"), Slot("object", "fits_drawer")
ON_PLATE, TURNS, TALL = Slot("object", "not_plate"), Slot("object", "rotatable"), Slot("object", "tall")
OTHER, BASE = Slot("other", "object"), Slot("base", "not_plate")
LEFT, RIGHT, FORWARD, BACK = (0.0, 1.0), (0.0, -1.0), (1.0, 0.0), (-1.0, 0.0)


def held_in_air(s, args, c):
    """Held, touching nothing else, lifted ``move_min_m`` clear of where it last rested."""
    return rel.lifted_clear(s, args[0], c)


def became(relation: Callable, s, t0, t1, args, c):
    """``relation`` (a per-frame bool of the args) false at the start, true at the end, object let go."""
    r = relation(s, *args, c) & rel.resting(s, args[0], c)
    return ~r[t0] & r[t1]


def ended(relation: Callable, s, t0, t1, args, c):
    """``relation`` true at the start; at the end the object no longer touches the other
    object (the base, else the plate) and is let go and still."""
    x, other = args[0], (args[1] if len(args) > 1 else s.scene.plate)
    free = ~s.contact(x, other) & rel.resting(s, x, c)
    return relation(s, *args, c)[t0] & free[t1]


def on_plate(s, x, c):
    return rel.resting_on(s, x, s.scene.plate, c)
