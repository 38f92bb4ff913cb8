"""One module per ``robolang`` verb.

Each module is imported when the command line is built, so it must be cheap to import: it
names the verb and declares its arguments at module level and imports its heavy dependencies
(torch, LeRobot, PyBullet) only inside ``run``. The protocol::

    NAME = "play"                                   # the verb
    HELP = "one line for `robolang --help`"
    EXAMPLES = ["robolang play world=randomized"]   # shown in the epilog (optional)
    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...   # the exit status

``robolang.cli`` loops over ``COMMANDS``; adding a verb is one module here, its config in
``configs/`` and its name below.
"""

from __future__ import annotations

COMMANDS: tuple[str, ...] = (
    "play",
    "collect",
    "teleop",
    "dataset",
    "view",
    "caption",
    "annotate",
    "dagger",
    "train",
    "ensemble",
    "eval",
    "estimator",
    "ask",
    "deploy",
    "demo",
    "bench",
    "baseline",
    "config",
)
