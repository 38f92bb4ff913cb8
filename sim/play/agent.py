"""``ScriptedPlayAgent``: plays on the play table forever without a task list.

It chains randomly chosen feasible behaviours (``sim.play.choices``) over all objects and
fixtures, each played out as a generator of actions (``sim.play.behaviours``). It reads the
privileged scene state, so it is a sim-only agent. What it meant to do is logged as intents
(a debug column, never labels); each finished behaviour is judged by an independent check on
the scene states at its start and end (``sim.play.checks``), not by the agent's belief.
"""

from __future__ import annotations

import math

import numpy as np

from robolang.robot import EEDeltaLimits
from sim.play import checks
from sim.play.behaviours import PLANS, expected_tasks, implied_tasks
from sim.play.choices import choose, feasible_choices
from sim.play.expert_plans import place_beside
from sim.play.motion import Abort, Motion
from sim.play.skill import skill_profile
from sim.play.vocab import BehaviourRecord, Choice, Intent

MAX_BEHAVIOUR_STEPS = 600  # 60 s at 10 Hz: longer than any behaviour needs; then give up
# After a behaviour fails, leave that exact behaviour alone for a while (30 s) and play with
# something else, as a person would: a world where it keeps failing is not re-tried forever.
FAILURE_MEMORY_STEPS = 300
PLAY_PLANS = {**PLANS, "place_beside": place_beside}  # the one plan play shares with the task expert


class ScriptedPlayAgent:
    """Scripted play on a ``sim.scene.PlayTableScene``.

    ``act()`` returns the next normalized action (5,) float32 in [-1, 1], (dx, dy, dz, dyaw,
    gripper) in the robot contract's convention, to be given to ``robot.send_action`` or to
    ``scene.step(limits.scale(action))``. Call it once per control step, forever.

    ``skill``: a named level of ``sim.play.skill.SKILL_LEVELS`` or a number in [0, 1]
    (1 = expert). ``seed`` seeds every random choice: the same seed on the same scene gives the
    same actions.
    """

    def __init__(self, scene, skill: str | float = "expert", seed: int = 0, limits: EEDeltaLimits = EEDeltaLimits()):
        self.scene = scene
        self.profile = skill_profile(skill)
        self.rng = np.random.default_rng(seed)
        self.motion = Motion(scene, limits, self.profile, self.rng)
        self.history: list[BehaviourRecord] = []
        self.steps = 0  # act() calls so far
        self._plan = None
        self._choice: Choice | None = None
        self._previous: Choice | None = None
        self._start_state: dict | None = None
        self._start_step = 0
        self._give_up_after = math.inf
        self._failed_at: dict[Choice, int] = {}

    # ---- intents ----------------------------------------------------------------------------
    @property
    def intent(self) -> Intent:
        """Why the action ``act()`` just returned was chosen (``Intent()`` before the first)."""
        if self._choice is None:
            return Intent()
        c = self._choice
        return Intent(c.behaviour, c.target, c.arg, self.motion.phase, len(self.history), self.motion.retry)

    def intent_code(self) -> int:
        """``intent`` packed into one stable integer (``sim.play.vocab.decode_intent``)."""
        return self.intent.code

    # ---- acting -----------------------------------------------------------------------------
    def act(self) -> np.ndarray:
        """The next normalized action, (5,) float32 in [-1, 1]."""
        state = self.scene.scene_state()
        self.motion.state = state
        action = None
        for _ in range(8):  # a plan that ends before acting hands over to the next one
            if self._plan is None:
                self._start(state)
            try:
                if self.steps - self._start_step >= min(self._give_up_after, MAX_BEHAVIOUR_STEPS):
                    raise Abort("gave up" if self._give_up_after < MAX_BEHAVIOUR_STEPS else "took too long")
                action = next(self._plan)
                break
            except StopIteration:
                self._finish(state, "")
            except Abort as stop:
                self._finish(state, str(stop) or "aborted")
        if action is None:
            action = self.motion.action()
        self.steps += 1
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    def _start(self, state: dict) -> None:
        choices = feasible_choices(state)
        fresh = [c for c in choices if self.steps - self._failed_at.get(c, -math.inf) > FAILURE_MEMORY_STEPS]
        choice = choose(fresh or choices, self.rng, self._previous)
        self._choice, self._start_state, self._start_step = choice, state, self.steps
        self.motion.phase, self.motion.retry = "approach", 0
        self.motion.speed = float(self.rng.uniform(*self.profile.speed))
        give_up = self.rng.random() < self.profile.give_up_probability
        self._give_up_after = int(self.rng.integers(5, 60)) if give_up else math.inf
        self._plan = PLAY_PLANS[choice.behaviour](self.motion, choice)

    def _finish(self, state: dict, reason: str) -> None:
        c = self._choice
        success = checks.check(c.behaviour, self._start_state, state, c.target, c.arg)
        key = "direction" if c.arg in ("left", "right", "forward", "back") else "base"
        self.history.append(
            BehaviourRecord(
                behaviour=c.behaviour,
                target=c.target,
                args={} if c.arg == "none" else {key: c.arg},
                start_step=self._start_step,
                end_step=self.steps,
                success=success,
                attempt=len(self.history),
                retries=self.motion.retry,
                aborted=bool(reason),
                reason=reason,
                expected_tasks=expected_tasks(c.behaviour, c.target, c.arg),
                implied_tasks=implied_tasks(c.behaviour, c.target, c.arg),
            )
        )
        if not success:
            self._failed_at[c] = self.steps
        self._previous, self._plan = c, None
