"""Grounding: a person's words restated in the words the policy was trained on.

The policy learns the grammar's training phrasings; people say other things ("could you raise
the big green block up into the air"). The task matcher (``task_match``, built to judge
``robolang ask``) already reads such sentences as a (task, objects) of the scene, or leaves
them unjudged. Grounding tells the policy a training phrasing of what the matcher judged
(``restate``: the grammar's ``train`` split, objects named by what they are) and passes an
unjudged sentence through as it was said, so a matcher that cannot tell costs nothing against
the policy alone, and a wrong judgement (the matcher's <= 2%) is a wrong task.

Grounding never sees the task the evaluation asked for: only the sentence and the scene.
The matcher's table holds phrasings of all three grammar splits and its word rules know the
held-out synonyms, so through it the held-out splits are not held out: ``robolang eval``
refuses ``ground=true`` with them (the outside set and people's own words are what it is for).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from robolang.policy.data import grammar_pool
from robolang.task_match import TaskMatch, TaskMatcher

POOL = 32  # the training pool's size (train.yaml data.phrasings_per_task): the restatement is one of them


def restate(match: TaskMatch, scene: dict, said: str | None = None, instructions=None) -> str | None:
    """A phrasing of the judged (task, objects) from a policy's training pool (the grammar's
    train words, objects named by what they are; ``data.grammar_pool``): the one closest in
    meaning to what was ``said`` (pooled sentence embeddings of ``instructions``, an
    ``InstructionCache``), else the shortest. None when the match is unjudged or the grammar
    cannot phrase it."""
    if not match.judged:
        return None
    pool = grammar_pool(match.task_id, ",".join(match.args), json.dumps(scene), POOL)
    if not pool:
        return None
    if said is None or instructions is None:
        return min(pool, key=len)
    vectors = instructions.encode([said, *pool]).pooled.numpy()  # (1 + P, D) unit length
    return pool[int(np.argmax(vectors[1:] @ vectors[0]))]


class GroundedController:
    """Any controller, told the restated sentence instead of the one said (when judged).

    ``matcher_for(scene)`` gives the task matcher of a scene description (built once per
    scene); the robot comes from ``begin_task``, which ``rollout.run_instruction`` calls before
    every instruction (the task it names is forwarded to the inner controller, never read).
    ``told`` maps every sentence heard so far to what the policy was told (None: as said)."""

    def __init__(self, inner, matcher_for: Callable[[dict], TaskMatcher]):
        self.inner, self.matcher_for = inner, matcher_for
        self.needs_observation = getattr(inner, "needs_observation", True)
        self.told: dict[str, str | None] = {}
        self._scene: dict | None = None
        self._scene_key = ""

    @property
    def policy(self):
        return self.inner.policy

    @property
    def predictions(self) -> int | None:
        return getattr(self.inner, "predictions", None)

    def reset(self) -> None:
        self.inner.reset()

    def begin_task(self, robot, task_id, args, seed) -> None:
        scene = robot.scene_description()
        key = json.dumps(scene, sort_keys=True)
        if key != self._scene_key:
            self._scene, self._scene_key, self.told = scene, key, {}
        if hasattr(self.inner, "begin_task"):
            self.inner.begin_task(robot, task_id, args, seed)

    def restated(self, instruction: str) -> str | None:
        """What the policy is told for ``instruction`` in the current scene (None: the words as said)."""
        if self._scene is None:
            raise RuntimeError("GroundedController: begin_task first (it reads the scene from the robot)")
        if instruction not in self.told:
            matcher = self.matcher_for(self._scene)
            match = matcher.match(instruction)
            self.told[instruction] = restate(match, self._scene, instruction, matcher.instructions)
        return self.told[instruction]

    def act(self, observation: dict, instruction: str) -> np.ndarray:
        return self.inner.act(observation, self.restated(instruction) or instruction)


class MatcherPool:
    """One task matcher per scene description, sharing one instruction cache (for grounding in
    ``robolang eval``: a worker builds each world's matcher once; its table is cached on disk)."""

    def __init__(self, instructions, cache_dir=None, tasks=None):
        self.instructions, self.cache_dir, self.tasks = instructions, cache_dir, tasks
        self._matchers: dict[str, TaskMatcher] = {}

    @classmethod
    def on_default_encoder(cls, cache_dir=None, tasks=None) -> MatcherPool:
        """Matchers on the default sentence encoder (the one the matcher's thresholds were chosen with)."""
        from robolang.policy.language import InstructionCache, SentenceEncoder

        return cls(InstructionCache(SentenceEncoder()), cache_dir, list(tasks) if tasks else None)

    def __call__(self, scene: dict) -> TaskMatcher:
        key = json.dumps(scene, sort_keys=True)
        if key not in self._matchers:
            self._matchers[key] = TaskMatcher(scene, self.instructions, tasks=self.tasks, cache_dir=self.cache_dir)
        return self._matchers[key]
