"""Hindsight captioning of an hour of play on one core, with its precision and recall.

Target: captioning an hour of 10 Hz play (36,000 frames) takes under 60 s on one core (no
rendering). The reference is CALVIN's annotator design (fixed 64-frame windows, one task per
window), described rather than run: it is not installable here.
"""

from __future__ import annotations

from omegaconf import DictConfig

from robolang.bench import checks
from robolang.bench.report import Load, heading, table, verdict
from robolang.config import checked

TARGET_SECONDS_PER_HOUR = 60.0
SPLITS = ("train", "heldout_phrasing", "heldout_composition")


def check(cfg: DictConfig) -> None:
    checked(cfg, "single_core", bool)
    root = checked(cfg, "dataset", str)
    checks.dataset(cfg, hint=f"record one first, e.g. `robolang collect hours=1 workers=2 out={root}`")


def run(cfg: DictConfig) -> dict:
    """Caption ``cfg.dataset`` (labels are not stored) and measure its quality."""
    from pathlib import Path

    from robolang.bench.sim import pin_to_one_core
    from robolang.captioning.captioner import HindsightCaptioner
    from robolang.captioning.quality import measure_dataset

    root = Path(cfg.dataset)
    core = pin_to_one_core() if cfg.single_core else None
    labels, timing = HindsightCaptioner().caption(root)
    recall, precision = measure_dataset(root, labels)
    hours = timing["frames"] / 36000
    per_hour = timing["total_s"] / max(hours, 1e-9)
    figures = {"root": root, "core": core, "labels": labels, "recall": recall, "precision": precision}
    return {**figures, "timing": timing, "hours": hours, "per_hour_s": per_hour}


def section(cfg: DictConfig, figures: dict, load: Load) -> str:
    from robolang.captioning.captioner import coverage
    from robolang.captioning.quality import format_quality

    labels, timing, hours, per_hour = figures["labels"], figures["timing"], figures["hours"], figures["per_hour_s"]
    cov = coverage(labels)
    segments = len(labels.drop_duplicates(["episode_index", "start_frame", "end_frame", "task_id", "args"]))
    core = figures["core"]
    rows = [
        ["segmentation (31 tasks, all instances)", f"{timing['segment_s']:.2f}", f"{timing['segment_s'] / hours:.2f}"],
        ["phrasing (one phrasing per split per segment)", f"{timing['phrase_s']:.2f}", f"{timing['phrase_s'] / hours:.2f}"],
        ["total, incl. reading parquet", f"{timing['total_s']:.2f}", f"{per_hour:.2f}"],
    ]  # fmt: skip
    return "\n".join(
        [
            *heading("Hindsight captioning (`robolang bench caption`)", load),
            f"Dataset `{figures['root'].name}`: {timing['frames']} frames ({hours:.2f} h of 10 Hz scripted play); "
            "one process" + (f" pinned to core {core}" if core is not None else "") + ". Reading scene states, "
            "segmenting and phrasing included; no rendering.",
            "",
            *table(["step", "seconds", "per hour of play"], rows, align="lrr"),
            "",
            f"Target < {TARGET_SECONDS_PER_HOUR:.0f} s per hour on one core: "
            f"{verdict(per_hour, '<', TARGET_SECONDS_PER_HOUR)} ({per_hour:.1f} s). {len(labels)} labels on "
            f"{segments} segments, {len(cov)} of 31 tasks present; splits: "
            + ", ".join(f"{s} {int(cov[s].sum())}" for s in SPLITS)
            + ".",
            "",
            "Quality against the scripted agent's successful behaviours (independent checks), same dataset:",
            "",
            format_quality(figures["recall"], figures["precision"]),
            "",
            "Reference: CALVIN's automatic annotator labels fixed 64-frame windows with exactly one task each from a "
            "closed list of 389 sentences; here windows are trimmed to the motion, overlap freely, and phrasings are "
            "drawn from an open grammar with held-out verbs and task x object pairs.",
        ]
    )


def summary(figures: dict) -> list[str]:
    return [f"captioned at {figures['per_hour_s']:.1f} s per hour of play"]
