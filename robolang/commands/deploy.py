"""``robolang deploy``: run a trained policy on a robot at a fixed rate behind the safety layer."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "deploy"
HELP = "run a trained policy on a robot (sim or real) at a fixed rate, with safety limits, watchdog and recording"
EXAMPLES = [
    "robolang deploy checkpoint=runs/policy instruction='open the drawer' world=heldout   # the sim as the real arm",
    "robolang deploy robot=ur5e checkpoint=runs/policy instruction='lift the red block' dry_run=true",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "deploy", "checkpoint=runs/policy instruction='open the drawer'")
    parser.add_argument("--interactive", action="store_true", help="then read more instructions at a prompt")


def run(args: argparse.Namespace) -> int:
    from robolang.config import load_config
    from robolang.deploy import session

    outcomes = session.run(load_config("deploy", args.overrides), interactive=args.interactive)
    return 0 if outcomes else 2
