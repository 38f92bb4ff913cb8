"""The play agent's behaviours: one generator of normalized actions per behaviour name.

Each takes the shared ``Motion`` and the ``Choice`` (target, argument) and plays it out
phase by phase. Geometry of the fixtures is in ``sim.play.world``; how the drawer and the door
are moved was found by trying (see the notes at each).

``expected_tasks`` / ``implied_tasks`` say which caption tasks a successful behaviour should
leave in the recording; every record of the behaviours sidecar carries them, so the
captioner's quality measure (``robolang.captioning.quality``) needs no behaviour names.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim import assets
from sim.panda import YAW_LIMIT
from sim.play.checks import SPECS, footprint, in_gripper, pos
from sim.play.motion import Abort, Actions, Motion
from sim.play.primitives import GRIP_CLOSED, GRIP_OPEN, grasp, pick, place_yaw, put_down, release_at, travel
from sim.play.vocab import DIRECTIONS, Choice
from sim.play.world import (
    DOOR_FRONT_Y,
    DRAWER_FLOOR_Z,
    DRAWER_FRONT_TOP,
    TOPPLE_FROM_Z,
    TOPPLE_TOP_Z,
    door_edges,
    drawer_drop_window,
    drawer_handle,
    drawer_room,
    free_spot,
    grasp_symmetry,
    hover_height,
    push_start,
    push_yaw,
    reach_yaw,
    top_z,
    topple_sweep,
    transit_height,
)

LIFT_BY = 0.06  # a pick lifts this much before carrying
TURN_RANGE = (0.8, 1.2)  # rad, how far ``rotate`` turns an object (46-69 deg)


def _side_yaw(m: Motion) -> float:
    """+-1.5 rad, whichever is closer: the hand's long axis along x, its narrow side along y."""
    return YAW_LIMIT if m.target_yaw >= 0 else -YAW_LIMIT


def reach(m: Motion, c: Choice) -> Actions:
    """Hover the open hand a few cm over the target, as if about to grasp it."""
    yaw = reach_yaw(m.state, c.target)
    xy = pos(m.state, c.target)[:2]
    if m.profile.grasp_offset_m:
        xy = xy + m.rng.normal(0.0, m.profile.grasp_offset_m, 2)
    z = hover_height(m.state, c.target, xy, yaw, top_z(m.state, c.target) + m.rng.uniform(0.03, 0.06))
    if z is None:
        raise Abort(f"no room to hover over {c.target}")
    m.phase = "approach"
    yield from travel(m, xy, yaw, GRIP_OPEN)
    yield from m.begin("descend")
    yield from m.move([*xy, z], yaw, GRIP_OPEN, tol=0.01)
    yield from m.hold(int(m.rng.integers(1, 4)))


def grasp_only(m: Motion, c: Choice) -> Actions:
    yield from grasp(m, c.target)


def lift(m: Motion, c: Choice) -> Actions:
    yield from pick(m, c.target, m.rng.uniform(0.08, 0.14))
    yield from m.begin("hold")
    yield from m.hold(int(m.rng.integers(3, 10)))


def carry(m: Motion, c: Choice) -> Actions:
    yield from pick(m, c.target, LIFT_BY)
    here = pos(m.state, c.target)
    spot = free_spot(m.state, m.spot_rng, c.target, away_from=here, min_move=0.12)
    if spot is None:  # nowhere else to go: put it back down where it is
        spot = here[:2]
    yield from put_down(m, c.target, spot, 0.0)


def place_on_plate(m: Motion, c: Choice) -> Actions:
    yield from pick(m, c.target, LIFT_BY)
    plate = pos(m.state, "plate")
    xy = plate[:2] + m.rng.uniform(-0.015, 0.015, 2)
    yield from put_down(m, c.target, xy, plate[2] + SPECS["plate"].half_height)


def put_in_drawer(m: Motion, c: Choice) -> Actions:
    """Fingers opened along x (yaw +-1.5) so they clear the drawer's front and the cabinet."""
    yield from pick(m, c.target, LIFT_BY)
    window = drawer_drop_window(m.state, c.target)
    if window is None:
        raise Abort("the drawer closed")
    xy = (assets.DRAWER_CABINET[0] + m.rng.uniform(-0.02, 0.02), m.rng.uniform(*window))
    yield from put_down(m, c.target, xy, DRAWER_FLOOR_Z, yaw=_side_yaw(m), clear=DRAWER_FRONT_TOP)


def stack(m: Motion, c: Choice) -> Actions:
    yield from pick(m, c.target, LIFT_BY)
    base = c.arg
    # Line the faces up (cubes and the bar on a cube or the bar; a cylinder has none).
    square = SPECS[c.target].shape in ("cube", "bar") and grasp_symmetry(m.state, base) is not None
    yaw = place_yaw(m, c.target, grasp_symmetry(m.state, base)[0] if square else None, np.pi / 2)
    yield from put_down(m, c.target, pos(m.state, base)[:2], top_z(m.state, base), yaw=yaw)


def unstack(m: Motion, c: Choice) -> Actions:
    yield from pick(m, c.target, LIFT_BY)
    here = pos(m.state, c.target)
    spot = free_spot(m.state, m.spot_rng, c.target, away_from=here, min_move=0.08)
    if spot is None:
        raise Abort(f"no room to put {c.target} down")
    yield from put_down(m, c.target, spot, 0.0)


def rotate(m: Motion, c: Choice) -> Actions:
    """Pick up a little, turn the wrist, put back down. The grasp yaw leaves room to turn."""
    sign = 1.0 if c.arg == "left" else -1.0
    held = in_gripper(m.state, c.target)
    rest = 0.0 if held else pos(m.state, c.target)[2] - SPECS[c.target].half_height
    yield from pick(m, c.target, 0.025, allowed=lambda g: abs(g + sign * TURN_RANGE[0]) <= YAW_LIMIT)
    turn = sign * min(m.rng.uniform(*TURN_RANGE), YAW_LIMIT - sign * m.target_yaw)
    yield from m.begin("turn")
    yield from m.move(m.target_pos, m.target_yaw + turn, GRIP_CLOSED, speed=0.5, tol=0.015)
    above = pos(m.state, c.target)[2] - SPECS[c.target].half_height - rest
    yield from release_at(m, m.target_pos[:2], m.target_pos[2] - above + 0.006)


def push(m: Motion, c: Choice) -> Actions:
    """Closed fingers low behind the object, then shove it along the direction."""
    d = np.asarray(DIRECTIONS[c.arg])
    start = push_start(m.state, c.target, d)
    yaw = push_yaw(m.state, start, d)
    if yaw is None:
        raise Abort(f"no room behind {c.target}")
    p = pos(m.state, c.target)
    dist = m.rng.uniform(0.08, 0.12)
    end = start + d * (np.linalg.norm(p[:2] - start) + dist - footprint(c.target))
    z = 0.015 if c.target == "plate" else float(np.clip(p[2] - 0.005, 0.016, 0.03))
    m.phase = "approach"
    yield from travel(m, start, yaw, GRIP_CLOSED)
    yield from m.begin("descend")
    yield from m.move([*start, z], yaw, GRIP_CLOSED, tol=0.012)
    yield from m.begin("push")
    yield from m.move([*end, z], yaw, GRIP_CLOSED, speed=0.5, tol=0.02)
    yield from m.begin("retreat")
    yield from m.move([*(end - 0.02 * d), z + 0.08], None, GRIP_CLOSED, tol=0.02)


def topple(m: Motion, c: Choice) -> Actions:
    """Closed fingers low behind the standing object, then a quick sweep forward and up that
    tips it over its far edge, so it falls along the direction.

    Friction on the fingers drags its near side up while its top is pushed, so it tips before
    it slides; a level push at any height slides it over the table instead (object friction 1.0
    x table 0.5). Found by trying (``sim.play.world``'s TOPPLE numbers): this toppled 106 of 106
    expert attempts from random layouts (good 90%, sloppy 72%: action noise flattens the sweep);
    starting at 3 cm or sweeping steeper than 1:1 let some slide, and so does object friction
    under ~0.85 (the held-out worlds' slippery objects slide every time).
    """
    sweep = topple_sweep(m.state, c.target, DIRECTIONS[c.arg])
    if sweep is None:
        raise Abort(f"no room behind {c.target}")
    yaw, start, touch, end = sweep
    m.phase = "approach"
    yield from travel(m, start, yaw, GRIP_CLOSED)
    yield from m.begin("descend")
    yield from m.move([*start, TOPPLE_FROM_Z], yaw, GRIP_CLOSED, tol=0.012)
    yield from m.begin("push")
    yield from m.move([*touch, TOPPLE_FROM_Z], yaw, GRIP_CLOSED, speed=1.0, arrive=False)
    yield from m.move([*end, TOPPLE_TOP_Z], yaw, GRIP_CLOSED, speed=1.0, arrive=False)
    yield from m.begin("retreat")
    yield from m.move([*end, TOPPLE_TOP_Z + 0.06], None, GRIP_CLOSED, tol=0.02)


def move_drawer(m: Motion, c: Choice) -> Actions:
    """The handle is a solid block on the drawer's front, too long to grasp across (10 cm) and
    with no gap behind it, so the closed fingers press down on its top and drag it along y;
    the hand turned along x (yaw +-1.5) stays clear of the cabinet (found by trying)."""
    d = m.state["fixtures"]["drawer"]
    if c.behaviour == "open_drawer":
        most = min(assets.DRAWER_TRAVEL + 0.01, drawer_room(m.state))
        goal = m.rng.uniform(min(max(d + 0.08, 0.11), most), most)
    else:
        goal = 0.0 if m.rng.random() < 0.8 else m.rng.uniform(0.0, max(d - 0.08, 0.0))
    handle = drawer_handle(m.state)
    x, y = handle[0] + m.rng.uniform(-0.03, 0.03), handle[1] + 0.008
    yaw = _side_yaw(m)
    m.phase = "approach"
    yield from travel(m, (x, y), yaw, GRIP_CLOSED, clear=0.14)
    yield from m.begin("descend")
    yield from m.move([x, y, 0.11], yaw, GRIP_CLOSED, tol=0.012)
    yield from m.move([x, y, 0.07], yaw, GRIP_CLOSED, speed=0.5, arrive=False)
    yield from m.hold(2)
    yield from m.begin("pull")
    yield from m.move([x, y + goal - d, 0.07], yaw, GRIP_CLOSED, speed=0.6, arrive=False)
    yield from m.begin("retreat")
    yield from m.move([x, y + goal - d, 0.16], None, GRIP_CLOSED, tol=0.02)


def slide_door(m: Motion, c: Choice) -> Actions:
    """The door's handle is inside the cabinet (sim/assets.py) and its far edge is out of reach
    when the door is fully forward, so the closed fingers press sideways on the door's face,
    high up (EE z 0.19: the hand clears the cabinet top), and drag it along x. The fingers slip
    by about a quarter of the way (found by trying), so they travel further than the door."""
    s = m.state["fixtures"]["slider"]
    sign = 1.0 if c.arg == "forward" else -1.0
    room = assets.SLIDER_TRAVEL - s if sign > 0 else s
    dist = min(m.rng.uniform(0.07, 0.14), room)
    low, high = door_edges(m.state)
    x0 = (low + high) / 2 - 0.01  # mid-door, clear of where a handle on its face would be
    x1 = x0 + sign * (dist / 0.75 + 0.01)
    y, z = DOOR_FRONT_Y, 0.19
    yaw = _side_yaw(m)
    m.phase = "approach"
    yield from travel(m, (x0, y - 0.05), yaw, GRIP_CLOSED, clear=0.16)
    yield from m.begin("descend")
    yield from m.move([x0, y - 0.05, z], yaw, GRIP_CLOSED, tol=0.012)
    yield from m.move([x0, y + 0.004, z], yaw, GRIP_CLOSED, speed=0.5, arrive=False)
    yield from m.begin("pull")
    yield from m.move([x1, y + 0.004, z], yaw, GRIP_CLOSED, speed=0.5, arrive=False)
    yield from m.begin("retreat")
    yield from m.move([x1, y - 0.05, z], None, GRIP_CLOSED, tol=0.02)


def press_button(m: Motion, c: Choice) -> Actions:
    bx, by = assets.BUTTON_POS
    m.phase = "approach"
    yield from travel(m, (bx, by), None, GRIP_CLOSED)
    yield from m.begin("descend")
    yield from m.move([bx, by, 0.09], None, GRIP_CLOSED, tol=0.012)
    yield from m.begin("press")
    yield from m.move([bx, by, 0.02], None, GRIP_CLOSED, arrive=False)
    yield from m.hold(2)
    yield from m.begin("retreat")
    yield from m.move([bx, by, 0.12], None, GRIP_CLOSED, tol=0.02)


def pause(m: Motion, c: Choice) -> Actions:
    m.phase = "hold"
    yield from m.hold(int(m.rng.integers(5, 25)))


def wander(m: Motion, c: Choice) -> Actions:
    """A few waypoints above everything; the last one at least 10 cm from the start."""
    start = m.target_pos
    grip = GRIP_OPEN if m.rng.random() < 0.6 else GRIP_CLOSED
    floor = transit_height(m.state)
    m.phase = "move"
    n = int(m.rng.integers(1, 4))
    for k in range(n):
        for _ in range(20):
            goal = m.rng.uniform([0.32, -0.28, floor], [0.66, 0.28, max(floor + 0.02, 0.32)])
            if k < n - 1 or np.linalg.norm(goal - start) > 0.1:
                break
        yaw = m.rng.uniform(-1.2, 1.2)
        yield from travel(m, goal[:2], yaw, grip)  # at a height where the hand touches nothing
        yield from m.move([*goal[:2], max(goal[2], m.target_pos[2])], yaw, grip, tol=0.02)


PLANS: dict[str, Callable[[Motion, Choice], Actions]] = {
    "reach": reach,
    "grasp": grasp_only,
    "lift": lift,
    "carry": carry,
    "place_on_plate": place_on_plate,
    "put_in_drawer": put_in_drawer,
    "stack": stack,
    "unstack": unstack,
    "push": push,
    "rotate": rotate,
    "open_drawer": move_drawer,
    "close_drawer": move_drawer,
    "slide_door": slide_door,
    "press_button": press_button,
    "pause": pause,
    "wander": wander,
    "topple": topple,
}


# ---- what a successful behaviour should leave for the captioner ---------------------------------
SIDES = ("move_to_left_side", "move_to_right_side", "move_to_front", "move_to_back")
EXPECTED_TASKS: dict[str, tuple[str, ...]] = {  # "{d}": the record's direction
    "lift": ("lift",),
    "grasp": ("grasp",),
    "carry": (*SIDES, "put_down"),
    "place_beside": ("place_next_to",),
    "place_on_plate": ("place_on_plate",),
    "put_in_drawer": ("put_in_drawer",),
    "stack": ("stack",),
    "unstack": ("unstack",),
    "push": ("push_{d}",),
    "rotate": ("rotate_{d}",),
    "open_drawer": ("open_drawer",),
    "close_drawer": ("close_drawer",),
    "press_button": ("press_button", "turn_on_light", "turn_off_light"),
    "topple": ("topple",),
}
# Tasks a behaviour on an object entails on the way (every carry is also a grasp and a lift;
# whatever moves an object may end it beside another or on a side of the table), which the
# captioner is right to find too: they count towards "implied" precision.
_PICKED = ("grasp", "lift")
_MOVED = ("unstack", *SIDES, "place_next_to", "place_in_front_of", "place_behind")
_MOVED += ("remove_from_plate", "take_from_drawer")
IMPLIED_TASKS: dict[str, tuple[str, ...]] = {
    "grasp": (*_PICKED, "put_down"),
    **dict.fromkeys(("lift", "carry", "unstack", "rotate"), (*_PICKED, "put_down", *_MOVED)),
    **dict.fromkeys(("place_on_plate", "put_in_drawer", "stack", "place_beside"), (*_PICKED, *_MOVED)),
    "push": _MOVED,
    # A toppled cylinder comes to rest 5-6 cm along the push that knocked it over.
    "topple": (*_MOVED, "push_left", "push_right", "push_forward", "push_back"),
}


def expected_tasks(behaviour: str, target: str = "none", arg: str = "none") -> tuple[str, ...]:
    """The caption tasks this behaviour, done successfully, should produce."""
    if behaviour == "slide_door":  # the door moves along +x ("forward"): to the right, facing its cabinet
        return ("slide_door_right",) if arg == "forward" else ("slide_door_left",)
    return tuple(t.format(d=arg) for t in EXPECTED_TASKS.get(behaviour, ()))


def implied_tasks(behaviour: str, target: str = "none", arg: str = "none") -> tuple[str, ...]:
    """Tasks the behaviour entails on the way (on its target; the plate itself when it is the target)."""
    implied = IMPLIED_TASKS.get(behaviour, ())
    if target == "plate" and behaviour in ("push", "carry"):
        implied += ("move_plate",)
    return implied
