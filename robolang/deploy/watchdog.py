"""The deploy loop's watchdog: stale data and slow inference hold the arm; too many in a row stop it.

A step *trips* the watchdog when the observation (its oldest camera frame or arm state) is
older than ``max_data_age_s``, when the policy took longer than ``inference_budget_s`` to
answer (its action was computed from a world that has moved on), or when the policy's action
was not finite. A tripped step holds the arm: nothing is sent, so it keeps its last goal (no
motion, the gripper unchanged). After ``max_trips`` trips in a row the deployment stops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from robolang.errors import RobolangError

STALE, OVERRUN, NON_FINITE = "stale data", "inference overrun", "non-finite action"


class WatchdogConfigError(RobolangError, ValueError):
    """Watchdog settings that cannot work (a budget <= 0, no trips allowed)."""


@dataclass(frozen=True)
class WatchdogSettings:
    max_data_age_s: float = 0.5  # 5 control periods at 10 Hz
    inference_budget_s: float = 0.09  # most of a 10 Hz period
    max_trips: int = 10  # in a row (1 s at 10 Hz), then stop

    def __post_init__(self) -> None:
        for key in ("max_data_age_s", "inference_budget_s"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise WatchdogConfigError(f"watchdog.{key} must be a positive number of seconds, got {value}")
        if not (isinstance(self.max_trips, int) and self.max_trips >= 1):
            raise WatchdogConfigError(f"watchdog.max_trips must be an integer >= 1, got {self.max_trips}")


class Watchdog:
    """Counts trips; ``exhausted`` once ``max_trips`` came in a row."""

    def __init__(self, settings: WatchdogSettings):
        self.settings = settings
        self.in_a_row = 0
        self.counts: dict[str, int] = {STALE: 0, OVERRUN: 0, NON_FINITE: 0}
        self.last: str | None = None

    def check_data(self, age_s: float) -> str | None:
        """``STALE`` when the observation is too old (or its age unknown: NaN)."""
        return None if age_s <= self.settings.max_data_age_s else STALE

    def check_inference(self, seconds: float) -> str | None:
        return None if seconds <= self.settings.inference_budget_s else OVERRUN

    def record(self, trip: str | None) -> None:
        """One step's verdict: a trip's reason, or None for a good step (which resets the run)."""
        if trip is None:
            self.in_a_row = 0
            return
        self.counts[trip] += 1
        self.in_a_row += 1
        self.last = trip

    @property
    def exhausted(self) -> bool:
        return self.in_a_row >= self.settings.max_trips

    @property
    def trips(self) -> int:
        return sum(self.counts.values())
