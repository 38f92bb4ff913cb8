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
* ``video_stats`` decodes a dataset's videos and measures every frame of each episode;
  ``write_episode_stats`` puts per-episode statistics into ``meta/episodes`` and their aggregate
  into ``meta/stats.json`` (each file replaced atomically). Adoption (``adoption.py``) and
  ``repair_image_stats`` use them.
* ``file_image_stats`` measures any time spans of one video file, decoding it once: each
  frame's per-channel 256-bin histogram is added to every span it lies in (spans may overlap,
  as an export's windows do), and the statistics come from the summed histograms. For uint8
  pixels a histogram is exact, so mean, std, min and max equal LeRobot's (fixed) streaming
  encoder's and the quantiles are exact where LeRobot's are read off 5000-bin histograms
  (they differ by under 1/255). Frames over 300 px are downsampled first, as LeRobot does.
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
    """Per-episode statistics of video stream ``key``, over every frame (``file_image_stats``:
    pixels in [0, 1], shape (3, 1, 1)); episodes may share a file and overlap in it."""
    episodes = load_episode_meta(root)
    out: dict[int, dict[str, np.ndarray]] = {}
    cols = [f"videos/{key}/{c}" for c in ("chunk_index", "file_index", "from_timestamp", "to_timestamp")]
    for (chunk, file), eps in episodes.groupby(cols[:2]):
        path = root / info["video_path"].format(video_key=key, chunk_index=int(chunk), file_index=int(file))
        spans = [(float(r[cols[2]]), float(r[cols[3]])) for _, r in eps.iterrows()]
        stats = file_image_stats(path, spans, float(info["fps"]))
        out |= dict(zip(eps["episode_index"].astype(int), stats, strict=True))
    return out


QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}  # LeRobot's DEFAULT_QUANTILES


def file_image_stats(path: str | Path, spans: list[tuple[float, float]], fps: float) -> list[dict[str, np.ndarray]]:
    """The statistics of the frames of video file ``path`` in each time span [from, to) (half a
    frame of tolerance, as ``dataset_tools.count_frames``), in LeRobot's per-episode form:
    ``count`` (1,) pixels, every other statistic (3, 1, 1) in [0, 1]. One decode of the file."""
    return [histogram_stats(h) for h in pixel_histograms(path, spans, fps)]


def pixel_histograms(path: str | Path, spans: list[tuple[float, float]], fps: float) -> np.ndarray:
    """(S, 3, 256) int64: per span, how many pixels of each RGB channel have each value, over
    the frames whose time lies in the span. Frames are decoded once, in order; a frame is added
    to every span it lies in."""
    import av  # lerobot (3 s to import) is not needed here
    import cv2  # calcHist: ~40 us a 128x128 frame, where numpy's bincount takes ~200 us (measured here)

    half = 0.5 / fps
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    hist = np.zeros((len(spans), 3, 256), np.int64)
    active: list[int] = []
    nxt = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: several times faster on small frames
        for frame in container.decode(stream):
            t = frame.time
            while nxt < len(order) and t >= spans[order[nxt]][0] - half:
                active.append(order[nxt])
                nxt += 1
            active = [i for i in active if t < spans[i][1] - half]
            if not active:
                if nxt == len(order):
                    break
                continue
            hwc = _downsample(frame.to_ndarray(format="rgb24"))
            counts = np.stack([cv2.calcHist([hwc], [c], None, [256], [0, 256])[:, 0] for c in range(3)])
            counts = counts.astype(np.int64)  # float32 counts are exact below 2**24 pixels a frame
            for i in active:
                hist[i] += counts
    return hist


def _downsample(hwc: np.ndarray, target: int = 150, threshold: int = 300) -> np.ndarray:
    """LeRobot 0.4.4's ``auto_downsample_height_width``: every k-th pixel when a side is >= 300."""
    height, width = hwc.shape[:2]
    if max(width, height) < threshold:
        return hwc
    step = int(width / target) if width > height else int(height / target)
    return np.ascontiguousarray(hwc[::step, ::step])


def histogram_stats(hist: np.ndarray) -> dict[str, np.ndarray]:
    """LeRobot's image statistics of pixels given as a (C, 256) histogram of uint8 values:
    min, max, mean, std and quantiles (the smallest value with at least that share of pixels at
    or below it, as LeRobot's histogram lookup) per channel, in [0, 1], shaped (C, 1, 1)."""
    hist = np.asarray(hist, np.float64)
    count = hist[0].sum()
    if count == 0:
        raise ValueError("no frame lies in the span: its statistics are undefined")
    values = np.arange(256, dtype=np.float64)
    mean = hist @ values / count
    variance = np.maximum(hist @ values**2 / count - mean**2, 0.0)
    cumulative = np.cumsum(hist, axis=1)  # (C, 256)
    seen = hist > 0
    stats = {
        "min": np.argmax(seen, axis=1).astype(np.float64),
        "max": 255 - np.argmax(seen[:, ::-1], axis=1).astype(np.float64),
        "mean": mean,
        "std": np.sqrt(variance),
    }
    for name, q in QUANTILES.items():
        stats[name] = np.array([np.searchsorted(c, q * count) for c in cumulative], np.float64)
    out = {k: (v / 255.0).reshape(-1, 1, 1) for k, v in stats.items()}
    return {**out, "count": np.array([int(count)])}


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
