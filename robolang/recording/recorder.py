"""Turning robot observations and applied actions into LeRobotDataset frames."""

from __future__ import annotations

import numpy as np

from robolang.features import ACTION_NAMES, CAMERA_NAMES, KEY_ACTION, KEY_SCENE_STATE, KEY_STATE, STATE_NAMES, image_key
from robolang.recording.features import KEY_INTENT, PLAY_TASK


def make_frame(
    observation: dict,
    applied_action: dict[str, float],
    scene_vector: np.ndarray | None = None,
    intent: np.ndarray | None = None,
    task: str = PLAY_TASK,
) -> dict:
    """One dataset frame: the observation at time t and the action applied at time t."""
    frame = {image_key(cam): observation[cam] for cam in CAMERA_NAMES}
    frame[KEY_STATE] = np.asarray([observation[k] for k in STATE_NAMES], dtype=np.float32)
    frame[KEY_ACTION] = np.asarray([applied_action[k] for k in ACTION_NAMES], dtype=np.float32)
    if scene_vector is not None:
        frame[KEY_SCENE_STATE] = np.asarray(scene_vector, dtype=np.float32)
    if intent is not None:
        frame[KEY_INTENT] = np.asarray(intent, dtype=np.int64)
    frame["task"] = task
    return frame
