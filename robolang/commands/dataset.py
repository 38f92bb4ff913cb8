"""``robolang dataset``: tools for recorded datasets (integrity check)."""

from __future__ import annotations

import argparse

NAME = "dataset"
HELP = "dataset tools"
EXAMPLES = ["robolang dataset verify data/play          # integrity: parquet, frame counts, videos, timestamps"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="check integrity: parquet readable, frame counts agree with metadata and videos, timestamps monotonic",
    )
    verify.add_argument("path", help="dataset folder (as given to out= when recording)")
    verify.add_argument(
        "--no-decode", action="store_true", help="check video durations instead of decoding every frame (faster)"
    )


def run(args: argparse.Namespace) -> int:
    from robolang.dataset_tools import verify

    report = verify(args.path, decode_videos=not args.no_decode)
    print(report)
    return 0 if report.ok else 1
