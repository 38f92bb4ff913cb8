"""Synthetic recordings for dataset tests: small random frames in the play dataset format.

``record_states`` writes scripted scene states (``robolang.testing.scene_states.StateScript``)
as a real dataset, so the captioner can run on it end to end without a simulator.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from robolang.features import ACTION_NAMES, CAMERA_NAMES, CONTROL_FPS, KEY_SCENE_STATE, STATE_NAMES
from robolang.recording.features import BEHAVIOURS_FILE, SCENE_FILE, dataset_features
from robolang.recording.recorder import make_frame
from robolang.recording.store import EpisodeStore  # noqa: F401 (re-exported for tests)

SHAPES = {cam: (32, 32, 3) for cam in CAMERA_NAMES}
SCENE_FIELDS = ("a.x", "a.y")
INTENT_FIELDS = ("behaviour",)
FEATURES = dataset_features(SHAPES, SCENE_FIELDS, INTENT_FIELDS)


def frame(rng: np.random.Generator, episode: int, scene_dim: int = len(SCENE_FIELDS)) -> dict:
    obs = {cam: rng.integers(0, 255, SHAPES[cam], dtype=np.uint8) for cam in CAMERA_NAMES}
    obs.update({k: float(v) for k, v in zip(STATE_NAMES, rng.normal(size=len(STATE_NAMES)), strict=True)})
    action = dict(zip(ACTION_NAMES, rng.uniform(-1, 1, len(ACTION_NAMES)).tolist(), strict=True))
    return make_frame(obs, action, rng.normal(size=scene_dim), np.array([episode]))


def store(root, resume=False, scene_fields=SCENE_FIELDS, **kw) -> EpisodeStore:
    features = dataset_features(SHAPES, scene_fields, INTENT_FIELDS)
    return EpisodeStore(root, "test/play", CONTROL_FPS, features, "test_robot", resume=resume, **kw)


def record(st: EpisodeStore, episodes: int, frames: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    scene_dim = st.features["scene_state"]["shape"][0]
    for e in range(episodes):
        st.begin_episode()
        for _ in range(frames):
            st.add_frame(frame(rng, e, scene_dim))
        st.end_episode()


def record_states(root, scripts, description: dict, behaviours: list[list[dict]] | None = None) -> None:
    """One episode per ``StateScript`` (its rows are the scene states), the scene description
    beside them, and, if given, each episode's behaviour records."""
    fields = scripts[0].fields
    st = store(root, scene_fields=fields, sidecars={SCENE_FILE: json.dumps(description)})
    rng = np.random.default_rng(0)
    for e, script in enumerate(scripts):
        st.begin_episode()
        for row in script.array:
            f = frame(rng, e, len(fields))
            f[KEY_SCENE_STATE] = row
            st.add_frame(f)
        st.end_episode({BEHAVIOURS_FILE: behaviours[e]} if behaviours else None)
    st.close()


if __name__ == "__main__":  # the kill test's recorder: record 20-frame episodes until killed
    root = sys.argv[1]
    st = store(root, resume=True)
    rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    episode = 0
    while True:
        st.begin_episode()
        for _ in range(20):
            st.add_frame(frame(rng, episode))
        st.end_episode()
        episode += 1
        print(f"saved {episode}", flush=True)
