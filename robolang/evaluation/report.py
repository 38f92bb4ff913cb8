"""The evaluation's HTML report: one self-contained file (inline SVG plots, videos embedded as
base64 mp4, also kept beside it under ``videos/``)."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from robolang.evaluation.outputs import REPORT, write_atomic
from robolang.evaluation.stats import (
    comparison_rows,
    fmt_rate,
    format_unavailable,
    grounding_rows,
    reference_rows,
    start_rows,
)
from robolang.evaluation.svg import grouped_bars

STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 8px 0 20px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; font-size: 13px; }
th { background: #f3f3f3; }
.videos { display: flex; flex-wrap: wrap; gap: 16px; }
.video { width: 420px; font-size: 12px; }
.ok { color: #1a7f37; } .fail { color: #b42318; }
code { background: #f6f6f6; padding: 1px 4px; }
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _rates(summary: dict, pick) -> tuple[list, list]:
    """(values, intervals) for each controller from ``pick(controller) -> cell or None``."""
    values, intervals = {}, {}
    for c in summary["controllers"]:
        cells = pick(c)
        values[c] = [cell["rate"] if cell and cell["n"] else None for cell in cells]
        intervals[c] = [(cell["low"], cell["high"]) if cell and cell["n"] else None for cell in cells]
    return values, intervals


def split_chart(summary: dict, splits: list[str]) -> str:
    values, intervals = _rates(summary, lambda c: [summary["by_split"].get(c, {}).get(s) for s in splits])
    return grouped_bars(splits, values, intervals, "Success per split (all tasks and worlds; 95% Wilson intervals)")


def task_chart(summary: dict, split: str, tasks: list[str]) -> str:
    values, intervals = _rates(summary, lambda c: [summary["by_task"].get(c, {}).get(split, {}).get(t) for t in tasks])
    return grouped_bars(tasks, values, intervals, f"Success per task, split {split} (worlds pooled)")


def chain_chart(summary: dict, split: str, length: int) -> str:
    values = {}
    for c in summary["controllers"]:
        ch = summary["chains"].get(c, {}).get(split)
        values[c] = [h / ch["n"] for h in ch["histogram"]] if ch else [None] * (length + 1)
    title = f"Chains of {length} ({split}): share of chains by instructions completed"
    return grouped_bars([str(k) for k in range(length + 1)], values, None, title, "share of chains")


def _world_table(summary: dict, worlds: list[str], splits: list[str]) -> str:
    header = ["controller", "world", *splits]
    rows = [
        [c, w, *(fmt_rate(summary["by_world"].get(c, {}).get(w, {}).get(s)) for s in splits)]
        for c in summary["controllers"]
        for w in worlds
    ]
    return _table(header, rows)


def _video_html(v: dict, out: Path) -> str:
    data = base64.b64encode((out / v["path"]).read_bytes()).decode("ascii")
    verdict = '<b class="ok">success</b>' if v["success"] else '<b class="fail">failure</b>'
    caption = (
        f"{verdict} in {v['steps']} steps &middot; <b>{escape(v['controller'])}</b> &middot; {escape(v['world'])} "
        f"&middot; {escape(v['task'])} {escape(','.join(v['args']))} ({escape(v['split'])})<br>"
        f'&ldquo;{escape(v["instruction"])}&rdquo; &middot; <a href="{escape(v["path"])}">mp4</a>'
    )
    return (
        f'<div class="video"><video controls loop muted width="400" src="data:video/mp4;base64,{data}"></video>'
        f"<div>{caption}</div></div>"
    )


def _partial(results: dict) -> list[str]:
    if results.get("complete", True):
        return []
    jobs = results["jobs"]
    return [f"<p><b>Interrupted: partial results</b>, {jobs['finished']} of {jobs['planned']} jobs finished "
            "(resume=true with the same settings runs the rest).</p>"]  # fmt: skip


def _references(summary: dict) -> list[str]:
    """Success by how the instruction names its object (what it is / where it is), if known."""
    header, rows = reference_rows(summary)
    if not rows:
        return []
    return ["<h3>By how the instruction names its object</h3>", _table(header, rows)]


def _grounding(summary: dict) -> list[str]:
    """Success by whether the task matcher restated the instruction (ground=true only)."""
    header, rows = grounding_rows(summary)
    if not rows:
        return []
    return ["<h3>Grounding: the policy told the matcher's restatement</h3>", _table(header, rows)]


def write_html(out: Path, results: dict, videos: list[dict]) -> Path:
    """Write ``out/report.html`` from the results dict (``suite.run``) and the recorded videos."""
    cfg, summary = results["config"], results["summary"]
    splits, chain_splits = list(cfg["splits"]), list(cfg["chain_splits"])
    tasks = sorted({r["task"] for r in results["episodes"] if r["kind"] == "single"})
    header, rows = comparison_rows(summary, splits, chain_splits)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>robolang evaluation</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>robolang evaluation</h1>",
        *_partial(results),
        f"<p>{escape(results['provenance'])}</p>",
        f"<p>Worlds {escape(', '.join(cfg['worlds']))}; {cfg['episodes']} seeded episodes per task, split and world "
        f"(at most {cfg['max_steps']} control steps at 10 Hz each); {cfg['chains']} chains of {cfg['chain_length']} "
        f"per world and chain split; seed {cfg['seed']}; wall time {results['seconds']:.0f} s. "
        "Success is judged by the captioner's predicate from the start state to the current one; every "
        "controller runs the same episodes (same seeds, start states and instructions). Raw numbers: "
        "<a href='results.json'>results.json</a>.</p>",
        _table(["controller", "what"], [[c["name"], c["about"]] for c in cfg["controller_specs"]]),
        "<h2>Comparison</h2>",
        _table(header, rows),
        *_references(summary),
        *_grounding(summary),
        split_chart(summary, splits),
        "<h2>Per world</h2>",
        _world_table(summary, list(cfg["worlds"]), splits),
        "<h2>Per task</h2>",
        *(task_chart(summary, s, tasks) for s in splits),
        "<h3>Where each task starts</h3>",
        "<p>The gripper's distance from the task's target (its object, the drawer handle, the door, the button) "
        "when the episode starts: after any set-up the arm moves to a random pose away from the target "
        f"(start_pose={escape(str(cfg.get('start_pose', 'as_set_up')))}), holding an object where the task needs "
        "one.</p>",
        _table(*start_rows(summary)),
        "<h2>Chains</h2>",
        "<p>CALVIN-style: the next instruction is sampled, feasible, from the state the controller left after "
        "its previous success; a chain stops at its first failure.</p>",
        *(chain_chart(summary, s, cfg["chain_length"]) for s in chain_splits),
        "<h2>Videos</h2>",
        '<div class="videos">',
        *(_video_html(v, out) for v in videos),
        "</div>",
    ]
    if summary["unavailable"]:
        missing = format_unavailable(summary["unavailable"])
        parts.append(f"<p>Episodes for which no feasible start state was found (not counted): {escape(missing)}.</p>")
    parts.append("</body></html>")
    return write_atomic(out / REPORT, "\n".join(parts))
