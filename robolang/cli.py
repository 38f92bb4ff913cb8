"""The ``robolang`` command line. Every command takes hydra overrides (``key=value``)."""

from __future__ import annotations

import argparse
import sys

from robolang.config import ConfigError, load_config

EPILOG = """examples:
  robolang play                              # 20 s of scripted motion -> play.mp4
  robolang play world=randomized steps=300 out=runs/rand.mp4
  robolang play render=high                  # stock Panda meshes and shadows (slower)
  robolang bench sim                         # steps/s on one core -> BENCHMARKS.md
  robolang config play world=heldout         # print the composed config

config groups: robot (play_table), world (default | randomized | heldout), render (fast | high)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robolang",
        description="robolang: language-conditioned robot manipulation from play.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    play = sub.add_parser(
        "play", help="run the play table with scripted random motion and write a video of both cameras"
    )
    play.add_argument(
        "overrides", nargs="*", help="hydra overrides for configs/play.yaml, e.g. steps=300 world=randomized"
    )
    bench = sub.add_parser("bench", help="measure performance and record it in BENCHMARKS.md")
    bench.add_argument(
        "target", choices=["sim"], help="sim: control steps/s with both cameras vs the stock-mesh reference"
    )
    bench.add_argument("overrides", nargs="*", help="hydra overrides for configs/bench_<target>.yaml, e.g. steps=500")
    show = sub.add_parser("config", help="print a composed config (with overrides applied)")
    show.add_argument("name", help="config name in configs/, e.g. play or bench_sim")
    show.add_argument("overrides", nargs="*")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "play":
            from robolang import play

            path = play.run(load_config("play", args.overrides))
            print(f"video written to {path}")
        elif args.command == "bench":
            from robolang import bench_sim

            cfg = load_config(f"bench_{args.target}", args.overrides)
            for r in bench_sim.run(cfg):
                print(
                    f"{r.name}: {r.steps_per_s:.1f} steps/s (physics {r.physics_ms:.2f} ms, render {r.render_ms:.2f} ms)"
                )
            print(f"figures written to {cfg.out}")
        elif args.command == "config":
            from omegaconf import OmegaConf

            print(OmegaConf.to_yaml(load_config(args.name, args.overrides)))
    except (ConfigError, ValueError, FileNotFoundError, PermissionError) as exc:
        print(f"robolang {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
