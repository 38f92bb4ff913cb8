"""One instruction on a robot at a fixed rate, through the safety layer and the watchdog.

Each step: read the observation; if it is too old, hold; else ask the policy (cameras and
proprioception only) for an action; if the policy took too long or answered NaN/inf, hold;
else limit the action (``limits.limit_action``) and send it, or in a dry run only log it. Then
sleep to the next period: a late step starts the next at once and the lateness is counted,
never caught up by rushing. The loop ends at the time limit, on the stop key, when the watchdog
has tripped ``max_trips`` times in a row, or on a ``RobotFault``.

Holding sends nothing: by the robot contract an arm that receives no command keeps its last
goal (a real arm's controller servoes to it; a simulator does not step), i.e. no motion beyond
the last step and the gripper unchanged. So after a trip, a stop or the end, nothing more
reaches the robot. The same loop runs the simulator and a real arm.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from robolang.deploy.limits import SafetyLimits, limit_action
from robolang.deploy.stop import StopKeys
from robolang.deploy.timing import TimingLog
from robolang.deploy.watchdog import NON_FINITE, Watchdog, WatchdogSettings
from robolang.errors import RobolangError
from robolang.evaluation.rollout import policy_view
from robolang.features import ACTION_NAMES
from robolang.robot import RobotFault
from robolang.safety import UnsafeActionError

EE_POSITION = ("ee.x", "ee.y", "ee.z")


class DeployError(RobolangError, ValueError):
    """A deployment that cannot start (a rate <= 0, no time limit)."""


@dataclass(frozen=True)
class LoopSettings:
    rate_hz: float = 10.0
    time_limit_s: float = 30.0  # per instruction
    dry_run: bool = False  # everything but sending: actions are logged (and drawn) only

    def __post_init__(self) -> None:
        if not (np.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise DeployError(f"rate_hz must be a positive number, got {self.rate_hz}")
        if not (np.isfinite(self.time_limit_s) and self.time_limit_s > 0):
            raise DeployError(f"time_limit_s must be a positive number of seconds, got {self.time_limit_s}")


@dataclass
class Step:
    """What one step did, for the recorder and the video."""

    index: int
    observation: dict
    proposed: np.ndarray | None  # the policy's action (None: not asked, the data was stale)
    sent: np.ndarray | None  # what went to the robot (dry run: what would have); None: held
    applied: dict[str, float] | None  # the robot's answer (dry run: ``sent``); None: held
    hold: str | None  # the watchdog's reason, when the step held the arm (sent nothing)
    violations: tuple[str, ...] = ()


@dataclass
class Outcome:
    instruction: str
    steps: int
    reason: str  # why it ended
    fault: str | None  # the RobotFault message, if one ended it
    timing: TimingLog
    trips: dict[str, int]
    violations: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def summary(self) -> dict:
        return {"instruction": self.instruction, "steps": self.steps, "ended": self.reason, "fault": self.fault,
                "dry_run": self.dry_run, "watchdog_trips": self.trips, "limited": self.violations,
                **self.timing.summary()}  # fmt: skip


def run_instruction(
    robot,
    controller,
    instruction: str,
    safety: SafetyLimits,
    watchdog: WatchdogSettings,
    settings: LoopSettings,
    stop: StopKeys,
    on_step: Callable[[Step], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Run ``instruction`` on a connected ``robot`` with ``controller`` (``act(observation,
    instruction)`` and, optionally, a ``predictions`` counter that says which steps inferred)."""
    period = 1.0 / settings.rate_hz
    timing, dog = TimingLog(period), Watchdog(watchdog)
    violations: dict[str, int] = {}
    max_steps = max(1, round(settings.time_limit_s * settings.rate_hz))
    reason, fault, steps = "time limit", None, 0
    deadline = previous_start = clock()
    while steps < max_steps:
        if stop.poll():
            reason = f"stopped ({stop.why})"
            break
        start = clock()
        if steps:
            timing.periods.append(start - previous_start)
        previous_start = start
        try:
            step = _step(robot, controller, instruction, safety, dog, settings.dry_run, timing, clock)
        except RobotFault as e:
            reason, fault = "robot fault", str(e)
            break
        step.index, steps = steps, steps + 1
        for v in step.violations:
            violations[v] = violations.get(v, 0) + 1
        if on_step is not None:
            on_step(step)
        if dog.exhausted:
            reason = f"watchdog: {dog.last} {dog.in_a_row} times in a row"
            break
        deadline += period
        now = clock()
        if now > deadline:  # late: start the next step now, do not rush to catch up
            timing.overruns += 1
            deadline = now
        else:
            sleep(deadline - now)
    return Outcome(instruction, steps, reason, fault, timing, dict(dog.counts), violations, settings.dry_run)


def _step(robot, controller, instruction, safety, dog, dry_run, timing, clock) -> Step:
    observation = robot.get_observation()
    age = clock() - robot.data_timestamp()
    timing.data_age.append(age)
    trip, proposed, limited = dog.check_data(age), None, None
    if trip is None:
        before = getattr(controller, "predictions", None)
        t0 = clock()
        proposed = np.asarray(controller.act(policy_view(observation), instruction), dtype=np.float64)
        took = clock() - t0
        if before is None or getattr(controller, "predictions", None) != before:
            timing.inference.append(took)
            trip = dog.check_inference(took)
        if trip is None:
            try:
                ee = [observation[k] for k in EE_POSITION]
                limited = limit_action(proposed, ee, robot.limits, safety)
            except UnsafeActionError:
                trip = NON_FINITE
    dog.record(trip)
    if trip is not None:  # hold: nothing is sent
        return Step(0, observation, proposed, None, None, trip)
    sent = limited.action
    applied = dict(zip(ACTION_NAMES, sent.tolist(), strict=True)) if dry_run else robot.send_action(sent)
    return Step(0, observation, proposed, sent, applied, None, limited.violations)
