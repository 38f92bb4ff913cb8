"""Putting an object on the plate or in the drawer, and taking it off or out again."""

from __future__ import annotations

from functools import partial

from robolang.captioning import relations as rel
from robolang.captioning.grammar_vocab import templates
from robolang.captioning.tasks.base import Task, register
from robolang.captioning.tasks.common import FITS, GRASP, ON_PLATE, became, ended, held_in_air, on_plate


def taken_from_drawer(s, t0, t1, args, c):
    """In the drawer at the start; at the end out of its box, not touching it, held or resting."""
    (x,) = args

    def out_of_drawer():
        (lx, ly, _), (hx, hy, hz) = c.drawer_inside
        p, d, (cx, cy) = s.pos(x), s.fixture("drawer"), s.scene.drawer_cabinet
        box = (p[:, 0] >= cx + lx) & (p[:, 0] <= cx + hx) & (p[:, 2] <= hz)
        box &= (p[:, 1] >= cy + ly + d) & (p[:, 1] <= cy + hy + d)
        return ~box & ~s.contact(x, "drawer") & (rel.held(s, x, c) | rel.resting(s, x, c))

    return rel.in_drawer(s, x, c)[t0] & s.memo(("out_of_drawer", x, c), out_of_drawer)[t1]


PLACE_ON_PLATE = templates(
    "X ends resting on the plate",
    {
        "put": ("put {x} on {p}", "put {x} onto {p}", "put {x} down on {p}"),
        "place": ("place {x} on {p}", "place {x} onto {p}"),
        "set": ("set {x} on {p}", "set {x} down on {p}"),
        "move": ("move {x} onto {p}", "move {x} to {p}", "move {x} over to {p}"),
        "lay": "lay {x} on {p}",
        "drop": ("drop {x} on {p}", "drop {x} onto {p}"),
        "transfer": ("transfer {x} to {p}", "transfer {x} onto {p}"),
        "bring": ("bring {x} to {p}", "bring {x} over to {p}"),
        "stick": "stick {x} on {p}",
    },
    ("I want {x} on {p}", "{x} should be on {p}", "{x} goes on {p}", "{x} belongs on {p}")
    + ("make sure {x} ends up on {p}", "{x} onto {p}"),
)
REMOVE_FROM_PLATE = templates(
    "X started on the plate and ends off it",
    {
        "remove": "remove {x} from {p}",
        "take": ("take {x} off {p}", "take {x} off of {p}"),
        "lift": "lift {x} off {p}",
        "move": ("move {x} off {p}", "move {x} away from {p}"),
        "get": "get {x} off {p}",
        "pick": ("pick {x} up off {p}", "pick up {x} from {p}"),
        "clear": ("clear {x} off {p}", "clear {x} from {p}"),
        "push": "push {x} off {p}",
        "slide": "slide {x} off {p}",
    },
    ("I want {x} off {p}", "{x} should not be on {p}", "{x} shouldn't be on {p} anymore")
    + ("{p} should not have {x} on it", "{x} doesn't belong on {p}"),
)
PUT_IN_DRAWER = templates(
    "X ends inside the drawer",
    {
        "put": ("put {x} in {d}", "put {x} into {d}", "put {x} inside {d}", "put {x} away in {d}"),
        "place": ("place {x} in {d}", "place {x} into {d}", "place {x} inside {d}"),
        "store": "store {x} in {d}",
        "stow": ("stow {x} in {d}", "stow {x} away in {d}"),
        "drop": ("drop {x} into {d}", "drop {x} in {d}"),
        "get": "get {x} into {d}",
        "tuck": ("tuck {x} into {d}", "tuck {x} away in {d}"),
        "stash": "stash {x} in {d}",
        "move": "move {x} into {d}",
        "lower": "lower {x} into {d}",
    },
    ("I want {x} in {d}", "{x} goes in {d}", "{x} belongs in {d}", "{x} should be in {d}")
    + ("make sure {x} ends up in {d}", "{x} into {d}"),
)
TAKE_FROM_DRAWER = templates(
    "X started inside the drawer and ends outside it",
    {
        "take": "take {x} out of {d}",
        "remove": "remove {x} from {d}",
        "get": "get {x} out of {d}",
        "pull": "pull {x} out of {d}",
        "retrieve": "retrieve {x} from {d}",
        "fetch": "fetch {x} from {d}",
        "lift": "lift {x} out of {d}",
        "grab": "grab {x} from {d}",
        "pick": ("pick {x} out of {d}", "pick up {x} from {d}"),
        "extract": "extract {x} from {d}",
        "bring": "bring {x} out of {d}",
    },
    ("I want {x} out of {d}", "{x} should be out of {d}", "{x} shouldn't be in {d}")
    + ("{d} should not have {x} in it", "{x} doesn't belong in {d}"),
)

# fmt: off
register(Task("place_on_plate", (GRASP,), partial(became, on_plate), "object", "X comes to rest on the plate",
              PLACE_ON_PLATE, fallback_starts=held_in_air, uses_plate=True))
register(Task("remove_from_plate", (ON_PLATE,), partial(ended, on_plate), "object", "X on the plate, then off it",
              REMOVE_FROM_PLATE, uses_plate=True))
register(Task("put_in_drawer", (FITS,), partial(became, rel.in_drawer), "object", "X comes to rest in the drawer",
              PUT_IN_DRAWER, fallback_starts=held_in_air))
register(Task("take_from_drawer", (FITS,), taken_from_drawer, "object", "X in the drawer, then out of it",
              TAKE_FROM_DRAWER))
# fmt: on
