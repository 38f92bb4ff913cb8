"""Caption quality, measured: precision and recall against the play agent's behaviour log.

The scripted agent logs what it did (``meta/robolang_behaviours.jsonl``) with success judged
by its own independent check; only successful records count. Each record also says which
caption tasks it should produce (``expected_tasks``) and which it entails on the way
(``implied_tasks``: every carry is also a grasp and a lift); the play agent writes both
(``sim.play.behaviours``), so nothing here knows a behaviour by name. A label *matches* a
record when its task is one the record expects, the target is the same object (and, for
stack / unstack, the same base) and the windows overlap.

* recall per behaviour: successful records with at least one matching label;
* strict precision per task: labels matching a record that expects the task;
* implied precision: also counting a successful record on the same object that implies the
  task. Labels of side effects (a drawer bumped while stacking nearby) count against both.

Logs recorded before records carried their tasks (no ``expected_tasks`` key) still measure:
a record then expects the task named like its behaviour with its direction, else like its
behaviour (``push`` left -> ``push_left``, ``topple`` left -> ``topple``), and implies none.
Behaviours whose tasks are named otherwise (``carry``, ``slide_door``) then find nothing, and
implied precision equals strict (``format_quality`` says so under the tables).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from robolang.captioning.errors import CaptionError
from robolang.captioning.tasks import REGISTRY
from robolang.recording.features import BEHAVIOURS_FILE
from robolang.recording.store import read_records

FIXTURE_TARGETS = ("drawer", "door", "button")  # a fixture behaviour's label has no object argument
QUALITY_FILE = "robolang_caption_quality.md"  # meta/ sidecar: the report of the last captioning
OLD_LOG_NOTE = (
    "This recording's behaviour log predates expected/implied task lists: records are matched to "
    "the task named like their behaviour, and implied precision is not measured (it equals strict)."
)


def expected_tasks(record: dict) -> tuple[str, ...]:
    """The caption tasks a successful behaviour record should produce (see the module notes
    for logs that predate ``expected_tasks``)."""
    if "expected_tasks" in record:
        return tuple(record["expected_tasks"])
    behaviour, direction = record["behaviour"], record.get("args", {}).get("direction")
    named = [f"{behaviour}_{direction}", behaviour] if direction else [behaviour]
    return next(((t,) for t in named if t in REGISTRY), ())


def implied_tasks(record: dict) -> tuple[str, ...]:
    """The tasks a successful behaviour record entails on its target (none in older logs)."""
    return tuple(record.get("implied_tasks", ()))


def predates_task_lists(records: list[dict]) -> bool:
    """The log was written before records said which tasks they produce."""
    return any("expected_tasks" not in r for r in records)


def _args(label) -> tuple[str, ...]:
    return tuple(a for a in str(label.args).split(",") if a)


def _same_target(record: dict, label) -> bool:
    if record["target"] in FIXTURE_TARGETS:
        return True
    args = _args(label)
    if not args or args[0] != record["target"]:
        return False
    base = record.get("args", {}).get("base")
    return base is None or len(args) < 2 or args[1] == base


def _overlap(record: dict, label) -> bool:
    return label.start_frame < record["end_step"] and label.end_frame > record["start_step"]


def measure(labels: pd.DataFrame, records: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(recall per behaviour, precision per task) tables for labelled segments (one row per
    segment: columns episode_index, start_frame, end_frame (exclusive), task_id, args)."""
    records = [r for r in records if r.get("success")]
    by_episode = {e: g for e, g in labels.groupby("episode_index")}
    rec_n, rec_hit = Counter(), Counter()
    for r in records:
        tasks = expected_tasks(r)
        if not tasks:
            continue
        key = r["behaviour"] + (f" {r['args']['direction']}" if r.get("args", {}).get("direction") else "")
        rec_n[key] += 1
        group = by_episode.get(r["episode_index"])
        if group is not None and any(
            lab.task_id in tasks and _same_target(r, lab) and _overlap(r, lab) for lab in group.itertuples()
        ):
            rec_hit[key] += 1
    lab_n, strict, implied = Counter(), Counter(), Counter()
    for e, group in by_episode.items():
        mine = [r for r in records if r["episode_index"] == e]
        for lab in group.itertuples():
            lab_n[lab.task_id] += 1
            direct = any(lab.task_id in expected_tasks(r) and _same_target(r, lab) and _overlap(r, lab) for r in mine)
            entailed = direct or any(
                lab.task_id in implied_tasks(r)
                and _overlap(r, lab)
                and (not _args(lab) or _args(lab)[0] == r["target"])
                for r in mine
            )
            strict[lab.task_id] += direct
            implied[lab.task_id] += entailed
    recall = pd.DataFrame(
        [
            {"behaviour": k, "records": rec_n[k], "found": rec_hit[k], "recall": rec_hit[k] / rec_n[k]}
            for k in sorted(rec_n)
        ]
    )
    precision = pd.DataFrame(
        [
            {
                "task": k,
                "labels": lab_n[k],
                "strict_precision": strict[k] / lab_n[k],
                "implied_precision": implied[k] / lab_n[k],
            }
            for k in sorted(lab_n)
        ]
    )
    return recall, precision


def measure_dataset(root: str | Path, table: pd.DataFrame, source: str = "oracle") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quality of a dataset's labels of ``source`` (one row per segment: the train/heldout rows of a
    segment are the same window) against its behaviour log."""
    path = Path(root) / "meta" / BEHAVIOURS_FILE
    if not path.exists():
        raise CaptionError(f"{root} has no {BEHAVIOURS_FILE}: quality needs a recording by the scripted play agent")
    segments = table[table["source"] == source].drop_duplicates(
        ["episode_index", "start_frame", "end_frame", "task_id", "args"]
    )
    records = read_records(path)
    recall, precision = measure(segments, records)
    recall.attrs["predates_task_lists"] = predates_task_lists(records)  # format_quality says so
    return recall, precision


def format_quality(recall: pd.DataFrame, precision: pd.DataFrame) -> str:
    """Both tables as markdown, with totals (and a note when the log predates task lists)."""
    lines = ["| behaviour (successful records) | records | found | recall |", "|---|---:|---:|---:|"]
    for r in recall.itertuples():
        lines.append(f"| {r.behaviour} | {r.records} | {r.found} | {r.recall:.0%} |")
    n, f = int(recall["records"].sum()), int(recall["found"].sum())
    lines += [f"| **all** | {n} | {f} | {f / max(n, 1):.0%} |", ""]
    lines += ["| task | labels | strict precision | implied precision |", "|---|---:|---:|---:|"]
    for p in precision.itertuples():
        lines.append(f"| {p.task} | {p.labels} | {p.strict_precision:.0%} | {p.implied_precision:.0%} |")
    total = int(precision["labels"].sum())
    implied = float((precision["labels"] * precision["implied_precision"]).sum()) / max(total, 1)
    strict = float((precision["labels"] * precision["strict_precision"]).sum()) / max(total, 1)
    lines.append(f"| **all** | {total} | {strict:.0%} | {implied:.0%} |")
    if recall.attrs.get("predates_task_lists"):
        lines += ["", OLD_LOG_NOTE]
    return "\n".join(lines)
