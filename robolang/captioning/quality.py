"""Caption quality, measured: precision and recall against the play agent's behaviour log.

The scripted agent logs what it did (``meta/robolang_behaviours.jsonl``) with success judged
by its own independent check; only successful records count. A label *matches* a record when
the task corresponds to the behaviour (``EXPECTED``), the target is the same object (and, for
stack / unstack, the same base) and the windows overlap.

* recall per behaviour: successful records with at least one matching label;
* strict precision per task: labels matching a record of the behaviour that the task names;
* implied precision: also counting a successful behaviour on the same object that entails the
  task (every carry is also a grasp and a lift; ``IMPLIED``). Labels of side effects (a drawer
  bumped while stacking nearby) count against both.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from robolang.recording.features import BEHAVIOURS_FILE
from robolang.recording.store import read_records

SIDES = ("move_to_left_side", "move_to_right_side", "move_to_front", "move_to_back")
FIXTURE_TARGETS = ("drawer", "door", "button")


def expected_tasks(record: dict) -> tuple[str, ...]:
    """The caption tasks a successful behaviour record should produce."""
    b, direction = record["behaviour"], record.get("args", {}).get("direction")
    table = {
        "lift": ("lift",),
        "grasp": ("grasp",),
        "carry": (*SIDES, "put_down"),
        "place_on_plate": ("place_on_plate",),
        "put_in_drawer": ("put_in_drawer",),
        "stack": ("stack",),
        "unstack": ("unstack",),
        "push": (f"push_{direction}",),
        "rotate": (f"rotate_{direction}",),
        "open_drawer": ("open_drawer",),
        "close_drawer": ("close_drawer",),
        # The door moves along +x ("forward"); facing its cabinet that is to the right.
        "slide_door": ("slide_door_right" if direction == "forward" else "slide_door_left",),
        "press_button": ("press_button", "turn_on_light", "turn_off_light"),
        "topple": ("topple",),
    }
    return table.get(b, ())


_PICKS = ("grasp", "lift", "carry", "place_on_plate", "put_in_drawer", "stack", "unstack", "rotate")
_MOVES = ("carry", "unstack", "push", "place_on_plate", "put_in_drawer", "stack", "lift", "rotate", "topple")
IMPLIED = {
    "unstack": _MOVES,
    "grasp": _PICKS,
    "lift": _PICKS,
    "put_down": ("carry", "unstack", "rotate", "lift", "grasp"),
    **{s: _MOVES for s in SIDES},
    "place_next_to": _MOVES,
    "place_in_front_of": _MOVES,
    "place_behind": _MOVES,
    "remove_from_plate": _MOVES,
    "take_from_drawer": _MOVES,
    "move_plate": ("push", "carry"),
    # A toppled cylinder comes to rest 5-6 cm along the push that knocked it over.
    **{f"push_{d}": ("topple",) for d in ("left", "right", "forward", "back")},
}


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
                r["behaviour"] in IMPLIED.get(lab.task_id, ())
                and _overlap(r, lab)
                and (
                    r["target"] == "plate"
                    if lab.task_id == "move_plate"
                    else bool(_args(lab)) and _args(lab)[0] == r["target"]
                )
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


def measure_dataset(root: str | Path, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quality of a dataset's oracle labels (one row per segment: the train/heldout rows of a
    segment are the same window) against its behaviour log."""
    path = Path(root) / "meta" / BEHAVIOURS_FILE
    if not path.exists():
        raise ValueError(f"{root} has no {BEHAVIOURS_FILE}: quality needs a recording by the scripted play agent")
    segments = table[table["source"] == "oracle"].drop_duplicates(
        ["episode_index", "start_frame", "end_frame", "task_id", "args"]
    )
    return measure(segments, read_records(path))


def format_quality(recall: pd.DataFrame, precision: pd.DataFrame) -> str:
    """Both tables as markdown, with totals."""
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
    return "\n".join(lines)
