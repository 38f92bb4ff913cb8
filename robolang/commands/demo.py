"""``robolang demo``: the whole pipeline at a small default.

One run per ``out``: the same command continues an interrupted run there; other settings are
refused unless ``overwrite=true``; ``bench_out=BENCHMARKS.md`` also records the run there.
"""

from __future__ import annotations

import argparse

from robolang.commands._overrides import add_overrides

NAME = "demo"
HELP = "the whole pipeline at a small default: collect, caption, train, evaluate, report (~30 min, 2 cores)"
EXAMPLES = [
    "robolang demo            # 12 tasks: demonstrations -> state policy + estimator -> deployable -> runs/demo/eval",
    "robolang demo --config-name experiment/demo_play   # collect play, caption, train the transformer, evaluate",
    "robolang demo --config-name experiment/all_tasks_cpu bench_out=BENCHMARKS.md   # every task, ~2 h",
    "robolang demo --config-name experiment/ladder_cpu   # demonstrations -> state policy + estimator -> deployable",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_overrides(parser, "demo", "out=runs/demo2 demos.hours=2 overwrite=true bench_out=BENCHMARKS.md")
    parser.add_argument(
        "--config-name",
        default="demo",
        help="demo (default: the policy ladder on 12 tasks, ~27 min on 2 cores), experiment/demo_play (the play "
        "pipeline on the six fixture tasks, ~8 min), experiment/all_tasks_cpu (every task, ~2 h on 2 cores), "
        "experiment/ladder_cpu "
        "(the policy ladder: demonstrations, state policy, estimator, deployable policy; ~2-3 h on 2 cores), "
        "experiment/full (the ladder GPU-sized) or experiment/full_play (the image transformer GPU-sized)",
    )


def run(args: argparse.Namespace) -> int:
    from robolang import demo
    from robolang.config import load_config

    demo.run(load_config(args.config_name, args.overrides))
    return 0
