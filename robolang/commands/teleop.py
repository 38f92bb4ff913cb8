"""``robolang teleop``: drive the robot from a keyboard, gamepad, spacemouse or LeRobot teleoperator."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "teleop"
HELP = "drive the robot with a keyboard, gamepad, spacemouse or LeRobot teleoperator, recording play"
EXAMPLES = ["robolang teleop device=terminal            # drive the arm from this terminal, recording -> data/teleop"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "teleop", "device=terminal minutes=5")


def run(args: argparse.Namespace) -> int:
    from robolang import teleop_record
    from robolang.config import load_config

    teleop_record.run(load_config("teleop", args.overrides))
    return 0
