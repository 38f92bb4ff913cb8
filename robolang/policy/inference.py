"""Inference: ``policy.predict(observation, instruction) -> action chunk``, and how chunks are executed.

Observations come straight from a robot (``robot.get_observation()``: camera name -> uint8 HWC,
proprioception name -> float) or in dataset form (``observation.images.<cam>``,
``observation.state``). The instruction is encoded once by the frozen sentence encoder and
cached. ``select_action`` turns chunks into one action per control step
(``robolang.policy.execution``).

``load_policy`` is the one loading API (also ``robolang.policy.load_policy``): any checkpoint of
a policy on the plugin surface, or a LeRobot ACT folder, behind the same members.

A **privileged** policy (``privileged`` True: it reads the simulator's scene state,
``batch.SCENE_STATE``) needs that state in every observation; a robot never gives it, so on the
deployable path it fails at its first step (``PrivilegedObservationError``). Only evaluation's
``PrivilegedController`` adds it, after ``check_scene`` has compared the entry names.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import torch

from robolang.errors import RobolangError
from robolang.features import KEY_IMAGE_PREFIX, KEY_STATE, STATE_NAMES
from robolang.policy import batch as B
from robolang.policy.checkpoint import CheckpointError, PolicyBundle, check_observation_spec, load_checkpoint
from robolang.policy.execution import ChunkExecution
from robolang.policy.grasp_turn import GraspTurn
from robolang.policy.language import InstructionCache, SentenceEncoder, check_instruction
from robolang.policy.scene_layout import field_difference

PRIVILEGED_KEYS = (B.SCENE_STATE,)  # what a policy may read that no robot gives: simulator state


def proprioception(observation: dict) -> np.ndarray:
    """The (STATE_DIM,) proprioception of an observation, as a robot or a dataset gives it; NaN refused."""
    if KEY_STATE in observation:
        state = np.asarray(observation[KEY_STATE], np.float32)
    else:
        state = np.array([observation[n] for n in STATE_NAMES], np.float32)
    if not np.all(np.isfinite(state)):
        raise ValueError("the observation's proprioception holds NaN or inf")
    return state


class PrivilegedObservationError(RobolangError, KeyError):
    """A privileged policy given an observation without the simulator state it reads (the deployable path)."""

    def __str__(self) -> str:
        return str(self.args[0])


class LanguagePolicy(ChunkExecution):
    """A trained policy ready to act: checkpoint + frozen encoder + observation history."""

    def __init__(
        self,
        bundle: PolicyBundle,
        instructions: InstructionCache | None = None,
        execution: str = "chunk",
        actions_per_chunk: int | None = None,
        ensemble_decay: float = 0.01,  # ACT's default m
        device: str = "cpu",
    ):
        self.bundle, self.policy = bundle, bundle.policy.to(device).eval()
        self.config = bundle.policy.config
        if instructions is None:
            instructions = InstructionCache(SentenceEncoder(bundle.encoder, device=device))
        self.instructions = instructions
        self.device = device
        self._cameras = tuple(k for k in self.policy.observation_features if k.startswith(KEY_IMAGE_PREFIX))
        self._privileged = tuple(k for k in self.policy.observation_features if k in PRIVILEGED_KEYS)
        self._reads_grasp = bool(getattr(self.config, "grasp_turn", False))
        self.set_execution(execution, actions_per_chunk, ensemble_decay)
        self.reset()

    @classmethod
    def load(cls, checkpoint: str | Path, device: str = "cpu", **kw) -> LanguagePolicy:
        return cls(load_checkpoint(checkpoint, device=device), device=device, **kw)

    # ---- what it is (the loading API, robolang.policy.load_policy) ------------------------------
    language_blind = False

    @property
    def privileged(self) -> bool:
        """True when it reads simulator state no robot gives (never deployable)."""
        return bool(self._privileged)

    @property
    def scene_fields(self) -> tuple[str, ...]:
        """The scene-state entry names a privileged policy reads, in order (empty otherwise)."""
        return tuple(getattr(self.config, "scene_fields", ()))

    @property
    def name(self) -> str:
        return self.bundle.policy_type

    @property
    def n_obs_steps(self) -> int:
        return self.policy.n_obs_steps

    @property
    def chunk_size(self) -> int:
        return self.policy.chunk_size

    @property
    def step(self) -> int:
        return self.bundle.step

    @property
    def path(self) -> Path | None:
        return self.bundle.path

    @property
    def image_shapes(self) -> dict[str, tuple[int, ...]]:
        """Camera name -> (H, W, C) the policy was trained on (size simulated cameras with it)."""
        return {k.removeprefix(KEY_IMAGE_PREFIX): shape for k, shape in self._images().items()}

    def _images(self) -> dict[str, tuple[int, ...]]:
        """The checkpoint's camera shapes (H, W, C), of the cameras the policy reads."""
        spec = self.bundle.observation_spec["images"]
        return {k: tuple(v) for k, v in spec.items() if k in self._cameras}

    @property
    def observation_features(self) -> dict[str, tuple[int, ...]]:
        """What it reads, as the robot gives it: images (H, W, C) and the proprioception vector (and
        for a privileged policy the scene-state vector, which only a simulator gives)."""
        features = self.policy.observation_features
        return {**self._images(), KEY_STATE: features[B.STATE], **{k: features[k] for k in self._privileged}}

    @property
    def action_features(self) -> dict[str, tuple[int, ...]]:
        return dict(self.policy.action_features)

    def check_robot(self, observation_features: dict) -> None:
        """Raise ``CheckpointError`` when the robot's cameras or proprioception differ from training."""
        check_observation_spec(self.bundle.observation_spec, observation_features)

    def check_scene(self, scene_fields) -> None:
        """Raise ``CheckpointError`` when a simulator's scene-state entries are not the ones this
        privileged policy was trained on, in the same order; naming the difference."""
        difference = field_difference(self.scene_fields, tuple(scene_fields))
        if difference:
            raise CheckpointError(
                f"{self.name} policy {self.path}: the simulator's scene state differs from the one it was trained "
                f"on: {difference}"
            )

    def reset(self) -> None:
        """Forget the observation history and any queued or ensembled actions (new episode)."""
        self._history: deque[dict] = deque(maxlen=self.n_obs_steps)
        self._start: dict | None = None  # the first frame since the current instruction was given
        self._said: str | None = None
        self._grasp = GraspTurn()  # the hand's turn since it closed on something, step by step
        self._reset_actions()

    def observe(self, observation: dict) -> None:
        self._history.append(self._frame(observation))

    def track(self, observation: dict) -> None:
        """A control step seen without predicting and without keeping the frame (a wrapper that builds
        this policy's observations only when it predicts): what is followed step by step is updated."""
        self._grasp.update(proprioception(observation))

    # ---- inputs ----------------------------------------------------------------------
    def _frame(self, observation: dict) -> dict:
        frame = {}
        for key in self._cameras:
            camera = key.removeprefix(KEY_IMAGE_PREFIX)
            image = observation.get(key, observation.get(camera))
            if image is None:
                raise KeyError(f"the observation has no camera {camera!r}")
            frame[key] = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255  # (3, H, W)
        state = proprioception(observation)
        frame[B.STATE] = torch.from_numpy(state)  # raw: the policy normalises it
        frame[B.GRASP_TURN] = torch.from_numpy(self._grasp.update(state))  # every step, in order
        for key in self._privileged:
            if key not in observation:
                raise PrivilegedObservationError(
                    f"the {self.name} policy is privileged: it reads {key!r} (the simulator's scene state), which "
                    "a robot's observation never has; it cannot be deployed, only evaluated "
                    "(robolang eval runs it through its PrivilegedController)"
                )
            frame[key] = torch.as_tensor(np.asarray(observation[key], np.float32))  # (D,), raw
        return frame

    def _batch(self, instruction: str) -> dict:
        while len(self._history) < self.n_obs_steps:  # at the start, repeat the first frame
            self._history.appendleft(self._history[0])
        keys = (*self._cameras, B.STATE, *self._privileged, *((B.GRASP_TURN,) if self._reads_grasp else ()))
        batch = {k: torch.stack([f[k] for f in self._history])[None].to(self.device) for k in keys}  # (1, T, ...)
        if getattr(self.config, "start_scene", False):  # the scene when this instruction began
            batch[B.SCENE_START] = self._start[B.SCENE_STATE][None].to(self.device)  # (1, D)
        lang = self.instructions.encode([instruction])
        batch[B.LANG_TOKENS] = lang.tokens.to(self.device)
        batch[B.LANG_PAD] = lang.is_pad.to(self.device)
        batch[B.LANG_POOLED] = lang.pooled.to(self.device)
        return batch

    # ---- outputs ---------------------------------------------------------------------
    @torch.inference_mode()
    def predict(self, observation: dict, instruction: str) -> np.ndarray:
        """The action chunk (chunk_size, 5) in [-1, 1] for this observation (added to the history)."""
        instruction = check_instruction(instruction)
        new = instruction != self._said  # a new instruction starts here (also without a reset between)
        if new:
            self._grasp.reset()  # a grasp made before it counts from its first frame (as in training)
        frame = self._frame(observation)
        if new:
            self._start, self._said = frame, instruction
        self._history.append(frame)
        chunk = self.policy.predict(self._batch(instruction))[0].float().cpu().numpy()
        return np.clip(chunk, -1.0, 1.0)


def load_policy(checkpoint: str | Path, device: str = "cpu", **kw):
    """Load a checkpoint folder, a training run folder (its ``checkpoints/last``) or a LeRobot ACT
    folder (``robolang baseline act``) as a ready-to-act policy: ``predict(observation,
    instruction)``, ``select_action``, ``reset``, ``check_robot``, ``name``, ``n_obs_steps``,
    ``chunk_size``, ``observation_features``, ``action_features``, ``image_shapes``.

    Keywords: ``execution``, ``actions_per_chunk``, ``ensemble_decay``, ``instructions`` (ours).
    Raises ``CheckpointError`` (a ``RobolangError``) naming the file when it cannot be loaded."""
    from robolang.policy.act_baseline import ActLanguagePolicy, is_act_checkpoint
    from robolang.policy.estimated_state import EstimatedStatePolicy, is_estimated_state

    if is_estimated_state(checkpoint):  # an estimator + state policy folder (robolang estimator compose)
        return EstimatedStatePolicy.load(checkpoint, device=device, **kw)
    if is_act_checkpoint(checkpoint):
        kw.pop("instructions", None)  # language-blind: no encoder
        return ActLanguagePolicy.load(checkpoint, device=device, **kw)
    return LanguagePolicy.load(checkpoint, device=device, **kw)
