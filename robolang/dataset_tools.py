"""``robolang dataset verify`` and ``robolang view``: check a recorded dataset, look at an episode.

Verification reads the files directly (pyarrow, PyAV) so that it checks what is on disk,
independently of LeRobot's loader, and then also loads the dataset with ``LeRobotDataset``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from robolang.features import CONTROL_FPS
from robolang.recording.store import read_info


@dataclass
class VerifyReport:
    """Outcome of ``verify``: every check run, and the problems found (empty = healthy)."""

    root: Path
    episodes: int = 0
    frames: int = 0
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = f"{self.root}: {self.episodes} episodes, {self.frames} frames ({self.frames / CONTROL_FPS / 3600:.3f} h at {CONTROL_FPS} Hz)"
        lines = [head, *(f"  ok    {c}" for c in self.checks), *(f"  FAIL  {p}" for p in self.problems)]
        lines.append("dataset OK" if self.ok else f"{len(self.problems)} problem(s) found")
        return "\n".join(lines)


def load_info(root: Path) -> dict:
    """``meta/info.json``; a missing or damaged file raises a ``RobolangError`` that names it."""
    return read_info(root)


def load_episodes(root: Path) -> pd.DataFrame:
    files = sorted((root / "meta" / "episodes").rglob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).sort_values("episode_index")


def verify(root: str | Path, decode_videos: bool = True) -> VerifyReport:
    """Check a dataset's integrity: parquet readable, frame counts consistent between data,
    episode metadata and decoded videos, timestamps monotonic; then load it with LeRobot."""
    root = Path(root)
    report = VerifyReport(root.absolute())
    try:
        info = load_info(root)
        episodes = load_episodes(root)
    except Exception as exc:  # unreadable metadata: nothing else can be checked
        report.problems.append(f"metadata unreadable: {exc}")
        leftovers = root.absolute().parent / f".{root.name}.workers"
        if leftovers.is_dir():
            report.problems.append(
                f"{leftovers} holds the worker datasets of an interrupted `robolang collect`; "
                f"`robolang collect resume=true out={root}` merges them"
            )
        return report
    report.episodes, report.frames = int(info["total_episodes"]), int(info["total_frames"])
    data = _check_data(root, info, episodes, report)
    if data is not None:
        _check_timestamps(data, report)
    missing = _check_videos(root, info, episodes, report, decode_videos)
    if missing:  # LeRobot would try to download the missing files and add a misleading network error
        report.checks.append("LeRobotDataset load not tried: files are missing")
    else:
        _check_lerobot_load(root, info, report)
    return report


def _check_data(root: Path, info: dict, episodes: pd.DataFrame, report: VerifyReport) -> pd.DataFrame | None:
    tables = []
    for f in sorted((root / "data").rglob("*.parquet")):
        try:
            tables.append(pq.read_table(f, columns=["timestamp", "frame_index", "episode_index", "index"]).to_pandas())
        except Exception as exc:
            report.problems.append(f"{f.relative_to(root)} unreadable: {exc}")
    if report.problems:
        return None
    data = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["episode_index"])
    report.checks.append(f"{len(tables)} data parquet files readable")
    counts = data.groupby("episode_index").size()
    meta_lengths = episodes.set_index("episode_index")["length"]
    if len(data) != info["total_frames"] or int(meta_lengths.sum()) != info["total_frames"]:
        report.problems.append(
            f"frame counts differ: data {len(data)}, episode metadata {int(meta_lengths.sum())}, info {info['total_frames']}"
        )
    elif len(episodes) != info["total_episodes"] or not counts.sort_index().equals(meta_lengths.sort_index()):
        report.problems.append("per-episode frame counts differ between data and episode metadata")
    else:
        report.checks.append("frame counts agree: data = episode metadata = info.json")
    return data


def _check_timestamps(data: pd.DataFrame, report: VerifyReport) -> None:
    bad = []
    for ep, g in data.sort_values("index").groupby("episode_index"):
        if not (np.diff(g["timestamp"].to_numpy()) > 0).all() or not np.array_equal(
            g["frame_index"].to_numpy(), np.arange(len(g))
        ):
            bad.append(int(ep))
    if bad:
        report.problems.append(f"timestamps not strictly increasing or frame indices not 0..n-1 in episodes {bad[:10]}")
    else:
        report.checks.append("timestamps strictly increasing, frame indices contiguous")


def _check_videos(root: Path, info: dict, episodes: pd.DataFrame, report: VerifyReport, decode: bool) -> bool:
    """Decoded frame counts against episode lengths; True when a video file is missing."""
    keys = [k for k, v in info["features"].items() if v["dtype"] == "video"]
    missing = False
    for key in keys:
        bad = []
        for _, ep in episodes.iterrows():
            path = root / info["video_path"].format(
                video_key=key,
                chunk_index=int(ep[f"videos/{key}/chunk_index"]),
                file_index=int(ep[f"videos/{key}/file_index"]),
            )
            t0, t1 = float(ep[f"videos/{key}/from_timestamp"]), float(ep[f"videos/{key}/to_timestamp"])
            if not path.exists():
                report.problems.append(
                    f"video {path.relative_to(root)} is missing (episode {int(ep['episode_index'])})"
                )
                missing = True
                break
            try:
                n = count_frames(path, t0, t1) if decode else int(round((t1 - t0) * info["fps"]))
            except Exception as exc:
                report.problems.append(f"{path.relative_to(root)} unreadable: {exc}")
                return missing
            if n != int(ep["length"]):
                bad.append((int(ep["episode_index"]), n, int(ep["length"])))
        if bad:
            report.problems.append(
                f"{key}: decoded frames differ from episode lengths (episode, video, data): {bad[:5]}"
            )
        elif not missing:
            report.checks.append(f"{key}: {'decoded' if decode else 'video-duration'} frame counts match every episode")
    return missing


def count_frames(path: Path, t0: float, t1: float) -> int:
    """Frames of a video file whose timestamps lie in [t0, t1) (half a frame of tolerance)."""
    import av  # PyAV where video is read, so a state-only job (training on the GPU machine) needs none

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        half = 0.5 / float(stream.average_rate or CONTROL_FPS)
        return sum(1 for f in container.decode(stream) if t0 - half <= f.time < t1 - half)


def _check_lerobot_load(root: Path, info: dict, report: VerifyReport) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    try:  # the snapshot's own path: LeRobot caches video decoders by path, and a dataset link moves on
        ds = LeRobotDataset(info.get("repo_id", "robolang/play"), root=root.resolve())
        if len(ds):
            ds[0], ds[len(ds) - 1]
        report.checks.append(f"LeRobotDataset loads it ({len(ds)} frames, first and last frame decoded)")
    except Exception as exc:
        report.problems.append(f"LeRobotDataset cannot load it: {type(exc).__name__}: {exc}")


def episode_frames(root: Path, episode: int, key: str) -> list[np.ndarray]:
    """Decoded RGB frames of one episode's video stream ``key``."""
    info, episodes = load_info(root), load_episodes(root)
    rows = episodes[episodes["episode_index"] == episode]
    if rows.empty:
        raise ValueError(f"episode {episode} not in {root} (it has episodes 0..{len(episodes) - 1})")
    ep = rows.iloc[0]
    path = root / info["video_path"].format(
        video_key=key, chunk_index=int(ep[f"videos/{key}/chunk_index"]), file_index=int(ep[f"videos/{key}/file_index"])
    )
    t0, t1 = float(ep[f"videos/{key}/from_timestamp"]), float(ep[f"videos/{key}/to_timestamp"])
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        half = 0.5 / float(stream.average_rate or CONTROL_FPS)
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream) if t0 - half <= f.time < t1 - half]


def episode_table(root: Path, episode: int) -> pd.DataFrame:
    """The data rows (state, action, ...) of one episode, in frame order."""
    info, episodes = load_info(root), load_episodes(root)
    ep = episodes[episodes["episode_index"] == episode].iloc[0]
    path = root / info["data_path"].format(
        chunk_index=int(ep["data/chunk_index"]), file_index=int(ep["data/file_index"])
    )
    table = pq.read_table(path).to_pandas()
    return table[table["episode_index"] == episode].sort_values("frame_index").reset_index(drop=True)
