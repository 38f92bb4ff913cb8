"""``robolang view``: a recorded episode as a video with its state and the agent's intent drawn on it."""

from __future__ import annotations

import argparse

NAME = "view"
HELP = "export a recorded episode as a video with its state and the agent's intent overlaid"
EXAMPLES = ["robolang view data/play --episode 0        # an episode as a video with state and captions drawn on it"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="dataset folder")
    parser.add_argument("--episode", type=int, default=0, help="episode index (default 0)")
    parser.add_argument("--out", default=None, help="output mp4 (default: episode_<N>.mp4)")
    parser.add_argument("--upscale", type=int, default=3, help="nearest-neighbour upscaling of the camera frames")


def run(args: argparse.Namespace) -> int:
    from robolang.view import export_episode

    out = args.out or f"episode_{args.episode}.mp4"
    print(f"video written to {export_episode(args.path, args.episode, out, args.upscale)}")
    return 0
