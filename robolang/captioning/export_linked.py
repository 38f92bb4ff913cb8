"""The export that reuses the recording's encoded video: nothing is re-encoded.

A LeRobotDataset v3 episode names its video by file index and a [from, to) time span inside
the file, and many episodes may share a file. So an exported window is an episode whose span
points into the source's own video file (``from = source from + start / fps``), and the export
holds those files hard-linked (the store never rewrites a video once written and makes it
read-only, ``recording/store.py``), or copied where a link is impossible or the file is still
writable. Windows may overlap: LeRobot seeks each episode's span on its own.

What is written, all at once, where LeRobot's writer appends episode by episode (~1 s each):
the windows' rows of the source parquet (one read, one gather), renumbered; ``meta/episodes``
with per-window statistics (numeric features exactly, quantiles included; images from one
decode of every referenced video file, ``recording.stats.file_image_stats``, files in parallel
threads); ``meta/tasks.parquet``; ``meta/stats.json`` (LeRobot's aggregation); ``info.json``
(the source's, less the debug intent). Measured with ``robolang bench export``.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from robolang.dataset_tools import load_info
from robolang.recording.stats import QUANTILES, file_image_stats, load_episode_meta

DEFAULT_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def write_linked(root: Path, out: Path, rows: pd.DataFrame, features: dict, workers: int | None = None) -> None:
    """Write the windows ``rows`` (annotation rows, in export order) of dataset ``root`` as a
    LeRobotDataset at ``out`` (a new folder) whose episodes point into ``root``'s video files."""
    info, episodes = load_info(root), load_episode_meta(root).set_index("episode_index")
    fps = float(info["fps"])
    video_keys = [k for k, v in features.items() if v["dtype"] == "video"]
    windows = _windows(rows, episodes)  # one row per exported episode
    tasks = pd.DataFrame({"task_index": range(windows["task"].nunique())}, index=windows["task"].unique())
    windows["task_index"] = windows["task"].map(tasks["task_index"]).to_numpy(np.int64)
    data = _window_data(root, info, features, windows, fps)
    stats = _numeric_stats(data, windows, [k for k in features if k not in video_keys])
    for key, images in _image_stats(root, info, episodes, windows, video_keys, fps, workers).items():
        for window, image in zip(stats, images, strict=True):
            window[key] = image
    files = _write_data(out, root, info, data, windows)
    _write_episodes(out, windows, files, stats, video_keys, episodes, fps)
    tasks.to_parquet(_made(out / "meta" / "tasks.parquet"))
    _write_info_and_stats(out, info, features, windows, len(tasks), stats)
    _place_videos(root, out, info, episodes, windows, video_keys)


def _made(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _windows(rows: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """Per exported episode: its source episode and frames, length, task text, first global row."""
    windows = pd.DataFrame(
        {
            "source": rows["episode_index"].to_numpy(np.int64),
            "start": rows["start_frame"].to_numpy(np.int64),
            "end": rows["end_frame"].to_numpy(np.int64),
            "task": rows["instruction"].to_numpy(object),
        }
    )
    windows["length"] = windows["end"] - windows["start"]
    windows["first"] = np.concatenate([[0], np.cumsum(windows["length"].to_numpy())[:-1]])
    windows["source_first"] = episodes.loc[windows["source"], "dataset_from_index"].to_numpy(np.int64)
    return windows


def _window_data(root: Path, info: dict, features: dict, windows: pd.DataFrame, fps: float) -> pa.Table:
    """Every exported frame's row, in export order: the source's columns, renumbered."""
    from lerobot.datasets.utils import get_hf_features_from_features

    schema = get_hf_features_from_features({k: v for k, v in features.items() if v["dtype"] != "video"}).arrow_schema
    kept = [n for n in schema.names if n not in DEFAULT_COLUMNS]
    tables = [pq.read_table(f, columns=[*kept, "index"]) for f in sorted((root / "data").rglob("*.parquet"))]
    source = pa.concat_tables(tables)
    order = np.argsort(source.column("index").to_numpy(), kind="stable")
    lengths = windows["length"].to_numpy()
    offset = np.repeat(windows["first"].to_numpy(), lengths)
    frame_index = np.arange(int(lengths.sum()), dtype=np.int64) - offset  # 0..length-1 per window
    if not np.array_equal(source.column("index").to_numpy()[order], np.arange(len(order))):
        raise ValueError(f"{root}: frame indices are not 0..{len(order) - 1}; run `robolang dataset verify {root}`")
    first = (windows["source_first"] + windows["start"]).to_numpy()
    taken = source.take(order[np.repeat(first, lengths) + frame_index])
    columns = {name: taken.column(name) for name in kept}
    columns |= {
        "timestamp": pa.array((frame_index / fps).astype(np.float32)),  # as LeRobot's writer: frame_index / fps
        "frame_index": pa.array(frame_index),
        "episode_index": pa.array(np.repeat(np.arange(len(windows), dtype=np.int64), lengths)),
        "index": pa.array(np.arange(len(frame_index), dtype=np.int64)),
        "task_index": pa.array(np.repeat(windows["task_index"].to_numpy(), lengths)),
    }
    return pa.Table.from_arrays([columns[n] for n in schema.names], schema=schema)


def _numeric_stats(data: pa.Table, windows: pd.DataFrame, keys: list[str]) -> list[dict]:
    """Per window, LeRobot's statistics of each numeric feature: min, max, mean, std, count and
    quantiles (exact: numpy's, where LeRobot interpolates 5000-bin histograms)."""
    arrays = {}
    for key in keys:
        column = data.column(key).combine_chunks()
        arrays[key] = (
            np.asarray(column.flatten()).reshape(len(column), -1)
            if pa.types.is_fixed_size_list(column.type)
            else np.asarray(column)[:, None]  # LeRobot keeps a scalar column's statistics as shape (1,)
        )
    out = []
    for first, length in zip(windows["first"], windows["length"], strict=True):
        out.append({key: _stats(a[first : first + length]) for key, a in arrays.items()})
    return out


def _stats(values: np.ndarray) -> dict[str, np.ndarray]:
    values = values.astype(np.float64)  # one window at a time: 10 h of windows in float64 would be ~0.6 GB
    quantiles = np.quantile(values, list(QUANTILES.values()), axis=0)
    stats = {"min": values.min(0), "max": values.max(0), "mean": values.mean(0), "std": values.std(0)}
    return stats | {"count": np.array([len(values)])} | dict(zip(QUANTILES, quantiles, strict=True))


def _spans(episodes: pd.DataFrame, windows: pd.DataFrame, key: str, fps: float) -> pd.DataFrame:
    """Per window: the source video file (chunk, file) of ``key`` and its [from, to) seconds in it."""
    source = episodes.loc[windows["source"]]
    start = source[f"videos/{key}/from_timestamp"].to_numpy(np.float64) + windows["start"].to_numpy() / fps
    return pd.DataFrame(
        {
            "chunk": source[f"videos/{key}/chunk_index"].to_numpy(np.int64),
            "file": source[f"videos/{key}/file_index"].to_numpy(np.int64),
            "from": start,
            "to": start + windows["length"].to_numpy() / fps,
        }
    )


def _image_stats(root, info, episodes, windows, keys: list[str], fps: float, workers: int | None) -> dict:
    """Per camera ``key``, per window, the statistics of its frames: each referenced video file
    decoded once, ``workers`` files at a time (threads: PyAV's decoder and OpenCV's histogram
    release the GIL; default one per core). Returns {key: [stats of window 0, ...]}."""
    jobs = []
    for key in keys:
        spans = _spans(episodes, windows, key, fps)
        for (chunk, file), group in spans.groupby(["chunk", "file"], sort=True):
            path = root / info["video_path"].format(video_key=key, chunk_index=int(chunk), file_index=int(file))
            jobs.append((key, path, group))
    out: dict[str, list] = {key: [None] * len(windows) for key in keys}

    def measure(job):
        key, path, group = job
        return key, group, file_image_stats(path, _pairs(group), fps)

    with (
        concurrent.futures.ThreadPoolExecutor(max(1, workers or os.cpu_count() or 1)) as pool,
        tqdm(total=len(jobs), desc="image statistics", unit="file") as bar,
    ):
        for key, group, stats in pool.map(measure, jobs):
            for window, s in zip(group.index, stats, strict=True):
                out[key][window] = s
            bar.update()
    return out


def _pairs(group: pd.DataFrame) -> list[tuple[float, float]]:
    return list(zip(group["from"].tolist(), group["to"].tolist(), strict=True))


def _write_data(out: Path, root: Path, info: dict, data: pa.Table, windows: pd.DataFrame) -> np.ndarray:
    """The data parquet files, whole windows per file, each about as large as LeRobot's limit
    (bytes per frame estimated as the source's files'); returns (W, 2) each window's (chunk, file)."""
    from lerobot.datasets.utils import DEFAULT_DATA_FILE_SIZE_IN_MB, update_chunk_file_indices

    limit = float(info.get("data_files_size_in_mb", DEFAULT_DATA_FILE_SIZE_IN_MB)) * 2**20
    per_frame = sum(f.stat().st_size for f in (root / "data").rglob("*.parquet")) / max(int(info["total_frames"]), 1)
    chunks_size = int(info.get("chunks_size", 1000))
    places = np.zeros((len(windows), 2), np.int64)
    chunk = file = begin = 0
    size = 0.0
    for w, length in enumerate(windows["length"]):
        if size and size + length * per_frame > limit:
            _write_table(out, info, data, begin, int(windows["first"].iat[w]), chunk, file)
            chunk, file = update_chunk_file_indices(chunk, file, chunks_size)
            begin, size = int(windows["first"].iat[w]), 0.0
        places[w] = chunk, file
        size += length * per_frame
    _write_table(out, info, data, begin, len(data), chunk, file)
    return places


def _write_table(out: Path, info: dict, data: pa.Table, begin: int, end: int, chunk: int, file: int) -> None:
    path = _made(out / info["data_path"].format(chunk_index=chunk, file_index=file))
    pq.write_table(data.slice(begin, end - begin), path, compression="snappy", use_dictionary=True)


def _write_episodes(out, windows, places, stats, video_keys, episodes, fps) -> None:
    """``meta/episodes``: one file per data file, LeRobot's columns (its ``_flush_metadata_buffer``)."""
    from lerobot.datasets.utils import DEFAULT_EPISODES_PATH

    n = len(windows)
    columns: dict[str, list] = {
        "episode_index": list(range(n)),
        "tasks": [[t] for t in windows["task"]],
        "length": windows["length"].tolist(),
        "data/chunk_index": places[:, 0].tolist(),
        "data/file_index": places[:, 1].tolist(),
        "dataset_from_index": windows["first"].tolist(),
        "dataset_to_index": (windows["first"] + windows["length"]).tolist(),
    }
    for key in video_keys:
        spans = _spans(episodes, windows, key, fps)
        columns |= {
            f"videos/{key}/chunk_index": spans["chunk"].tolist(),
            f"videos/{key}/file_index": spans["file"].tolist(),
            f"videos/{key}/from_timestamp": spans["from"].tolist(),
            f"videos/{key}/to_timestamp": spans["to"].tolist(),
        }
    for feature, by_stat in stats[0].items():
        for stat in by_stat:
            columns[f"stats/{feature}/{stat}"] = [s[feature][stat].tolist() for s in stats]
    columns["meta/episodes/chunk_index"] = places[:, 0].tolist()
    columns["meta/episodes/file_index"] = places[:, 1].tolist()
    table = pa.Table.from_pydict(columns)
    bounds = np.flatnonzero(np.any(np.diff(places, axis=0) != 0, axis=1)) + 1
    for begin, end in zip([0, *bounds], [*bounds, n], strict=True):
        path = _made(out / DEFAULT_EPISODES_PATH.format(chunk_index=places[begin, 0], file_index=places[begin, 1]))
        pq.write_table(table.slice(begin, end - begin), path, compression="snappy", use_dictionary=True)


def _write_info_and_stats(out: Path, info: dict, features: dict, windows, n_tasks: int, stats: list[dict]) -> None:
    from lerobot.datasets.compute_stats import aggregate_stats
    from lerobot.datasets.utils import write_info, write_stats

    total = int(windows["length"].sum())
    info = {**info, "features": {k: {**v, "shape": list(v["shape"])} for k, v in features.items()}}
    info |= {"total_episodes": len(windows), "total_frames": total, "total_tasks": n_tasks}
    info["splits"] = {"train": f"0:{len(windows)}"}
    write_info(info, out)
    write_stats(aggregate_stats(stats), out)


def _place_videos(root: Path, out: Path, info: dict, episodes, windows, video_keys: list[str]) -> None:
    """The referenced video files at the same paths in ``out``: hard links of read-only files
    (never rewritten), copies of writable ones or across file systems."""
    for key in video_keys:
        used = episodes.loc[windows["source"], [f"videos/{key}/chunk_index", f"videos/{key}/file_index"]]
        for chunk, file in sorted(set(used.itertuples(index=False, name=None))):
            rel = info["video_path"].format(video_key=key, chunk_index=int(chunk), file_index=int(file))
            source, target = root / rel, _made(out / rel)
            if (source.stat().st_mode & 0o222) == 0:  # frozen by the store: shared safely
                try:
                    os.link(source, target)
                    continue
                except OSError:  # another file system, or links not allowed: copy
                    pass
            shutil.copy2(source, target)
