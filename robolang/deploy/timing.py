"""Timing of a fixed-rate loop: period, overruns, inference time and observation age per step."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np


@dataclass
class TimingLog:
    period_s: float  # the period asked for
    # Per step, as 8-byte doubles (a list of floats takes 32 bytes a step: 3 MB an hour at 10 Hz).
    periods: array = field(default_factory=lambda: array("d"))  # start of a step to the start of the next
    inference: array = field(default_factory=lambda: array("d"))  # policy calls that computed something
    data_age: array = field(default_factory=lambda: array("d"))
    overruns: int = 0  # steps that ended after their deadline

    def summary(self) -> dict:
        def pct(values, q):
            return round(float(np.percentile(values, q)), 5) if values else None

        return {
            "rate_hz": round(1.0 / self.period_s, 3),
            "steps": len(self.data_age),
            "period_p50_s": pct(self.periods, 50),
            "period_p99_s": pct(self.periods, 99),
            "period_max_s": round(max(self.periods), 5) if self.periods else None,
            "overruns": self.overruns,
            "inference_p50_s": pct(self.inference, 50),
            "inference_p99_s": pct(self.inference, 99),
            "data_age_p50_s": pct(self.data_age, 50),
            "data_age_p99_s": pct(self.data_age, 99),
        }

    def line(self) -> str:
        """One line for the terminal."""
        s = self.summary()

        def ms(key):
            return "-" if s[key] is None else f"{1000 * s[key]:.1f}"

        return (
            f"{s['steps']} steps at {s['rate_hz']:g} Hz: period p50 {ms('period_p50_s')} ms, "
            f"p99 {ms('period_p99_s')} ms, {s['overruns']} overruns; inference p50 {ms('inference_p50_s')} ms, "
            f"p99 {ms('inference_p99_s')} ms; observation age p99 {ms('data_age_p99_s')} ms"
        )
