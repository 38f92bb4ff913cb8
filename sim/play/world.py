"""What the play agent knows about the table's geometry, read from the privileged scene state.

Pure functions of a scene-state dict (and an RNG where something is sampled): where the
fixtures' handles are, which object is held, what rests on what, what can be reached and
grasped at which yaw, and where there is room to put something down.
"""

from __future__ import annotations

import numpy as np

from sim import assets
from sim.panda import YAW_LIMIT
from sim.play.checks import SPECS, footprint, in_drawer, in_gripper, pos, resting_on, rotation, touching, wrap
from sim.play.geometry import fixture_boxes, hand_points, inside_any, object_box, object_boxes, pose_collides

GRASPABLE = ("red_cube", "green_cube", "blue_bar", "yellow_cylinder")  # the plate is too wide
STACK_BASES = ("red_cube", "green_cube", "blue_bar")  # flat tops
ROTATABLE = ("red_cube", "green_cube", "blue_bar")  # a cylinder's or plate's turn is invisible
TOPPLEABLE = ("yellow_cylinder",)  # stands taller (5 cm) than it is wide (4 cm); the rest lie flat

FINGERTIP_BELOW_EE = 0.011  # the fingertips reach this far below the grasp point
HAND_HALF_WIDTH = 0.044  # the hand's half width across the closing axis

# Where things are put down or pushed to: the object region with a little room around it.
PLAY_LOW = (0.34, -0.27)
PLAY_HIGH = (0.66, 0.27)
# Where the arm grasps from above reliably: closer to its base than x = 0.32 the folded arm
# runs into its joint limits once its posture has drifted (measured).
REACH_LOW = (0.32, -0.36)
REACH_HIGH = (0.72, 0.36)
PUSH_FROM_X = 0.27  # a push may start closer in: it needs no precision
BUTTON_CLEARANCE = 0.09  # keep objects this far from the button's centre

# Drawer (sim/assets.py desk_urdf): handle on the front, 0.118 m in front of the cabinet's
# centre line at joint position 0; top of the handle at z = 0.089, cabinet front at +0.10.
DRAWER_HANDLE_Y = assets.DRAWER_CABINET[1] + 0.118
DRAWER_FRONT_Y = assets.DRAWER_CABINET[1] + 0.10
DRAWER_FLOOR_Z = 0.027
DRAWER_FRONT_TOP = 0.125
# Sliding door: a 15 cm panel whose front face is at y = 0.368, x centre 0.48 + joint position.
DOOR_FRONT_Y = assets.SLIDER_CABINET[1] - 0.102
DOOR_HALF_WIDTH = 0.075
DOOR_CENTRE_X0 = assets.SLIDER_CABINET[0] - 0.07


# ---- what is where --------------------------------------------------------------------------
def held_object(state: dict) -> str | None:
    """The object between the fingers, if any (the highest one if several touch)."""
    held = [n for n in GRASPABLE if in_gripper(state, n)]
    return max(held, key=lambda n: pos(state, n)[2]) if held else None


def support_of(state: dict, name: str) -> str | None:
    """What ``name`` rests on: ``table``, ``drawer`` or another object; None if nothing clear."""
    for base in state["objects"]:
        if base != name and resting_on(state, name, base):
            return base
    if in_drawer(state, name):
        return "drawer"
    if touching(state, name, "table") and abs(pos(state, name)[2] - SPECS[name].half_height) < 0.012:
        return "table"
    return None


def is_clear(state: dict, name: str) -> bool:
    """Nothing rests on ``name`` and nothing else leans on its top."""
    return not any(other != name and resting_on(state, other, name) for other in state["objects"])


def top_z(state: dict, name: str) -> float:
    return float(pos(state, name)[2] + SPECS[name].half_height)


def grasp_symmetry(state: dict, name: str) -> tuple[float, float] | None:
    """(heading, period) of a top-down grasp of ``name`` as it lies now, or None if it cannot be
    grasped that way. The fingers must close across a pair of near-vertical faces: at a yaw of
    heading + k * period; period 0 means any yaw (an upright cylinder).

    Cubes: any face up, tilted up to 25 deg. The bar: its long axis tilted up to 35 deg (its
    section is square, so any long face may be up). The cylinder: standing, or lying on its
    side (then grasped across, like the bar).
    """
    m = rotation(state["objects"][name]["quat"])
    tilt_ok = np.cos(np.deg2rad(25.0))
    if SPECS[name].shape == "cube":
        up = int(np.argmax(np.abs(m[2])))
        if abs(m[2, up]) < tilt_ok:
            return None
        axis = m[:, (up + 1) % 3]
        return float(np.arctan2(axis[1], axis[0])), np.pi / 2
    if SPECS[name].shape == "bar":
        return (float(np.arctan2(m[1, 0], m[0, 0])), np.pi) if abs(m[2, 0]) < np.sin(np.deg2rad(35.0)) else None
    if SPECS[name].shape == "cylinder":
        if abs(m[2, 2]) > tilt_ok:
            return 0.0, 0.0
        return (float(np.arctan2(m[1, 2], m[0, 2])), np.pi) if abs(m[2, 2]) < 0.2 else None
    return None


def upright(state: dict, name: str) -> bool:
    """Stands on a flat face (something can be stacked on it)."""
    m = rotation(state["objects"][name]["quat"])
    if SPECS[name].shape == "cube":
        return bool(np.max(np.abs(m[2])) > 0.94)
    return bool(abs(m[2, 2]) > 0.94)


def grasp_yaws(state: dict, name: str) -> list[float]:
    """Gripper yaws within the wrist's limit that close the fingers across ``name``'s faces.

    The fingers close along (sin yaw, -cos yaw), so yaw = heading (mod the symmetry period).
    """
    symmetry = grasp_symmetry(state, name)
    if symmetry is None:
        return []
    heading, period = symmetry
    if period == 0.0:  # round: any yaw
        return [float(y) for y in np.linspace(-YAW_LIMIT, YAW_LIMIT, 9)]
    heading = wrap(heading)
    yaws = {round(float(np.clip(heading + k * period, -YAW_LIMIT, YAW_LIMIT)), 4) for k in range(-4, 5)}
    return sorted(y for y in yaws if abs(wrap(y - heading) / period - round(wrap(y - heading) / period)) < 0.05)


# ---- fixtures ---------------------------------------------------------------------------------
def drawer_handle(state: dict) -> np.ndarray:
    """Top centre of the drawer handle (world frame)."""
    x = assets.DRAWER_CABINET[0]
    return np.array([x, DRAWER_HANDLE_Y + state["fixtures"]["drawer"], 0.089])


def drawer_drop_window(state: dict, name: str) -> tuple[float, float] | None:
    """The y range where ``name`` can be lowered into the open drawer with the hand clear of the
    cabinet's front edge and the drawer front (fingers open along x); None if there is none."""
    d = state["fixtures"]["drawer"]
    margin = max(HAND_HALF_WIDTH, footprint(name) + 0.01)
    low = DRAWER_FRONT_Y + margin
    high = DRAWER_FRONT_Y - 0.015 + d - margin
    return (low, high) if high >= low else None


def drawer_room(state: dict) -> float:
    """How far (joint position) the drawer can be dragged open from where it is before its
    front, or the hand pressing its handle, would hit an object outside it; below the current
    position when the hand cannot even get to the handle."""
    d = state["fixtures"]["drawer"]
    inside = tuple(n for n in state["objects"] if in_drawer(state, n))
    boxes = object_boxes(state, ignore=inside)
    room = d - 0.01
    for q in np.arange(d, assets.DRAWER_TRAVEL + 0.011, 0.01):
        moved = {**state, "fixtures": {**state["fixtures"], "drawer": float(q)}}
        hand = hand_points(drawer_handle(moved)[:2] + [0.0, 0.008], YAW_LIMIT, 0.094, open_fingers=False)
        front = fixture_boxes(moved)[1:3]  # the drawer's front and its handle
        if inside_any(hand, boxes, 0.01) or _overlap(front, boxes):
            break
        room = float(q)
    return room


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Does any box of ``a`` overlap any box of ``b`` (both (K, 2, 3))?"""
    if not len(a) or not len(b):
        return False
    lo = np.maximum(a[:, None, 0], b[None, :, 0])
    hi = np.minimum(a[:, None, 1], b[None, :, 1])
    return bool(np.any(np.all(lo < hi, axis=-1)))


def door_edges(state: dict) -> tuple[float, float]:
    """x of the sliding door's two vertical edges."""
    centre = DOOR_CENTRE_X0 + state["fixtures"]["slider"]
    return centre - DOOR_HALF_WIDTH, centre + DOOR_HALF_WIDTH


def in_fixture(state: dict, xy, margin: float = 0.0) -> bool:
    """Over the footprint of a cabinet, the drawer (as open as it is), the door or the button."""
    boxes = fixture_boxes(state)[:, :, :2]
    return bool(np.any(np.all((boxes[:, 0] - margin < xy) & (xy < boxes[:, 1] + margin), axis=1)))


# ---- reachability and room ---------------------------------------------------------------------
def on_the_table_top(state: dict, name: str, low_x: float = REACH_LOW[0]) -> bool:
    """Resting where the gripper can come down on it from above: in reach (x from ``low_x``), on
    the table (not in or under a fixture, not fallen off)."""
    p = pos(state, name)
    inside = low_x <= p[0] <= REACH_HIGH[0] and REACH_LOW[1] <= p[1] <= REACH_HIGH[1]
    return bool(inside and -0.005 < p[2] < 0.16 and not in_fixture(state, p[:2], 0.005))


def within_reach(state: dict, name: str) -> bool:
    """On the table top, or in the part of the open drawer that sticks out of its cabinet."""
    if in_drawer(state, name):
        back = object_box(state, name)[0, 1]
        cabinet_front = assets.DRAWER_CABINET[1] + 0.101
        return bool(back > cabinet_front and REACH_LOW[0] <= pos(state, name)[0] <= REACH_HIGH[0])
    return on_the_table_top(state, name)


def graspable(state: dict, name: str) -> bool:
    """An object in reach, lying so that it can be grasped, with room for the open hand."""
    if name not in GRASPABLE or not within_reach(state, name):
        return False
    return best_grasp_yaw(state, name) is not None


def best_grasp_yaw(state: dict, name: str, allowed=None) -> float | None:
    """Among the grasp yaws (and ``allowed(yaw)``), one at which the open hand comes straight
    down onto ``name`` touching nothing else, preferring room to spare, then the smallest turn."""
    z = grasp_height(state, name)
    p = pos(state, name)
    bottom = p[2] - SPECS[name].half_height + 0.002
    yaws = [g for g in grasp_yaws(state, name) if allowed is None or allowed(g)]
    yaws.sort(key=lambda g: abs(g - state["robot"]["ee_yaw"]))
    for margin in (0.02, 0.008, 0.003):
        for g in yaws:
            if not any(
                pose_collides(state, p[:2], g, h, True, (name,), margin, bottom) for h in (z, z + 0.03, z + 0.07)
            ):
                return g
    return None


def grasp_height(state: dict, name: str) -> float:
    """End-effector height for a grasp: the object's centre, at most 3 cm below its top; in the
    drawer 1.8 cm below its top, so the hand stays above the drawer's side walls."""
    p = pos(state, name)
    below_top = 0.018 if in_drawer(state, name) else 0.03
    return float(max(p[2], p[2] + SPECS[name].half_height - below_top, 0.016))


SPOT_GRID_M = 0.01  # the preferred spots' grid
PLAY_MIDDLE = (np.add(PLAY_LOW, PLAY_HIGH) / 2).tolist()


def spot_candidates(rng: np.random.Generator | None, low, high, prefer, tries: int = 200) -> np.ndarray:
    """(N, 2) spots in [low, high] to try in order: ``tries`` uniform draws with ``rng``, or with
    ``rng=None`` a 1 cm grid, nearest ``prefer`` first. The second is one spot for one scene: a policy
    cloned on it has one place to learn where random spots give it several for the same state."""
    if rng is not None:
        return rng.uniform(low, high, size=(tries, 2))
    axes = [np.arange(a, b + 1e-9, SPOT_GRID_M) for a, b in zip(low, high, strict=True)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
    return grid[np.argsort(np.linalg.norm(grid - np.asarray(prefer), axis=1), kind="stable")]


def free_spot(
    state: dict,
    rng: np.random.Generator | None,
    name: str,
    away_from=None,
    min_move: float = 0.0,
    tries: int = 200,
    prefer=PLAY_MIDDLE,
) -> np.ndarray | None:
    """An xy in the play region where ``name`` fits on the table with room around it (see
    ``room_at``), at least ``min_move`` from ``away_from``; None if none was found. Random with
    ``rng``; with ``rng=None`` the one nearest ``prefer`` (``spot_candidates``)."""
    r = footprint(name)
    candidates = spot_candidates(rng, np.add(PLAY_LOW, r), np.subtract(PLAY_HIGH, r), prefer, tries)
    if away_from is not None:
        candidates = candidates[np.linalg.norm(candidates - np.asarray(away_from)[:2], axis=1) >= min_move]
    others = [(pos(state, o)[:2], footprint(o)) for o in state["objects"] if o != name]
    for xy in candidates:
        if all(np.linalg.norm(q - xy) >= r + rq + 0.03 for q, rq in others) and room_at(state, xy, name):
            return xy
    return None


def room_at(state: dict, xy, name: str, yaw: float | None = None) -> bool:
    """``name`` can be put down at ``xy`` on the table: clear of the fixtures and the button, and
    the hand letting go of it (at ``yaw``, default the current one) touches nothing."""
    r = footprint(name)
    if np.linalg.norm(np.subtract(xy, assets.BUTTON_POS)) < BUTTON_CLEARANCE + r or in_fixture(state, xy, r):
        return False
    yaw = state["robot"]["ee_yaw"] if yaw is None else yaw
    return not pose_collides(state, xy, yaw, SPECS[name].half_height, True, (name,))


def transit_height(state: dict, carrying: str | None = None, floor: float = 0.12) -> float:
    """End-effector height at which to move sideways: the fingers (or the carried object) 3 cm
    above every other object's top."""
    tops = [top_z(state, n) for n in state["objects"] if n != carrying and pos(state, n)[2] > -0.05]
    clearance = max(tops, default=0.0) + 0.03 + FINGERTIP_BELOW_EE
    if carrying is not None:
        hang = float(state["robot"]["ee_pos"][2] - pos(state, carrying)[2]) + SPECS[carrying].half_height
        clearance = max(tops, default=0.0) + 0.03 + max(hang, FINGERTIP_BELOW_EE)
    return float(max(floor, clearance))


# ---- poses for pushing and hovering ----------------------------------------------------------
def push_start(state: dict, name: str, direction) -> np.ndarray:
    """Where the fingers come down to push ``name`` along ``direction``: 3 cm behind it."""
    p = pos(state, name)
    extent = object_box(state, name)
    half = float(np.abs(np.asarray(direction)) @ ((extent[1, :2] - extent[0, :2]) / 2))
    return p[:2] - np.asarray(direction) * (half + 0.045)


def push_yaw(state: dict, start, direction) -> float | None:
    """A yaw for the closed fingers at ``start`` that touches nothing: preferably with their
    closing axis (6 cm wide) across the push, else along it; None if neither is free."""
    for yaw in _push_yaws(state, direction):
        if not pose_collides(state, start, yaw, 0.03, False):
            return yaw
    return None


def _push_yaws(state: dict, direction) -> tuple[float, float]:
    """(across, along): the closed fingers' closing axis across the push, or along it."""
    across = 0.0 if direction[0] else (YAW_LIMIT if state["robot"]["ee_yaw"] >= 0 else -YAW_LIMIT)
    along = YAW_LIMIT if direction[0] else 0.0
    return across, along


# Topple (see ``sim.play.behaviours.topple`` for how these were found): the closed fingers touch
# the standing object 2.5 cm up, then sweep 7 cm forward while rising 0.85 m per m.
TOPPLE_FROM_Z = 0.025
TOPPLE_SLOPE = 0.85
TOPPLE_SWEEP_M = 0.07
TOPPLE_TOP_Z = TOPPLE_FROM_Z + TOPPLE_SLOPE * TOPPLE_SWEEP_M
# The hand comes down behind the object from 13 cm: checked every 1.5 cm of height (the hand's
# sample points are 6.5 cm apart in height and would miss the drawer's 1.8 cm handle).
_TOPPLE_DESCENT = tuple(np.arange(TOPPLE_FROM_Z, 0.13, 0.015))


def topple_sweep(state: dict, name: str, direction) -> tuple[float, np.ndarray, np.ndarray, np.ndarray] | None:
    """(yaw, start, touch, end): the closed fingers come down at ``start`` behind ``name``, move
    to ``touch`` its side and sweep up to ``end`` (xy), touching nothing else on the way down or
    at the end (a yaw as ``push_yaw`` prefers); None if there is no such yaw."""
    d = np.asarray(direction, dtype=np.float64)
    start = push_start(state, name, d)
    for yaw in _push_yaws(state, d):
        touch = pos(state, name)[:2] - d * (footprint(name) + finger_reach(yaw, d))
        end = touch + d * TOPPLE_SWEEP_M
        down = any(pose_collides(state, start, yaw, z, False) for z in _TOPPLE_DESCENT)
        up = any(pose_collides(state, end, yaw, z, False, (name,)) for z in (TOPPLE_TOP_Z, TOPPLE_TOP_Z + 0.06))
        if not down and not up:
            return yaw, start, touch, end
    return None


def finger_reach(yaw: float, direction) -> float:
    """How far the closed fingers reach ahead of the grasp point along ``direction``: half their
    thickness (1.5 cm) when their closing axis is across it, their length (3 cm) when along
    (``sim.play.geometry``'s finger extents)."""
    closing = np.array([np.sin(yaw), -np.cos(yaw)])
    return 0.03 if abs(closing @ np.asarray(direction)) > 0.7 else 0.015


def hover_height(state: dict, name: str, xy, yaw: float, lowest: float) -> float | None:
    """The lowest end-effector height from ``lowest`` up to 8.5 cm above ``name`` at which the
    open hand over ``xy`` touches nothing; None if there is none."""
    for z in np.arange(lowest, top_z(state, name) + 0.085, 0.01):
        if not pose_collides(state, xy, yaw, z, True, (name,)):
            return float(z)
    return None


def reach_yaw(state: dict, name: str) -> float:
    yaw = best_grasp_yaw(state, name) if name in GRASPABLE else None
    return state["robot"]["ee_yaw"] if yaw is None else yaw
