"""Per-frame relations the task predicates are built from: held, resting, on the table, on top
of, in the drawer, turned, pressed. Each is a vectorized function of an ``EpisodeStates``
returning a (T,) array, cached per episode and thresholds. Definitions follow the scripted
checks (sim/play/checks.py) so the captioner and the agent's log agree on what a word means.
"""

from __future__ import annotations

import numpy as np

from robolang.captioning.config import TaskThresholds
from robolang.captioning.states import EpisodeStates

ROBOT_PARTS = ("gripper", "robot")


def held(s: EpisodeStates, x: str, c: TaskThresholds) -> np.ndarray:
    """(T,) between the fingers: touching the gripper, fingers neither shut nor wide open."""

    def compute():
        w = s.gripper_width()
        return s.contact(x, "gripper") & (w > c.held_width_min_m) & (w < c.held_width_max_m)

    return s.memo(("held", x, c), compute)


def touched_by_robot(s: EpisodeStates, x: str) -> np.ndarray:
    """(T,) the gripper or any other part of the arm touches ``x``."""
    return s.memo(("touched", x), lambda: s.contact(x, "gripper") | s.contact(x, "robot"))


def moving(s: EpisodeStates, x: str, c: TaskThresholds) -> np.ndarray:
    """(T,) the centre moved more than ``still_m`` since the previous frame."""

    def compute():
        step = np.linalg.norm(np.diff(s.pos(x), axis=0), axis=1)
        return np.concatenate([[False], ~(step <= c.still_m)])  # NaN counts as moving

    return s.memo(("moving", x, c), compute)


def resting(s: EpisodeStates, x: str, c: TaskThresholds) -> np.ndarray:
    """(T,) let go and still."""
    return s.memo(("resting", x, c), lambda: ~held(s, x, c) & ~moving(s, x, c))


def rise(s: EpisodeStates, x: str) -> np.ndarray:
    """(T,) height of the centre above its resting height on the table."""
    return s.memo(("rise", x), lambda: s.pos(x)[:, 2] - s.info(x).half_height)


def on_table(s: EpisodeStates, x: str, c: TaskThresholds) -> np.ndarray:
    """(T,) resting on the table top at its resting height, not held."""
    return s.memo(
        ("on_table", x, c),
        lambda: s.contact(x, "table") & (np.abs(rise(s, x)) < c.rest_tolerance_m) & ~held(s, x, c),
    )


def supported(s: EpisodeStates, x: str) -> np.ndarray:
    """(T,) touching anything but the robot: the table, a fixture, another object."""

    def compute():
        others = [e for e in s.contact_entities(x) if e not in ROBOT_PARTS]
        return np.any([s.contact(x, e) for e in others], axis=0) if others else np.zeros(len(s), bool)

    return s.memo(("supported", x), compute)


def lifted_clear(s: EpisodeStates, x: str, c: TaskThresholds) -> np.ndarray:
    """(T,) held in the air at least ``move_min_m`` above where it last rested (a lift, not the
    small hop of a turn in place)."""

    def compute():
        z, rest = s.pos(x)[:, 2], supported(s, x)
        t = np.arange(len(z))
        last = np.maximum.accumulate(np.where(rest, t, -1))  # last frame it touched a support
        base = np.where(last >= 0, z[np.maximum(last, 0)], s.info(x).half_height)  # else the table
        return held(s, x, c) & ~rest & (z - base >= c.move_min_m)

    return s.memo(("lifted_clear", x, c), compute)


def resting_on(s: EpisodeStates, top: str, base: str, c: TaskThresholds) -> np.ndarray:
    """(T,) ``top`` sits on ``base``: touching, higher by most of their half heights, over the
    base's footprint, not held."""

    def compute():
        p, q = s.pos(top), s.pos(base)
        height = s.info(top).half_height + s.info(base).half_height
        over = np.hypot(*(p[:, :2] - q[:, :2]).T) < s.info(base).footprint + c.stack_margin_m
        return s.contact(top, base) & ~held(s, top, c) & (p[:, 2] - q[:, 2] > c.stack_rise_ratio * height) & over

    return s.memo(("resting_on", top, base, c), compute)


def in_drawer(s: EpisodeStates, x: str, c: TaskThresholds) -> np.ndarray:
    """(T,) inside the drawer (its box moves with the joint) and touching it."""

    def compute():
        (lx, ly, lz), (hx, hy, hz) = c.drawer_inside
        cx, cy = s.scene.drawer_cabinet
        p, d = s.pos(x), s.fixture("drawer")
        inside_x = (p[:, 0] >= cx + lx) & (p[:, 0] <= cx + hx)
        inside_y = (p[:, 1] >= cy + ly + d) & (p[:, 1] <= cy + hy + d)
        return inside_x & inside_y & (p[:, 2] >= lz) & (p[:, 2] <= hz) & s.contact(x, "drawer")

    return s.memo(("in_drawer", x, c), compute)


def tilt_deg(s: EpisodeStates, x: str) -> np.ndarray:
    """(T,) angle between the object's z axis and the vertical (degrees)."""

    def compute():
        qx, qy = s.quat(x)[:, 0], s.quat(x)[:, 1]
        return np.degrees(np.arccos(np.clip(1 - 2 * (qx * qx + qy * qy), -1.0, 1.0)))

    return s.memo(("tilt", x), compute)


def _rotation_rows(s: EpisodeStates, x: str) -> tuple[np.ndarray, np.ndarray]:
    """First two rows of each frame's rotation matrix, (T, 3) each."""

    def compute():
        qx, qy, qz, qw = s.quat(x).astype(np.float64).T
        row0 = np.stack([1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw)], 1)
        row1 = np.stack([2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw)], 1)
        return np.stack([row0, row1])

    rows = s.memo(("rotation_rows", x), compute)
    return rows[0], rows[1]


def turn_deg(s: EpisodeStates, x: str, t0, t1) -> np.ndarray:
    """Turn about the vertical from frame t0 to t1 (degrees, + counter-clockwise seen from
    above), from the relative rotation R1 R0^T, so it does not matter which face is up."""
    row0, row1 = _rotation_rows(s, x)
    a = row0[t0]
    return np.degrees(np.arctan2(np.sum(row1[t1] * a, -1), np.sum(row0[t1] * a, -1)))


def ever(s: EpisodeStates, key, mask: np.ndarray, t0, t1) -> np.ndarray:
    """Whether ``mask`` is true at some frame in (t0, t1], by prefix sums (any shapes that broadcast)."""
    counts = s.memo(("prefix", key), lambda: np.concatenate([[0], np.cumsum(mask, dtype=np.int64)]))
    return counts[np.asarray(t1) + 1] - counts[np.asarray(t0) + 1] > 0


def fixture_still(s: EpisodeStates, name: str, c: TaskThresholds) -> np.ndarray:
    """(T,) a fixture joint moved less than ``still_m`` since the previous frame."""
    return s.memo(
        ("fixture_still", name, c),
        lambda: np.concatenate([[True], np.abs(np.diff(s.fixture(name))) <= c.still_m]),
    )


def button_down(s: EpisodeStates, c: TaskThresholds) -> np.ndarray:
    """(T,) the button is pressed past the lamp's latch depth."""
    return s.memo(("button_down", c), lambda: s.fixture("button") < -c.press_fraction * s.scene.button_travel)


def button_up(s: EpisodeStates, c: TaskThresholds) -> np.ndarray:
    """(T,) the button is released (above the latch's release depth)."""
    return s.memo(("button_up", c), lambda: s.fixture("button") > -c.release_fraction * s.scene.button_travel)
