"""Behaviours the evaluation expert needs beyond free play: carry an object *into a region* of
the table, or put it down *next to* another object (on a given side).

Free play's ``carry`` drops an object at a random free spot, which does not do
``move_to_left_side`` or ``place_behind`` on purpose. These plans pick the spot to satisfy the
captioner's predicate (``robolang/captioning/tasks/``: regions and the "next to" gap come
from its ``TaskThresholds``), with a margin for the few millimetres a put-down may be off.
"""

from __future__ import annotations

import numpy as np

from robolang.captioning.config import TaskThresholds
from sim.panda import YAW_LIMIT
from sim.play.behaviours import LIFT_BY
from sim.play.checks import footprint, pos
from sim.play.motion import Abort, Actions, Motion
from sim.play.primitives import pick, put_down
from sim.play.vocab import Choice
from sim.play.world import PLAY_HIGH, PLAY_LOW, room_at, spot_candidates

THRESHOLDS = TaskThresholds()
REGION_MARGIN_M = 0.03  # aim this far inside a region's boundary
BESIDE_GAP_M = (0.015, 0.035)  # aimed gap to the other object; the predicate allows up to 5 cm
SPOT_CLEARANCE_M = 0.03  # to every object not involved (as free play's free_spot)
MIN_CARRY_M = 0.08  # the predicates need 5 cm of travel
RELEASE_YAWS = tuple(np.linspace(-YAW_LIMIT, YAW_LIMIT, 7))
# Preferred spots beside an object: turns from the preferred side tried in this step, nearest first.
BESIDE_STEP_RAD = np.deg2rad(5.0)

# task id -> (axis, sign, bound name): the region is sign * xy[axis] >= sign * bound.
REGIONS = {
    "left": (1, 1.0, "left_min_y"),
    "right": (1, -1.0, "right_max_y"),
    "front": (0, -1.0, "front_max_x"),
    "back": (0, 1.0, "back_min_x"),
}
# place task -> the side of the other object the spot must lie on (None: any side).
SIDES = {"place_next_to": None, "place_in_front_of": (-1.0, 0.0), "place_behind": (1.0, 0.0)}


def in_region(xy, region: str, margin: float = 0.0) -> bool:
    axis, sign, bound = REGIONS[region]
    return bool(sign * xy[axis] >= sign * getattr(THRESHOLDS, bound) + margin)


def beside(state: dict, name: str, other: str, side=None) -> bool:
    """The captioner's relation: footprints within ``next_to_gap_m``, on ``side`` within 45 deg."""
    d = (pos(state, name) - pos(state, other))[:2]
    near = np.hypot(*d) <= footprint(name) + footprint(other) + THRESHOLDS.next_to_gap_m
    if side is not None:
        u = np.asarray(side)
        near &= bool(d @ u >= abs(d @ np.array([-u[1], u[0]])))
    return bool(near)


def _release_yaw(state: dict, name: str, xy, ignore: tuple[str, ...] = ()) -> float | None:
    """A hand yaw at which ``name`` can be let go of at ``xy``, or None when the spot is not free."""
    r = footprint(name)
    if np.any(xy - r < PLAY_LOW) or np.any(xy + r > PLAY_HIGH):
        return None
    for o in state["objects"]:
        if (
            o != name
            and o not in ignore
            and np.linalg.norm(pos(state, o)[:2] - xy) < r + footprint(o) + SPOT_CLEARANCE_M
        ):
            return None
    if np.linalg.norm(xy - pos(state, name)[:2]) < MIN_CARRY_M:
        return None
    # Any wrist yaw will do (what is carried turns with the hand), nearest the current one
    # first; a fixed set, so a spot found before the grasp is still found after it.
    for yaw in sorted(RELEASE_YAWS, key=lambda y: abs(y - state["robot"]["ee_yaw"])):
        if room_at(state, xy, name, yaw):
            return float(yaw)
    return None


def region_middle(region: str, low, high) -> np.ndarray:
    """The middle of ``region`` (inside its margin) within the box [low, high]."""
    axis, sign, bound = REGIONS[region]
    middle = (np.asarray(low) + np.asarray(high)) / 2
    edge = getattr(THRESHOLDS, bound) + sign * REGION_MARGIN_M
    middle[axis] = (edge + (high if sign > 0 else low)[axis]) / 2
    return middle


def region_spot(state: dict, rng: np.random.Generator | None, name: str, region: str, tries: int = 200):
    """(xy, hand yaw) inside ``region`` (with a margin) where ``name`` can be put down, or None: random
    with ``rng``, with ``rng=None`` the free spot nearest the region's middle."""
    low, high = np.add(PLAY_LOW, footprint(name)), np.subtract(PLAY_HIGH, footprint(name))
    for xy in spot_candidates(rng, low, high, region_middle(region, low, high), tries):
        if in_region(xy, region, REGION_MARGIN_M) and (yaw := _release_yaw(state, name, xy)) is not None:
            return xy, yaw
    return None


def beside_spot(state: dict, rng: np.random.Generator | None, name: str, other: str, side=None, tries: int = 200):
    """(xy, hand yaw) next to ``other`` (on ``side`` within 30 deg, if given) for ``name``, or None:
    random with ``rng``; with ``rng=None`` the free spot nearest ``side`` (any side: the one facing
    where ``name`` is), at the middle of the aimed gap."""
    centre, reach = pos(state, other)[:2], footprint(name) + footprint(other)
    spread = np.pi if side is None else np.deg2rad(30.0)
    if rng is None:
        facing = pos(state, name)[:2] - centre if side is None else side
        base = float(np.arctan2(facing[1], facing[0]))
        steps = np.arange(1, int(spread / BESIDE_STEP_RAD) + 1) * BESIDE_STEP_RAD
        turns = np.concatenate([[0.0], np.stack([steps, -steps], axis=1).ravel()])  # 0, +5, -5, +10 ... deg
        draws = ((base + turn, float(np.mean(BESIDE_GAP_M))) for turn in turns)
    else:
        base = 0.0 if side is None else float(np.arctan2(side[1], side[0]))
        draws = ((base + rng.uniform(-spread, spread), rng.uniform(*BESIDE_GAP_M)) for _ in range(tries))
    for angle, gap in draws:
        xy = centre + (reach + gap) * np.array([np.cos(angle), np.sin(angle)])
        if (yaw := _release_yaw(state, name, xy, ignore=(other,))) is not None:
            return xy, yaw
    return None


def carry_to(m: Motion, c: Choice) -> Actions:
    """Pick ``c.target`` up and put it down inside region ``c.arg`` (left/right/front/back)."""
    yield from pick(m, c.target, LIFT_BY)
    spot = region_spot(m.state, m.spot_rng, c.target, c.arg)
    if spot is None:
        raise Abort(f"no room for {c.target} in the {c.arg} region")
    yield from put_down(m, c.target, spot[0], 0.0, yaw=spot[1])


def place_beside(m: Motion, c: Choice) -> Actions:
    """Pick ``c.target`` up and put it down next to ``c.arg``; ``c.behaviour`` names the side (a
    place task of ``SIDES``; free play's ``place_beside``: any side)."""
    yield from pick(m, c.target, LIFT_BY)
    spot = beside_spot(m.state, m.spot_rng, c.target, c.arg, SIDES.get(c.behaviour))
    if spot is None:
        raise Abort(f"no room for {c.target} next to {c.arg}")
    yield from put_down(m, c.target, spot[0], 0.0, yaw=spot[1])


EXTRA_PLANS = {"carry_to": carry_to, **{name: place_beside for name in SIDES}}
