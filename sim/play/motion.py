"""Motion primitives of the play agent: generators that yield normalized actions.

A behaviour is a Python generator: it ``yield``s one (5,) action per control step and reads
the scene state the agent refreshed before each step (``Motion.state``). Primitives servo the
arm's *commanded* end-effector target (``scene.arm.target_pos``) to a goal, which is exact and
drift-free, and check arrival on the *measured* pose. Every primitive has a step limit and
raises ``Abort`` when it runs out, so the agent can never get stuck.

The skill profile's imperfections live here: action noise, hesitation and uneven speed.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from robolang.robot import EEDeltaLimits
from sim.panda import YAW_LIMIT
from sim.play.skill import SkillProfile

Actions = Generator[np.ndarray, None, None]


class Abort(Exception):
    """A behaviour cannot go on (timeout, lost object, unreachable target, gave up)."""


class Motion:
    """Turns goals into normalized actions for one scene; shared by all behaviours."""

    def __init__(self, scene, limits: EEDeltaLimits, profile: SkillProfile, rng: np.random.Generator):
        self.scene = scene
        self.limits = limits
        self.profile = profile
        self.rng = rng
        self.state: dict = {}  # the scene state before the coming step (set by the agent)
        self.phase = "none"
        self.grip = -1.0  # last gripper command
        self.speed = 1.0  # fraction of full speed, drawn per behaviour
        self.retry = 0  # retries of the current behaviour so far
        self.spots = "random"  # put-down spots: random, or "preferred" (one per scene: world.spot_candidates)

    # ---- read-out -------------------------------------------------------------------------
    @property
    def spot_rng(self) -> np.random.Generator | None:
        """What put-down spots are drawn with: the behaviour's RNG, or None for the preferred spot."""
        return self.rng if self.spots == "random" else None

    @property
    def target_pos(self) -> np.ndarray:
        return np.asarray(self.scene.arm.target_pos, dtype=np.float64)

    @property
    def target_yaw(self) -> float:
        return float(self.scene.arm.target_yaw)

    def ee(self) -> np.ndarray:
        return np.asarray(self.state["robot"]["ee_pos"], dtype=np.float64)

    def clamp(self, goal) -> np.ndarray:
        ws = self.scene.config.workspace
        return np.clip(np.asarray(goal, dtype=np.float64), ws.low, ws.high)

    # ---- actions --------------------------------------------------------------------------
    def action(self, move=(0.0, 0.0, 0.0), turn: float = 0.0, grip: float | None = None) -> np.ndarray:
        """A normalized action with the skill's noise on the motion part; in [-1, 1]."""
        a = np.zeros(5)
        a[:3] = move
        a[3] = turn
        a[4] = self.grip if grip is None else grip
        if self.profile.action_noise:
            a[:4] += self.rng.normal(0.0, self.profile.action_noise, 4)
        a = np.clip(a, -1.0, 1.0)
        self.grip = float(a[4])
        return a

    def begin(self, phase: str) -> Actions:
        """Enter a phase; a less skilled agent sometimes hesitates first."""
        self.phase = phase
        if self.rng.random() < self.profile.hesitate_at_phase:
            yield from self.hesitate()

    def hesitate(self) -> Actions:
        phase, self.phase = self.phase, "hesitate"
        yield from self.hold(int(self.rng.integers(3, 12)))
        self.phase = phase

    def hold(self, steps: int, grip: float | None = None) -> Actions:
        """Stay where the target is for ``steps`` steps (noise is servoed away)."""
        anchor = self.target_pos
        for _ in range(steps):
            yield self.action((anchor - self.target_pos) / self.limits.translation_m, 0.0, grip)

    def move(
        self,
        goal,
        yaw: float | None = None,
        grip: float | None = None,
        speed: float | None = None,
        tol: float = 0.008,
        arrive: bool = True,
        timeout: int | None = None,
    ) -> Actions:
        """Servo the target to ``goal`` (m) and ``yaw`` (rad) in straight lines.

        ``arrive``: wait until the measured end effector is within ``tol`` (raise ``Abort`` on
        timeout); otherwise stop once the commanded target is there (pressing, pulling).
        """
        goal = self.clamp(goal)
        yaw = self.target_yaw if yaw is None else float(np.clip(yaw, -YAW_LIMIT, YAW_LIMIT))
        vmax = (speed or self.speed) * self.limits.translation_m
        expected = np.linalg.norm(goal - self.target_pos) / vmax + abs(yaw - self.target_yaw) / self.limits.yaw_rad
        # Action noise jitters the target by about its std each step: arrival allows for it.
        slack = 1.5 * self.profile.action_noise
        near, near_yaw = 0.003 + slack * self.limits.translation_m, 0.03 + slack * self.limits.yaw_rad
        for _ in range(timeout or int(1.5 * expected) + 25):
            err, yaw_err = goal - self.target_pos, yaw - self.target_yaw
            commanded = np.linalg.norm(err) < near and abs(yaw_err) < near_yaw
            if commanded and (not arrive or np.linalg.norm(self.ee() - goal) < tol + near):
                return
            if self.rng.random() < self.profile.hesitate_per_step:
                yield from self.hesitate()
            norm = np.linalg.norm(err)
            step = err if norm <= vmax else err * (vmax / norm)
            turn = np.clip(yaw_err / self.limits.yaw_rad, -1.0, 1.0)
            yield self.action(step / self.limits.translation_m, turn, grip)
        if arrive:
            raise Abort(f"did not reach {np.round(goal, 3).tolist()} in phase {self.phase}")
