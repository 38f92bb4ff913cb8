"""Dataset statistics that are right: image statistics computed without uint8 overflow.

LeRobot 0.4.4 computes per-channel image statistics from uint8 pixels with
``RunningQuantileStats``, whose ``np.mean(batch**2)`` squares in uint8 (200**2 wraps to 64):
the variance comes out negative and is clipped to 0, so ``meta/stats.json`` holds an image std
of ~0.001 where the pixels' is ~0.2, on both its streaming-encoder and its PNG path. Mean, min,
max and quantiles are right. A policy normalising images with these statistics (robolang's ACT
baseline, ``use_imagenet_stats=False``) divides pixels by ~0.001.

* ``fix_lerobot_image_stats()`` makes LeRobot square in float64 (idempotent). robolang's
  recorder, its export and the ``lerobot_robot_robolang`` plugin (so ``lerobot-record`` with a
  robolang robot) call it before they write.
* ``overflowed_image_keys(stats)`` tells overflowed statistics from real ones: any distribution's
  std is at least sqrt(0.05) ~ 0.22 times its q90 - q10 spread (10% of the mass lies at or
  beyond each), and so is that of LeRobot's aggregated statistics (count-weighted quantiles).
* ``video_stats`` decodes a dataset's videos and measures every frame as the (fixed) streaming
  encoder does; ``write_episode_stats`` puts per-episode statistics into ``meta/episodes`` and
  their aggregate into ``meta/stats.json`` (each file replaced atomically). Adoption
  (``adoption.py``) and ``repair_image_stats`` use them.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

SPREAD_TO_STD = math.sqrt(0.05)  # std >= this x (q90 - q10), for any distribution
STD_MARGIN = 0.5  # LeRobot's quantiles come from 5000-bin histograms: flag only a clear violation


def fix_lerobot_image_stats() -> None:
    """Make LeRobot's ``RunningQuantileStats`` square integer pixels in float64, not uint8."""
    from lerobot.datasets.compute_stats import RunningQuantileStats

    if getattr(RunningQuantileStats.update, "robolang_float64", False):
        return
    original = RunningQuantileStats.update

    @functools.wraps(original)
    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch)
        if batch.dtype.kind in "biu":
            batch = batch.astype(np.float64)
        original(self, batch)

    update.robolang_float64 = True
    RunningQuantileStats.update = update


def image_keys(info: dict) -> list[str]:
    """Keys of a dataset's image and video features."""
    return [k for k, v in info["features"].items() if v["dtype"] in ("image", "video")]


def video_keys(info: dict) -> list[str]:
    """Keys of a dataset's video features: the ones whose statistics ``correct_image_stats``
    can recompute (``image`` features, PNGs in parquet, are not handled)."""
    return [k for k, v in info["features"].items() if v["dtype"] == "video"]


def overflowed_image_keys(stats: dict | None, keys: Iterable[str]) -> list[str]:
    """The ``keys`` whose statistics in ``stats`` (``meta/stats.json`` as loaded) cannot be
    right: a std below what their quantile spread implies (or 0 with max > min, without quantiles)."""
    bad = []
    for key in keys:
        s = (stats or {}).get(key)
        if not s or "std" not in s:
            continue
        std = np.asarray(s["std"], dtype=np.float64).ravel()
        if "q10" in s and "q90" in s:
            spread = np.asarray(s["q90"], dtype=np.float64).ravel() - np.asarray(s["q10"], dtype=np.float64).ravel()
            wrong = std < STD_MARGIN * SPREAD_TO_STD * spread
        else:
            wrong = (std == 0) & (np.asarray(s["max"]).ravel() > np.asarray(s["min"]).ravel())
        if np.any(wrong):
            bad.append(key)
    return bad


def load_episode_meta(root: Path) -> pd.DataFrame:
    """``meta/episodes`` without the statistics columns, one row per episode."""
    files = sorted((Path(root) / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    frames = [pd.read_parquet(f, columns=None).filter(regex=r"^(?!stats/)") for f in files]
    return pd.concat(frames, ignore_index=True).sort_values("episode_index")


def video_stats(root: Path, info: dict, key: str) -> dict[int, dict[str, np.ndarray]]:
    """Per-episode statistics of video stream ``key``, over every frame, as LeRobot's streaming
    encoder computes them (downsampled above 300 px, pixels in [0, 1], shape (3, 1, 1))."""
    import av
    from lerobot.datasets.compute_stats import RunningQuantileStats, auto_downsample_height_width

    episodes = load_episode_meta(root)
    out: dict[int, dict[str, np.ndarray]] = {}
    cols = [f"videos/{key}/{c}" for c in ("chunk_index", "file_index", "from_timestamp", "to_timestamp")]
    for (chunk, file), eps in episodes.groupby(cols[:2]):
        path = root / info["video_path"].format(video_key=key, chunk_index=int(chunk), file_index=int(file))
        spans = sorted((float(r[cols[2]]), float(r[cols[3]]), int(r["episode_index"])) for _, r in eps.iterrows())
        trackers = {ep: RunningQuantileStats() for _, _, ep in spans}
        half, i = 0.5 / float(info["fps"]), 0  # frames come in time order: one pass over the spans
        with av.open(str(path)) as container:
            for frame in container.decode(container.streams.video[0]):
                while i < len(spans) and frame.time >= spans[i][1] - half:
                    i += 1
                if i == len(spans):
                    break
                if frame.time < spans[i][0] - half:
                    continue
                chw = auto_downsample_height_width(frame.to_ndarray(format="rgb24").transpose(2, 0, 1))
                pixels = chw.reshape(chw.shape[0], -1).T.astype(np.float64)  # (H*W, C): per channel, no overflow
                trackers[spans[i][2]].update(pixels)
        for ep, tracker in trackers.items():
            stats = tracker.get_statistics()
            out[ep] = {k: v if k == "count" else v.reshape(-1, 1, 1) / 255.0 for k, v in stats.items()}
    return out


def write_episode_stats(root: Path, per_episode: dict[str, dict[int, dict[str, np.ndarray]]]) -> None:
    """Replace the statistics of some features: ``per_episode[key][episode] = {stat: array}``
    for every episode of each ``key``. ``meta/episodes`` files and ``meta/stats.json`` are each
    rewritten to a temporary file and renamed into place (never modified where they are: a
    snapshot may share them through hard links)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from lerobot.datasets.compute_stats import aggregate_stats

    root = Path(root)
    for path in sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet")):
        table = pq.read_table(path)
        episodes = table.column("episode_index").to_pylist()
        for key, by_episode in per_episode.items():
            for stat in next(iter(by_episode.values()), {}):
                name = f"stats/{key}/{stat}"
                if name not in table.column_names:
                    continue
                old = table.column(name).to_pylist()
                new = [
                    np.asarray(by_episode[e][stat]).tolist() if e in by_episode else o
                    for e, o in zip(episodes, old, strict=True)
                ]
                table = table.set_column(
                    table.column_names.index(name), name, pa.array(new, type=table.schema.field(name).type)
                )
        _replace(path, lambda tmp, t=table: pq.write_table(t, tmp))
    stats_path = root / "meta" / "stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    for key, by_episode in per_episode.items():
        episode_stats = [
            {key: {k: np.asarray(v, dtype=np.float64 if k != "count" else np.int64) for k, v in s.items()}}
            for s in by_episode.values()
        ]
        stats[key] = {k: np.asarray(v).tolist() for k, v in aggregate_stats(episode_stats)[key].items()}
    _replace(stats_path, lambda tmp: tmp.write_text(json.dumps(stats, indent=4)))


def _replace(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def correct_image_stats(root: Path, info: dict, force: bool = False) -> list[str]:
    """Recompute the statistics of ``root``'s video streams whose statistics overflowed (all of
    them with ``force``), in place, file by file; returns the keys rewritten."""
    stats_path = Path(root) / "meta" / "stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    keys = video_keys(info) if force else overflowed_image_keys(stats, video_keys(info))
    if keys:
        write_episode_stats(Path(root), {k: video_stats(Path(root), info, k) for k in keys})
    return keys
