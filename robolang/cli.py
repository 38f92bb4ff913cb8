"""The ``robolang`` command line. Every command takes hydra overrides (``key=value``)."""

from __future__ import annotations

import argparse
import os
import re
import sys

from robolang.config import ConfigError, load_config
from robolang.recording.store import DatasetStoreError

EPILOG = """examples:
  robolang play                              # 20 s of scripted motion -> play.mp4
  robolang collect hours=1 workers=2         # an hour of scripted play -> data/play (LeRobotDataset v3)
  robolang teleop device=terminal            # drive the arm from this terminal, recording -> data/teleop
  robolang dataset verify data/play          # integrity: parquet, frame counts, videos, timestamps
  robolang caption data/play                 # hindsight labels + coverage + precision/recall
  robolang caption data/play --export data/labelled   # labelled windows as a LeRobotDataset
  robolang view data/play --episode 0        # an episode as a video with state and captions drawn on it
  robolang play world=randomized steps=300 out=runs/rand.mp4
  robolang play render=high                  # stock Panda meshes and shadows (slower)
  robolang train dataset=data/play_hour out=runs/policy   # the transformer policy (resume=true continues)
  robolang eval checkpoint=runs/policy       # success per task/split/world, chains, vs scripted + zero -> runs/eval/report.html
  robolang ask "put the red block in the drawer" --checkpoint runs/policy   # -> ask.mp4 + success
  robolang demo                              # collect, caption, train, evaluate -> runs/demo/eval/report.html
  robolang bench sim                         # steps/s on one core -> BENCHMARKS.md
  robolang baseline act dataset=data/labelled out=runs/act steps=20000   # LeRobot's ACT via LeRobot's API
  robolang bench latency                     # ms per action chunk, ours beside LeRobot ACT
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
    collect = sub.add_parser(
        "collect", help="record scripted play into a LeRobotDataset (crash-safe, resumable, parallel)"
    )
    collect.add_argument(
        "overrides", nargs="*", help="hydra overrides for configs/collect.yaml, e.g. hours=1 workers=2 out=data/play"
    )
    teleop = sub.add_parser(
        "teleop", help="drive the robot with a keyboard, gamepad, spacemouse or LeRobot teleoperator, recording play"
    )
    teleop.add_argument(
        "overrides", nargs="*", help="hydra overrides for configs/teleop.yaml, e.g. device=terminal minutes=5"
    )
    caption = sub.add_parser(
        "caption", help="hindsight-caption a play dataset: labels beside it, coverage, precision/recall, export"
    )
    caption.add_argument("path", help="dataset folder recorded in simulation (oracle captioning reads its scene state)")
    caption.add_argument(
        "--export", metavar="OUT", help="also export the labelled windows as a LeRobotDataset (task = instruction)"
    )
    caption.add_argument("--splits", default="train", help="splits to export, comma-separated (default: train)")
    caption.add_argument("--dry-run", action="store_true", help="print coverage and quality without storing labels")
    dataset = sub.add_parser("dataset", help="dataset tools")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")
    verify = dataset_sub.add_parser(
        "verify",
        help="check integrity: parquet readable, frame counts agree with metadata and videos, timestamps monotonic",
    )
    verify.add_argument("path", help="dataset folder (as given to out= when recording)")
    verify.add_argument(
        "--no-decode", action="store_true", help="check video durations instead of decoding every frame (faster)"
    )
    view = sub.add_parser(
        "view", help="export a recorded episode as a video with its state and the agent's intent overlaid"
    )
    view.add_argument("path", help="dataset folder")
    view.add_argument("--episode", type=int, default=0, help="episode index (default 0)")
    view.add_argument("--out", default=None, help="output mp4 (default: episode_<N>.mp4)")
    view.add_argument("--upscale", type=int, default=3, help="nearest-neighbour upscaling of the camera frames")
    train = sub.add_parser(
        "train",
        help="clone a language-conditioned policy on a captioned dataset (exact resume; accelerate for many GPUs)",
    )
    train.add_argument(
        "overrides",
        nargs="*",
        help="hydra overrides for configs/train.yaml, e.g. dataset=data/play_hour out=runs/policy policy=mcil "
        "train.steps=2000 resume=true",
    )
    evaluate = sub.add_parser(
        "eval",
        help="evaluate policies on every task, split and world, with chains; compare them with the scripted "
        "expert and the zero action on the same episodes; JSON + HTML report with videos",
    )
    evaluate.add_argument(
        "overrides",
        nargs="*",
        help="hydra overrides for configs/eval.yaml, e.g. checkpoint=runs/policy mcil=runs/mcil episodes=5 workers=2",
    )
    ask = sub.add_parser(
        "ask", help="ask a trained policy to do something in your own words; writes a video and judges success"
    )
    ask.add_argument(
        "words",
        nargs="*",
        metavar="INSTRUCTION [OVERRIDES]",
        help='what to do, quoted ("put the red block in the drawer"), then hydra overrides for configs/ask.yaml '
        "(seed=3 world=heldout max_steps=200; prepare=true: the scripted agent first sets up a task that cannot start)",
    )
    ask.add_argument("--checkpoint", required=True, help="a policy checkpoint or training run folder")
    ask.add_argument("--interactive", action="store_true", help="then read more instructions, same scene")
    demo = sub.add_parser(
        "demo",
        help="the whole pipeline at a small default: collect, caption, train, evaluate, report (~30 min, 2 cores)",
    )
    demo.add_argument(
        "overrides", nargs="*", help="hydra overrides for configs/demo.yaml, e.g. out=runs/demo2 collect.hours=1"
    )
    demo.add_argument("--config-name", default="demo", help="demo (default) or experiment/full")
    bench = sub.add_parser("bench", help="measure performance and record it in BENCHMARKS.md")
    bench.add_argument(
        "target",
        choices=["sim", "collect", "agent", "caption", "latency", "data", "eval"],
        help="sim: control steps/s with both cameras vs the stock-mesh reference; "
        "collect: recording frames/s (1 and 2 workers) vs the bare step rate; "
        "agent: scripted behaviour success per skill level; caption: captioning an hour of play on one core; "
        "latency: policy ms per action chunk beside LeRobot ACT; "
        "data: training samples/s of the data pipeline beside LeRobotDataset's own loading; "
        "eval: a small evaluation of the scripted expert vs the zero action, timed",
    )
    bench.add_argument("overrides", nargs="*", help="hydra overrides for configs/bench_<target>.yaml, e.g. steps=500")
    baseline = sub.add_parser("baseline", help="train a baseline on exported labelled windows")
    baseline.add_argument("name", choices=["act"], help="act: LeRobot's ACT through LeRobot's API (language-blind)")
    baseline.add_argument(
        "overrides", nargs="*", help="hydra overrides for configs/baseline_<name>.yaml, e.g. steps=500"
    )
    show = sub.add_parser("config", help="print a composed config (with overrides applied)")
    show.add_argument("name", help="config name in configs/, e.g. play or bench_sim")
    show.add_argument("overrides", nargs="*")
    return parser


def _is_override(word: str) -> bool:
    """``key=value`` (hydra) rather than words of an instruction."""
    return re.match(r"^[+~]{0,2}[\w.]+=", word) is not None and " " not in word.split("=", 1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "ask":  # overrides after --checkpoint DIR
        args.words += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "play":
            from robolang import play

            path = play.run(load_config("play", args.overrides))
            print(f"video written to {path}")
        elif args.command == "collect":
            from robolang import collect

            collect.run(load_config("collect", args.overrides))
        elif args.command == "teleop":
            from robolang import teleop_record

            teleop_record.run(load_config("teleop", args.overrides))
        elif args.command == "caption":
            from robolang import caption_cmd

            caption_cmd.run(args.path, args.export, tuple(args.splits.split(",")), args.dry_run)
        elif args.command == "dataset":
            from robolang.dataset_tools import verify

            report = verify(args.path, decode_videos=not args.no_decode)
            print(report)
            return 0 if report.ok else 1
        elif args.command == "view":
            from robolang.view import export_episode

            out = args.out or f"episode_{args.episode}.mp4"
            print(f"video written to {export_episode(args.path, args.episode, out, args.upscale)}")
        elif args.command == "train":
            from robolang.policy import train_cmd
            from robolang.policy.train import TrainingError

            try:
                path = train_cmd.run(load_config("train", args.overrides))
                if os.environ.get("RANK", "0") == "0":  # once, also under accelerate launch
                    print(f"policy checkpoint: {path}")
            except TrainingError as exc:
                print(f"robolang train: stopped: {exc}", file=sys.stderr)
                return 2
        elif args.command == "eval":
            from robolang.evaluation import suite

            suite.run(load_config("eval", args.overrides))
        elif args.command == "ask":
            from robolang import ask

            overrides = [w for w in args.words if _is_override(w)]
            said = [w for w in args.words if not _is_override(w)]
            instruction = " ".join(said) if said else None
            answers = ask.run(load_config("ask", overrides), args.checkpoint, instruction, args.interactive)
            return 0 if answers else 2
        elif args.command == "demo":
            from robolang import demo

            demo.run(load_config(args.config_name, args.overrides))
        elif args.command == "bench":
            cfg = load_config(f"bench_{args.target}", args.overrides)
            if args.target == "sim":
                from robolang import bench_sim

                for r in bench_sim.run(cfg):
                    print(
                        f"{r.name}: {r.steps_per_s:.1f} steps/s (physics {r.physics_ms:.2f} ms, render {r.render_ms:.2f} ms)"
                    )
                print(f"figures written to {cfg.out}")
            elif args.target == "caption":
                from robolang import bench_caption

                result = bench_caption.run(cfg)
                print(f"captioned at {result['per_hour_s']:.1f} s per hour of play; figures written to {cfg.bench_out}")
            elif args.target == "data":
                from robolang import bench_data

                for r in bench_data.run(cfg):
                    print(f"{r.name}: {r.per_s:,.0f} samples/s ({r.per_cpu_s:,.0f} per CPU-second)")
                print(f"figures written to {cfg.bench_out}")
            elif args.target == "eval":
                from robolang import bench_eval

                result = bench_eval.run(cfg)
                print(
                    f"{result['steps_per_s']:.0f} steps/s in {result['seconds']:.0f} s; figures written to {cfg.bench_out}"
                )
            elif args.target == "latency":
                from robolang import bench_latency

                bench_latency.run(cfg)
                print(f"figures written to {cfg.bench_out}")
            elif args.target == "agent":
                from robolang import bench_agent

                bench_agent.run(cfg)
                print(f"figures written to {cfg.bench_out}")
            else:
                from robolang import bench_collect

                for r in bench_collect.run(cfg):
                    print(f"{r.name}: {r.fps:.1f} frames/s")
                print(f"figures written to {cfg.bench_out}")
        elif args.command == "baseline":
            from omegaconf import OmegaConf

            from robolang.policy.act_baseline import train_act

            kw = OmegaConf.to_container(load_config(f"baseline_{args.name}", args.overrides))
            print(f"ACT written to {train_act(kw.pop('dataset'), kw.pop('out'), **kw)}")
        elif args.command == "config":
            from omegaconf import OmegaConf

            print(OmegaConf.to_yaml(load_config(args.name, args.overrides)))
    except (ConfigError, ValueError, FileNotFoundError, FileExistsError, PermissionError, DatasetStoreError) as exc:
        print(f"robolang {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
