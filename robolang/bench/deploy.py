"""Deploy soak: the fixed-rate loop for many minutes on the sim arm, its period and memory.

``robolang deploy``'s loop (safety layer, watchdog, recorder, video) runs a checkpoint on the
simulated arm, one instruction a minute from a fixed list, for ``minutes``. Figures: the period
p50/p99/max against the period asked for (the reference, 100 ms at 10 Hz), overruns, inference
and observation age, watchdog holds, and the process's resident memory before every instruction.
Memory growth is given two ways: from after the first instruction to the end, and the steady rate
(a least-squares line through the second half of the samples). Resident memory rises for the
first several recorded episodes and then levels off (the allocator and LeRobot's writers reach
their working set: measured over 17 episodes of 3,000 steps, flat after the ninth), so in an
hour of 5-minute episodes the first figure is mostly that warm-up; a leak shows in both.
Targets: p99 period <= 1.2 x the period; steady memory growth <= 50 MB per hour.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from robolang.bench.report import Load, heading, table, verdict
from robolang.config import ConfigError, checked

P99_TARGET = 1.2  # x the period asked for
GROWTH_TARGET_MB_PER_H = 50.0


def check(cfg: DictConfig) -> None:
    if cfg.checkpoint in (None, "", "???") or not Path(str(cfg.checkpoint)).exists():
        raise ConfigError(f"checkpoint={cfg.checkpoint}: a deployable checkpoint folder is needed (robolang train)")
    checked(cfg, "minutes", float, low=0.05)
    checked(cfg, "time_limit_s", float, low=1.0)
    if not cfg.instructions:
        raise ConfigError("instructions=: at least one instruction to cycle through")


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def run(cfg: DictConfig) -> dict:
    from robolang.ask import connect_robot, refuse_privileged
    from robolang.deploy.session import deploy, set_threads
    from robolang.policy.inference import load_policy

    set_threads(cfg)
    policy = load_policy(cfg.checkpoint, execution=cfg.execution, actions_per_chunk=cfg.actions_per_chunk)
    refuse_privileged(policy, cfg.checkpoint)
    robot = connect_robot(cfg, policy)
    count = max(1, round(cfg.minutes * 60 / cfg.time_limit_s))
    memory: list[float] = []
    when: list[float] = []  # seconds since the start, per memory sample
    start = time.monotonic()

    def sample():
        memory.append(_rss_mb())
        when.append(time.monotonic() - start)

    def instructions():
        for i in range(count):
            sample()  # before each instruction, and once more at the end
            yield cfg.instructions[i % len(cfg.instructions)]
        sample()

    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(cfg.out) if cfg.out else Path(tmp)
            outcomes = deploy(robot, policy, instructions(), cfg, out)
    finally:
        robot.disconnect()
    periods = np.concatenate([o.timing.periods for o in outcomes])
    inference = np.concatenate([o.timing.inference for o in outcomes])
    ages = np.concatenate([o.timing.data_age for o in outcomes])
    seconds = float(periods.sum())
    base = memory[1] if len(memory) > 2 else memory[0]  # after the first instruction: caches are warm
    return {
        "minutes": seconds / 60,
        "steps": int(sum(o.steps for o in outcomes)),
        "instructions": len(outcomes),
        "period_s": 1.0 / cfg.rate_hz,
        "period_ms": {q: float(np.percentile(periods, q) * 1e3) for q in (50, 99)}
        | {"max": float(periods.max() * 1e3)},
        "inference_ms": {q: float(np.percentile(inference, q) * 1e3) for q in (50, 99)},
        "age_ms": {q: float(np.percentile(ages, q) * 1e3) for q in (50, 99)},
        "overruns": int(sum(o.timing.overruns for o in outcomes)),
        "holds": int(sum(sum(o.trips.values()) for o in outcomes)),
        "memory_mb": (base, memory[-1]),
        "growth_mb_per_h": (memory[-1] - base) / max(seconds / 3600 - cfg.time_limit_s / 3600, 1e-9),
        "steady_growth_mb_per_h": steady_growth(when, memory),
        "memory_series_mb": [round(m, 1) for m in memory],
        "checkpoint": str(cfg.checkpoint),
        "robot": cfg.robot._target_,
    }


def steady_growth(seconds: list[float], memory_mb: list[float]) -> float | None:
    """MB per hour of a least-squares line through the second half of the samples (at least
    three), after the warm-up of the first recorded episodes; None with fewer samples."""
    half = len(memory_mb) // 2
    t, m = np.asarray(seconds[half:], dtype=float), np.asarray(memory_mb[half:], dtype=float)
    if len(m) < 3 or np.ptp(t) <= 0:
        return None
    return float(np.polyfit(t / 3600.0, m, 1)[0])


def section(cfg: DictConfig, f: dict, load: Load) -> str:
    period_ms = f["period_s"] * 1e3
    p = f["period_ms"]
    rows = [
        ["period (reference: asked for)", f"{period_ms:.1f}", f"{period_ms:.1f}", "-"],
        ["period, measured", f"{p[50]:.1f}", f"{p[99]:.1f}", f"{p['max']:.1f}"],
        ["policy inference (chunk steps)", f"{f['inference_ms'][50]:.1f}", f"{f['inference_ms'][99]:.1f}", "-"],
        ["observation age", f"{f['age_ms'][50]:.1f}", f"{f['age_ms'][99]:.1f}", "-"],
    ]
    p99_ok = verdict(p[99], "<=", P99_TARGET * period_ms)
    steady = f.get("steady_growth_mb_per_h")
    growth_ok = (
        verdict(steady, "<=", GROWTH_TARGET_MB_PER_H)
        if steady is not None
        else "not judged (too few instructions for a line through the second half)"
    )
    steady_text = "-" if steady is None else f"{steady:+.1f} MB per hour"
    series = ", ".join(f"{m:.0f}" for m in f.get("memory_series_mb", []))
    return "\n".join(
        [
            *heading("Deploy soak on the sim arm (`robolang bench deploy`)", load),
            f"`robolang deploy`'s loop on `{f['robot']}` with `{f['checkpoint']}`: {f['minutes']:.1f} min at "
            f"{1 / f['period_s']:g} Hz, {f['steps']} steps, {f['instructions']} instructions of "
            f"{cfg.time_limit_s:g} s each (cycled from {len(cfg.instructions)}), recorded and filmed as a deployment is.",
            "",
            *table(["what", "p50 ms", "p99 ms", "max ms"], rows, align="lrrr"),
            "",
            f"Overruns: {f['overruns']} of {f['steps']} steps; watchdog holds: {f['holds']}. Resident memory "
            f"{f['memory_mb'][0]:.0f} MB after the first instruction, {f['memory_mb'][1]:.0f} MB at the end: "
            f"{f['growth_mb_per_h']:+.1f} MB per hour, warm-up included; steady (a line through the second "
            f"half of the samples): {steady_text}.",
            f"Resident MB before each instruction, and at the end: {series}.",
            f"Targets: p99 period <= {P99_TARGET:g} x {period_ms:.0f} ms: {p99_ok}; steady memory growth <= "
            f"{GROWTH_TARGET_MB_PER_H:.0f} MB/h: {growth_ok}.",
        ]
    )


def summary(f: dict) -> list[str]:
    p = f["period_ms"]
    steady = f.get("steady_growth_mb_per_h")
    return [
        f"{f['minutes']:.1f} min, {f['steps']} steps: period p50 {p[50]:.1f} ms, p99 {p[99]:.1f} ms, "
        f"max {p['max']:.1f} ms, {f['overruns']} overruns; memory {f['growth_mb_per_h']:+.1f} MB/h, "
        f"steady {'-' if steady is None else f'{steady:+.1f}'} MB/h"
    ]
