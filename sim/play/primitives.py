"""Reusable pieces of behaviours: travel at a safe height, grasp, pick up, put down.

Each is a generator of normalized actions (see ``sim.play.motion``); it raises ``Abort`` when
the world does not cooperate (a missed grasp after all retries, a dropped object).
"""

from __future__ import annotations

import numpy as np

from sim.panda import FINGER_MAX
from sim.play.checks import SPECS, footprint, in_gripper, pos, wrap
from sim.play.geometry import carried_points, path_height
from sim.play.motion import Abort, Actions, Motion
from sim.play.world import best_grasp_yaw, grasp_height, grasp_symmetry, graspable, transit_height

GRIP_CLOSED = 1.0
GRIP_OPEN = -1.0


def travel(m: Motion, xy, yaw: float | None = None, grip: float | None = None, carrying=None, clear=0.0) -> Actions:
    """Go over ``xy``, turning to ``yaw`` on the way, at a height where neither the hand nor a
    carried object touches anything (and at least ``clear`` + 4 cm).

    The gripper first rises straight up, so it never drags through what is below it. A less
    skilled player sometimes wanders via a random detour.
    """
    xy, here = np.asarray(xy, dtype=np.float64), m.target_pos
    yaw = m.target_yaw if yaw is None else yaw
    if np.linalg.norm(here[:2] - xy) < 0.02:
        yield from m.move([*xy, max(here[2], min(transit_height(m.state, carrying), here[2] + 0.05))], yaw, grip)
        return
    base = max(transit_height(m.state, carrying), clear + 0.04)
    route = [here[:2], xy]
    if m.rng.random() < m.profile.detour_probability:
        route.insert(1, (here[:2] + xy) / 2 + m.rng.uniform(-0.1, 0.1, 2))
    height = max(_clear_height(m, a, b, yaw, base, grip, carrying) for a, b in zip(route, route[1:], strict=False))
    if here[2] < height - 0.01:
        yield from m.move([*here[:2], height], None, grip, tol=0.02)
    for waypoint in route[1:-1]:
        yield from m.move([*waypoint, height], yaw, grip, tol=0.03)
    yield from m.move([*xy, height], yaw, grip, tol=0.015)


def _clear_height(m: Motion, a, b, yaw: float, base: float, grip, carrying) -> float:
    open_fingers = (m.grip if grip is None else grip) < 0
    carried = None
    if carrying is not None:
        spec = SPECS[carrying]
        bottom = pos(m.state, carrying) - m.ee() - [0.0, 0.0, spec.half_height]
        carried = carried_points(bottom, footprint(carrying), 2 * spec.half_height)
    ignore = () if carrying is None else (carrying,)
    return path_height(m.state, a, b, (m.target_yaw, yaw), base, open_fingers, ignore, carried)


def grasp_once(m: Motion, name: str, allowed=None) -> Actions:
    """One try: come down over ``name`` with the gripper open, close it. May miss."""
    state = m.state
    if not graspable(state, name):
        raise Abort(f"{name} cannot be grasped where it is")
    yaw = best_grasp_yaw(state, name, allowed)
    if yaw is None:
        raise Abort(f"no room for the fingers around {name}")
    yaw += m.rng.normal(0.0, m.profile.grasp_yaw_rad) if m.profile.grasp_yaw_rad else 0.0
    xy = pos(state, name)[:2]
    if m.profile.grasp_offset_m:
        xy = xy + m.rng.normal(0.0, m.profile.grasp_offset_m, 2)
    z = grasp_height(state, name)
    m.phase = "approach"
    yield from travel(m, xy, yaw, GRIP_OPEN)
    yield from m.begin("descend")
    yield from m.move([*xy, z + 0.04], yaw, GRIP_OPEN, tol=0.012)
    yield from m.move([*xy, z], yaw, GRIP_OPEN, speed=0.5, arrive=False)
    yield from m.hold(2)
    yield from m.begin("close")
    yield from m.hold(5, GRIP_CLOSED)


def grasp(m: Motion, name: str, allowed=None) -> Actions:
    """Grasp ``name``, retrying a missed grasp up to the skill's retry budget."""
    for retry in range(m.profile.max_retries + 1):
        m.retry = retry
        yield from grasp_once(m, name, allowed)
        if in_gripper(m.state, name):
            return
        yield from m.begin("retreat")
        yield from m.move(m.target_pos + [0, 0, 0.05], None, GRIP_OPEN, tol=0.02)
    raise Abort(f"missed {name} {m.profile.max_retries + 1} times")


def pick(m: Motion, name: str, lift_by: float, allowed=None) -> Actions:
    """Grasp ``name`` (unless it is already held) and lift it by ``lift_by``; a grasp that
    slips on the way up counts as a miss and is retried."""
    for retry in range(m.profile.max_retries + 1):
        if not in_gripper(m.state, name):
            yield from grasp(m, name, allowed)
        m.retry = max(m.retry, retry)
        z0 = pos(m.state, name)[2]
        yield from m.begin("lift")
        yield from m.move(m.target_pos + [0, 0, lift_by], None, GRIP_CLOSED, speed=0.7, tol=0.015)
        if in_gripper(m.state, name) and pos(m.state, name)[2] > z0 + 0.5 * lift_by:
            return
        yield from m.hold(3, GRIP_OPEN)
    raise Abort(f"{name} slipped out while lifting")


def place_yaw(m: Motion, name: str, yaw_of_base: float | None, period: float) -> float:
    """End-effector yaw that turns the held ``name`` so its faces line up with ``yaw_of_base``."""
    ee_yaw = m.target_yaw
    held = grasp_symmetry(m.state, name)
    if yaw_of_base is None or period == 0.0 or held is None:
        return ee_yaw
    turn = wrap(yaw_of_base - held[0])
    options = [ee_yaw + turn + k * period for k in range(-4, 5)]
    options = [o for o in options if abs(o) <= 1.5] or [ee_yaw]
    return min(options, key=lambda o: abs(o - ee_yaw))


def put_down(m: Motion, name: str, xy, support_top: float, yaw: float | None = None, clear: float = 0.0) -> Actions:
    """Carry the held ``name`` over ``xy`` (its centre), lower it onto a surface at height
    ``support_top``, let go and back off upwards.

    The object can slide between the fingers on the way (they are not coupled in the sim), so
    just above the surface the hand creeps until the object itself is over ``xy``, then goes
    down the last bit slowly.
    """
    if m.profile.place_offset_m:
        xy = np.asarray(xy) + m.rng.normal(0.0, m.profile.place_offset_m, 2)
    yield from m.begin("transport")
    yield from travel(m, _hand_over(m, name, xy), yaw, GRIP_CLOSED, carrying=name, clear=clear)
    _check_held(m, name)
    drop = m.rng.uniform(0.0, m.profile.drop_height_m) if m.profile.drop_height_m else 0.0
    z = support_top + SPECS[name].half_height + 0.006 + drop + m.ee()[2] - pos(m.state, name)[2]
    yield from m.begin("lower")
    yield from m.move([*_hand_over(m, name, xy), z + 0.03], yaw, GRIP_CLOSED, speed=0.6, tol=0.012)
    # The sim's fingers are not coupled: a held object floats between them along the closing
    # axis (up to 2 cm, measured). Easing the grip to just inside the object's width gives each
    # finger a position to hold, which centres it (to ~3 mm, measured) and still carries it.
    grip = easing_grip(m.state["robot"]["gripper_width"])
    yield from m.hold(3, grip)
    yield from centre_over(m, name, xy, grip)
    _check_held(m, name)
    yield from m.move([*m.target_pos[:2], z], yaw, grip, speed=0.3, arrive=False)
    yield from let_go(m)


def easing_grip(width: float, squeeze: float = 0.003) -> float:
    """Gripper command whose finger targets sit ``squeeze`` inside an object ``width`` wide
    (the command maps linearly from -1, 0.08 m open, to +1, shut; sim/panda.py)."""
    return float(np.clip(1.0 - (width - 2 * squeeze) / (2 * FINGER_MAX), -1.0, 1.0))


def centre_over(m: Motion, name: str, xy, grip: float, tol: float = 0.004, steps: int = 15) -> Actions:
    """Creep (<= 4 mm a step) until the held object's centre is within ``tol`` of ``xy``."""
    for _ in range(steps):
        error = np.asarray(xy)[:2] - pos(m.state, name)[:2]
        if np.linalg.norm(error) < tol:
            return
        step = np.clip(error, -0.004, 0.004)
        yield m.action([*(step / m.limits.translation_m), 0.0], 0.0, grip)


def _hand_over(m: Motion, name: str, xy) -> np.ndarray:
    """Where the hand must be for the held ``name``'s centre to be over ``xy``."""
    return np.asarray(xy, dtype=np.float64)[:2] - (pos(m.state, name)[:2] - m.ee()[:2])


def _check_held(m: Motion, name: str) -> None:
    if not in_gripper(m.state, name):
        raise Abort(f"dropped {name} on the way")


def release_at(m: Motion, xy, z: float, yaw: float | None = None) -> Actions:
    """Lower the end effector to ``z`` over ``xy``, open the gripper, and rise."""
    yield from m.begin("lower")
    yield from m.move([*xy, z + 0.03], yaw, GRIP_CLOSED, tol=0.012)
    yield from m.move([*xy, z], yaw, GRIP_CLOSED, speed=0.4, arrive=False)
    yield from let_go(m)


def let_go(m: Motion) -> Actions:
    """Open the gripper where it is and back off upwards."""
    yield from m.hold(2)
    yield from m.begin("release")
    yield from m.hold(4, GRIP_OPEN)
    yield from m.begin("retreat")
    yield from m.move(m.target_pos + [0, 0, 0.07], None, GRIP_OPEN, tol=0.02)
