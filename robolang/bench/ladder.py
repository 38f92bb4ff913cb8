"""The policy ladder on honest starts: named policies beside the scripted expert and the zero action.

One ``robolang eval`` of every policy given in ``controllers`` (the privileged state policy, the
deployable policy, baselines) and the two bounds, on the same episodes, started honestly
(``start_pose: random``: after any set-up the arm moves away from the task's target). The section
gives the comparison, every policy's success per task and where each task starts, so a rung's
figure always comes with the bounds measured in the same run.
"""

from __future__ import annotations

from omegaconf import DictConfig

from robolang.bench.eval import per_task_table, unavailable_lines
from robolang.bench.report import Load, heading, table
from robolang.errors import RobolangError


class LadderConfigError(RobolangError, ValueError):
    """The ladder needs at least one policy to compare."""


def check(cfg: DictConfig) -> None:
    if not cfg.get("controllers") and not cfg.get("checkpoint"):
        raise LadderConfigError(
            "controllers=null: the ladder compares policies; give controllers={privileged: RUN_DIR, ...} "
            "(or checkpoint=RUN_DIR)"
        )


def run(cfg: DictConfig) -> dict:
    from robolang.evaluation import suite

    return {"results": suite.run(cfg)}


def section(cfg: DictConfig, figures: dict, load: Load) -> str:
    from robolang.evaluation.stats import comparison_rows, start_rows

    results = figures["results"]
    summary, conf = results["summary"], results["config"]
    splits = list(conf["splits"])
    header, rows = comparison_rows(summary, splits, list(conf["chain_splits"]))
    policies = [s for s in conf["controller_specs"] if s["kind"] not in ("scripted", "zero")]
    lines = [
        *heading("Policy ladder on honest starts (`robolang bench ladder`)", load),
        f"Worlds {', '.join(conf['worlds'])}; {conf['episodes']} seeded episodes per task, split and world "
        f"(max {conf['max_steps']} steps), {conf['chains']} chains of {conf['chain_length']} per world and chain "
        f"split; start_pose={conf['start_pose']} (at least {conf['start_away_m'] * 100:.0f} cm from the task's "
        f"target). {len(results['episodes'])} rollouts in {results['seconds']:.0f} s on {conf['workers']} worker "
        "processes. Cells: success [95% Wilson interval] n=episodes, all tasks and worlds pooled.",
        "",
        *table(["controller", "what"], [[s["name"], s["about"]] for s in conf["controller_specs"]]),
        "",
        *table(header, rows),
    ]
    for spec in policies:
        lines += ["", f"`{spec['name']}` per task, worlds pooled:", "", *per_task_table(summary, spec["name"], splits)]
    lines += ["", "Where episodes start: the gripper's distance from the task's target.", ""]
    lines += table(*start_rows(summary))
    return "\n".join(lines + unavailable_lines(summary))


def summary(figures: dict) -> list[str]:
    results = figures["results"]
    return [f"{len(results['episodes'])} rollouts in {results['seconds']:.0f} s"]
