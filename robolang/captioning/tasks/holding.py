"""Holding an object: lift it, grasp it, put it down."""

from __future__ import annotations

import numpy as np

from robolang.captioning import relations as rel
from robolang.captioning.grammar_vocab import templates
from robolang.captioning.tasks.base import Task, register
from robolang.captioning.tasks.common import GRASP, held_in_air


def lifted(s, t0, t1, args, c):
    """Held in the air, off the table, at least ``move_min_m`` higher than at the start and no
    longer rising (so the window ends at the top of the lift)."""
    (x,) = args
    z = s.pos(x)[:, 2]
    up = s.memo(
        ("lifted", x, c),
        lambda: rel.held(s, x, c) & ~s.contact(x, "table") & (np.diff(z, prepend=z[0]) < c.still_m),
    )
    return up[t1] & (z[t1] - z[t0] >= c.move_min_m)


def grasped(s, t0, t1, args, c):
    """Not held at the start, held at the end."""
    h = rel.held(s, args[0], c)
    return ~h[t0] & h[t1]


def put_down(s, t0, t1, args, c):
    """Held in the air at the start; let go, resting on the table top at the end."""
    (x,) = args
    return held_in_air(s, args, c)[t0] & (rel.on_table(s, x, c) & rel.resting(s, x, c))[t1]


LIFT = templates(
    "X is raised clear of what it rested on and held in the air",
    {
        "lift": ("lift {x}", "lift {x} up", "lift up {x}", "lift {x} off the table", "lift {x} into the air"),
        "pick": ("pick up {x}", "pick {x} up", "pick {x} up off the table"),
        "raise": ("raise {x}", "raise {x} off the table", "raise {x} into the air"),
        "hoist": ("hoist {x}", "hoist {x} up"),
        "grab": ("grab {x} and lift it", "grab {x} and lift it up"),
        "elevate": "elevate {x}",
        "hold": ("hold {x} up in the air", "hold {x} up high"),
        "get": ("get {x} off the table", "get {x} up in the air"),
    },
    (
        "I want {x} up in the air",
        "{x} should be up in the air",
        "{x} should be off the table",
        "{x} needs to be in the air",
    ),
)
GRASP_TEMPLATES = templates(
    "X ends held between the gripper's fingers",
    {
        "grasp": "grasp {x}",
        "grab": "grab {x}",
        "grip": "grip {x}",
        "take": "take hold of {x}",
        "get": "get hold of {x}",
        "seize": "seize {x}",
        "clutch": "clutch {x}",
        "close": ("close the gripper on {x}", "close your gripper around {x}"),
    },
    ("I want {x} in your gripper", "{x} should be in your gripper", "{x} should be in your hand"),
)
PUT_DOWN = templates(
    "X was held and ends resting on the table",
    {
        "put": ("put {x} down", "put down {x}", "put {x} back on the table", "put {x} down on the table"),
        "set": ("set {x} down", "set down {x}", "set {x} on the table"),
        "place": ("place {x} on the table", "place {x} down"),
        "lower": ("lower {x} onto the table", "lower {x} down to the table"),
        "lay": ("lay {x} down", "lay {x} on the table"),
        "release": ("release {x}", "release {x} onto the table"),
        "drop": ("drop {x}", "drop {x} on the table"),
        "rest": "rest {x} on the table",
    },
    ("{x} should be back on the table", "I want {x} back on the table", "{x} goes back on the table"),
)

register(
    Task("lift", (GRASP,), lifted, "object", "X held in the air at least 5 cm higher, at the top of the lift", LIFT)
)
register(Task("grasp", (GRASP,), grasped, "object", "X not held, then held between the fingers", GRASP_TEMPLATES))
register(
    Task(
        "put_down", (GRASP,), put_down, "object", "X held in the air, then resting on the table", PUT_DOWN,
        starts=held_in_air,
    )
)  # fmt: skip
