"""``robolang ask``: give a trained policy an instruction in your own words and watch it."""

from __future__ import annotations

import argparse

from robolang.commands._overrides import is_override

NAME = "ask"
HELP = "ask a trained policy to do something in your own words; writes a video and judges success"
EXAMPLES = ['robolang ask "put the red block in the drawer" --checkpoint runs/policy   # -> ask.mp4 + success']
EXTRA_WORDS = "words"  # overrides may also follow --checkpoint DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "words",
        nargs="*",
        metavar="INSTRUCTION [OVERRIDES]",
        help='what to do, quoted ("put the red block in the drawer"), then hydra overrides for configs/ask.yaml '
        "(seed=3 world=heldout max_steps=200; prepare=true: the scripted agent first sets up a task that cannot start)",
    )
    parser.add_argument("--checkpoint", required=True, help="a policy checkpoint or training run folder")
    parser.add_argument("--interactive", action="store_true", help="then read more instructions, same scene")


def run(args: argparse.Namespace) -> int:
    from robolang import ask
    from robolang.config import load_config

    overrides = [w for w in args.words if is_override(w)]
    said = [w for w in args.words if not is_override(w)]
    instruction = " ".join(said) if said else None
    answers = ask.run(load_config("ask", overrides), args.checkpoint, instruction, args.interactive)
    return 0 if answers else 2
