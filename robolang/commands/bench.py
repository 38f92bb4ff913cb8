"""``robolang bench``: measure performance and record it in BENCHMARKS.md."""

from __future__ import annotations

import argparse

NAME = "bench"
HELP = "measure performance and record it in BENCHMARKS.md"
EXAMPLES = [
    "robolang bench sim                         # steps/s on one core -> BENCHMARKS.md",
    "robolang bench latency                     # ms per action chunk, ours beside LeRobot ACT",
    "robolang bench sim steps=50 bench_out=/tmp/B.md   # a quick look, written elsewhere",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from robolang import bench  # cheap: lists the benchmark modules and reads their docstrings

    names = bench.names()
    parser.add_argument("target", choices=names, help="; ".join(f"{name}: {bench.describe(name)}" for name in names))
    parser.add_argument(
        "overrides",
        nargs="*",
        help="hydra overrides for configs/bench_<target>.yaml, e.g. steps=500 bench_out=/tmp/BENCHMARKS.md",
    )


def run(args: argparse.Namespace) -> int:
    from robolang import bench
    from robolang.config import load_config

    cfg = load_config(f"bench_{args.target}", args.overrides)
    for line in bench.module(args.target).summary(bench.refresh(args.target, cfg)):
        print(line)
    print(f"figures written to {cfg.bench_out}")
    return 0
