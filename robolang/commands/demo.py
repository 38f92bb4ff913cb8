"""``robolang demo``: the whole pipeline at a small default."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "demo"
HELP = "the whole pipeline at a small default: collect, caption, train, evaluate, report (~30 min, 2 cores)"
EXAMPLES = ["robolang demo                              # collect, caption, train, evaluate -> runs/demo/eval/report.html"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "demo", "out=runs/demo2 collect.hours=1")
    parser.add_argument("--config-name", default="demo", help="demo (default) or experiment/full")


def run(args: argparse.Namespace) -> int:
    from robolang import demo
    from robolang.config import load_config

    demo.run(load_config(args.config_name, args.overrides))
    return 0
