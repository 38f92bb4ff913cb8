"""Two objects: stack one on the other, take it off, put it beside, in front of or behind it."""

from __future__ import annotations

from functools import partial

import numpy as np

from robolang.captioning import relations as rel
from robolang.captioning.grammar_vocab import ALTERNATIVES, TaskTemplates, templates
from robolang.captioning.tasks.base import Task, register
from robolang.captioning.tasks.common import BACK, BASE, FORWARD, GRASP, OTHER, became, ended, held_in_air


def placed_beside(s, t0, t1, args, c, side=None):
    """X ends on the table with a gap under ``next_to_gap_m`` to Y (on the given side, within
    45 degrees, if any), was not so at the start, and moved at least ``move_min_m``."""
    x, y = args

    def relation():
        d = (s.pos(x) - s.pos(y))[:, :2]
        near = np.hypot(*d.T) <= s.info(x).footprint + s.info(y).footprint + c.next_to_gap_m
        if side is not None:
            u = np.asarray(side)
            near &= d @ u >= np.abs(d @ np.array([-u[1], u[0]]))
        return near

    r = s.memo(("beside", x, y, side, c), relation)
    end = r & rel.on_table(s, x, c) & rel.resting(s, x, c)
    p = s.pos(x)[:, :2]
    return ~r[t0] & end[t1] & (np.linalg.norm(p[t1] - p[t0], axis=-1) >= c.move_min_m)


def _beside(where: str, side: str, opposite: str, meaning: str) -> TaskTemplates:
    """X put next to Y on one side of it ("put {x} in front of {y}", "{y} should be behind {x}");
    ``side`` is "near" or "far": "on the near side of" for placing, "to the near side of" for moving."""
    verbs = {v: (f"{v} {{x}} <{where}> {{y}}", f"{v} {{x}} on the {side} side of {{y}}") for v in ("put", "place")}
    verbs |= {v: (f"{v} {{x}} <{where}> {{y}}", f"{v} {{x}} to the {side} side of {{y}}") for v in ("move", "bring")}
    verbs |= {v: f"{v} {{x}} <{where}> {{y}}" for v in ("position", "slide", "push")}
    verbs["set"] = (f"set {{x}} down <{where}> {{y}}", f"set {{x}} down on the {side} side of {{y}}")
    goals = (f"I want {{x}} <{where}> {{y}}", f"{{x}} should be <{where}> {{y}}", f"{{x}} goes <{where}> {{y}}")
    goals += (f"{{x}} should be on the {side} side of {{y}}", f"{{y}} should be {ALTERNATIVES[opposite][0]} {{x}}")
    return templates(meaning, verbs, goals)


STACK = templates(
    "X ends resting on top of Y",
    {
        "stack": ("stack {x} on {y}", "stack {x} on top of {y}", "stack {x} onto {y}"),
        "put": ("put {x} on {y}", "put {x} on top of {y}", "put {x} onto {y}"),
        "place": ("place {x} on {y}", "place {x} on top of {y}"),
        "set": ("set {x} on {y}", "set {x} on top of {y}"),
        "pile": "pile {x} on top of {y}",
        "balance": ("balance {x} on {y}", "balance {x} on top of {y}"),
        "rest": "rest {x} on top of {y}",
        "build": "build a tower with {x} on top of {y}",
    },
    ("I want {x} on top of {y}", "{x} should be on top of {y}", "{x} goes on top of {y}", "{x} on top of {y}"),
)
UNSTACK = templates(
    "X started on top of Y and ends off it",
    {
        "unstack": "unstack {x} from {y}",
        "remove": ("remove {x} from {y}", "remove {x} from the top of {y}"),
        "take": ("take {x} off {y}", "take {x} off of {y}", "take {x} off the top of {y}"),
        "lift": ("lift {x} off {y}", "lift {x} off the top of {y}"),
        "get": "get {x} off {y}",
        "pick": "pick {x} up off {y}",
        "move": "move {x} off {y}",
        "knock": "knock {x} off {y}",
    },
    ("{x} should not be on top of {y}", "I don't want {x} on top of {y}", "{x} shouldn't be on {y} anymore"),
)
NEXT_TO = templates(
    "X ends beside Y (a gap of at most about a block's width)",
    {
        "put": "put {x} <next> {y}",
        "place": "place {x} <next> {y}",
        "set": "set {x} down <next> {y}",
        "move": "move {x} <next> {y}",
        "bring": "bring {x} <next> {y}",
        "position": "position {x} <next> {y}",
        "slide": "slide {x} <next> {y}",
        "push": "push {x} <next> {y}",
    },
    ("I want {x} <next> {y}", "{x} should be <next> {y}", "{x} and {y} should be side by side"),
)

# fmt: off
register(Task("stack", (GRASP, BASE), partial(became, rel.resting_on), "object", "X comes to rest on top of Y", STACK,
              fallback_starts=held_in_air))
register(Task("unstack", (GRASP, BASE), partial(ended, rel.resting_on), "object", "X on top of Y, then let go off it",
              UNSTACK))
register(Task("place_next_to", (GRASP, OTHER), placed_beside, "object", "X put down within 5 cm of Y", NEXT_TO,
              fallback_starts=held_in_air))
register(Task("place_in_front_of", (GRASP, OTHER), partial(placed_beside, side=BACK), "object",
              "extra: X put down next to Y, on the robot's side of it",
              _beside("front_of", "near", "behind",
                      "extra: X put down next to Y on the robot's side of it (between the robot and Y)"),
              fallback_starts=held_in_air))
register(Task("place_behind", (GRASP, OTHER), partial(placed_beside, side=FORWARD), "object",
              "extra: X put down next to Y, on its far side",
              _beside("behind", "far", "front_of", "extra: X put down next to Y on its far side (away from the robot)"),
              fallback_starts=held_in_air))
# fmt: on
