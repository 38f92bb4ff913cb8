"""``robolang estimator``: the state estimator (cameras -> scene state): render frames, train, evaluate."""

from __future__ import annotations

import argparse

NAME = "estimator"
HELP = "the state estimator, cameras -> object positions, fixtures and light: render frames, train, eval"
EXAMPLES = [
    "robolang estimator render out=data/estimator world=randomized frames=4000   # labelled frames (scene state)",
    "robolang estimator train data=data/estimator out=runs/estimator train.steps=2000   # resume=true continues",
    "robolang estimator eval checkpoint=runs/estimator worlds=[default,heldout]   # median cm per object/world/cameras",
]
ACTIONS = {
    "render": (
        "render camera frames in a world with the simulator's scene state as labels (crash-safe shards)",
        "out=data/estimator world=randomized frames=4000 image_size=64 resume=true",
    ),
    "train": (
        "train the estimator on rendered frames (exact resume; Ctrl-C saves a checkpoint)",
        "data=data/estimator out=runs/estimator train.steps=2000 threads=1 resume=true",
    ),
    "recode": (
        "copy a frames folder with every camera image through the video codec recordings use (labels kept): "
        "train on both so the estimator reads recorded video as well as live frames",
        "data=data/estimator out=data/estimator_av1",
    ),
    "eval": (
        "median position error (cm) per object, world and camera set (static only, both), fixtures, light, "
        "and the verdict against the targets (<= 1.0 cm default, <= 1.5 cm heldout)",
        "checkpoint=runs/estimator worlds=[default,heldout] frames=200 out=runs/estimator_eval",
    ),
    "compose": (
        "one deployable policy folder: the estimator's reading of the cameras feeds a state policy "
        "(trained with policy.contacts=false); evaluate or ask it like any policy",
        "estimator=runs/estimator state_policy=runs/state_nocontacts out=runs/deployable",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="estimator_action", required=True, metavar="ACTION")
    for action, (text, example) in ACTIONS.items():
        sub = actions.add_parser(action, help=text, description=text)
        sub.add_argument(
            "overrides", nargs="*", help=f"hydra overrides for configs/estimator_{action}.yaml, e.g. {example}"
        )


def run(args: argparse.Namespace) -> int:
    from robolang.config import load_config
    from robolang.perception import entry

    cfg = load_config(f"estimator_{args.estimator_action}", args.overrides)
    actions = {
        "render": entry.run_render,
        "train": entry.run_train,
        "recode": entry.run_recode,
        "eval": entry.run_eval,
        "compose": entry.run_compose,
    }
    actions[args.estimator_action](cfg)
    return 0
