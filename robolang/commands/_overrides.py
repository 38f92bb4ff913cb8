"""Argument helpers shared by the command modules (cheap: argparse only)."""

from __future__ import annotations

import argparse
import re


def add_overrides(parser: argparse.ArgumentParser, config: str, example: str) -> None:
    """The trailing ``key=value`` hydra overrides of ``configs/<config>.yaml``."""
    parser.add_argument("overrides", nargs="*", help=f"hydra overrides for configs/{config}.yaml, e.g. {example}")


def is_override(word: str) -> bool:
    """``key=value`` (hydra) rather than words of an instruction."""
    return re.match(r"^[+~]{0,2}[\w.]+=", word) is not None and " " not in word.split("=", 1)[0]
