"""Inference: ``policy.predict(observation, instruction) -> action chunk``, and how chunks are executed.

Observations come straight from a robot (``robot.get_observation()``: camera name -> uint8 HWC,
proprioception name -> float) or in dataset form (``observation.images.<cam>``,
``observation.state``). The instruction is encoded once by the frozen sentence encoder and
cached. ``select_action`` turns chunks into one action per control step, either by executing
a chunk open-loop for ``actions_per_chunk`` steps (``execution="chunk"``) or by ACT's temporal
ensembling (``execution="ensemble"``: a new chunk every step, the actions predicted for the
current step averaged with weights ``exp(-ensemble_decay * age)``, oldest first, as in ACT).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import torch

from robolang.features import KEY_IMAGE_PREFIX, KEY_STATE, STATE_NAMES
from robolang.policy import batch as B
from robolang.policy.checkpoint import PolicyBundle, check_observation_spec, load_checkpoint
from robolang.policy.language import InstructionCache, SentenceEncoder, check_instruction

EXECUTIONS = ("chunk", "ensemble")


class LanguagePolicy:
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
        if execution not in EXECUTIONS:
            raise ValueError(f"execution must be one of {EXECUTIONS}, got {execution!r}")
        self.bundle, self.policy = bundle, bundle.policy.to(device).eval()
        self.config = bundle.policy.config
        if instructions is None:
            instructions = InstructionCache(SentenceEncoder(bundle.encoder, device=device))
        self.instructions = instructions
        self.execution, self.ensemble_decay, self.device = execution, ensemble_decay, device
        self.actions_per_chunk = actions_per_chunk or self.config.chunk_size
        if not 1 <= self.actions_per_chunk <= self.config.chunk_size:
            raise ValueError(f"actions_per_chunk must be in [1, {self.config.chunk_size}]")
        state = bundle.stats[KEY_STATE]
        self._mean = np.asarray(state["mean"], np.float32)
        self._std = np.asarray(state["std"], np.float32)
        self.reset()

    @classmethod
    def load(cls, checkpoint: str | Path, device: str = "cpu", **kw) -> LanguagePolicy:
        return cls(load_checkpoint(checkpoint, device=device), device=device, **kw)

    def check_robot(self, observation_features: dict) -> None:
        """Raise ``CheckpointError`` when the robot's cameras or proprioception differ from training."""
        check_observation_spec(self.bundle.observation_spec, observation_features)

    def reset(self) -> None:
        """Forget the observation history and any queued or ensembled actions (new episode)."""
        self._history: deque[dict] = deque(maxlen=self.config.n_obs_steps)
        self._queue: deque[np.ndarray] = deque()
        self._chunks: deque[list] = deque()  # [chunk (K, A), age] for ensembling
        self._instruction: str | None = None

    # ---- inputs ----------------------------------------------------------------------
    def _frame(self, observation: dict) -> dict:
        frame = {}
        for key in self.config.cameras:
            camera = key.removeprefix(KEY_IMAGE_PREFIX)
            image = observation.get(key, observation.get(camera))
            if image is None:
                raise KeyError(f"the observation has no camera {camera!r}")
            frame[key] = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255  # (3, H, W)
        if KEY_STATE in observation:
            state = np.asarray(observation[KEY_STATE], np.float32)
        else:
            state = np.array([observation[n] for n in STATE_NAMES], np.float32)
        if not np.all(np.isfinite(state)):
            raise ValueError("the observation's proprioception holds NaN or inf")
        frame[B.STATE] = torch.from_numpy((state - self._mean) / self._std)
        return frame

    def _batch(self, instruction: str) -> dict:
        while len(self._history) < self.config.n_obs_steps:  # at the start, repeat the first frame
            self._history.appendleft(self._history[0])
        keys = (*self.config.cameras, B.STATE)
        batch = {k: torch.stack([f[k] for f in self._history])[None].to(self.device) for k in keys}  # (1, T, ...)
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
        self._history.append(self._frame(observation))
        chunk = self.policy(self._batch(instruction))[0].float().cpu().numpy()
        return np.clip(chunk, -1.0, 1.0)

    def select_action(self, observation: dict, instruction: str) -> np.ndarray:
        """One action (5,) for this control step, by chunk execution or temporal ensembling."""
        instruction = check_instruction(instruction)
        if instruction != self._instruction:  # a new instruction drops plans made for the old one
            self._queue.clear()
            self._chunks.clear()
            self._instruction = instruction
        if self.execution == "chunk":
            if not self._queue:
                self._queue.extend(self.predict(observation, instruction)[: self.actions_per_chunk])
            else:
                self._history.append(self._frame(observation))
            return self._queue.popleft()
        self._chunks.append([self.predict(observation, instruction), 0])
        actions = np.stack([chunk[age] for chunk, age in self._chunks])  # oldest first
        weights = np.exp(-self.ensemble_decay * np.arange(len(actions)))
        action = (weights[:, None] * actions).sum(0) / weights.sum()
        for item in self._chunks:
            item[1] += 1
        while self._chunks and self._chunks[0][1] >= self.config.chunk_size:
            self._chunks.popleft()
        return action.astype(np.float32)


def load_policy(checkpoint: str | Path, device: str = "cpu", **kw) -> LanguagePolicy:
    """Load a checkpoint directory (or a training run folder) as a ready-to-act policy."""
    return LanguagePolicy.load(checkpoint, device=device, **kw)
