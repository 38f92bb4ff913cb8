"""Hindsight annotations: a table beside the dataset, one row per labelled segment (DESIGN.md).

Stored as ``meta/robolang_annotations.parquet`` inside the dataset, written crash-safely
(a new snapshot swapped in atomically, ``robolang.recording.store.update_meta``). Oracle
captioning replaces only ``source == "oracle"`` rows; human and model labels are kept.

Every writer changes the table through ``update``: under a file lock it re-reads the newest
table, applies its change and stores the result, so writers in several processes or threads
(``robolang caption``, ``robolang annotate`` in two browser tabs) never lose each other's rows.
"""

from __future__ import annotations

import fcntl
import io
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from robolang.captioning.errors import CaptionError
from robolang.captioning.grammar_splits import SPLITS

ANNOTATIONS_FILE = "robolang_annotations.parquet"
# expert: `robolang dagger`'s labels of a policy's own states; vision: the captioner that sees only images
SOURCES = ("oracle", "human", "model", "expert", "vision")
# end_frame is exclusive: the segment is frames [start_frame, end_frame) of the episode.
SCHEMA = pa.schema(
    [
        ("episode_index", pa.int64()),
        ("start_frame", pa.int64()),
        ("end_frame", pa.int64()),
        ("task_id", pa.string()),
        ("args", pa.string()),  # the task's object arguments, comma-separated ("" for fixture tasks)
        ("instruction", pa.string()),
        ("source", pa.string()),
        ("split", pa.string()),
        ("captioner_version", pa.string()),
        ("annotator", pa.string()),  # who wrote a human label ("" for every other source)
    ]
)
COLUMNS = tuple(SCHEMA.names)
# Columns added after tables were first written, with the value older rows get: such tables
# still load, validate and are written back with the column.
LATER_COLUMNS = {"annotator": ""}
LOCK_FILE = ".annotations.lock"  # in the dataset's snapshots folder, beside the writer lock
LOCK_TIMEOUT_S = 30.0  # a write holds the lock about a second; far longer means something is stuck


class AnnotationError(CaptionError):
    """Rows that cannot be stored; the message names the first bad row and why."""


def empty() -> pd.DataFrame:
    return SCHEMA.empty_table().to_pandas()


def load(root: str | Path) -> pd.DataFrame:
    """The dataset's annotations (an empty table when it has none); columns a table written
    before they existed lacks are filled with ``LATER_COLUMNS``' values."""
    path = Path(root) / "meta" / ANNOTATIONS_FILE
    return _with_later_columns(pq.read_table(path).to_pandas()) if path.exists() else empty()


def _with_later_columns(rows: pd.DataFrame) -> pd.DataFrame:
    missing = {c: v for c, v in LATER_COLUMNS.items() if c not in rows.columns or rows[c].isna().any()}
    if not missing:
        return rows
    rows = rows.copy()
    for column, value in missing.items():
        rows[column] = rows[column].fillna(value) if column in rows.columns else value
    return rows


def validate(rows: pd.DataFrame, episode_lengths: dict[int, int] | None = None) -> pd.DataFrame:
    """Check and normalise rows: required columns (``LATER_COLUMNS`` may be missing), known
    source and split, non-empty instruction (whitespace-only is refused), an annotator only on
    human rows, 0 <= start < end <= episode length."""
    rows = _with_later_columns(rows)
    missing = [c for c in COLUMNS if c not in rows.columns]
    if missing:
        raise AnnotationError(f"annotation rows lack columns {missing}")
    rows = rows[list(COLUMNS)].copy()
    for i, r in enumerate(rows.itertuples(index=False)):
        where = f"row {i} (episode {r.episode_index}, frames {r.start_frame}-{r.end_frame}, task {r.task_id!r})"
        if not isinstance(r.instruction, str) or not r.instruction.strip():
            raise AnnotationError(f"{where}: empty or whitespace-only instruction")
        if r.source not in SOURCES:
            raise AnnotationError(f"{where}: source {r.source!r} is not one of {SOURCES}")
        if r.split not in SPLITS:
            raise AnnotationError(f"{where}: split {r.split!r} is not one of {SPLITS}")
        if not isinstance(r.annotator, str) or (r.annotator and r.source != "human"):
            raise AnnotationError(f"{where}: annotator {r.annotator!r}: only human rows name one, as text")
        if not 0 <= r.start_frame < r.end_frame:
            raise AnnotationError(f"{where}: needs 0 <= start_frame < end_frame")
        if episode_lengths is not None:
            if r.episode_index not in episode_lengths:
                raise AnnotationError(f"{where}: the dataset has no episode {r.episode_index}")
            if r.end_frame > episode_lengths[r.episode_index]:
                raise AnnotationError(f"{where}: ends after the episode's {episode_lengths[r.episode_index]} frames")
    return rows


def _to_bytes(rows: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table = pa.Table.from_pandas(rows.reset_index(drop=True), schema=SCHEMA, preserve_index=False)
    pq.write_table(table, buffer)
    return buffer.getvalue()


def save(
    root: str | Path,
    rows: pd.DataFrame,
    episode_lengths: dict[int, int] | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> None:
    """Write the whole annotation table (validated), and any ``extra_files`` for meta/, in one
    crash-safe snapshot."""
    rows = validate(rows, episode_lengths).sort_values(
        ["episode_index", "start_frame", "task_id", "split"], kind="stable"
    )
    from robolang.recording.store import update_meta  # lerobot's dataset class: 1.5 s, only when writing

    update_meta(root, {ANNOTATIONS_FILE: _to_bytes(rows), **(extra_files or {})})


def replace_source(
    root: str | Path,
    new_rows: pd.DataFrame,
    source: str,
    episode_lengths: dict[int, int] | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> pd.DataFrame:
    """Replace all rows of ``source`` (e.g. "oracle") with ``new_rows``; other sources are kept as they are."""
    if source not in SOURCES:
        raise AnnotationError(f"source {source!r} is not one of {SOURCES}")
    if len(new_rows) and set(new_rows["source"]) != {source}:
        raise AnnotationError(f"replacing {source!r} rows with rows of sources {sorted(set(new_rows['source']))}")
    new_rows = _with_later_columns(new_rows)

    def replace(table: pd.DataFrame) -> pd.DataFrame:
        kept = table[table["source"] != source]
        return pd.concat([kept, new_rows[list(COLUMNS)]], ignore_index=True) if len(new_rows) else kept

    return update(root, replace, episode_lengths, extra_files)


def update(
    root: str | Path,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    episode_lengths: dict[int, int] | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> pd.DataFrame:
    """Read-modify-write under the table's lock: ``change`` gets the newest stored table and
    returns the one to store (validated, in one crash-safe snapshot). Returns the stored table.
    An exception from ``change`` (or from validation) stores nothing."""
    with table_lock(root):
        table = change(load(root))
        save(root, table, episode_lengths, extra_files)
    return table


@contextmanager
def table_lock(root: str | Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the annotation table's writer lock (an ``flock`` the OS releases even on SIGKILL)."""
    from robolang.recording.store import versions_dir

    path = versions_dir(Path(root).absolute()) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AnnotationError(
                        f"another writer has held {path} for over {timeout_s:.0f} s; nothing was written"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def rows_from(records: Iterable[dict]) -> pd.DataFrame:
    """A table from dicts with the ``COLUMNS`` keys (``LATER_COLUMNS`` may be left out)."""
    frame = _with_later_columns(pd.DataFrame(list(records), columns=list(COLUMNS)))
    return frame.astype({"episode_index": "int64", "start_frame": "int64", "end_frame": "int64"})
