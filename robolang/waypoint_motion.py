"""Scripted random motion: a waypoint follower that exercises the arm and gripper.

Used by ``robolang play`` to show the play table moving. It reads only the contract's
proprioception (``ee.x`` ...), so it drives any robolang robot, simulated or real.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robolang.features import ACTION_NAMES


class RandomWaypointMotion:
    """Move to random waypoints in a box, rotate to random yaws, and open or close the
    gripper at each waypoint. Returns normalized actions in [-1, 1]."""

    def __init__(
        self, low: Sequence[float], high: Sequence[float], seed: int = 0, gain: float = 8.0, tolerance: float = 0.01
    ):
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        if self.low.shape != (3,) or self.high.shape != (3,) or np.any(self.low >= self.high):
            raise ValueError(f"waypoint box needs 3 low < high values, got low={low} high={high}")
        self.rng = np.random.default_rng(seed)
        self.gain = gain  # normalized action per metre of error (saturates at 1 beyond ~12 cm)
        self.tolerance = tolerance
        self.waypoint: np.ndarray | None = None
        self.yaw = 0.0
        self.gripper = -1.0

    def _new_waypoint(self) -> None:
        self.waypoint = self.rng.uniform(self.low, self.high)
        self.yaw = float(self.rng.uniform(-1.2, 1.2))
        self.gripper = float(self.rng.choice([-1.0, 1.0]))

    def __call__(self, observation: dict) -> dict[str, float]:
        pos = np.array([observation["ee.x"], observation["ee.y"], observation["ee.z"]])
        if self.waypoint is None or np.linalg.norm(self.waypoint - pos) < self.tolerance:
            self._new_waypoint()
        move = np.clip((self.waypoint - pos) * self.gain, -1.0, 1.0)
        turn = float(np.clip((self.yaw - observation["ee.yaw"]) * 2.0, -1.0, 1.0))
        return dict(zip(ACTION_NAMES, [*move.tolist(), turn, self.gripper], strict=True))
