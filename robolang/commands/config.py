"""``robolang config``: print a composed config with its overrides applied."""

from __future__ import annotations

import argparse

NAME = "config"
HELP = "print a composed config (with overrides applied)"
EXAMPLES = ["robolang config play world=heldout         # print the composed config"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="config name in configs/, e.g. play or bench_sim")
    parser.add_argument("overrides", nargs="*")


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from robolang.config import load_config

    print(OmegaConf.to_yaml(load_config(args.name, args.overrides)))
    return 0
