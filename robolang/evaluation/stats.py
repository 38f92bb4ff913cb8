"""Success rates with 95% Wilson score intervals, and the evaluation's summary tables.

Records are plain dicts (one per controller and episode, see ``worker.py``): ``kind`` "single"
(one instruction: ``success``, ``steps``, ``closest_m``) or "chain" (``completed`` of ``length``).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

Z95 = 1.959963984540054  # the normal quantile of 0.975


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson 1927); (0, 1) when n is 0.

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0/n and n/n,
    which small evaluations hit all the time.
    """
    if n == 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    p, z2 = successes / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(outcomes: list[bool]) -> dict:
    """``{"n", "successes", "rate", "low", "high"}`` of a list of outcomes (rate None when empty)."""
    n, k = len(outcomes), int(sum(bool(o) for o in outcomes))
    low, high = wilson(k, n)
    return {"n": n, "successes": k, "rate": k / n if n else None, "low": low, "high": high}


def _group(records: list[dict], *keys: str) -> dict:
    groups: dict = defaultdict(list)
    for r in records:
        groups[tuple(r[k] for k in keys)].append(r)
    return groups


def _nest(flat: dict) -> dict:
    """{(a, b, c): v} -> {a: {b: {c: v}}}, keys in sorted order."""
    out: dict = {}
    for key in sorted(flat):
        node = out
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = flat[key]
    return out


def _unavailable(records: list[dict]) -> list[list]:
    """[world, task, split, episodes without a feasible start state, episodes planned] per key with any."""
    planned = _group([r for r in records if r["kind"] == "single"], "world", "task", "split")
    out = []
    for key, group in sorted(planned.items()):
        missing = sum(1 for r in group if r.get("unavailable"))
        if missing:
            out.append([*key, missing, len({r["index"] for r in group})])
    return out


def format_unavailable(rows: list[list]) -> str:
    """``world/task/split (k of n)`` for each key with episodes that found no feasible start state."""
    return ", ".join(f"{w}/{t}/{s} ({k} of {n})" for w, t, s, k, n in rows)


def summarize(records: list[dict], controllers: list[str], chain_length: int) -> dict:
    """The evaluation's tables: success per controller and split (all worlds and tasks pooled),
    per world, per task; chains: average completed and the histogram of completed counts."""
    singles = [r for r in records if r["kind"] == "single" and not r.get("unavailable")]
    chains = [r for r in records if r["kind"] == "chain"]

    def rates(*keys):
        return _nest({k: rate([r["success"] for r in g]) for k, g in _group(singles, *keys).items()})

    out = {
        "controllers": controllers,
        "by_split": rates("controller", "split"),
        "by_world": rates("controller", "world", "split"),
        "by_task": rates("controller", "split", "task"),
        "overall": {c: rate([r["success"] for r in singles if r["controller"] == c]) for c in controllers},
        "chains": {},
        "unavailable": _unavailable(records),
        "reach": reach(singles, controllers),
        "estimate": estimates(singles, controllers),
        "references": references(singles, controllers),
        "grounding": grounding(singles, controllers),
        "start": start_distances(singles),
    }
    for (c, split), group in _group(chains, "controller", "split").items():
        done = [r["completed"] for r in group]
        hist = [sum(d == k for d in done) for k in range(chain_length + 1)]
        out["chains"].setdefault(c, {})[split] = {"n": len(done), "average": sum(done) / len(done), "histogram": hist}
    return out


REACH_M = 0.05  # the gripper "reached" the instruction's object when it came this close (m)


def reach(singles: list[dict], controllers: list[str]) -> dict:
    """Per controller, over the episodes whose instruction names an object: the median closest
    approach of the gripper to it (m) and how often it came within ``REACH_M``. Tells "never got
    to the object" apart from "got there and failed to grasp"."""
    out = {}
    for c in controllers:
        closest = [r["closest_m"] for r in singles if r["controller"] == c and r.get("closest_m") is not None]
        if closest:
            out[c] = {"median_m": float(np.median(closest)), "within": rate([d <= REACH_M for d in closest])}
    return out


def estimates(singles: list[dict], controllers: list[str]) -> dict:
    """Per controller that estimates the scene from its cameras: the median over episodes of each
    episode's median error of its estimates of the instruction's object (m), and the same over the
    estimates made with the gripper near it (``rollout.NEAR_M``) and with it lifted
    (``rollout.LIFTED_M``), with the episodes counted."""
    out = {}
    for c in controllers:
        mine = [r for r in singles if r["controller"] == c and r.get("estimate_m") is not None]
        if not mine:
            continue
        out[c] = {"median_m": float(np.median([r["estimate_m"] for r in mine])), "n": len(mine)}
        for key in ("near", "lifted"):
            values = [r[f"estimate_{key}_m"] for r in mine if r.get(f"estimate_{key}_m") is not None]
            out[c] |= {f"{key}_median_m": float(np.median(values)) if values else None, f"{key}_n": len(values)}
    return out


def fmt_estimate(summary: dict, controller: str) -> str:
    """``1.8 cm (n=50); near 2.4 cm (n=41); lifted 3.0 cm (n=12)``, or ``-`` for a policy that reads no estimate."""
    cell = summary.get("estimate", {}).get(controller)
    if not cell:
        return "-"

    def part(key: str) -> str:
        median = cell.get(f"{key}_median_m")
        return f"{median * 100:.1f} cm (n={cell[f'{key}_n']})" if median is not None else "-"

    return f"{cell['median_m'] * 100:.1f} cm (n={cell['n']}); near {part('near')}; lifted {part('lifted')}"


def references(singles: list[dict], controllers: list[str]) -> dict:
    """Per controller, success over the episodes whose instruction names an object, by how it
    names it: ``what`` ("the red cube") or ``where`` ("the cube furthest to the left"). Empty
    when no episode says (results from before the field, or instructions not from the grammar)."""
    out = {}
    for c in controllers:
        mine = [r for r in singles if r["controller"] == c and r.get("by_position") is not None]
        if mine:
            out[c] = {kind: rate([r["success"] for r in mine if r["by_position"] == (kind == "where")])
                      for kind in ("what", "where")}  # fmt: skip
    return out


def reference_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table of success by how the instruction names its object."""
    header = ["controller", "object named by what it is", "object named by where it is"]
    rows = [
        [c, fmt_rate(cells["what"]), fmt_rate(cells["where"])] for c, cells in summary.get("references", {}).items()
    ]
    return header, rows


def grounding(singles: list[dict], controllers: list[str]) -> dict:
    """Per grounded controller (``ground=true``), success by whether the task matcher restated the
    instruction (``restated``) or left it unjudged and it was passed on as said (``as_said``)."""
    out = {}
    for c in controllers:
        mine = [r for r in singles if r["controller"] == c and "told" in r]
        if mine:
            out[c] = {kind: rate([r["success"] for r in mine if (r["told"] is not None) == (kind == "restated")])
                      for kind in ("restated", "as_said")}  # fmt: skip
    return out


def grounding_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table of success by whether grounding restated the instruction."""
    header = ["controller (ground=true)", "restated by the task matcher", "unjudged: told as said"]
    rows = [[c, fmt_rate(k["restated"]), fmt_rate(k["as_said"])] for c, k in summary.get("grounding", {}).items()]
    return header, rows


def start_distances(singles: list[dict]) -> dict:
    """Per task, how far the gripper started from the task's target (m): median, min and max
    over the episodes (each episode once; every controller starts from the same state)."""
    per_task: dict = defaultdict(dict)
    for r in singles:
        if r.get("start_m") is not None:
            per_task[r["task"]][(r["world"], r["split"], r["index"])] = r["start_m"]
    return {
        task: {"median_m": float(np.median(d)), "min_m": float(np.min(d)), "max_m": float(np.max(d)), "n": len(d)}
        for task, episodes in sorted(per_task.items())
        for d in [list(episodes.values())]
    }


def start_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-task start distance table (cm)."""
    header = ["task", "start distance from target (median)", "min", "max", "episodes"]
    rows = [[task, f"{c['median_m'] * 100:.1f} cm", f"{c['min_m'] * 100:.1f} cm", f"{c['max_m'] * 100:.1f} cm", str(c["n"])]
            for task, c in summary.get("start", {}).items()]  # fmt: skip
    return header, rows


def fmt_reach(summary: dict, controller: str) -> str:
    """``4.2 cm, 61% within 5 cm``, or ``-`` when no episode named an object."""
    cell = summary.get("reach", {}).get(controller)
    if not cell:
        return "-"
    return f"{cell['median_m'] * 100:.1f} cm, {cell['within']['rate']:.0%} within {REACH_M * 100:.0f} cm"


def fmt_rate(cell: dict | None) -> str:
    """``83% [71-91] n=60``, or ``-`` for no episodes."""
    if not cell or not cell["n"]:
        return "-"
    return f"{cell['rate']:.0%} [{cell['low']:.0%}-{cell['high']:.0%}] n={cell['n']}"


def comparison_rows(summary: dict, splits: list[str], chain_splits: list[str]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the controller x split table (plus chain averages)."""
    if not summary["chains"]:  # chains=0: no chain columns
        chain_splits = []
    header = ["controller", *splits, "all", *(f"chain avg ({s})" for s in chain_splits)]
    with_reach = bool(summary.get("reach"))
    if with_reach:
        header.append("closest approach (object tasks, median)")
    with_estimate = bool(summary.get("estimate"))
    if with_estimate:
        header.append("estimate of the object (median error; gripper within 10 cm; object lifted)")
    rows = []
    for c in summary["controllers"]:
        row = [c, *(fmt_rate(summary["by_split"].get(c, {}).get(s)) for s in splits), fmt_rate(summary["overall"][c])]
        for s in chain_splits:
            ch = summary["chains"].get(c, {}).get(s)
            row.append(f"{ch['average']:.2f} / n={ch['n']}" if ch else "-")
        if with_reach:
            row.append(fmt_reach(summary, c))
        if with_estimate:
            row.append(fmt_estimate(summary, c))
        rows.append(row)
    return header, rows


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """A fixed-width text table."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])
