"""A small evaluation of the scripted expert vs the zero action, timed beside the bare step rate.

A real ``robolang eval`` of the scripted expert (upper bound) and the zero action (lower bound);
its wall time is set beside the bare simulation step rate measured in the same run (one
process, zero action, no cameras rendered).
"""

from __future__ import annotations

import time

from omegaconf import DictConfig

from robolang.bench.report import Load, heading, table
from robolang.config import checked


def bare_steps_per_s(cfg: DictConfig) -> float:
    """Control steps per second of the sim alone: zero actions, no observation rendered."""
    import numpy as np
    from hydra.utils import instantiate

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


def per_task_table(summary: dict, controller: str, splits: list[str]) -> list[str]:
    """One controller's success per task (rows) and split (columns), worlds pooled."""
    from robolang.evaluation.stats import fmt_rate

    by_task = summary["by_task"].get(controller, {})
    tasks = sorted({t for s in splits for t in by_task.get(s, {})})
    rows = [[t, *(fmt_rate(by_task.get(s, {}).get(t)) for s in splits)] for t in tasks]
    return table(["task", *splits], rows)


def unavailable_lines(summary: dict) -> list[str]:
    """The sentence naming episodes that found no feasible start state (none when every one did)."""
    from robolang.evaluation.stats import format_unavailable

    if not summary["unavailable"]:
        return []
    return ["", "Episodes without a feasible start state (not counted): " + format_unavailable(summary["unavailable"])]


def check(cfg: DictConfig) -> None:
    """The eval keys themselves are checked by ``robolang eval``'s own suite; these are the bench's."""
    checked(cfg, "reference_steps", int, low=1)


def run(cfg: DictConfig) -> dict:
    """The bare step rate, then ``robolang eval`` with ``cfg``; returns the suite's results and the rates."""
    from robolang.evaluation import suite

    reference = bare_steps_per_s(cfg)
    results = suite.run(cfg)
    episodes = results["episodes"]
    steps = sum(r.get("steps", 0) for r in episodes if r["kind"] == "single" and not r.get("unavailable"))
    steps += sum(sum(r["steps"]) for r in episodes if r["kind"] == "chain")
    rollouts = sum(1 for r in episodes if not r.get("unavailable"))
    seconds = results["seconds"]
    timing = {"steps": steps, "rollouts": rollouts, "seconds": seconds, "steps_per_s": steps / seconds}
    return {"results": results, "reference_steps_per_s": reference, **timing}


def section(cfg: DictConfig, figures: dict, load: Load) -> str:
    from robolang.evaluation.stats import comparison_rows

    summary, conf = figures["results"]["summary"], figures["results"]["config"]
    splits = list(conf["splits"])
    header, rows = comparison_rows(summary, splits, list(conf["chain_splits"]))
    steps, rollouts, seconds = figures["steps"], figures["rollouts"], figures["seconds"]
    lines = [
        *heading("Evaluation (`robolang bench eval`)", load),
        f"Worlds {', '.join(conf['worlds'])}; {conf['episodes']} seeded episodes per task, split and world "
        f"(max {conf['max_steps']} steps), {conf['chains']} chains of {conf['chain_length']} per world and chain "
        f"split; {conf['workers']} worker processes. Cells: success [95% Wilson interval] n=episodes, all tasks and "
        "worlds pooled.",
        "",
        *table(header, rows),
        "",
        f"Time: {rollouts} rollouts, {steps} control steps simulated, in {seconds:.0f} s "
        f"({figures['steps_per_s']:.0f} steps/s, {seconds / max(rollouts, 1):.2f} s per rollout; sampling start "
        "states, set-ups and judging included, report videos not). Reference, same run: the bare simulation "
        f"(zero action, no rendering, one process) steps at {figures['reference_steps_per_s']:.0f} steps/s. Neither "
        "bound renders cameras during its rollouts (a policy does: about 7 ms per step more, `robolang bench sim`).",
        "",
        "Scripted expert (upper bound) per task, worlds pooled:",
        "",
        *per_task_table(summary, "scripted", splits),
    ]
    return "\n".join(lines + unavailable_lines(summary))


def summary(figures: dict) -> list[str]:
    return [f"{figures['steps_per_s']:.0f} steps/s in {figures['seconds']:.0f} s"]
