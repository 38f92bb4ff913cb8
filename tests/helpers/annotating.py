"""A small recorded dataset for `robolang annotate`'s tests, and a server running it in a thread.

Two 70-frame episodes of scripted scene states (the hand comes to the red cube, grips it and
lifts it 8 cm between frames 25 and 35) with real AV1 camera videos, so the oracle captioner
has something to suggest and the page has something to play. They are recorded apart and
merged (as parallel collection does), so both lie in one video file, the second from 7 s on.
"""

from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

from helpers import synthetic
from robolang.testing.scene_states import EE_HOME, PLAY_TABLE, StateScript

FRAMES = 70


def lift_episode() -> StateScript:
    """The hand comes to the red cube, grips it and lifts it 8 cm."""
    s = StateScript(FRAMES)
    s.ee_path(EE_HOME, (0.40, -0.12, 0.02), 5, 20).grip("red_cube", 0.04, 21, FRAMES)
    for i in range(10):
        s.pose("red_cube", (0.40, -0.12, 0.02 + 0.008 * (i + 1)), start=25 + i, stop=26 + i)
    s.touch("red_cube", "table", False, 25, FRAMES).pose("red_cube", (0.40, -0.12, 0.10), start=35)
    return s.ee((0.40, -0.12, 0.10), 35)


def record(folder: Path) -> Path:
    """Record the two episodes as the dataset ``folder / "play"`` (a link to its snapshot)."""
    from robolang.recording.merge import merge_into

    synthetic.record_states(folder / "play", [lift_episode()], PLAY_TABLE)
    synthetic.record_states(folder / "part" / "more", [lift_episode()], PLAY_TABLE)
    merge_into(folder / "play", "test/play", [folder / "part" / "more"])
    shutil.rmtree(folder / "part")
    return folder / "play"


def copy(recorded: Path, into: Path) -> Path:
    """A fresh copy of a recorded dataset (its link and its snapshots folder)."""
    shutil.copytree(recorded.parent, into, symlinks=True)
    return into / recorded.name


@contextmanager
def serving(app):
    """Serve a Flask app on a free loopback port in a thread; yields its address."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
