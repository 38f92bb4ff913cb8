"""Export labelled windows as a plain LeRobotDataset whose ``task`` is the instruction.

Each annotation row becomes one episode (its frames ``[start_frame, end_frame)`` of the source
episode), so LeRobot's own policies and loaders train on robolang labels unchanged. The debug
intent column is dropped; everything else is kept. Where each episode came from, and who
labelled it (``source``: oracle, human, model, expert or vision, and the human ``annotator``),
is kept in the sidecar ``meta/robolang_export.jsonl`` (``export_log``), one line per exported
episode. The export is built in a temporary folder and renamed into place when complete.

Two ways to write the video (``video=``):

* ``"link"`` (default): the episodes point into the recording's own encoded video files, linked
  into the export; nothing is decoded for the frames nor re-encoded (``export_linked.py``). An
  hour of play exports in seconds plus one decode of its video for the image statistics.
* ``"encode"``: every window's frames decoded and re-encoded through LeRobot's writer, the way
  exports were first made: self-contained files holding the windows' frames only (a small
  subset to share), at ~1 s per window on 2 cores (702 windows of a 30-minute dataset: 13.5 min).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from robolang.captioning.annotations import load
from robolang.dataset_tools import episode_frames, episode_table, load_info
from robolang.recording.features import KEY_INTENT
from robolang.recording.stats import fix_lerobot_image_stats
from robolang.recording.store import append_records

EXPORT_LOG = "robolang_export.jsonl"  # meta/ sidecar: export episode -> source segment and who labelled it
VIDEO_WAYS = ("link", "encode")
LEROBOT_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def export_windows(
    root: str | Path,
    out: str | Path,
    splits: tuple[str, ...] = ("train",),
    repo_id: str = "robolang/play_labelled",
    vcodec: str = "libsvtav1",
    max_windows: int | None = None,
    video: str = "link",
    workers: int | None = None,
) -> int:
    """Write the windows of ``splits`` to a new dataset at ``out``; returns the episodes written.

    ``video``: "link" (point into the source's video files) or "encode" (re-encode each window
    with ``vcodec``). ``workers``: video files measured at once for the image statistics of
    "link" (default: one per core)."""
    root, out = Path(root), Path(out)
    if video not in VIDEO_WAYS:
        raise ValueError(f"video={video!r}: choose one of {', '.join(VIDEO_WAYS)}")
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new folder for the export")
    rows = load(root)
    rows = rows[rows["split"].isin(splits)].sort_values(["episode_index", "start_frame"], kind="stable")
    if max_windows is not None:
        rows = rows.head(max_windows)
    if rows.empty:
        raise ValueError(f"{root} has no annotations in splits {list(splits)}; run `robolang caption {root}` first")
    rows = rows.reset_index(drop=True)
    info = load_info(root)
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if video == "link":
            from robolang.captioning.export_linked import write_linked

            write_linked(root, tmp, rows, _features(info, keep_video_info=True), workers)
        else:
            _encode_windows(root, tmp, rows, _features(info, keep_video_info=False), info, repo_id, vcodec)
        log = [{"episode_index": i, **_source(r)} for i, r in enumerate(rows.itertuples())]
        append_records(tmp / "meta" / EXPORT_LOG, log)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.replace(tmp, out)
    return len(rows)


def _features(info: dict, keep_video_info: bool) -> dict:
    """The export's features: the source's, less the debug intent and LeRobot's own columns;
    shapes as tuples (LeRobot's frame validation compares tuples). A re-encoded video's ``info``
    is probed again by LeRobot; a linked one is the source's file, described as it is."""
    features = {
        k: {kk: vv for kk, vv in v.items() if keep_video_info or kk != "info"} | {"shape": tuple(v["shape"])}
        for k, v in info["features"].items()
        if k != KEY_INTENT
    }
    return features if keep_video_info else {k: v for k, v in features.items() if k not in LEROBOT_COLUMNS}


def _encode_windows(root: Path, tmp: Path, rows: pd.DataFrame, features: dict, info: dict, repo_id, vcodec) -> None:
    """Every window decoded and re-encoded through LeRobot's writer (``video="encode"``)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    video_keys = [k for k, v in features.items() if v["dtype"] == "video"]
    fix_lerobot_image_stats()  # LeRobot's ACT normalises images with these statistics (see stats.py)
    dataset = LeRobotDataset.create(
        repo_id, info["fps"], features, root=tmp, robot_type=info.get("robot_type"), vcodec=vcodec,
        streaming_encoding=True,
    )  # fmt: skip
    try:
        with tqdm(total=len(rows), desc="export", unit="window") as bar:
            for episode, group in rows.groupby("episode_index", sort=True):
                frames = {k: episode_frames(root, int(episode), k) for k in video_keys}
                table = episode_table(root, int(episode))
                for row in group.itertuples(index=False):
                    _write_window(dataset, row, frames, table, features)
                    bar.update()
    finally:
        dataset.finalize()


def _write_window(dataset, row, frames: dict, table, features: dict) -> None:
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
        "instruction": row.instruction,
        "split": row.split,
        "annotation_source": row.source,
        "annotator": row.annotator,
        "captioner_version": row.captioner_version,
    }


def export_log(out: str | Path) -> list[dict]:
    """The export's sidecar, one dict per exported episode (in order): ``episode_index``, the
    source segment (``source_episode``, ``start_frame``, ``end_frame``), ``task_id``, ``args``,
    ``instruction``, ``split``, ``annotation_source``, ``annotator`` (exports made before it
    existed lack it) and ``captioner_version``."""
    path = Path(out) / "meta" / EXPORT_LOG
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
