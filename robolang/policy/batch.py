"""The training batch contract, written once with shapes (STYLE.md 5).

The data pipeline (``robolang.policy.data``) produces dicts with these keys; every policy's
``compute_loss(batch)`` and ``forward`` consume them. ``B`` is the batch size, ``T`` is
``n_obs_steps``, ``K`` is ``chunk_size``, ``L`` the instruction's token count, ``D_lang``
the sentence encoder's width (384 for all-MiniLM-L6-v2).
"""

from __future__ import annotations

from robolang.features import ACTION_DIM, CAMERA_NAMES, KEY_SCENE_STATE, STATE_DIM, image_key

# float32 in [0, 1], (B, T, 3, H, W), one per camera, after augmentation.
IMAGE_KEYS: tuple[str, ...] = tuple(image_key(c) for c in CAMERA_NAMES)
# float32, (B, T, STATE_DIM), raw proprioception; each policy normalises it with the training
# data's statistics, held in its own buffers (``protocol.StateNormalizer``).
STATE = "observation.state"
# float32, (B, L, D_lang): the frozen encoder's token outputs for the instruction.
LANG_TOKENS = "language.tokens"
# bool, (B, L): True where a token is padding (ignored by attention).
LANG_PAD = "language.is_pad"
# float32, (B, D_lang): the pooled (mean, L2-normalized) sentence embedding.
LANG_POOLED = "language.pooled"
# float32, (B, K, ACTION_DIM): the future action chunk, already in [-1, 1] (actions are
# normalized by the robot contract, so they need no statistics).
ACTION = "action"
# bool, (B, K): True where the chunk runs past the segment's end (masked out of the loss).
ACTION_PAD = "action_is_pad"
# Optional, training only (policies with ``policy/aux=target``; the data pipeline's
# ``target_offsets=True``): float32 (B, 3), where the instruction's first object is relative to
# the gripper at the current frame, (object - EE) xyz in units of TARGET_SCALE_M, read from the
# recorded privileged scene state; and bool (B,), False where the task names no object (fixtures).
TARGET = "target.offset"
TARGET_VALID = "target.is_valid"
TARGET_SCALE_M = 0.1
# Privileged policies only (``robolang.policy.state_policy``; never deployable): float32
# (B, T, D_scene), the simulator's recorded scene state, raw, its entries named by the policy's
# ``scene_fields``. The dataset's own key, outside ``observation.*``: a robot never gives it, and
# evaluation adds it only through its ``PrivilegedController``.
SCENE_STATE = KEY_SCENE_STATE
# Privileged policies with ``start_scene`` only: float32 (B, D_scene), the scene state when the
# instruction began (the segment's first frame as its observation saw it; at inference the first
# observation since the instruction was given). Progress that is relative to the start ("rotate it
# 30 degrees", "push it left") is not in the current state alone.
SCENE_START = "scene_state.start"
# Policies with ``grasp_turn`` only: float32 (B, T, 3), per observation step whether the fingers
# hold something and sin/cos of the hand's turn since they closed (since the instruction began if
# they were closed then): proprioception only (``robolang.policy.grasp_turn``), deployable.
GRASP_TURN = "observation.grasp_turn"
# Privileged training only (``SceneStateDataset``): int64 (B, 2), which of the policy's objects
# (``SceneLayout.objects`` order) the segment's first and second arguments name, ``O`` (the
# number of objects) where the task names fewer. It supervises the state policy's pointer.
POINTER = "target.objects"
# Privileged training only (``SceneStateDataset``): int64 (B,), the segment's task as an index
# into ``captioning.tasks.TASK_IDS`` (the registry's order). It supervises the state policy's task head.
TASK = "target.task"

__all__ = [
    "ACTION",
    "ACTION_DIM",
    "ACTION_PAD",
    "GRASP_TURN",
    "IMAGE_KEYS",
    "LANG_POOLED",
    "LANG_PAD",
    "LANG_TOKENS",
    "POINTER",
    "SCENE_START",
    "SCENE_STATE",
    "STATE",
    "STATE_DIM",
    "TARGET",
    "TASK",
    "TARGET_SCALE_M",
    "TARGET_VALID",
]
