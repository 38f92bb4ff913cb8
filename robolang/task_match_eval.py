"""How often the task matcher judges a person's own words right, leaves them unjudged, or
judges them wrong.

An instruction set is a JSON-lines file, one instruction a line:
``{"text": "...", "accept": [task ids], "args": [object names]}``. A match is *right* when
it is judged with a task in ``accept`` and exactly ``args``; *unjudged* when the matcher
declines; *wrong* otherwise. A line whose ``accept`` is empty asks for something no task
covers: declining it is right, any judgement wrong.

``tests/data/outside_instructions.jsonl`` was written by someone who had seen only the scene
and the task list, never the grammar, and is kept frozen as a test set: it measures the
matcher, it is never used to tune it. ``tests/data/matcher_dev_instructions.jsonl`` is the
development set the matcher was improved on, ``tests/data/matcher_dev2_instructions.jsonl``
a second one (160 instructions, written by someone who never saw the grammar), and
``tests/data/matcher_dev3_instructions.jsonl`` a third (150, 35 of them moving the plate,
written before its author read the grammar; its four topples of the blue bar cannot be right in
the play table, where the bar lies flat: declining them is the best answer).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from robolang.errors import RobolangError

VERDICTS = ("right", "unjudged", "wrong")
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
OUTSIDE = DATA / "outside_instructions.jsonl"
DEV = DATA / "matcher_dev_instructions.jsonl"
DEV2 = DATA / "matcher_dev2_instructions.jsonl"
DEV3 = DATA / "matcher_dev3_instructions.jsonl"
DEV4 = DATA / "matcher_dev4_instructions.jsonl"  # 200, by a helper given only the scene and task list
DEV5 = DATA / "matcher_dev5_instructions.jsonl"  # 202, by another such helper (2026-12-05, ninth session)
DEV6 = DATA / "matcher_dev6_instructions.jsonl"  # 200, by a third such helper (2026-12-05, tenth session)
DEV7 = DATA / "matcher_dev7_instructions.jsonl"  # 200, by a fourth such helper (2026-12-05, eleventh session)
DEV8 = DATA / "matcher_dev8_instructions.jsonl"  # 200, by a fifth, asked for a varied crowd of users (the same day)
# 200, by a sixth, asked for dictation, lab notes, indirect requests, children and formal users (twelfth session)
DEV9 = DATA / "matcher_dev9_instructions.jsonl"


class InstructionSetError(RobolangError, ValueError):
    """An instruction set file that cannot be read; names the file, the line and the problem."""


@dataclass(frozen=True)
class Outcome:
    """One instruction, what it should be, what the matcher said and the verdict."""

    text: str
    accept: tuple[str, ...]
    args: tuple[str, ...]
    task_id: str | None
    got_args: tuple[str, ...]
    nearest: str
    similarity: float
    verdict: str  # right | unjudged | wrong

    @property
    def task(self) -> str:
        """The row this instruction counts in, per task: its first accepted task (or "none")."""
        return self.accept[0] if self.accept else "none"


def load(path: str | Path) -> list[dict]:
    """The instructions of a JSON-lines file, each with ``text``, ``accept`` and ``args``."""
    path = Path(path)
    if not path.is_file():
        raise InstructionSetError(f"{path}: no such instruction set")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({"text": str(row["text"]), "accept": list(row["accept"]), "args": list(row["args"])})
        except (ValueError, KeyError, TypeError) as e:
            raise InstructionSetError(f"{path}:{n}: not a {{text, accept, args}} line ({e})") from e
    return rows


def verdict(accept, args, task_id: str | None, got_args) -> str:
    """``right``, ``unjudged`` or ``wrong`` for one match (see the module notes).

    A task without argument slots (the fixtures, ``move_plate``) takes no objects: a label that
    names the one entity it acts on ("move the plate": ``args: [plate]``) means the same as no
    objects. Without this, every plate instruction of the outside set, labelled that way by its
    author, was wrong whatever the matcher said (found in the judge, not tuned on the sentences)."""
    if task_id is None:
        return "right" if not accept else "unjudged"
    return "right" if task_id in accept and tuple(got_args) == expected_args(task_id, args) else "wrong"


def expected_args(task_id: str, args) -> tuple[str, ...]:
    """The labelled ``args`` in the task's own terms: without the entity a slot-less task acts on."""
    from robolang.captioning.tasks import BY_ID

    task = BY_ID.get(task_id)
    if task is not None and not task.slots:
        return tuple(a for a in args if a != task.acts_on)
    return tuple(args)


def measure(matcher, rows: list[dict]) -> list[Outcome]:
    """Match every instruction of ``rows`` (from ``load``) and judge each."""
    out = []
    for row in rows:
        m = matcher.match(row["text"])
        accept, args = tuple(row["accept"]), tuple(row["args"])
        v = verdict(accept, args, m.task_id, m.args)
        out.append(Outcome(row["text"], accept, args, m.task_id, tuple(m.args), m.nearest, m.similarity, v))
    return out


def rates(outcomes: list[Outcome]) -> dict[str, float]:
    """Percent of instructions per verdict (0 for none)."""
    counts = Counter(o.verdict for o in outcomes)
    return {v: 100.0 * counts[v] / max(1, len(outcomes)) for v in VERDICTS}


def per_task(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Instructions per verdict for each task (the first accepted one), in order of appearance."""
    table: dict[str, dict[str, int]] = {}
    for o in outcomes:
        table.setdefault(o.task, dict.fromkeys(VERDICTS, 0))[o.verdict] += 1
    return table


def matcher_for(scene: dict, cache_dir=None, tasks=None):
    """The matcher ``robolang ask`` builds for ``scene`` (all tasks unless ``tasks``), with the
    default sentence encoder."""
    from robolang.policy.language import InstructionCache, SentenceEncoder
    from robolang.task_match import TaskMatcher

    return TaskMatcher(scene, InstructionCache(SentenceEncoder()), tasks=tasks, cache_dir=cache_dir)
