"""``robolang annotate``: label recorded play by hand in a local web page."""

from __future__ import annotations

import argparse
import getpass

NAME = "annotate"
HELP = "label play by hand in a local web page: mark segments on the video, type or pick instructions"
EXAMPLES = [
    "robolang annotate data/play                 # then open the printed address (127.0.0.1:8765)",
    "robolang annotate data/play --host 0.0.0.0 --annotator ada   # others on the network, with the printed token",
]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="dataset folder")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to serve on (default 127.0.0.1; any other needs the token)"
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free one)")
    parser.add_argument("--annotator", default=None, help="the name stored with your labels (default: your user name)")
    parser.add_argument(
        "--token", default=None, help="the shared token others must give (default off loopback: a new random one)"
    )


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from robolang.annotate.labels import check_annotator
    from robolang.annotate.server import serve
    from robolang.captioning.config import CaptionConfig
    from robolang.config import load_config

    annotator = check_annotator(args.annotator if args.annotator is not None else _user())
    # The suggestions use the thresholds `robolang caption` reads, so they match its labels.
    cfg = CaptionConfig.from_dict(OmegaConf.to_container(load_config("caption/default", [])), strict=True)
    return serve(args.path, annotator, args.host, args.port, args.token, cfg)
