"""From action chunks to one action per control step, for every loaded policy (ours and ACT).

``select_action`` either executes a chunk open-loop for ``actions_per_chunk`` steps
(``execution="chunk"``) or uses ACT's temporal ensembling (``execution="ensemble"``: a new chunk
every step, the actions predicted for the current step averaged with weights
``exp(-ensemble_decay * age)``, oldest first, as in ACT, Zhao et al. 2023).
"""

from __future__ import annotations

import abc
from collections import deque

import numpy as np

from robolang.policy.language import check_instruction

EXECUTIONS = ("chunk", "ensemble")


class ChunkExecution(abc.ABC):
    """Mixin: ``select_action`` over ``predict(observation, instruction)`` and ``chunk_size``.

    A subclass calls ``set_execution`` in ``__init__``, implements ``predict`` and may override
    ``observe`` (record an observation without predicting: the history of a multi-frame policy)."""

    chunk_size: int

    def set_execution(self, execution: str, actions_per_chunk: int | None, ensemble_decay: float) -> None:
        """How chunks become actions from now on (queued or ensembled actions are dropped)."""
        if execution not in EXECUTIONS:
            raise ValueError(f"execution must be one of {EXECUTIONS}, got {execution!r}")
        self.execution, self.ensemble_decay = execution, ensemble_decay
        self.actions_per_chunk = actions_per_chunk or self.chunk_size
        if not 1 <= self.actions_per_chunk <= self.chunk_size:
            raise ValueError(f"actions_per_chunk must be in [1, {self.chunk_size}]")
        self._reset_actions()

    def _reset_actions(self) -> None:
        self._queue: deque[np.ndarray] = deque()
        self._chunks: deque[list] = deque()  # [chunk (K, A), age] for ensembling
        self._instruction: str | None = None
        self.predictions = 0  # chunks predicted so far (the deploy loop times only those steps)

    @abc.abstractmethod
    def predict(self, observation: dict, instruction: str) -> np.ndarray:
        """One action chunk (chunk_size, A) for this observation and instruction."""

    def observe(self, observation: dict) -> None:
        """An observation the policy sees without predicting (chunk execution between chunks).

        Nothing by default: a single-frame policy keeps no history."""
        return None

    def select_action(self, observation: dict, instruction: str) -> np.ndarray:
        """One action (A,) for this control step, by chunk execution or temporal ensembling."""
        instruction = check_instruction(instruction)
        if instruction != self._instruction:  # a new instruction drops plans made for the old one
            self._queue.clear()
            self._chunks.clear()
            self._instruction = instruction
        if self.execution == "chunk":
            if not self._queue:
                self._queue.extend(self.predict(observation, instruction)[: self.actions_per_chunk])
                self.predictions += 1
            else:
                self.observe(observation)
            return self._queue.popleft()
        self._chunks.append([self.predict(observation, instruction), 0])
        self.predictions += 1
        actions = np.stack([chunk[age] for chunk, age in self._chunks])  # oldest first
        weights = np.exp(-self.ensemble_decay * np.arange(len(actions)))
        action = (weights[:, None] * actions).sum(0) / weights.sum()
        for item in self._chunks:
            item[1] += 1
        while self._chunks and self._chunks[0][1] >= self.chunk_size:
            self._chunks.popleft()
        return action.astype(np.float32)
