"""``robolang baseline``: train a baseline on exported labelled windows through its own library."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "baseline"
HELP = "train a baseline on exported labelled windows"
EXAMPLES = ["robolang baseline act dataset=data/labelled out=runs/act steps=20000   # LeRobot's ACT via LeRobot's API"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=["act"], help="act: LeRobot's ACT through LeRobot's API (language-blind)")
    add_overrides(parser, "baseline_<name>", "steps=500")


# key -> (type, low bound); every value is checked where the config is read, before any work.
CHECKS = {"steps": (int, 1), "batch_size": (int, 1), "chunk_size": (int, 1), "seed": (int, 0), "log_every": (int, 1),
          "num_workers": (int, 0)}  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from robolang.config import checked, load_config
    from robolang.policy.act_baseline import train_act

    cfg = load_config(f"baseline_{args.name}", args.overrides)
    for key, (kind, low) in CHECKS.items():
        checked(cfg, key, kind, low=low)
    for key in ("dataset", "out", "torch_device"):
        checked(cfg, key, str)
    checked(cfg, "threads", int, low=1, optional=True)
    kw = OmegaConf.to_container(cfg)
    kw["device"] = kw.pop("torch_device")
    print(f"ACT written to {train_act(kw.pop('dataset'), kw.pop('out'), **kw)}")
    return 0
