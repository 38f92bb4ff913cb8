"""``robolang play``: the play table (or any robot) under scripted random motion, as a video."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "play"
HELP = "run the play table with scripted random motion and write a video of both cameras"
EXAMPLES = [
    "robolang play                              # 20 s of scripted motion -> play.mp4",
    "robolang play world=randomized steps=300 out=runs/rand.mp4",
    "robolang play render=high                  # stock Panda meshes and shadows (slower)",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "play", "steps=300 world=randomized")


def run(args: argparse.Namespace) -> int:
    from robolang import play
    from robolang.config import load_config

    print(f"video written to {play.run(load_config('play', args.overrides))}")
    return 0
