"""What the labelling page shows of a dataset: its episodes and, for each camera, the video file
and the span of it that holds the episode (LeRobot v3 stores several episodes per video file;
``videos/<key>/from_timestamp`` and ``to_timestamp`` in the episodes table say where)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from robolang.errors import RobolangError

_VERSIONS_DIR = re.compile(r"^\.(?P<name>.+)\.versions$")  # robolang.recording.store.versions_dir


class AnnotateError(RobolangError, ValueError):
    """A dataset the labelling tool cannot open; the message says why and what to do."""


@dataclass(frozen=True)
class EpisodeVideo:
    """Where one camera's frames of an episode are: a file under the dataset and a time span in it."""

    file: str  # relative to the dataset root: videos/<key>/chunk-000/file-000.mp4
    from_s: float
    to_s: float


@dataclass(frozen=True)
class Episode:
    index: int
    length: int  # frames
    videos: dict[str, EpisodeVideo]  # camera key -> its span


@dataclass(frozen=True)
class Catalogue:
    """The episodes of one snapshot of a dataset, and the frame rate they were recorded at."""

    fps: int
    cameras: tuple[str, ...]
    episodes: dict[int, Episode]

    @property
    def lengths(self) -> dict[int, int]:
        return {i: e.length for i, e in self.episodes.items()}

    @property
    def files(self) -> frozenset[str]:
        """Every video file an episode lies in (the only files the server hands out)."""
        return frozenset(v.file for e in self.episodes.values() for v in e.videos.values())


def open_dataset(path: str | Path) -> tuple[Path, Catalogue]:
    """The dataset at ``path`` and its catalogue, or an ``AnnotateError`` saying why it cannot be
    labelled here: not a dataset, a stored snapshot instead of the dataset, unreadable metadata,
    no camera videos, or a video file missing."""
    root = Path(path)
    versions = _VERSIONS_DIR.match(root.absolute().parent.name)
    if versions is not None:
        link = root.absolute().parent.parent / versions["name"]
        raise AnnotateError(f"{root} is a stored snapshot of a dataset: label the dataset itself ({link})")
    if not root.is_dir():
        raise AnnotateError(f"{root} is not a folder: give the folder of a recorded dataset (e.g. data/play)")
    try:
        catalogue = read_catalogue(root)
    except RobolangError as exc:
        raise AnnotateError(f"cannot label {root}: {exc}") from exc
    except (OSError, ValueError, KeyError) as exc:  # damaged parquet, columns LeRobot v3 always writes
        raise AnnotateError(
            f"cannot label {root}: its episodes table is unreadable ({type(exc).__name__}: {exc})"
        ) from exc
    if not catalogue.cameras:
        raise AnnotateError(f"{root} has no camera videos to watch; there is nothing to label by eye")
    missing = sorted(f for f in catalogue.files if not (root / f).is_file())
    if missing:
        raise AnnotateError(
            f"{root}: video file {missing[0]} is missing ({len(missing)} in all); run `robolang dataset verify {root}`"
        )
    return root, catalogue


def read_catalogue(root: str | Path) -> Catalogue:
    """The catalogue of the dataset as it is now (cached per snapshot: a dataset link moves to a
    new snapshot on every write, and a plain folder's info.json changes when it grows)."""
    root = Path(root)
    info = root / "meta" / "info.json"
    return _catalogue(root.absolute(), root.resolve(), info.stat().st_mtime_ns if info.exists() else 0)


@lru_cache(maxsize=8)
def _catalogue(root: Path, snapshot: Path, info_mtime: int) -> Catalogue:
    """(``snapshot`` and ``info_mtime`` only key the cache.)"""
    from robolang.dataset_tools import load_episodes, load_info

    info = load_info(root)
    cameras = tuple(k for k, v in info["features"].items() if v.get("dtype") == "video")
    if not list((root / "meta" / "episodes").rglob("*.parquet")):
        raise AnnotateError(f"{root} has no recorded episodes (meta/episodes/ is empty)")
    episodes = {}
    for ep in load_episodes(root).to_dict("records"):
        videos = {}
        for key in cameras:
            chunk, file = int(ep[f"videos/{key}/chunk_index"]), int(ep[f"videos/{key}/file_index"])
            path = info["video_path"].format(video_key=key, chunk_index=chunk, file_index=file)
            videos[key] = EpisodeVideo(
                path, float(ep[f"videos/{key}/from_timestamp"]), float(ep[f"videos/{key}/to_timestamp"])
            )
        episodes[int(ep["episode_index"])] = Episode(int(ep["episode_index"]), int(ep["length"]), videos)
    return Catalogue(int(info["fps"]), cameras, episodes)
