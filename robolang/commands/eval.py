"""``robolang eval``: success per task, split and world, with chains, for any number of controllers.

The policies compared are named in ``controllers`` (``configs/eval.yaml``): each a robolang
checkpoint or training run folder, or a LeRobot ACT folder (its kind read from its contents).
``checkpoint=PATH`` is the short form of ``controllers={ours:PATH}``. The scripted expert and
the zero action always run beside them, on the same episodes.
"""

from __future__ import annotations

import argparse
import sys

from robolang.commands._overrides import add_overrides

NAME = "eval"
HELP = (
    "evaluate policies on every task, split and world, with chains; compare them with the scripted "
    "expert and the zero action on the same episodes; JSON + HTML report with videos"
)
EXAMPLES = [
    "robolang eval checkpoint=runs/policy   # = controllers={ours:runs/policy}: per task/split/world + chains, vs scripted and zero -> runs/eval/report.html",
    "robolang eval controllers={ours:runs/policy,mcil:runs/mcil,act:runs/act} out=runs/compare   # any number, by name",
    "robolang eval checkpoint=runs/policy resume=true   # continue an evaluation stopped by Ctrl-C (overwrite=true: start over)",
    "robolang eval compare=[runs/eval_a,runs/eval_b]   # paired on the same episodes: who solves which, McNemar's p (runs nothing)",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "eval", "checkpoint=runs/policy +controllers.mcil=runs/mcil episodes=5 workers=2")


def run(args: argparse.Namespace) -> int:
    from robolang.config import load_config
    from robolang.evaluation import suite

    cfg = load_config("eval", args.overrides)
    if cfg.get("compare") is not None:
        return _compare(cfg.compare)
    try:
        suite.run(cfg)
    except suite.EvalInterrupted as stopped:
        print(f"robolang eval: interrupted: {stopped}", file=sys.stderr)
        return 130
    return 0


def _compare(folders) -> int:
    """``compare=[A,B,...]``: the evaluations in those folders paired on their shared episodes."""
    from omegaconf import OmegaConf

    from robolang.config import ConfigError
    from robolang.evaluation import paired

    folders = OmegaConf.to_container(folders) if OmegaConf.is_list(folders) else None
    if not folders or not all(isinstance(f, str) for f in folders):
        raise ConfigError("compare= must be a list of evaluation out folders, e.g. compare=[runs/eval_a,runs/eval_b]")
    print(paired.compare(paired.load_arms(folders)))
    return 0
