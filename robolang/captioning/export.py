"""Export labelled windows as a plain LeRobotDataset whose ``task`` is the instruction.

Each annotation row becomes one episode (its frames ``[start_frame, end_frame)`` of the source
episode), so LeRobot's own policies and loaders train on robolang labels unchanged. The debug
intent column is dropped; everything else is kept. The export is built in a temporary folder
and renamed into place when complete.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from tqdm import tqdm

from robolang.captioning.annotations import load
from robolang.dataset_tools import episode_frames, episode_table, load_info
from robolang.recording.features import KEY_INTENT
from robolang.recording.stats import fix_lerobot_image_stats
from robolang.recording.store import append_records

EXPORT_LOG = "robolang_export.jsonl"  # meta/ sidecar: export episode -> source segment

LEROBOT_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def export_windows(
    root: str | Path,
    out: str | Path,
    splits: tuple[str, ...] = ("train",),
    repo_id: str = "robolang/play_labelled",
    vcodec: str = "libsvtav1",
    max_windows: int | None = None,
) -> int:
    """Write the windows of ``splits`` to a new dataset at ``out``; returns the episodes written."""
    root, out = Path(root), Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new folder for the export")
    rows = load(root)
    rows = rows[rows["split"].isin(splits)].sort_values(["episode_index", "start_frame"], kind="stable")
    if max_windows is not None:
        rows = rows.head(max_windows)
    if rows.empty:
        raise ValueError(f"{root} has no annotations in splits {list(splits)}; run `robolang caption {root}` first")
    info = load_info(root)
    # info.json stores shapes as lists; LeRobot's frame validation compares against tuples.
    features = {
        k: {**v, "shape": tuple(v["shape"])}
        for k, v in info["features"].items()
        if k != KEY_INTENT and k not in LEROBOT_COLUMNS
    }
    features = {k: {kk: vv for kk, vv in v.items() if kk != "info"} for k, v in features.items()}
    video_keys = [k for k, v in features.items() if v["dtype"] == "video"]
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    fix_lerobot_image_stats()  # LeRobot's ACT normalises images with these statistics (see stats.py)
    dataset = LeRobotDataset.create(
        repo_id,
        info["fps"],
        features,
        root=tmp,
        robot_type=info.get("robot_type"),
        vcodec=vcodec,
        streaming_encoding=True,
    )
    written = 0
    try:
        with tqdm(total=len(rows), desc="export", unit="window") as bar:
            for episode, group in rows.groupby("episode_index", sort=True):
                frames = {k: episode_frames(root, int(episode), k) for k in video_keys}
                table = episode_table(root, int(episode))
                for row in group.itertuples(index=False):
                    _write_window(dataset, row, frames, table, features)
                    append_records(tmp / "meta" / EXPORT_LOG, [{"episode_index": written, **_source(row)}])
                    written += 1
                    bar.update()
        dataset.finalize()
    except BaseException:
        dataset.finalize()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.replace(tmp, out)
    return written


def _write_window(dataset: LeRobotDataset, row, frames: dict, table, features: dict) -> None:
    for f in range(int(row.start_frame), int(row.end_frame)):
        frame = {k: frames[k][f] for k in frames}
        for key in features:
            if key not in frames:
                frame[key] = np.asarray(table.at[f, key], dtype=features[key]["dtype"])
        frame["task"] = row.instruction
        dataset.add_frame(frame)
    dataset.save_episode()


def _source(row) -> dict:
    return {
        "source_episode": int(row.episode_index),
        "start_frame": int(row.start_frame),
        "end_frame": int(row.end_frame),
        "task_id": row.task_id,
        "args": row.args,
        "split": row.split,
        "annotation_source": row.source,
        "captioner_version": row.captioner_version,
    }


def export_log(out: str | Path) -> list[dict]:
    path = Path(out) / "meta" / EXPORT_LOG
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
