"""``robolang ensemble``: several trained policies as one checkpoint folder (their action distributions averaged)."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "ensemble"
HELP = "several trained policies as one checkpoint: their action distributions averaged at every prediction"
EXAMPLES = [
    "robolang ensemble members=[runs/state_a,runs/state_b,runs/state_c] out=runs/state_abc   # evaluate/compose it",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "ensemble", "members=[runs/state_a,runs/state_b] out=runs/state_ab")


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from robolang.config import ConfigError, checked, load_config
    from robolang.policy.ensemble import write_ensemble

    cfg = load_config("ensemble", args.overrides)
    given = OmegaConf.select(cfg, "members", default=None)  # None where unset (???)
    members = OmegaConf.to_container(given) if OmegaConf.is_list(given) else None
    if not members or len(members) < 2 or not all(isinstance(m, str) for m in members):
        raise ConfigError(f"members={given!r} is not allowed: members must be a list of >= 2 run folders")
    checked(cfg, "out", str)
    out = write_ensemble([str(m) for m in members], cfg.out)
    print(f"ensemble of {len(members)} policies: {out}")
    return 0
