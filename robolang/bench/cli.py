"""Command-line start-up: seconds until `robolang --help` and every `robolang VERB --help` answer.

Target: under 1 s each, because a command imports its heavy dependencies only when it runs.
Reference, measured in the same run: importing torch and LeRobot's dataset module, which every
verb paid before parsing its arguments when the command line was one module; and a bare Python
start (`python -c pass`), the floor.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from omegaconf import DictConfig

from robolang.bench.report import Load, heading, table, verdict
from robolang.config import checked

TARGET_S = 1.0
REFERENCES = {
    "bare Python start (`python -c pass`)": "pass",
    "import torch + LeRobot's dataset module (what every verb paid before)": (
        "import torch, lerobot.datasets.lerobot_dataset"
    ),
}


def check(cfg: DictConfig) -> None:
    checked(cfg, "repeats", int, low=1)


def _seconds(argv: list[str], repeats: int) -> float:
    """Median wall time of running ``argv`` ``repeats`` times (after one unmeasured warm-up)."""
    times = []
    for n in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        if n:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(cfg: DictConfig) -> dict:
    from robolang.commands import COMMANDS

    cli = [sys.executable, "-m", "robolang.cli"]
    helps = {"robolang --help": _seconds([*cli, "--help"], cfg.repeats)}
    for verb in COMMANDS:
        helps[f"robolang {verb} --help"] = _seconds([*cli, verb, "--help"], cfg.repeats)
    references = {name: _seconds([sys.executable, "-c", code], cfg.repeats) for name, code in REFERENCES.items()}
    return {"helps": helps, "references": references, "repeats": cfg.repeats}


def section(cfg: DictConfig, figures: dict, load: Load) -> str:
    helps, references = figures["helps"], figures["references"]
    rows = [[name, f"{s:.2f}"] for name, s in {**helps, **references}.items()]
    worst = max(helps.values())
    return "\n".join(
        [
            *heading("Command-line start-up (`robolang bench cli`)", load),
            f"Median wall time of {figures['repeats']} runs each (after one warm-up), in a fresh process.",
            "",
            *table(["command", "seconds"], rows, align="lr"),
            "",
            f"Target < {TARGET_S:.0f} s for every help: {verdict(worst, '<', TARGET_S)} (slowest {worst:.2f} s).",
        ]
    )


def summary(figures: dict) -> list[str]:
    worst = max(figures["helps"], key=figures["helps"].get)
    return [f"slowest help: {worst} in {figures['helps'][worst]:.2f} s"]
