"""``robolang caption``: hindsight labels for a play dataset, stored beside it."""

from __future__ import annotations

import argparse

NAME = "caption"
HELP = "hindsight-caption a play dataset: labels beside it, coverage, precision/recall, export"
EXAMPLES = [
    "robolang caption data/play                 # hindsight labels + coverage + precision/recall",
    "robolang caption data/play --export data/labelled   # labelled windows as a LeRobotDataset",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="dataset folder recorded in simulation (oracle captioning reads its scene state)")
    parser.add_argument(
        "--export", metavar="OUT", help="also export the labelled windows as a LeRobotDataset (task = instruction)"
    )
    parser.add_argument("--splits", default="train", help="splits to export, comma-separated (default: train)")
    parser.add_argument("--dry-run", action="store_true", help="print coverage and quality without storing labels")


def run(args: argparse.Namespace) -> int:
    from robolang import caption_cmd

    caption_cmd.run(args.path, args.export, tuple(args.splits.split(",")), args.dry_run)
    return 0
