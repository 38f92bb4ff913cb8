"""Pose geometry for UR arms: rotation vectors and the servo target of one action, as pure functions.

UR controllers describe a TCP pose as x, y, z (m) and a rotation vector (axis * angle, rad) in
the robot base frame. These functions take and return plain arrays, so they are tested without
an arm (STYLE.md 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from robolang.safety import wrap_angle


def rotvec_to_matrix(rotvec: Sequence[float]) -> np.ndarray:
    """(3,) rotation vector (axis * angle, UR's pose convention) -> (3, 3) rotation matrix."""
    r = np.asarray(rotvec, dtype=np.float64)
    angle = float(np.linalg.norm(r))
    if angle < 1e-12:
        return np.eye(3)
    k = r / angle
    cross = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * cross + (1.0 - math.cos(angle)) * cross @ cross


def matrix_to_rotvec(m: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix -> (3,) rotation vector, well conditioned near 180 deg (a tool
    pointing down is a half turn): through the quaternion, by Shepperd's method."""
    m = np.asarray(m, dtype=np.float64)
    i = int(np.argmax([np.trace(m), m[0, 0], m[1, 1], m[2, 2]]))
    if i == 0:
        w = math.sqrt(max(1.0 + np.trace(m), 0.0)) / 2
        q = np.array([w, (m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w), (m[1, 0] - m[0, 1]) / (4 * w)])
    else:
        a, b, c = (i - 1, i % 3, (i + 1) % 3)  # the largest diagonal axis and the other two, cyclic
        v = np.zeros(3)
        v[a] = math.sqrt(max(1.0 + m[a, a] - m[b, b] - m[c, c], 0.0)) / 2
        v[b] = (m[a, b] + m[b, a]) / (4 * v[a])
        v[c] = (m[a, c] + m[c, a]) / (4 * v[a])
        q = np.array([(m[c, b] - m[b, c]) / (4 * v[a]), *v])
    q = q if q[0] >= 0 else -q
    s = float(np.linalg.norm(q[1:]))
    if s < 1e-12:
        return 2.0 * q[1:]
    return q[1:] * (2.0 * math.atan2(s, q[0]) / s)


def nearest_rotvec(rotvec: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Of the rotation vectors for the orientation of ``rotvec`` (axis * (angle + 2 pi k)), the
    one closest to ``reference``: consecutive targets stay continuous instead of flipping
    between e.g. [0, pi, 0] and [0, -pi, 0], which are the same pointing-down tool."""
    angle = float(np.linalg.norm(rotvec))
    if angle < 1e-12:
        return np.asarray(rotvec, dtype=np.float64)
    axis = np.asarray(rotvec, dtype=np.float64) / angle
    candidates = [axis * (angle + k * 2 * math.pi) for k in (-1, 0, 1)]
    return min(candidates, key=lambda c: float(np.linalg.norm(c - reference)))


def tool_yaw(rotvec: Sequence[float]) -> float:
    """Angle of the tool x axis about base z (rad, [-pi, pi)): the simulator's ``ee.yaw`` for a
    tool pointing down (R = Rz(yaw) Rx(pi))."""
    m = rotvec_to_matrix(rotvec)
    return float(wrap_angle(math.atan2(m[1, 0], m[0, 0])))


def servo_target(pose: Sequence[float], step: Sequence[float], workspace=None) -> tuple[np.ndarray, np.ndarray]:
    """The ``servoL`` target one step from TCP ``pose`` and the step really taken.

    ``pose``: (6,) x, y, z (m) and a rotation vector (rad), base frame. ``step``: (4,) dx, dy, dz
    (m) and dyaw (rad, about base z through the TCP). ``workspace``: (low xyz, high xyz) or None.
    The box is widened to include the current position, so an arm pushed outside it by hand
    may come back by at most the step and never goes further out; no step is ever longer than
    asked. Returns the target (6,) and (dx, dy, dz, dyaw) applied.
    """
    pose, step = np.asarray(pose, dtype=np.float64), np.asarray(step, dtype=np.float64)
    wanted = pose[:3] + step[:3]
    position = wanted
    if workspace is not None:
        low, high = (np.asarray(b, dtype=np.float64) for b in workspace)
        position = np.clip(wanted, np.minimum(low, pose[:3]), np.maximum(high, pose[:3]))
    moved = np.where(position == wanted, step[:3], position - pose[:3])
    rotation = pose[3:]
    if step[3] != 0.0:
        c, s = math.cos(step[3]), math.sin(step[3])
        turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        rotation = nearest_rotvec(matrix_to_rotvec(turn @ rotvec_to_matrix(pose[3:])), pose[3:])
    return np.concatenate([position, rotation]), np.array([*moved, step[3]])
