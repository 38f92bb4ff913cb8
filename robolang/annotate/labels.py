"""Human labels: checked, stored and changed in the dataset's annotation table.

Every write is one ``annotations.update``: under the table's file lock it re-reads the newest
table (rows another tab, another annotator or ``robolang caption`` stored meanwhile included),
applies one change and stores the whole table as a new crash-safe snapshot. A label is
addressed by an id computed from its content, so an edit or a delete names the label as the
page last saw it; when another tab has changed or deleted it since, that id is gone and
nothing is written (``StaleLabelError``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from robolang.annotate.catalogue import AnnotateError, Catalogue, read_catalogue
from robolang.captioning import annotations
from robolang.captioning.grammar_splits import SPLITS

SOURCE = "human"
VERSION = "annotate-1"  # the captioner_version of rows written here: which tool wrote them
MAX_ANNOTATOR_CHARS = 64


class LabelError(AnnotateError):
    """A label that cannot be stored as asked; the message says why, and nothing was written."""


class StaleLabelError(LabelError):
    """The label to edit or delete is no longer in the table: changed or deleted elsewhere."""


@dataclass(frozen=True)
class Draft:
    """A label as submitted: frames ``[start, end)`` of an episode and its instruction. A
    suggestion picked as it was offered keeps its task, arguments and split; typed text has
    no task and trains (``split="train"``)."""

    episode: int
    start: int
    end: int
    instruction: str
    task_id: str = ""
    args: str = ""
    split: str = "train"

    @classmethod
    def from_json(cls, payload: object) -> Draft:
        """From the page's JSON body; wrong types are refused with the field's name."""
        if not isinstance(payload, dict):
            raise LabelError("the request body must be a JSON object with episode, start, end and instruction")
        values = {}
        for name in ("episode", "start", "end"):
            value = payload.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise LabelError(f"{name} must be a whole frame number, got {value!r}")
            values[name] = value
        for name, default in (("instruction", None), ("task_id", ""), ("args", ""), ("split", "train")):
            value = payload.get(name, default)
            if not isinstance(value, str):
                raise LabelError(f"{name} must be text, got {value!r}")
            values[name] = value
        return cls(**values)


def check_annotator(name: object) -> str:
    """A person's name as stored with their labels: non-empty, printable, at most 64 characters."""
    if not isinstance(name, str) or not name.strip() or not name.strip().isprintable():
        raise AnnotateError(f"the annotator's name {name!r} must be printable, non-empty text (--annotator NAME)")
    if len(name.strip()) > MAX_ANNOTATOR_CHARS:
        raise AnnotateError(f"the annotator's name is longer than {MAX_ANNOTATOR_CHARS} characters")
    return name.strip()


def check(draft: Draft, catalogue: Catalogue) -> Draft:
    """The draft with its instruction tidied, or a ``LabelError`` saying what is wrong with it."""
    from robolang.captioning import tasks
    from robolang.errors import RobolangError
    from robolang.task_match import usable  # the same words-and-length rules `robolang ask` applies

    episode = catalogue.episodes.get(draft.episode)
    if episode is None:
        raise LabelError(
            f"episode {draft.episode} is not in the dataset (deleted since the page loaded?); nothing was written"
        )
    if draft.start >= draft.end:
        raise LabelError(f"the segment's start (frame {draft.start}) must come before its end (frame {draft.end})")
    if draft.start < 0 or draft.end > episode.length:
        raise LabelError(
            f"frames {draft.start} to {draft.end} lie outside episode {draft.episode}: it has {episode.length} frames, "
            f"so a segment runs from frame 0 at the earliest to {episode.length} (exclusive) at the latest"
        )
    try:
        instruction = usable(draft.instruction)
    except RobolangError as exc:
        raise LabelError(str(exc)) from exc
    if draft.task_id and draft.task_id not in tasks.REGISTRY:
        raise LabelError(f"task {draft.task_id!r} is not a caption task; leave it empty for a typed instruction")
    if draft.split not in SPLITS or (draft.split != "train" and not draft.task_id):
        raise LabelError(
            f"split {draft.split!r}: a typed instruction is a train label; suggestions keep their own split"
        )
    return replace(draft, instruction=instruction, args=draft.args if draft.task_id else "")


def label_id(row: dict, occurrence: int = 0) -> str:
    """A label's id: a hash of everything stored in its row (and which of identical rows it is)."""
    content = [row[c] for c in annotations.COLUMNS] + [occurrence]
    return hashlib.sha256(json.dumps(content, default=int, ensure_ascii=False).encode()).hexdigest()[:16]


def as_json(table: pd.DataFrame) -> list[dict]:
    """Rows as the page reads them: each with its ``id``."""
    seen: dict[tuple, int] = {}
    out = []
    for row in table[list(annotations.COLUMNS)].to_dict("records"):
        row = {k: int(v) if k in ("episode_index", "start_frame", "end_frame") else v for k, v in row.items()}
        key = tuple(row.values())
        seen[key] = seen.get(key, -1) + 1
        out.append({"id": label_id(row, seen[key]), **row})
    return out


class LabelStore:
    """Human labels of the dataset at ``root``, written as ``annotator``."""

    def __init__(self, root: str | Path, annotator: str):
        self.root = Path(root)
        self.annotator = check_annotator(annotator)

    def labels(self, episode: int | None = None) -> list[dict]:
        """Every label (all sources) of one episode, or of all, in the table's order."""
        table = annotations.load(self.root)
        return as_json(table if episode is None else table[table["episode_index"] == episode])

    def add(self, draft: Draft) -> dict:
        """Store a new human label; returns it as the page reads it."""
        row: dict = {}

        def change(table: pd.DataFrame) -> pd.DataFrame:
            row.update(self._row(check(draft, read_catalogue(self.root)), table, skip=None))
            return pd.concat([table, annotations.rows_from([row])], ignore_index=True)

        return self._stored(annotations.update(self.root, change), row)

    def edit(self, label: str, draft: Draft) -> dict:
        """Replace the human label ``label`` (its id) with ``draft``, now by this annotator."""
        row: dict = {}

        def change(table: pd.DataFrame) -> pd.DataFrame:
            index = self._find(table, label)
            row.update(self._row(check(draft, read_catalogue(self.root)), table, skip=index))
            return pd.concat([table.drop(index=index), annotations.rows_from([row])], ignore_index=True)

        return self._stored(annotations.update(self.root, change), row)

    def delete(self, label: str) -> None:
        """Delete the human label ``label`` (its id)."""
        annotations.update(self.root, lambda table: table.drop(index=self._find(table, label)))

    def _row(self, draft: Draft, table: pd.DataFrame, skip) -> dict:
        same = table[
            (table["source"] == SOURCE)
            & (table["episode_index"] == draft.episode)
            & (table["start_frame"] == draft.start)
            & (table["end_frame"] == draft.end)
            & (table["instruction"] == draft.instruction)
        ]
        same = same[same.index != skip]  # an edit may keep its own segment and words
        if len(same):
            by = same["annotator"].iloc[0] or "someone"
            raise LabelError(
                f"{by} already gave frames {draft.start} to {draft.end} this instruction; nothing was written"
            )
        return {
            "episode_index": draft.episode, "start_frame": draft.start, "end_frame": draft.end,
            "task_id": draft.task_id, "args": draft.args, "instruction": draft.instruction, "source": SOURCE,
            "split": draft.split, "captioner_version": VERSION, "annotator": self.annotator,
        }  # fmt: skip

    @staticmethod
    def _find(table: pd.DataFrame, label: str):
        """The table index of the label with this id, if it is a human label."""
        for index, row in zip(table.index, as_json(table), strict=True):
            if row["id"] == label:
                if row["source"] != SOURCE:
                    raise LabelError(
                        f"this is a {row['source']} label: `robolang caption` replaces those; add a human label instead"
                    )
                return index
        raise StaleLabelError(
            "that label was changed or deleted in another tab (or by another annotator) since this page showed it; "
            "nothing was written, and the list is refreshed"
        )

    @staticmethod
    def _stored(table: pd.DataFrame, row: dict) -> dict:
        return next(r for r in as_json(table) if all(r[k] == v for k, v in row.items()))
