"""``robolang bench eval``: a small real ``robolang eval`` of the scripted expert (upper bound)
and the zero action (lower bound), with its wall time beside the bare simulation step rate
measured in the same run (one process, zero action, no cameras rendered)."""

from __future__ import annotations

import os
import time

from hydra.utils import instantiate
from omegaconf import DictConfig

from robolang.benchmarks import provenance, write_section
from robolang.evaluation import suite
from robolang.evaluation.stats import comparison_rows, fmt_rate, format_unavailable


def bare_steps_per_s(cfg: DictConfig) -> float:
    """Control steps per second of the sim alone: zero actions, no observation rendered."""
    import numpy as np

    robot = instantiate(cfg.robot, _convert_="all")
    robot.connect()
    try:
        robot.reset(0)
        started = time.perf_counter()
        for _ in range(cfg.reference_steps):
            robot.send_action(np.zeros(5, np.float32))
        return cfg.reference_steps / (time.perf_counter() - started)
    finally:
        robot.disconnect()


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def _per_task(summary: dict, controller: str, splits: list[str]) -> list[str]:
    tasks = sorted({t for s in splits for t in summary["by_task"].get(controller, {}).get(s, {})})
    rows = [[t, *(fmt_rate(summary["by_task"][controller].get(s, {}).get(t)) for s in splits)] for t in tasks]
    return _markdown(["task", *splits], rows)


def run(cfg: DictConfig) -> dict:
    reference = bare_steps_per_s(cfg)
    load_before = os.getloadavg()[0]
    results = suite.run(cfg)
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores; other jobs count)"
    summary, conf = results["summary"], results["config"]
    splits, chain_splits = list(conf["splits"]), list(conf["chain_splits"])
    episodes = results["episodes"]
    steps = sum(r.get("steps", 0) for r in episodes if r["kind"] == "single" and not r.get("unavailable"))
    steps += sum(sum(r["steps"]) for r in episodes if r["kind"] == "chain")
    rollouts = sum(1 for r in episodes if not r.get("unavailable"))
    seconds = results["seconds"]
    header, rows = comparison_rows(summary, splits, chain_splits)
    lines = [
        "## Evaluation (`robolang bench eval`)",
        "",
        provenance(),
        f"Worlds {', '.join(conf['worlds'])}; {conf['episodes']} seeded episodes per task, split and world "
        f"(max {conf['max_steps']} steps), {conf['chains']} chains of {conf['chain_length']} per world and chain split; "
        f"{conf['workers']} worker processes. Cells: success [95% Wilson interval] n=episodes, all tasks and worlds pooled.",
        "",
        *_markdown(header, rows),
        "",
        f"Time: {rollouts} rollouts, {steps} control steps simulated, in {seconds:.0f} s "
        f"({steps / seconds:.0f} steps/s, {seconds / max(rollouts, 1):.2f} s per rollout; sampling start states, "
        f"set-ups and judging included, report videos not). Reference, same run: the bare simulation "
        f"(zero action, no rendering, one process) steps at {reference:.0f} steps/s. Neither bound renders "
        f"cameras during its rollouts (a policy does: about 7 ms per step more, `robolang bench sim`). Machine {load}.",
        "",
        "Scripted expert (upper bound) per task, worlds pooled:",
        "",
        *_per_task(summary, "scripted", splits),
    ]
    if summary["unavailable"]:
        lines += [
            "",
            "Episodes without a feasible start state (not counted): " + format_unavailable(summary["unavailable"]),
        ]
    write_section(cfg.bench_out, "eval", "\n".join(lines))
    return {"reference_steps_per_s": reference, "steps_per_s": steps / seconds, "seconds": seconds}
