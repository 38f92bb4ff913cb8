"""Export of labelled windows as a LeRobotDataset: linked video beside re-encoded, per hour of play.

Target: exporting the windows of an hour of play takes at most 60 s on 2 cores, so 10 hours
export in minutes. The reference, measured in the same run on the same dataset, is the first
way exports were made (``video=encode``: every window decoded and re-encoded through LeRobot's
writer; 702 windows of a 30-minute dataset took 13.5 min before); at ~1 window/s it is timed
on the first ``encode_windows`` windows and its per-hour figure scaled to all of them. Every
timed export is loaded by ``LeRobotDataset`` afterwards (not timed) and then removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from robolang.bench import checks
from robolang.bench.report import Load, heading, table, verdict
from robolang.config import ConfigError, checked

TARGET_SECONDS_PER_HOUR = 60.0
WAYS = {
    "link": "link: episodes point into the recording's video files (hard links), image statistics from one decode",
    "encode": "encode: every window decoded and re-encoded (LeRobot's writer, libsvtav1)",
}


@dataclass
class Timing:
    """One timed export."""

    way: str
    windows: int  # exported (timed)
    frames: int  # exported frames (windows overlap: more than the play they come from)
    seconds: float
    all_windows: int  # windows of the chosen splits in the dataset

    @property
    def windows_per_s(self) -> float:
        return self.windows / self.seconds

    def seconds_per_hour(self, play_hours: float) -> float:
        """All windows' export time (scaled from the timed ones) per hour of recorded play."""
        return self.seconds * self.all_windows / self.windows / play_hours


def check(cfg: DictConfig) -> None:
    root = checks.dataset(cfg, hint="record and caption one, e.g. `robolang collect hours=1 workers=2 out=...`")
    checks.listed(cfg, "ways", allowed=tuple(WAYS))
    splits = checks.listed(cfg, "splits", allowed=("train", "heldout_phrasing", "heldout_composition"))
    checked(cfg, "encode_windows", int, low=1)
    checked(cfg, "workers", int, low=1, optional=True)
    from robolang.captioning import annotations

    labels = annotations.load(root)
    if not labels["split"].isin(splits).any():
        raise ConfigError(f"dataset={root}: no labels in splits {splits}; run `robolang caption {root}` first")


def run(cfg: DictConfig) -> dict:
    """Export ``cfg.dataset`` each way into a temporary folder, timed; check each loads; remove it."""
    import tempfile
    import time

    from lerobot.datasets.lerobot_dataset import LeRobotDataset  # imported before timing: ~3 s once a process

    from robolang.captioning import annotations
    from robolang.captioning.export import export_windows
    from robolang.dataset_tools import load_info

    root, splits = Path(cfg.dataset), tuple(OmegaConf.to_container(cfg.splits))
    info = load_info(root)
    labels = annotations.load(root)
    chosen = labels[labels["split"].isin(splits)]
    timings = []
    for way in cfg.ways:
        limit = cfg.encode_windows if way == "encode" else None
        with tempfile.TemporaryDirectory(prefix="bench-export-", dir=root.absolute().parent) as tmp:
            out = Path(tmp) / "labelled"
            started = time.perf_counter()
            n = export_windows(root, out, splits=splits, max_windows=limit, video=way, workers=cfg.workers)
            seconds = time.perf_counter() - started
            frames = len(LeRobotDataset("robolang/bench_export", root=out))
        timings.append(Timing(way, n, frames, seconds, len(chosen)))
    play_hours = int(info["total_frames"]) / float(info["fps"]) / 3600
    shape = next(v["shape"] for v in info["features"].values() if v["dtype"] == "video")
    return {"root": root, "info": info, "splits": splits, "timings": timings, "hours": play_hours, "shape": shape}


def section(cfg: DictConfig, figures: dict, load: Load) -> str:
    hours, timings = figures["hours"], figures["timings"]
    rows = [
        [WAYS[t.way], f"{t.windows:,}", f"{t.frames:,}", f"{t.seconds:.1f}", f"{t.windows_per_s:.1f}",
         f"{t.seconds_per_hour(hours):.0f}"]
        for t in timings
    ]  # fmt: skip
    info, (h, w, _) = figures["info"], figures["shape"]
    lines = [
        *heading("Export of labelled windows (`robolang bench export`)", load),
        f"Dataset `{figures['root'].name}`: {int(info['total_frames']):,} frames ({hours:.2f} h of "
        f"{info['fps']} Hz play), two {h}x{w} cameras; {timings[0].all_windows:,} windows of splits "
        f"{', '.join(figures['splits'])}. Seconds include reading the source and writing every file; LeRobot's "
        "import (~3 s, once a process) is not counted. The re-encoding way is timed on its first windows and its "
        "per-hour figure scaled to all of them.",
        "",
        *table(["way", "windows", "frames", "seconds", "windows/s", "seconds per hour of play"], rows, align="lrrrrr"),
        "",
    ]
    by_way = {t.way: t for t in timings}
    if "link" in by_way:
        per_hour = by_way["link"].seconds_per_hour(hours)
        lines.append(
            f"Target <= {TARGET_SECONDS_PER_HOUR:.0f} s per hour of play on {_cores()} cores: "
            f"{verdict(per_hour, '<=', TARGET_SECONDS_PER_HOUR)} ({per_hour:.1f} s; 10 h of play: "
            f"{per_hour * 10 / 60:.1f} min)."
            + (
                f" Re-encoding would take {by_way['encode'].seconds_per_hour(hours) / per_hour:.0f}x as long."
                if "encode" in by_way
                else ""
            )
        )
    return "\n".join(lines)


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def summary(figures: dict) -> list[str]:
    return [
        f"{t.way}: {t.windows_per_s:.1f} windows/s, {t.seconds_per_hour(figures['hours']):.0f} s per hour of play"
        for t in figures["timings"]
    ]
