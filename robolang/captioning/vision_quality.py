"""A captioner's labels against the oracle's, where the truth is known (simulated play).

Labels are compared as segments (one per episode, window, task and arguments: the phrasings
and splits of a window are one segment). A segment of the captioner under test *matches* an
oracle segment of the same task and arguments in the same episode whose window overlaps it by
at least ``MIN_OVERLAP`` of the shorter of the two (the two captioners may place the start of
an approach differently; they must agree on what was done and roughly when). Precision: the
share of its segments that match one of the oracle's; recall: the share of the oracle's that
one of its segments matches.
"""

from __future__ import annotations

import pandas as pd

MIN_OVERLAP = 0.5
KEY = ["episode_index", "task_id", "args"]


def same_window(start: int, end: int, other_start: int, other_end: int) -> bool:
    """Two windows of the same task and arguments are one segment: they overlap by at least
    ``MIN_OVERLAP`` of the shorter (``_matched`` is this over tables)."""
    shorter = max(1, min(end - start, other_end - other_start))
    return min(end, other_end) - max(start, other_start) >= MIN_OVERLAP * shorter


def _segments(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop_duplicates(["episode_index", "start_frame", "end_frame", "task_id", "args"])[
        ["episode_index", "start_frame", "end_frame", "task_id", "args"]
    ].reset_index(drop=True)


def _matched(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    """For each segment of ``a``: whether a segment of ``b`` with its key overlaps it enough."""
    pairs = a.reset_index().merge(b, on=KEY, suffixes=("", "_b"))
    overlap = pairs[["end_frame", "end_frame_b"]].min(axis=1) - pairs[["start_frame", "start_frame_b"]].max(axis=1)
    shorter = pd.concat(
        [pairs["end_frame"] - pairs["start_frame"], pairs["end_frame_b"] - pairs["start_frame_b"]], axis=1
    ).min(axis=1)
    good = pairs.loc[overlap >= MIN_OVERLAP * shorter.clip(lower=1), "index"]
    return a.index.isin(good)


def compare(labels: pd.DataFrame, oracle: pd.DataFrame) -> pd.DataFrame:
    """Per task: segments of each, matched ones, precision and recall; a last row ``all``."""
    mine, truth = _segments(labels), _segments(oracle)
    mine["hit"] = _matched(mine, truth)
    truth["found"] = _matched(truth, mine)
    tasks = sorted(set(mine["task_id"]) | set(truth["task_id"]))
    rows = []
    for task in [*tasks, "all"]:
        m = mine if task == "all" else mine[mine["task_id"] == task]
        t = truth if task == "all" else truth[truth["task_id"] == task]
        rows.append({"task": task, "labels": len(m), "oracle": len(t), "precision": m["hit"].mean() if len(m) else None,
                     "recall": t["found"].mean() if len(t) else None})  # fmt: skip
    return pd.DataFrame(rows)


def format_comparison(table: pd.DataFrame) -> str:
    def pct(v):
        return "-" if v is None or pd.isna(v) else f"{100 * v:.0f}%"

    lines = ["| task | labels | oracle labels | precision | recall |", "|---|---:|---:|---:|---:|"]
    for r in table.itertuples():
        name = f"**{r.task}**" if r.task == "all" else r.task
        lines.append(f"| {name} | {r.labels} | {r.oracle} | {pct(r.precision)} | {pct(r.recall)} |")
    return "\n".join(lines)
