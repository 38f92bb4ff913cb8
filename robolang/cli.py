"""The ``robolang`` command line: one subcommand per module of ``robolang.commands``.

Every command takes hydra overrides (``key=value``). A ``RobolangError`` (bad input, a missing
or unwritable file, a refused run) is printed as one line and exits 2; Ctrl-C exits 130; any
other exception is a bug and keeps its traceback. An ``OSError`` (a missing or unwritable path, a full
disk) is also printed as one line: it is about the user's files, not the code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from robolang.commands import COMMANDS
from robolang.errors import RobolangError

CONFIG_GROUPS = "config groups: robot (play_table), world (default | randomized | heldout), render (fast | high)"


def _modules() -> list[ModuleType]:
    """The command modules, in the order ``robolang --help`` lists them (cheap imports only)."""
    return [importlib.import_module(f"robolang.commands.{name}") for name in COMMANDS]


def _parser(modules: list[ModuleType]) -> argparse.ArgumentParser:
    examples = [line for m in modules for line in getattr(m, "EXAMPLES", [])]
    parser = argparse.ArgumentParser(
        prog="robolang",
        description="robolang: language-conditioned robot manipulation from play.",
        epilog="examples:\n" + "\n".join(f"  {e}" for e in examples) + f"\n\n{CONFIG_GROUPS}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in modules:
        command = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=(module.__doc__ or module.HELP).strip().splitlines()[0],
            epilog="examples:\n" + "\n".join(f"  {e}" for e in getattr(module, "EXAMPLES", [])),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser(_modules())
    args, extra = parser.parse_known_args(argv)
    into = getattr(args.module, "EXTRA_WORDS", None)
    if extra and into:
        setattr(args, into, getattr(args, into) + extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.module.run(args)
    except RobolangError as exc:
        print(f"robolang {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave: missing, unwritable, or a full disk
        print(f"robolang {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"robolang {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
