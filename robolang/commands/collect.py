"""``robolang collect``: hours of scripted play recorded into a LeRobotDataset."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "collect"
HELP = "record scripted play into a LeRobotDataset (crash-safe, resumable, parallel)"
EXAMPLES = ["robolang collect hours=1 workers=2         # an hour of scripted play -> data/play (LeRobotDataset v3)"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "collect", "hours=1 workers=2 out=data/play")


def run(args: argparse.Namespace) -> int:
    from robolang import collect
    from robolang.config import load_config

    collect.run(load_config("collect", args.overrides))
    return 0
