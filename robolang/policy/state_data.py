"""Training batches for the privileged state policy: the recorded scene state, no video at all.

``SceneStateDataset`` is ``PolicyDataset`` (same labels and sources, segments, train/val time
blocks, task balance, phrasing pools, windows and action chunks, drawn from the same rng in the
same order) with the camera frames replaced by the simulator's scene state recorded beside the dataset
(``scene_state`` column, names in ``meta/info.json``; ``batch.SCENE_STATE``), as the
observation saw it: the row before the frame's own (``data.scene_seen_at``). With
``scene_noise_m`` > 0 (``data.scene_noise_m``) training batches read every object's position
with Gaussian noise of that standard deviation per axis: the error of a camera estimate, which
the policy composed with the estimator (``robolang estimator compose``) will read in place of the truth. It reads only the
parquet columns it needs, so it never builds the frame cache nor decodes a video.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from robolang.captioning import tasks as tasks_registry
from robolang.features import KEY_ACTION, KEY_SCENE_STATE, KEY_STATE
from robolang.policy import batch as B
from robolang.policy.data import (
    DataPipelineError,
    Draw,
    NormStats,
    PolicyDataset,
    load_segments,
    scene_seen_at,
    split_segments,
    train_labels,
)
from robolang.policy.frame_cache import DatasetMissingError, read_columns
from robolang.policy.grasp_turn import grasp_runs, grasp_turn_of_frames
from robolang.policy.scene_layout import SceneLayout

if TYPE_CHECKING:
    from robolang.policy.language import InstructionCache


def scene_fields_of(root: str | Path) -> tuple[str, ...]:
    """The names of a dataset's recorded scene-state entries; a one-line ``DataPipelineError``
    when it has none (a real-robot recording: no simulator, no privileged state)."""
    root = Path(root)
    info_path = root / "meta" / "info.json"
    if not info_path.exists():
        raise DatasetMissingError(f"no dataset at {root}; record one with `robolang collect out={root}`")
    feature = json.loads(info_path.read_text())["features"].get(KEY_SCENE_STATE)
    if not feature or not feature.get("names"):
        raise DataPipelineError(
            f"{root} has no recorded scene state (no {KEY_SCENE_STATE!r} column in meta/info.json: a real-robot "
            "recording?), which the privileged state policy reads; train it on simulated play, or choose another policy"
        )
    return tuple(feature["names"])


@dataclass(frozen=True)
class SceneNormStats(NormStats):
    """``NormStats`` plus per-entry mean and std of the scene state (the policy scales only the
    positions and fixture joints with them)."""

    scene_mean: tuple[float, ...] = ()
    scene_std: tuple[float, ...] = ()

    # Floor on a scene entry's std: an object that never moved in the data must not turn a 1 cm
    # move at evaluation into 10 standard deviations (1 cm, the estimator's target accuracy).
    SCENE_STD_FLOOR = 0.01

    @classmethod
    def from_arrays(cls, states: np.ndarray, scene: np.ndarray) -> SceneNormStats:
        base = NormStats.from_states(states)
        scene = np.asarray(scene, np.float64)  # (N, D_scene)
        std = np.maximum(scene.std(0), cls.SCENE_STD_FLOOR)
        return cls(base.state_mean, base.state_std, tuple(map(float, scene.mean(0))), tuple(map(float, std)))

    def checkpoint(self) -> dict[str, dict[str, list[float]]]:
        scene = {"mean": list(self.scene_mean), "std": list(self.scene_std)}
        return {**super().checkpoint(), B.SCENE_STATE: scene}


@dataclass
class StateFrames:
    """What ``PolicyDataset`` reads of its frame cache, without images: (N, ...) arrays by global index."""

    state: np.ndarray  # (N, STATE_DIM) float32
    action: np.ndarray  # (N, ACTION_DIM) float32
    scene: np.ndarray  # (N, D_scene) float32
    episode_start: dict[int, int]
    episode_length: dict[int, int]

    @classmethod
    def read(cls, root: Path) -> StateFrames:
        info = json.loads((root / "meta" / "info.json").read_text())
        vectors = {KEY_STATE: "state", KEY_ACTION: "action", KEY_SCENE_STATE: "scene"}
        columns = read_columns(root, info, vectors, ("episode_index",))
        episodes, starts, counts = np.unique(columns["episode_index"], return_index=True, return_counts=True)
        return cls(
            columns["state"],
            columns["action"],
            columns["scene"],
            {int(e): int(s) for e, s in zip(episodes, starts, strict=True)},
            {int(e): int(c) for e, c in zip(episodes, counts, strict=True)},
        )


class SceneStateDataset(PolicyDataset):
    """Batches for the privileged state policy (see the module notes): ``PolicyDataset``'s
    sampling, with ``batch.SCENE_STATE`` (B, T, D_scene) instead of camera frames.

    Takes ``PolicyDataset``'s arguments; those about images (``augment``, ``cache_dir``,
    ``threads``, ``prefault``, ``progress``) are accepted and unused, ``target_offsets`` is refused
    (the target head supervises vision; this policy reads the target's position directly)."""

    def __init__(
        self,
        root: str | Path,
        instructions: InstructionCache,
        n_obs_steps: int = 1,
        chunk_size: int = 10,
        subset: str = "train",
        val_fraction: float = 0.1,
        seed: int = 0,
        max_lang_tokens: int = 32,
        phrasings_per_task: int = 32,
        task_balance: float = 0.5,
        tasks: tuple[str, ...] | None = None,
        label_sources: tuple[str, ...] | None = None,
        val_block_frames: int = 600,
        stats: SceneNormStats | None = None,
        target_offsets: bool = False,
        skip_still: bool = False,
        scene_noise_m: float = 0.0,
        positional_phrasings: int = 0,
        **unused_image_options,
    ):
        if subset not in ("train", "val"):
            raise ValueError(f"subset must be 'train' or 'val', got {subset!r}")
        if n_obs_steps < 1 or chunk_size < 1:
            raise ValueError(f"n_obs_steps and chunk_size must be >= 1, got {n_obs_steps}, {chunk_size}")
        if target_offsets:
            raise ValueError("the privileged state policy takes no target head (policy.aux); it reads positions")
        if not 0.0 <= scene_noise_m <= 0.1:
            raise ValueError(f"scene_noise_m={scene_noise_m!r} must be in [0, 0.1] (metres of position noise)")
        self.root = Path(root)
        self.scene_fields = scene_fields_of(self.root)
        self.n_obs_steps, self.chunk_size, self.max_lang_tokens = n_obs_steps, chunk_size, max_lang_tokens
        self.augment = None
        self.labels = train_labels(self.root, tasks, label_sources)  # the same choice as PolicyDataset's
        self.frames = StateFrames.read(self.root)
        self.stats = stats or SceneNormStats.from_arrays(self.frames.state, self.frames.scene)
        segments = load_segments(self.root, self.frames.episode_length, labels=self.labels)
        split = split_segments(segments, self.frames.episode_length, val_fraction, seed, val_block_frames)
        self.segments = segments[split == subset].reset_index(drop=True)
        if self.segments.empty:
            raise DataPipelineError(f"{self.root}: no {subset} segments (val_fraction={val_fraction})")
        self._index_segments(task_balance, skip_still)
        self._encode_pools(instructions, phrasings_per_task, positional_phrasings)
        self._scene = self._target_columns = None
        self._grasp_runs = grasp_runs(self.frames.state, self._episode_first)  # (N,) for B.GRASP_TURN
        layout = SceneLayout.from_fields(self.scene_fields)
        self._pointer = pointer_labels(self.segments["args"], layout.objects)
        # Training only: Gaussian noise on every object's position (an estimator's error, not the simulator's truth)
        self.scene_noise_m = scene_noise_m if subset == "train" else 0.0
        self._noisy_columns = layout.pose[:, :3].reshape(-1)  # (O * 3,) object x, y, z
        self.task_ids = tuple(tasks_registry.TASK_IDS)  # the task head's classes, the registry's order now
        index = {t: i for i, t in enumerate(self.task_ids)}
        self._task = np.array([index.get(t, -1) for t in self.segments["task_id"]], np.int64)  # (S,) -1: unknown

    def _scene_rows(self, info: dict) -> np.ndarray:
        return self.frames.scene  # already read

    def collate(self, d: Draw) -> dict[str, torch.Tensor]:
        """The batch of a draw: proprioception and scene state raw (the policy normalises them)."""
        # as the observation saw it: the row before (the recorder stores the state after the action)
        scene = self.frames.scene[scene_seen_at(d.obs_index, self._episode_first)]  # (B, T, D_scene), a copy
        start = self.frames.scene[scene_seen_at(self._start[d.segment], self._episode_first)]  # (B, D_scene)
        if self.scene_noise_m:  # one offset per sample and object, held over its observation steps and the start
            rng = np.random.default_rng(d.augment_seed)
            offsets = rng.normal(0.0, self.scene_noise_m, (scene.shape[0], 1, len(self._noisy_columns)))
            scene[..., self._noisy_columns] += offsets.astype(scene.dtype)
            start[:, self._noisy_columns] += offsets[:, 0].astype(start.dtype)
        return {
            B.STATE: torch.from_numpy(self.frames.state[d.obs_index]),  # (B, T, STATE_DIM)
            B.SCENE_STATE: torch.from_numpy(scene),
            B.SCENE_START: torch.from_numpy(start),  # the scene when the segment's instruction began
            B.GRASP_TURN: torch.from_numpy(  # (B, T, 3) the hand's turn since it closed on something
                grasp_turn_of_frames(self.frames.state, self._grasp_runs, d.obs_index, self._start[d.segment][:, None])
            ),
            B.POINTER: torch.from_numpy(self._pointer[d.segment]),  # (B, 2)
            B.TASK: torch.from_numpy(self._task[d.segment]),  # (B,)
            **self.language_and_actions(d),
        }


def pointer_labels(args, objects: tuple[str, ...]) -> np.ndarray:
    """(S, 2) int64: each segment's first and second argument as an index into ``objects``; an
    argument that is missing, or that names no object (a fixture), is ``len(objects)``: none."""
    index = {name: i for i, name in enumerate(objects)}
    labels = np.full((len(args), 2), len(objects), np.int64)
    for row, text in enumerate(args):
        for k, name in enumerate(text.split(",")[:2] if text else ()):
            labels[row, k] = index.get(name, len(objects))
    return labels
