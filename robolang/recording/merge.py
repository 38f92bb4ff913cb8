"""Merging recorded datasets into one, crash-safely (parallel collection's last step).

``merge_into`` builds the merged dataset as a new snapshot with LeRobot's ``aggregate_datasets``
and swaps it in atomically (see ``store.py``). LeRobot 0.4.4's aggregation copies each episode's
``meta/episodes/chunk_index`` / ``file_index`` from its source instead of pointing them at the
metadata file it writes, so an aggregated dataset cannot itself be aggregated again
(``FileNotFoundError: .../meta/episodes/chunk-000/file-001.parquet``): the merged snapshot's
columns are repaired before it is published, and a dataset damaged by an earlier merge is
repaired in a temporary snapshot before it takes part.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from robolang.recording.store import (
    COMPLETE_MARK,
    DatasetStoreError,
    _freeze,
    _point,
    _snapshot,
    acquire_lock,
    adopt,
    append_records,
    check_writable,
    next_snapshot,
    read_info,
    read_records,
    recover,
    release_lock,
)

EPISODES_META = Path("meta") / "episodes"


def merge_into(
    root: str | os.PathLike, repo_id: str, sources: list[Path], meta: dict[str, bytes] | None = None
) -> Path:
    """Append the datasets ``sources`` to the dataset at ``root`` (created if missing),
    crash-safely: the merged dataset is built as a new snapshot and swapped in atomically.
    ``meta``: files written into the new snapshot's meta/ (e.g. a record of what was merged),
    so they appear exactly when the merged episodes do."""
    root = Path(root).absolute()
    check_writable(root.parent)
    lock = acquire_lock(root)
    if lock is None:
        raise DatasetStoreError(f"{root} is being recorded by another process; cannot merge into it now")
    try:
        return _merge_locked(root, repo_id, sources, meta or {})
    finally:
        release_lock(lock)


def _merge_locked(root: Path, repo_id: str, sources: list[Path], meta: dict[str, bytes]) -> Path:
    from lerobot.datasets.aggregate import aggregate_datasets

    current = recover(root, locked=True)
    if current is not None and not root.is_symlink():
        current = adopt(root)
    parts = ([current] if current is not None else []) + [Path(s).resolve() for s in sources]
    staging = next_snapshot(root)
    repaired = staging.with_name(f"repair{staging.name[1:]}")  # not v*: never taken for a snapshot, removed below
    try:
        if current is not None and not episode_files_consistent(current):
            _snapshot(current, repaired)
            repair_episode_files(repaired)
            parts[0] = repaired
        aggregate_datasets([repo_id] * len(parts), repo_id, roots=parts, aggr_root=staging)
        repair_episode_files(staging)
        _merge_sidecars(parts, staging)
        for name, content in meta.items():
            (staging / "meta" / name).write_bytes(content)
        (staging / COMPLETE_MARK).touch()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(repaired, ignore_errors=True)
    _freeze(staging)
    _point(root, staging)
    if current is not None:
        shutil.rmtree(current, ignore_errors=True)
    return staging


def _merge_sidecars(parts: list[Path], staging: Path) -> None:
    """robolang's meta/ sidecars are not LeRobot's: JSON files are taken from the first part
    that has them; JSON-lines files are concatenated with episode indices shifted as
    ``aggregate_datasets`` shifts the episodes (parts in order)."""
    offset = 0
    for part in parts:
        for sidecar in sorted((part / "meta").glob("robolang_*")):
            target = staging / "meta" / sidecar.name
            if sidecar.suffix == ".jsonl":
                rows = read_records(sidecar)
                append_records(target, [{**r, "episode_index": r["episode_index"] + offset} for r in rows])
            elif not target.exists():
                shutil.copy2(sidecar, target)
        offset += int(read_info(part)["total_episodes"])


def _episode_files(dataset: Path) -> list[tuple[Path, int, int]]:
    """(path, chunk index, file index) of every ``meta/episodes/chunk-*/file-*.parquet``."""
    found = []
    for path in sorted((dataset / EPISODES_META).glob("chunk-*/file-*.parquet")):
        found.append((path, int(path.parent.name.split("-")[1]), int(path.stem.split("-")[1])))
    return found


def episode_files_consistent(dataset: Path) -> bool:
    """True when every episode row names the metadata file it is stored in."""
    for path, chunk, file in _episode_files(dataset):
        cols = pd.read_parquet(path, columns=["meta/episodes/chunk_index", "meta/episodes/file_index"])
        if not (
            (cols["meta/episodes/chunk_index"] == chunk).all() and (cols["meta/episodes/file_index"] == file).all()
        ):
            return False
    return True


def repair_episode_files(dataset: Path) -> None:
    """Point every episode row's ``meta/episodes/*_index`` at the file that holds it (in place:
    only for a snapshot being built, whose metadata files are its own copies)."""
    for path, chunk, file in _episode_files(dataset):
        df = pd.read_parquet(path)
        if (df["meta/episodes/chunk_index"] == chunk).all() and (df["meta/episodes/file_index"] == file).all():
            continue
        df["meta/episodes/chunk_index"] = chunk
        df["meta/episodes/file_index"] = file
        tmp = path.with_suffix(".tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
