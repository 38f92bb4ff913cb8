"""The desk's fixtures and the plate (no object argument): drawer, sliding door, light, button,
and the plate itself. The door slides left (-x) or right (+x), as seen facing its cabinet."""

from __future__ import annotations

from functools import partial

import numpy as np

from robolang.captioning import relations as rel
from robolang.captioning.grammar_vocab import TaskTemplates, templates
from robolang.captioning.tasks.base import Task, register


def joint_moved(s, t0, t1, args, c, joint="drawer", sign=1.0):
    """A fixture joint moved ``move_min_m`` in the given sense and has stopped."""
    q = s.fixture(joint)
    return (sign * (q[t1] - q[t0]) >= c.move_min_m) & rel.fixture_still(s, joint, c)[t1]


def light_turned(s, t0, t1, args, c, on=True):
    light = s.light()
    return (light[t0] != on) & (light[t1] == on)


def pressed(s, t0, t1, args, c):
    """The button went down past the latch depth in between and is back up at the end."""
    down = rel.button_down(s, c)
    return rel.ever(s, ("button_down", c), down, t0, t1) & rel.button_up(s, c)[t1]


def plate_moved(s, t0, t1, args, c):
    """The plate slid or was carried ``move_min_m`` and rests on the table."""
    x = s.scene.plate
    p = s.pos(x)[:, :2]
    end = rel.on_table(s, x, c) & rel.resting(s, x, c)
    return (np.linalg.norm(p[t1] - p[t0], axis=-1) >= c.move_min_m) & end[t1]


def _door(side: str, meaning: str) -> TaskTemplates:
    verbs = {v: f"{v} {{s}} <door_{side}>" for v in ("slide", "move", "push", "pull", "shift", "drag")}
    goals = (
        f"I want {{s}} further to the {side}",
        f"{{s}} should be further to the {side}",
        f"{{s}} goes to the {side}",
    )
    return templates(meaning, verbs, goals)


def _light(on: str, verbs: dict[str, tuple[str, ...] | str], goals: tuple[str, ...], meaning: str) -> TaskTemplates:
    base = {"turn": (f"turn {on} {{l}}", f"turn {{l}} {on}"), "switch": (f"switch {on} {{l}}", f"switch {{l}} {on}")}
    base["flick"] = (f"flick {on} {{l}}", f"flick {{l}} {on}")
    common = (f"I want {{l}} {on}", f"{{l}} should be {on}", f"{{l}} needs to be {on}")
    return templates(meaning, base | verbs, common + goals)


OPEN_DRAWER = templates(
    "the drawer ends clearly further out than it started",
    {
        "open": ("open {d}", "open up {d}"),
        "pull": ("pull {d} open", "pull {d} out", "pull out {d}"),
        "slide": ("slide {d} open", "slide {d} out"),
        "yank": "yank {d} open",
        "get": "get {d} open",
    },
    ("{d} should be open", "I want {d} open", "{d} needs to be open", "I need {d} open"),
)
CLOSE_DRAWER = templates(
    "the drawer ends clearly further in than it started",
    {
        "close": ("close {d}", "close up {d}"),
        "shut": "shut {d}",
        "push": ("push {d} closed", "push {d} in", "push in {d}"),
        "slide": ("slide {d} closed", "slide {d} in"),
        "shove": "shove {d} closed",
    },
    ("{d} should be closed", "I want {d} closed", "{d} needs to be closed", "{d} shouldn't be open"),
)
LIGHT_ON = _light(
    "on",
    {"power": ("power on {l}", "power up {l}"), "activate": "activate {l}", "enable": "enable {l}"},
    ("it's too dark in here",),
    "the light was off and ends on",
)
LIGHT_OFF = _light(
    "off",
    {"power": ("power off {l}", "power down {l}"), "shut": ("shut off {l}", "shut {l} off")}
    | {"kill": "kill {l}", "deactivate": "deactivate {l}"},
    ("it's too bright in here",),
    "the light was on and ends off",
)
PRESS_BUTTON = templates(
    "the button is pressed down past its latch point (toggling the light)",
    {
        "press": ("press {b}", "press down on {b}", "press {b} down"),
        "push": ("push {b}", "push {b} down", "push down on {b}"),
        "hit": "hit {b}",
        "tap": "tap {b}",
        "click": "click {b}",
        "poke": "poke {b}",
        "depress": "depress {b}",
    },
    ("{b} needs a press", "I want {b} pressed"),
)
MOVE_PLATE = templates(
    "the plate itself ends clearly elsewhere on the table",
    {
        "move": ("move {p}", "move {p} somewhere else", "move {p} to a different spot"),
        "shift": ("shift {p}", "shift {p} over"),
        "slide": ("slide {p} across the table", "slide {p} over"),
        "push": ("push {p} somewhere else", "push {p} to a new spot"),
        "reposition": "reposition {p}",
        "relocate": "relocate {p}",
        "drag": "drag {p} across the table",
        "nudge": "nudge {p} to a new spot",
    },
    ("{p} should be somewhere else", "I want {p} in a different place", "{p} needs to go somewhere else"),
)
_door_moved = partial(joint_moved, joint="slider")
_drawer_moved = partial(joint_moved, joint="drawer")

# fmt: off
register(Task("open_drawer", (), partial(_drawer_moved, sign=1.0), "drawer", "the drawer pulled out 5 cm and stopped",
              OPEN_DRAWER))
register(Task("close_drawer", (), partial(_drawer_moved, sign=-1.0), "drawer", "the drawer pushed in 5 cm and stopped",
              CLOSE_DRAWER))
register(Task("slide_door_left", (), partial(_door_moved, sign=-1.0), "slider", "the sliding door moved 5 cm along -x",
              _door("left", "the sliding door moves to its left (-x), seen facing its cabinet")))
register(Task("slide_door_right", (), partial(_door_moved, sign=1.0), "slider", "the sliding door moved 5 cm along +x",
              _door("right", "the sliding door moves to its right (+x), seen facing its cabinet")))
register(Task("turn_on_light", (), partial(light_turned, on=True), "button", "the lamp off, then on", LIGHT_ON))
register(Task("turn_off_light", (), partial(light_turned, on=False), "button", "the lamp on, then off", LIGHT_OFF))
register(Task("press_button", (), pressed, "button", "the button pushed past its latch and released", PRESS_BUTTON))
register(Task("move_plate", (), plate_moved, "plate", "the plate moved 5 cm and rests on the table", MOVE_PLATE,
              uses_plate=True))
# fmt: on
