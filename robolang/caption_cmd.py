"""``robolang caption``: hindsight-caption a play dataset, store the labels, measure quality, export."""

from __future__ import annotations

import time
from pathlib import Path

from robolang.captioning import annotations
from robolang.captioning.captioner import HindsightCaptioner, coverage
from robolang.captioning.config import CaptionConfig
from robolang.captioning.export import export_windows
from robolang.captioning.quality import format_quality, measure_dataset
from robolang.dataset_tools import load_episodes
from robolang.recording.features import BEHAVIOURS_FILE
from robolang.recording.worker import quiet_encoders

QUALITY_FILE = "robolang_caption_quality.md"


def run(path: str, export: str | None = None, splits: tuple[str, ...] = ("train",), dry_run: bool = False) -> int:
    """Caption ``path``: replace its oracle labels (human labels are kept), print coverage per
    task and split, and precision / recall when the scripted agent's log is there."""
    quiet_encoders()
    root = Path(path)
    if not (root / "meta" / "info.json").exists():
        raise FileNotFoundError(f"{root} is not a LeRobot dataset (no meta/info.json)")
    captioner = HindsightCaptioner(CaptionConfig())
    started = time.perf_counter()
    table, timing = captioner.caption(root, progress=True)
    if table.empty:
        print(f"no task was completed anywhere in {root}: nothing to label")
    lengths = {int(e.episode_index): int(e.length) for e in load_episodes(root).itertuples()}
    segments = table.drop_duplicates(["episode_index", "start_frame", "end_frame", "task_id", "args"])
    print(
        f"{len(segments)} segments, {len(table)} labels over {timing['frames']} frames "
        f"({timing['frames'] / 36000:.2f} h) in {time.perf_counter() - started:.1f} s; captioner {captioner.version}"
    )
    print(coverage(table).to_string())
    report = None
    if (root / "meta" / BEHAVIOURS_FILE).exists():
        recall, precision = measure_dataset(root, table)
        report = format_quality(recall, precision)
        print("\ncaption quality against the scripted agent's successful behaviours:\n" + report)
    if not dry_run:  # labels and quality report in one crash-safe snapshot
        extra = {QUALITY_FILE: (report + "\n").encode()} if report else None
        kept = annotations.replace_source(root, table, "oracle", lengths, extra)
        print(f"stored {len(table)} oracle labels ({len(kept) - len(table)} human/model labels kept) in {root}/meta/")
    if export:
        n = export_windows(root, export, splits=splits)
        print(f"exported {n} labelled windows ({', '.join(splits)}) as a LeRobotDataset at {export}")
    return len(table)
