"""Independent success checks: small pure functions of (start scene state, end scene state).

They decide whether a behaviour of the play agent succeeded by looking only at the scene
(the format of ``PlayTableScene.scene_state()``), never at what the agent believed. Each
threshold says what it means; geometry comes from ``sim.assets``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim import assets
from sim.play.vocab import DIRECTIONS

SPECS = {o.name: o for o in assets.OBJECTS}
PLATE = SPECS["plate"]

MOVED_M = 0.05  # pushes, drawer and door moves, lifts: at least 5 cm
CARRIED_M = 0.08  # carry: put down at least 8 cm from where it was
BESIDE_GAP_M = 0.05  # place_beside: footprints at most this far apart (the captioner's "next to" gap)
TURNED_RAD = np.deg2rad(30.0)  # rotate: at least 30 degrees in the asked sense
STILL_M = 0.02  # pause: the gripper moved less than this; wander: no object moved more
REST_TOLERANCE_M = 0.012  # "on the table": centre within this of its resting height
# Topple: standing within 20 deg of vertical at the start (settling wobble is a few degrees),
# its axis more than 60 deg from vertical at the end (on its side, not leaning). The captioner's
# config uses the same numbers; they are written here again so the check stays independent.
UPRIGHT_MAX_DEG = 20.0
TOPPLED_MIN_DEG = 60.0
# Drawer interior relative to the drawer cabinet at joint position 0 (sim/assets.py desk_urdf:
# inner faces of the drawer's sides, back and front; its floor top is at z = 0.027).
DRAWER_INNER_X = 0.11
DRAWER_INNER_Y = (-0.08, 0.085)
DRAWER_INNER_TOP = 0.125  # below the cabinet's top board


# ---- state accessors ----------------------------------------------------------------------
def pos(state: dict, name: str) -> np.ndarray:
    return np.asarray(state["objects"][name]["pos"], dtype=np.float64)


def rotation(quat) -> np.ndarray:
    """3x3 rotation matrix of an (x, y, z, w) quaternion; column k is body axis k in the world."""
    x, y, z, w = quat
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def touching(state: dict, a: str, b: str) -> bool:
    """Contacts are sorted name pairs."""
    pair = tuple(sorted((a, b)))
    return any(tuple(c) == pair for c in state["contacts"])


def wrap(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


def in_gripper(state: dict, name: str) -> bool:
    """Held between the fingers: touching the gripper with the fingers closed on it (neither
    shut on nothing nor wide open; the widest object is 5.5 cm, the open gripper 8 cm)."""
    return touching(state, "gripper", name) and 0.004 < state["robot"]["gripper_width"] < 0.07


def tilt_deg(state: dict, name: str) -> float:
    """Angle between the object's body z axis and the vertical, 0-90 degrees (either end up)."""
    up = rotation(state["objects"][name]["quat"])[2, 2]
    return float(np.degrees(np.arccos(min(abs(up), 1.0))))


def in_the_air(state: dict, name: str) -> bool:
    """Held clear of everything: between the fingers, touching nothing but the robot, its centre at
    least ``MOVED_M`` above its resting height on the table. What the captioner's ``put_down`` asks
    of an episode's first frame (``held_in_air``: lifted that far above where it last rested, the
    table when it touched nothing before)."""
    others = {e for contact in state["contacts"] if name in contact for e in contact if e != name}
    high = pos(state, name)[2] - SPECS[name].half_height >= MOVED_M
    return in_gripper(state, name) and others <= {"gripper", "robot"} and bool(high)


def on_table(state: dict, name: str) -> bool:
    """Resting on the table top at its own resting height, not held."""
    z = pos(state, name)[2]
    return (
        touching(state, name, "table")
        and abs(z - SPECS[name].half_height) < REST_TOLERANCE_M
        and not in_gripper(state, name)
    )


def resting_on(state: dict, top: str, base: str) -> bool:
    """``top`` sits on ``base``: in contact, its centre higher by most of their half heights,
    within the base's footprint, and not held."""
    if not touching(state, top, base) or in_gripper(state, top):
        return False
    p, q = pos(state, top), pos(state, base)
    rise = SPECS[top].half_height + SPECS[base].half_height
    return p[2] - q[2] > 0.7 * rise and np.hypot(*(p[:2] - q[:2])) < footprint(base) + 0.01


def footprint(name: str) -> float:
    """Radius of the circle covering an object's base (m)."""
    spec = SPECS[name]
    return float(np.hypot(spec.size[0], spec.size[1]) / 2) if spec.size is not None else spec.radius


def drawer_interior(drawer_pos: float) -> tuple[np.ndarray, np.ndarray]:
    """Low and high corners of the drawer's inside (world frame) at joint position ``drawer_pos``."""
    cx, cy = assets.DRAWER_CABINET
    low = np.array([cx - DRAWER_INNER_X, cy + DRAWER_INNER_Y[0] + drawer_pos, 0.0])
    high = np.array([cx + DRAWER_INNER_X, cy + DRAWER_INNER_Y[1] + drawer_pos, DRAWER_INNER_TOP])
    return low, high


def in_drawer(state: dict, name: str) -> bool:
    low, high = drawer_interior(state["fixtures"]["drawer"])
    p = pos(state, name)
    return bool(np.all(p >= low) and np.all(p <= high)) and touching(state, name, "drawer")


# ---- one check per behaviour ----------------------------------------------------------------
def reached(start: dict, end: dict, target: str) -> bool:
    """The gripper hovers over the target: within 3 cm sideways, 0-10 cm above its top."""
    ee, p = np.asarray(end["robot"]["ee_pos"]), pos(end, target)
    above = ee[2] - (p[2] + SPECS[target].half_height)
    return bool(np.hypot(*(ee[:2] - p[:2])) < 0.03 and -0.005 < above < 0.10)


def grasped(start: dict, end: dict, target: str) -> bool:
    return in_gripper(end, target) and not in_gripper(start, target)


def lifted(start: dict, end: dict, target: str) -> bool:
    """Held, off the table, at least 5 cm higher than at the start."""
    rise = pos(end, target)[2] - pos(start, target)[2]
    return in_gripper(end, target) and not touching(end, target, "table") and rise > MOVED_M


def carried(start: dict, end: dict, target: str) -> bool:
    moved = np.hypot(*(pos(end, target)[:2] - pos(start, target)[:2]))
    return bool(moved > CARRIED_M) and on_table(end, target)


def placed_beside(start: dict, end: dict, target: str, other: str) -> bool:
    """Carried (as ``carried``) and put down with a gap of at most 5 cm to ``other``."""
    gap = np.hypot(*(pos(end, target)[:2] - pos(end, other)[:2])) - footprint(target) - footprint(other)
    return carried(start, end, target) and bool(gap <= BESIDE_GAP_M)


def placed_on_plate(start: dict, end: dict, target: str) -> bool:
    """Centre within the plate's radius, resting above and on it, let go."""
    p, q = pos(end, target), pos(end, "plate")
    return bool(
        np.hypot(*(p[:2] - q[:2])) < PLATE.radius
        and p[2] > q[2]
        and touching(end, target, "plate")
        and not in_gripper(end, target)
    ) and not resting_on(start, target, "plate")


def put_in_drawer(start: dict, end: dict, target: str) -> bool:
    return in_drawer(end, target) and not in_gripper(end, target) and not in_drawer(start, target)


def stacked(start: dict, end: dict, target: str, base: str) -> bool:
    return resting_on(end, target, base) and not resting_on(start, target, base)


def unstacked(start: dict, end: dict, target: str, base: str) -> bool:
    return resting_on(start, target, base) and not touching(end, target, base) and on_table(end, target)


def pushed(start: dict, end: dict, target: str, direction: str) -> bool:
    """Displaced more than 5 cm along ``direction``."""
    moved = (pos(end, target) - pos(start, target))[:2]
    return float(np.dot(moved, DIRECTIONS[direction])) > MOVED_M


def rotated(start: dict, end: dict, target: str, direction: str) -> bool:
    """Turned about the vertical by more than 30 degrees, counter-clockwise (seen from above) for
    ``left``, clockwise for ``right``. Measured on the relative rotation, so it does not matter
    which face is up."""
    relative = rotation(end["objects"][target]["quat"]) @ rotation(start["objects"][target]["quat"]).T
    turn = float(np.arctan2(relative[1, 0], relative[0, 0]))
    return (turn if direction == "left" else -turn) > TURNED_RAD


def drawer_opened(start: dict, end: dict) -> bool:
    return end["fixtures"]["drawer"] - start["fixtures"]["drawer"] > MOVED_M


def drawer_closed(start: dict, end: dict) -> bool:
    return start["fixtures"]["drawer"] - end["fixtures"]["drawer"] > MOVED_M


def door_slid(start: dict, end: dict, direction: str) -> bool:
    """The door joint moves along +x: ``forward`` increases it, ``back`` decreases it."""
    moved = end["fixtures"]["slider"] - start["fixtures"]["slider"]
    return (moved if direction == "forward" else -moved) > MOVED_M


def button_pressed(start: dict, end: dict) -> bool:
    """The lamp toggled (a press toggles it once)."""
    return bool(start["light_on"]) != bool(end["light_on"])


def paused(start: dict, end: dict) -> bool:
    return bool(np.linalg.norm(np.subtract(end["robot"]["ee_pos"], start["robot"]["ee_pos"])) < STILL_M)


def wandered(start: dict, end: dict) -> bool:
    """The gripper went somewhere else (> 5 cm) and no object on the table moved more than 2 cm."""
    travel = np.linalg.norm(np.subtract(end["robot"]["ee_pos"], start["robot"]["ee_pos"]))
    on_table = [n for n in start["objects"] if pos(start, n)[2] > -0.05]  # not those falling off it
    shifts = [np.linalg.norm(pos(end, n) - pos(start, n)) for n in on_table]
    return bool(travel > MOVED_M and max(shifts, default=0.0) < STILL_M)


def toppled(start: dict, end: dict, target: str) -> bool:
    """Standing at the start, on its side at the end, not held."""
    return (
        tilt_deg(start, target) < UPRIGHT_MAX_DEG
        and tilt_deg(end, target) > TOPPLED_MIN_DEG
        and not in_gripper(end, target)
    )


Check = Callable[..., bool]
# behaviour -> (check, how it is called): "t" target only, "tb" target and base, "td" target and
# direction, "d" direction only, "" neither.
CHECKS: dict[str, tuple[Check, str]] = {
    "reach": (reached, "t"),
    "grasp": (grasped, "t"),
    "lift": (lifted, "t"),
    "carry": (carried, "t"),
    "place_beside": (placed_beside, "tb"),
    "place_on_plate": (placed_on_plate, "t"),
    "put_in_drawer": (put_in_drawer, "t"),
    "stack": (stacked, "tb"),
    "unstack": (unstacked, "tb"),
    "push": (pushed, "td"),
    "rotate": (rotated, "td"),
    "open_drawer": (drawer_opened, ""),
    "close_drawer": (drawer_closed, ""),
    "slide_door": (door_slid, "d"),
    "press_button": (button_pressed, ""),
    "pause": (paused, ""),
    "wander": (wandered, ""),
    "topple": (toppled, "t"),
}


def check(behaviour: str, start: dict, end: dict, target: str = "none", arg: str = "none") -> bool:
    """Did ``behaviour`` (on ``target``, with ``arg``) succeed between ``start`` and ``end``?"""
    fn, how = CHECKS[behaviour]
    args = {"t": (target,), "tb": (target, arg), "td": (target, arg), "d": (arg,), "": ()}[how]
    return bool(fn(start, end, *args))
