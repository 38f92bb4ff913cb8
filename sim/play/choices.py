"""Which behaviours are feasible now, and a seeded choice among them.

Feasibility is read from the scene state: stack only on a clear, flat object, put in the
drawer only when it is open wide enough, unstack only what is stacked, push only when the way
is free, topple only what stands with room to fall, and when something is in the hand only what
can be done with it.
"""

from __future__ import annotations

import numpy as np

from sim import assets
from sim.panda import YAW_LIMIT
from sim.play.behaviours import TURN_RANGE
from sim.play.checks import SPECS, footprint, in_drawer, pos, resting_on
from sim.play.expert_plans import beside_spot
from sim.play.vocab import DIRECTIONS, Choice
from sim.play.world import (
    GRASPABLE,
    PLAY_HIGH,
    PLAY_LOW,
    PUSH_FROM_X,
    ROTATABLE,
    STACK_BASES,
    TOPPLEABLE,
    best_grasp_yaw,
    drawer_drop_window,
    drawer_room,
    graspable,
    held_object,
    hover_height,
    in_fixture,
    is_clear,
    on_the_table_top,
    push_start,
    push_yaw,
    reach_yaw,
    support_of,
    top_z,
    topple_sweep,
    upright,
)

# Relative chance of each behaviour type when it is feasible (a choice of type, then of
# target): idling is rarer than doing something. A topple weighs as much as any other: it is
# feasible only while the cylinder stands free on the table (one choice in eight, measured: it
# is often on the plate, in the drawer or stacked), and 7 of 8 five-minute episodes had one.
TYPE_WEIGHTS = {"pause": 0.3, "wander": 0.4, "reach": 0.6, "grasp": 0.6}
FIXTURE_TRAVEL_NEEDED = 0.07  # m of room a drawer or door move needs (success needs 5 cm)
PUSH_REACH = 0.12  # the longest push, plus the object's size, must stay in the play region
# A toppled cylinder comes to rest with its centre 5-6 cm ahead of where it stood, lying along
# the push (measured); that spot, with room for its half length, must be free and in play.
TOPPLE_LANDS_M = 0.06
TOPPLE_LYING_M = 0.03  # its half length (2.5 cm) and a little: inside the play region
TOPPLE_ROOM_M = 0.04  # and 1.5 cm more to any other object (it may bounce)


def feasible_choices(state: dict) -> list[Choice]:
    """Every behaviour that can be started from ``state``."""
    held = held_object(state)
    if held is not None:
        return holding_choices(state, held)
    choices = [Choice("pause"), Choice("wander")]
    pickable = [n for n in GRASPABLE if graspable(state, n) and is_clear(state, n)]
    for name in state["objects"]:
        if (on_the_table_top(state, name) or name in pickable) and _can_hover(state, name):
            choices.append(Choice("reach", name))
    for name in pickable:
        choices += [Choice(b, name) for b in ("grasp", "lift", "carry")]
        choices += _put_choices(state, name)
        choices += [Choice("rotate", name, d) for d in ("left", "right") if _can_turn(state, name, d)]
        base = support_of(state, name)
        if base in STACK_BASES or base in GRASPABLE:
            choices.append(Choice("unstack", name, base))
    for name in state["objects"]:
        choices += [Choice("push", name, d) for d in DIRECTIONS if can_push(state, name, d)]
    for name in TOPPLEABLE:
        choices += [Choice("topple", name, d) for d in DIRECTIONS if can_topple(state, name, d)]
    return choices + fixture_choices(state)


def holding_choices(state: dict, held: str) -> list[Choice]:
    """With ``held`` in the hand: lift it, put it somewhere, turn it, or wait."""
    choices = [Choice("pause"), Choice("carry", held), *_put_choices(state, held)]
    if pos(state, held)[2] < SPECS[held].half_height + 0.03:
        choices.append(Choice("lift", held))
    if held in ROTATABLE:
        ee_yaw = state["robot"]["ee_yaw"]
        choices += [Choice("rotate", held, "left")] if ee_yaw < YAW_LIMIT - TURN_RANGE[0] else []
        choices += [Choice("rotate", held, "right")] if ee_yaw > TURN_RANGE[0] - YAW_LIMIT else []
    return choices


def _can_hover(state: dict, name: str) -> bool:
    xy = pos(state, name)[:2]
    return hover_height(state, name, xy, reach_yaw(state, name), top_z(state, name) + 0.03) is not None


def _can_turn(state: dict, name: str, direction: str) -> bool:
    """A grasp yaw exists that leaves the wrist room to turn at least the minimum."""
    if name not in ROTATABLE:
        return False
    sign = 1.0 if direction == "left" else -1.0
    return best_grasp_yaw(state, name, lambda g: abs(g + sign * TURN_RANGE[0]) <= YAW_LIMIT) is not None


def _put_choices(state: dict, name: str) -> list[Choice]:
    """Put ``name`` on the plate, into the drawer, on top of or next to another object."""
    choices = []
    plate_free = not any(resting_on(state, o, "plate") for o in state["objects"])
    if plate_free and support_of(state, "plate") == "table" and on_the_table_top(state, "plate"):
        choices.append(Choice("place_on_plate", name))
    # One thing at a time in the drawer: objects slide to its walls when it moves, and two
    # side by side leave no room for the fingers, so a full drawer becomes a trap.
    drawer_empty = not any(in_drawer(state, o) for o in state["objects"])
    if drawer_empty and drawer_drop_window(state, name) is not None:
        choices.append(Choice("put_in_drawer", name))
    for base in STACK_BASES:
        if base != name and _can_stack_on(state, name, base):
            choices.append(Choice("stack", name, base))
    return choices + _beside_choices(state, name)


def _beside_choices(state: dict, name: str) -> list[Choice]:
    """Put ``name`` down next to another object on the table (any side): people arrange things
    side by side as often as they stack them. Free ``carry`` keeps 3 cm clear of everything, so
    without this play holds "next to", "in front of" and "behind" only at the edge of their gap."""
    rng = np.random.default_rng(0)  # feasibility must not consume the agent's RNG
    return [
        Choice("place_beside", name, other)
        for other in state["objects"]
        if other != name
        and on_the_table_top(state, other)
        and support_of(state, other) == "table"
        and beside_spot(state, rng, name, other, tries=12) is not None
    ]


def _can_stack_on(state: dict, name: str, base: str) -> bool:
    if resting_on(state, name, base) or resting_on(state, base, name) or not is_clear(state, base):
        return False
    return upright(state, base) and on_the_table_top(state, base) and top_z(state, base) < 0.08


def can_push(state: dict, name: str, direction: str) -> bool:
    """On the table with nothing on it, room behind it for the fingers to come down, and a
    spot inside the play region to push it to. Whatever stands in the way is pushed along
    (that is how knots of objects come apart)."""
    if support_of(state, name) != "table" or not is_clear(state, name):
        return False
    if not on_the_table_top(state, name, low_x=PUSH_FROM_X + 0.05):
        return False
    d = np.asarray(DIRECTIONS[direction])
    p, r = pos(state, name)[:2], footprint(name)
    end = p + d * PUSH_REACH
    if not _pushable_to(state, end, r) or not _others_stay_in_play(state, name, d, end):
        return False
    start = push_start(state, name, d)
    return start[0] >= PUSH_FROM_X and push_yaw(state, start, d) is not None


def can_topple(state: dict, name: str, direction: str) -> bool:
    """Standing on the table with nothing on it, room behind it for the fingers, and a free
    spot ahead in the play region for it to fall onto."""
    if not upright(state, name) or support_of(state, name) != "table" or not is_clear(state, name):
        return False
    if not on_the_table_top(state, name, low_x=PUSH_FROM_X + 0.05):
        return False
    d = np.asarray(DIRECTIONS[direction])
    lands = pos(state, name)[:2] + d * TOPPLE_LANDS_M
    if not _pushable_to(state, lands, TOPPLE_LYING_M):
        return False
    others = (o for o in state["objects"] if o != name)
    if any(np.linalg.norm(pos(state, o)[:2] - lands) < TOPPLE_ROOM_M + footprint(o) for o in others):
        return False
    sweep = topple_sweep(state, name, d)
    return sweep is not None and sweep[1][0] >= PUSH_FROM_X


def _pushable_to(state: dict, xy, r: float) -> bool:
    """An object of footprint ``r`` pushed to ``xy`` stays in the play region, off the fixtures."""
    inside = np.all(xy - r >= PLAY_LOW) and np.all(xy + r <= PLAY_HIGH)
    return bool(inside and np.linalg.norm(xy - assets.BUTTON_POS) >= 0.1 + r and not in_fixture(state, xy, r + 0.01))


def _others_stay_in_play(state: dict, name: str, d: np.ndarray, end: np.ndarray) -> bool:
    """Objects in the way get shoved ahead of ``name``: they must stay in the play region too."""
    p, r = pos(state, name)[:2], footprint(name)
    for other in state["objects"]:
        rel, ro = pos(state, other)[:2] - p, footprint(other)
        along, across = float(rel @ d), float(abs(rel @ np.array([-d[1], d[0]])))
        in_the_way = other != name and 0 < along < PUSH_REACH + r + ro and across < r + ro
        if in_the_way and not _pushable_to(state, end + d * (r + ro + 0.01), ro):
            return False
    return True


def fixture_choices(state: dict) -> list[Choice]:
    """Drawer, door and button moves that have room and nothing in their way."""
    choices = []
    d, s = state["fixtures"]["drawer"], state["fixtures"]["slider"]
    room = drawer_room(state)
    if room - d >= FIXTURE_TRAVEL_NEEDED + 0.01:
        choices.append(Choice("open_drawer", "drawer"))
    if FIXTURE_TRAVEL_NEEDED <= d <= room:
        choices.append(Choice("close_drawer", "drawer"))
    if s <= assets.SLIDER_TRAVEL - FIXTURE_TRAVEL_NEEDED:
        choices.append(Choice("slide_door", "door", "forward"))
    if s >= FIXTURE_TRAVEL_NEEDED:
        choices.append(Choice("slide_door", "door", "back"))
    if all(np.linalg.norm(pos(state, n)[:2] - assets.BUTTON_POS) > 0.08 for n in state["objects"]):
        choices.append(Choice("press_button", "button"))
    return choices


def choose(choices: list[Choice], rng: np.random.Generator, previous: Choice | None = None) -> Choice:
    """A behaviour type by ``TYPE_WEIGHTS``, then one of its targets, uniformly. After reaching
    for something, grasping it is likelier (the way people play)."""
    if previous is not None and previous.behaviour == "reach":
        follow = [c for c in choices if c.behaviour == "grasp" and c.target == previous.target]
        if follow and rng.random() < 0.6:
            return follow[0]
    types = sorted({c.behaviour for c in choices})
    weights = np.array([TYPE_WEIGHTS.get(t, 1.0) for t in types])
    kind = types[int(rng.choice(len(types), p=weights / weights.sum()))]
    options = [c for c in choices if c.behaviour == kind]
    return options[int(rng.integers(len(options)))]
