"""Collision geometry for planning: the fixtures and objects as boxes, the Panda hand as points.

A pose of the hand (grasp point, yaw, open or closed fingers) collides when any of its sample
points lies inside a box grown by a margin. Cheap (numpy, ~50 points x ~15 boxes) and used
only when a behaviour plans a pose, not every step. Fixture boxes follow sim/assets.py
(desk_urdf); the hand's extents are the measured AABBs of the fast Panda model.
"""

from __future__ import annotations

import numpy as np

from sim import assets
from sim.play.checks import SPECS, rotation

# Hand and finger extents in the grasp frame: along the closing axis, across it, and height
# above the grasp point (m).
_HAND = ((-0.105, 0.105), (-0.036, 0.036), (0.035, 0.10))
_FINGERS_OPEN = ((0.036, 0.068), (-0.015, 0.015), (-0.011, 0.05))
_FINGERS_CLOSED = ((0.0, 0.03), (-0.015, 0.015), (-0.011, 0.05))


def _grid(extent, n=(3, 2, 3)) -> np.ndarray:
    axes = [np.linspace(lo, hi, k) for (lo, hi), k in zip(extent, n, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)


_HAND_POINTS = _grid(_HAND, (5, 2, 2))
_FINGER_POINTS = {
    True: np.concatenate([_grid(_FINGERS_OPEN) * [s, 1, 1] for s in (1, -1)]),
    False: np.concatenate([_grid(_FINGERS_CLOSED) * [s, 1, 1] for s in (1, -1)]),
}


def hand_points(xy, yaw: float, z: float, open_fingers: bool = True) -> np.ndarray:
    """(N, 3) world points on the hand and fingers for a grasp point at (xy, z) and ``yaw``.

    The fingers close along (sin yaw, -cos yaw) (``sim.panda.down_quaternion``).
    """
    local = np.concatenate([_HAND_POINTS, _FINGER_POINTS[open_fingers]])
    closing = np.array([np.sin(yaw), -np.cos(yaw)])
    across = np.array([np.cos(yaw), np.sin(yaw)])
    xy_world = local[:, :1] * closing + local[:, 1:2] * across + np.asarray(xy)[:2]
    return np.column_stack([xy_world, local[:, 2] + z])


def fixture_boxes(state: dict) -> np.ndarray:
    """(K, 2, 3) low/high corners of the fixed and moving fixture parts, at their current joints."""
    d, s = state["fixtures"]["drawer"], state["fixtures"]["slider"]
    dx, dy = assets.DRAWER_CABINET
    sx, sy = assets.SLIDER_CABINET
    bx, by = assets.BUTTON_POS
    boxes = [
        ((dx - 0.141, dy - 0.101, 0.0), (dx + 0.141, dy + 0.101, 0.141)),  # drawer cabinet
        ((dx - 0.125, dy + 0.085 + d, 0.015), (dx + 0.125, dy + 0.10 + d, 0.125)),  # drawer front
        ((dx - 0.05, dy + 0.10 + d, 0.071), (dx + 0.05, dy + 0.136 + d, 0.089)),  # its handle
        ((dx - 0.12, dy - 0.09 + d, 0.015), (dx - 0.11, dy + 0.085 + d, 0.085)),  # drawer sides
        ((dx + 0.11, dy - 0.09 + d, 0.015), (dx + 0.12, dy + 0.085 + d, 0.085)),
        ((dx - 0.12, dy - 0.09 + d, 0.015), (dx + 0.12, dy + 0.08 + d, 0.027)),  # drawer floor
        ((sx - 0.151, sy - 0.103, 0.0), (sx + 0.151, sy + 0.091, 0.221)),  # slider cabinet + door
        ((sx - 0.145 + s, sy - 0.103, 0.0), (sx + 0.005 + s, sy - 0.09, 0.206)),  # door
        ((sx - 0.030 + s, sy - 0.139, 0.074), (sx - 0.010 + s, sy - 0.101, 0.166)),  # door handle
        ((bx - 0.041, by - 0.041, 0.0), (bx + 0.041, by + 0.041, 0.055)),  # button
    ]
    return np.asarray(boxes, dtype=np.float64)


def object_boxes(state: dict, ignore=()) -> np.ndarray:
    """(K, 2, 3) axis-aligned boxes around the movable objects (but ``ignore``) as they lie now."""
    boxes = _object_boxes(state)
    return np.asarray([b for name, b in boxes.items() if name not in ignore], dtype=np.float64).reshape(-1, 2, 3)


def object_box(state: dict, name: str) -> np.ndarray:
    """(2, 3) axis-aligned box around one object as it lies now."""
    return _object_boxes(state)[name]


_cache: list = [None, None]  # (the state dict last seen, its object boxes): planning asks often


def _object_boxes(state: dict) -> dict[str, np.ndarray]:
    if _cache[0] is state:
        return _cache[1]
    boxes = {}
    for name, obj in state["objects"].items():
        spec, m = SPECS[name], rotation(obj["quat"])
        if spec.size is not None:  # a box: half sizes of the rotated box's AABB
            extent = np.abs(m) @ (np.asarray(spec.size) / 2)
        else:  # a cylinder along body z: exact AABB
            axis = m[:, 2]
            extent = np.abs(axis) * spec.height / 2 + spec.radius * np.sqrt(np.clip(1 - axis**2, 0, 1))
        boxes[name] = np.stack([np.subtract(obj["pos"], extent), np.add(obj["pos"], extent)])
    _cache[:] = [state, boxes]
    return boxes


def inside_any(points: np.ndarray, boxes: np.ndarray, margin: float) -> bool:
    """Is any point inside any box grown by ``margin`` sideways (and at most 2 mm upwards and
    downwards: the fingertips pass just over low things such as the plate)?"""
    if not len(boxes):
        return False
    grow = np.array([margin, margin, min(margin, 0.002)])
    p = points[:, None, :]
    inside = (p > boxes[None, :, 0] - grow) & (p < boxes[None, :, 1] + grow)
    return bool(inside.all(-1).any())


def pose_collides(
    state: dict,
    xy,
    yaw: float,
    z: float,
    open_fingers: bool = True,
    ignore=(),
    margin: float = 0.008,
    above: float = -1.0,
) -> bool:
    """Would the hand at this pose touch a fixture or an object (other than ``ignore``)?

    Boxes whose top is below ``above`` are left out: what a grasped object stands on (the
    fingertips stay above the object's bottom).
    """
    points = hand_points(xy, yaw, z, open_fingers)
    boxes = np.concatenate([fixture_boxes(state), object_boxes(state, ignore)])
    return inside_any(points, boxes[boxes[:, 1, 2] > above], margin)


def carried_points(offset, radius: float, height: float) -> np.ndarray:
    """(8, 3) points on the box of a held object, relative to the grasp point: ``offset`` is
    its bottom centre (dx, dy, dz), ``radius`` its footprint, ``height`` its height."""
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (0, 1)], dtype=np.float64)
    return np.asarray(offset) + corners * [radius, radius, height]


def path_height(
    state: dict,
    start,
    end,
    yaws: tuple[float, float],
    z: float,
    open_fingers: bool,
    ignore=(),
    carried: np.ndarray | None = None,
    top: float = 0.40,
) -> float:
    """The lowest height from ``z`` up (2 cm steps, at most ``top``) at which the hand (and
    the ``carried_points`` of a held object) moves in a straight line from ``start`` to
    ``end`` (xy), turning from ``yaws[0]`` to ``yaws[1]``, without touching anything."""
    n = max(2, int(np.linalg.norm(np.subtract(end, start)[:2]) / 0.02) + 1)
    xys = np.linspace(np.asarray(start)[:2], np.asarray(end)[:2], n)
    turn = np.linspace(*yaws, n)
    boxes = np.concatenate([fixture_boxes(state), object_boxes(state, ignore)])
    for height in np.arange(z, top, 0.02):
        points = [hand_points(xy, yaw, height, open_fingers) for xy, yaw in zip(xys, turn, strict=True)]
        if carried is not None:
            points += [carried + [*xy, height] for xy in xys]
        if not inside_any(np.concatenate(points), boxes, 0.01):
            return float(height)
    return float(top)
