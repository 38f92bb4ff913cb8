"""``robolang train``: clone a language-conditioned policy on a captioned dataset."""

from __future__ import annotations

import argparse
import os

from robolang.commands._overrides import add_overrides

NAME = "train"
HELP = "clone a language-conditioned policy on a captioned dataset (exact resume; accelerate for many GPUs)"
EXAMPLES = [
    "robolang train dataset=data/play_hour out=runs/policy   # the transformer policy (resume=true continues)",
    "robolang train policy=mcil out=runs/mcil                # another policy: configs/policy/<name>.yaml",
    "robolang train policy/vision=keypoints policy/aux=target out=runs/kp   # variants are groups chosen by name",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "train", "dataset=data/play_hour out=runs/policy policy=mcil train.steps=2000 resume=true")


def run(args: argparse.Namespace) -> int:
    import sys

    from robolang.config import load_config
    from robolang.policy import train_cmd
    from robolang.policy.train import TrainingError

    try:
        path = train_cmd.run(load_config("train", args.overrides))
    except TrainingError as exc:
        print(f"robolang train: stopped: {exc}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":  # once, also under accelerate launch
        print(f"policy checkpoint: {path}")
    return 0
