"""Moving one object over the table: push it, turn it, bring it to a side, knock it over.

Rotations: left = counter-clockwise seen from above (+yaw). Table regions are the outer thirds
of the object region (``TaskThresholds``: left_min_y, right_max_y, front_max_x, back_min_x).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from robolang.captioning import relations as rel
from robolang.captioning.grammar_vocab import TaskTemplates, templates
from robolang.captioning.tasks.base import Task, register
from robolang.captioning.tasks.common import BACK, FORWARD, LEFT, RIGHT, TALL, TURNS, X


def pushed(s, t0, t1, args, c, direction=(0.0, 1.0)):
    """Slid over the table along ``direction`` by ``move_min_m``, little sideways, never lifted
    or held on the way, resting on the table at both ends."""
    (x,) = args
    u = np.asarray(direction)
    p = s.pos(x)[:, :2].astype(np.float64)
    d = p[t1] - p[t0]
    along, side = d @ u, np.abs(d @ np.array([-u[1], u[0]]))
    table = rel.on_table(s, x, c)
    lifted_ = s.memo(("push_lifted", x, c), lambda: (rel.rise(s, x) > c.push_max_rise_m) | rel.held(s, x, c))
    ok = (along >= c.move_min_m) & (side <= c.push_sideways_ratio * along) & table[t0] & table[t1]
    return ok & rel.resting(s, x, c)[t1] & ~rel.ever(s, ("push_lifted", x, c), lifted_, t0, t1)


def rotated(s, t0, t1, args, c, sign=1.0):
    """Turned about the vertical by ``rotate_min_deg`` in the given sense (+1 ccw), nearly in
    place, and let go."""
    (x,) = args
    p = s.pos(x)[:, :2]
    shift = np.linalg.norm(p[t1] - p[t0], axis=-1)
    turn = sign * rel.turn_deg(s, x, t0, t1)
    return (turn >= c.rotate_min_deg) & (shift < c.rotate_max_shift_m) & rel.resting(s, x, c)[t1]


def moved_to(s, t0, t1, args, c, axis=1, sign=1.0, bound="left_min_y"):
    """Brought into a region of the table (``sign * coordinate >= sign * bound``) from outside it,
    at least ``move_min_m`` closer, resting on the table at the end."""
    (x,) = args
    v = sign * s.pos(x)[:, axis]
    inside = v >= sign * getattr(c, bound)
    end = inside & rel.on_table(s, x, c) & rel.resting(s, x, c)
    return ~inside[t0] & end[t1] & (v[t1] - v[t0] >= c.move_min_m)


def toppled(s, t0, t1, args, c):
    """Upright at the start, lying at the end, let go."""
    (x,) = args
    tilt = rel.tilt_deg(s, x)
    return (tilt[t0] <= c.upright_max_deg) & (tilt[t1] >= c.toppled_min_deg) & rel.resting(s, x, c)[t1]


def _push(side: str, goals: tuple[str, ...], meaning: str) -> TaskTemplates:
    verbs: dict[str, tuple[str, ...] | str] = {"push": (f"push {{x}} <{side}>", f"give {{x}} a push <{side}>")}
    verbs |= {v: f"{v} {{x}} <{side}>" for v in ("slide", "shove", "move", "shift", "scoot")}
    verbs["nudge"] = (f"nudge {{x}} <{side}>", f"give {{x}} a nudge <{side}>")
    return templates(meaning, verbs, goals)


def _side(on: str, to: str, where: str, meaning: str) -> TaskTemplates:
    verbs = {"move": f"move {{x}} <{to}>"}
    verbs |= {v: f"{v} {{x}} <{on}>" for v in ("put", "place")}
    verbs["set"] = f"set {{x}} down <{on}>"
    verbs |= {v: f"{v} {{x}} <{to}>" for v in ("bring", "take", "shift", "carry", "relocate", "transfer")}
    goals = (f"I want {{x}} <{on}>", f"{{x}} should be <{on}>", f"{{x}} belongs <{on}>", f"{{x}} goes {where}")
    return templates(meaning, verbs, goals)


def _rotate(direction: str, meaning: str) -> TaskTemplates:
    verbs = {v: f"{v} {{x}} <{direction}>" for v in ("rotate", "turn", "twist", "spin", "swivel", "pivot")}
    goals = (f"I want {{x}} rotated <{direction}>", f"{{x}} should be rotated <{direction}>")
    return templates(meaning, verbs, goals)


PUSH_BACK = templates(
    "X slides along the table towards the robot (-x) without being lifted",
    {
        "push": ("push {x} <back>", "give {x} a push <back>"),
        "pull": "pull {x} <toward>",
        "drag": "drag {x} <toward>",
        "slide": "slide {x} <back>",
        "nudge": "nudge {x} <back>",
        "draw": "draw {x} <toward>",
        "bring": "bring {x} <toward>",
        "scoot": "scoot {x} <back>",
    },
    ("I want {x} a bit closer to you", "{x} should be a little closer to you", "{x} needs to come towards you"),
)
TOPPLE = templates(
    "extra: a tall X (height >= 1.2x its narrower side, e.g. a standing cylinder) knocked from upright"
    " (within 20 degrees) onto its side (more than 60 degrees)",
    {
        "knock": ("knock over {x}", "knock {x} over"),
        "topple": ("topple {x}", "topple {x} over"),
        "tip": ("tip over {x}", "tip {x} over"),
        "push": ("push over {x}", "push {x} over"),
        "lay": "lay {x} on its side",
        "tilt": "tilt {x} over",
    },
    ("{x} should be lying on its side", "I want {x} on its side", "{x} should fall over"),
)
_to_side = {
    "left": partial(moved_to, axis=1, sign=1.0, bound="left_min_y"),
    "right": partial(moved_to, axis=1, sign=-1.0, bound="right_max_y"),
    "front": partial(moved_to, axis=0, sign=-1.0, bound="front_max_x"),
    "back": partial(moved_to, axis=0, sign=1.0, bound="back_min_x"),
}

# fmt: off
register(Task("push_left", (X,), partial(pushed, direction=LEFT), "object", "X slid 5 cm along +y, never lifted",
              _push("left", ("I want {x} a bit more to the left", "{x} should be a little further left",
                             "{x} needs to go a bit left"),
                    "X slides along the table towards the robot's left (+y) without being lifted")))
register(Task("push_right", (X,), partial(pushed, direction=RIGHT), "object", "X slid 5 cm along -y, never lifted",
              _push("right", ("I want {x} a bit more to the right", "{x} should be a little further right",
                              "{x} needs to go a bit right"),
                    "X slides along the table towards the robot's right (-y) without being lifted")))
register(Task("push_forward", (X,), partial(pushed, direction=FORWARD), "object", "X slid 5 cm away from the robot",
              _push("forward", ("I want {x} a bit further away from you", "{x} should be a little farther from you"),
                    "X slides along the table away from the robot (+x) without being lifted")))
register(Task("push_back", (X,), partial(pushed, direction=BACK), "object", "X slid 5 cm toward the robot",
              PUSH_BACK))
register(Task("rotate_left", (TURNS,), partial(rotated, sign=1.0), "object",
              "X turned 30 deg ccw (from above) in place",
              _rotate("ccw", "X turns counter-clockwise seen from above, staying in place")))
register(Task("rotate_right", (TURNS,), partial(rotated, sign=-1.0), "object", "X turned 30 deg clockwise in place",
              _rotate("cw", "X turns clockwise seen from above, staying in place")))
register(Task("move_to_left_side", (X,), _to_side["left"], "object", "X brought into the left third of the table",
              _side("on_left", "to_left", "on the left", "X ends in the left third of the table (+y)")))
register(Task("move_to_right_side", (X,), _to_side["right"], "object", "X brought into the right third",
              _side("on_right", "to_right", "on the right", "X ends in the right third of the table (-y)")))
register(Task("move_to_front", (X,), _to_side["front"], "object", "X brought into the third nearest the robot",
              _side("on_front", "to_front", "at the front", "X ends in the third of the table nearest the robot")))
register(Task("move_to_back", (X,), _to_side["back"], "object", "X brought into the far third",
              _side("on_back", "to_back", "at the back", "X ends in the third of the table farthest from the robot")))
register(Task("topple", (TALL,), toppled, "object", "extra: a tall X knocked from upright onto its side", TOPPLE,
              by_robot=False))
# fmt: on
