"""``robolang eval``: success per task, split and world, with chains, for any number of controllers."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "eval"
HELP = (
    "evaluate policies on every task, split and world, with chains; compare them with the scripted "
    "expert and the zero action on the same episodes; JSON + HTML report with videos"
)
EXAMPLES = [
    "robolang eval checkpoint=runs/policy       # success per task/split/world, chains, vs scripted + zero -> runs/eval/report.html"
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "eval", "checkpoint=runs/policy mcil=runs/mcil episodes=5 workers=2")


def run(args: argparse.Namespace) -> int:
    from robolang.config import load_config
    from robolang.evaluation import suite

    suite.run(load_config("eval", args.overrides))
    return 0
