"""LeRobotDataset feature specs for robolang recordings (DESIGN.md "Dataset")."""

from __future__ import annotations

from collections.abc import Sequence

from robolang.features import ACTION_NAMES, CAMERA_NAMES, KEY_ACTION, KEY_SCENE_STATE, KEY_STATE, STATE_NAMES, image_key

KEY_INTENT = "debug.intent"  # the scripted agent's intent: evaluation of the captioner only, never a label
PLAY_TASK = "play"  # unlabelled play frames carry this task
INTENTS_FILE = "robolang_intents.json"  # meta/ sidecar: what the debug.intent indices mean
BEHAVIOURS_FILE = "robolang_behaviours.jsonl"  # meta/ sidecar: the agent's finished behaviours, one per line
SCENE_FILE = "robolang_scene.json"  # meta/ sidecar: objects (colour, shape, size) and fixtures of the world


def dataset_features(
    camera_shapes: dict[str, tuple[int, int, int]],
    scene_fields: Sequence[str] | None = None,
    intent_fields: Sequence[str] | None = None,
) -> dict[str, dict]:
    """Features of a play dataset: both cameras as video, proprioception, action, and for sim
    data the privileged scene state (outside ``observation.*``) and the agent's intent."""
    features: dict[str, dict] = {}
    for cam in CAMERA_NAMES:
        features[image_key(cam)] = {
            "dtype": "video",
            "shape": tuple(camera_shapes[cam]),
            "names": ["height", "width", "channels"],
        }
    features[KEY_STATE] = {"dtype": "float32", "shape": (len(STATE_NAMES),), "names": list(STATE_NAMES)}
    features[KEY_ACTION] = {"dtype": "float32", "shape": (len(ACTION_NAMES),), "names": list(ACTION_NAMES)}
    if scene_fields:
        features[KEY_SCENE_STATE] = {"dtype": "float32", "shape": (len(scene_fields),), "names": list(scene_fields)}
    if intent_fields:
        features[KEY_INTENT] = {"dtype": "int64", "shape": (len(intent_fields),), "names": list(intent_fields)}
    return features
