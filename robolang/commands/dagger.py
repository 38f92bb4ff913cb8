"""``robolang dagger``: the scripted expert labels a trained policy's own states (DAgger data)."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "dagger"
HELP = "record a policy's own rollouts labelled with the scripted expert's actions (DAgger), to train on"
EXAMPLES = [
    "robolang dagger checkpoint=runs/privileged out=data/dagger hours=1   # then train with extra_datasets=[data/dagger]",
    "robolang dagger checkpoint=runs/policy beta=0.5 robot.config.static_width=64 ...   # half the chunks the expert's",
    "robolang dagger checkpoint=null beta=1 out=data/expert hours=4.5   # the expert's own demonstrations",
    "robolang dagger relabel=true labels=successful out=data/expert   # the same recording, only its successes labelled",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "dagger", "checkpoint=runs/privileged out=data/dagger hours=1")


def run(args: argparse.Namespace) -> int:
    from robolang import dagger
    from robolang.config import load_config

    dagger.run(load_config("dagger", args.overrides))
    return 0
