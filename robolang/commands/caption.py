"""``robolang caption``: hindsight labels for a play dataset, stored beside it."""

from __future__ import annotations

import argparse

NAME = "caption"
HELP = "hindsight-caption a play dataset: labels beside it, coverage, precision/recall, export"
EXAMPLES = [
    "robolang caption data/play                 # hindsight labels + coverage + precision/recall",
    "robolang caption data/play --export data/labelled   # labelled windows as a LeRobotDataset",
    "robolang caption data/play --dry-run tasks.move_min_m=0.08   # thresholds of configs/caption/default.yaml",
    "robolang caption data/real captioner=vision estimator=runs/estimator   # data without scene state: the cameras",
    "robolang caption data/real captioner=vision estimator=runs/estimator vision.agreement=1.0   # only labels every draw finds",
]
CHOICES = ("captioner", "estimator")  # overrides that choose the captioner, not thresholds
EXTRA_WORDS = "overrides"  # overrides may also come after the options (robolang.cli)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        help="dataset folder: recorded in simulation (the oracle reads its scene state), or any with "
        "captioner=vision estimator=RUN (the cameras alone)",
    )
    parser.add_argument(
        "--export", metavar="OUT", help="also export the labelled windows as a LeRobotDataset (task = instruction)"
    )
    parser.add_argument("--splits", default="train", help="splits to export, comma-separated (default: train)")
    parser.add_argument("--dry-run", action="store_true", help="print coverage and quality without storing labels")
    parser.add_argument(
        "overrides", nargs="*", help="hydra overrides for configs/caption/default.yaml, e.g. tasks.move_min_m=0.08"
    )


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from robolang.captioning.command import caption_dataset
    from robolang.captioning.config import CaptionConfig
    from robolang.config import load_config

    chosen = dict(o.split("=", 1) for o in args.overrides if o.split("=", 1)[0] in CHOICES)
    rest = [o for o in args.overrides if o.split("=", 1)[0] not in CHOICES]
    cfg = CaptionConfig.from_dict(OmegaConf.to_container(load_config("caption/default", rest)), strict=True)
    caption_dataset(args.path, cfg, args.export, tuple(args.splits.split(",")), args.dry_run,
                    chosen.get("captioner", "oracle"), chosen.get("estimator"))  # fmt: skip
    return 0
