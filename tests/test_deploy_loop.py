"""The deploy loop on a test arm whose "bus" records every write, under a fake clock.

What must reach the arm: nothing for a NaN action, nothing while the watchdog holds (the arm
keeps its last goal: no motion, the gripper unchanged), nothing after a stop, the limited
value after a violation."""

import math

import numpy as np
import pytest

from robolang.deploy.limits import SafetyLimits
from robolang.deploy.loop import DeployError, LoopSettings, run_instruction
from robolang.deploy.stop import StopKeys
from robolang.deploy.watchdog import NON_FINITE, OVERRUN, STALE, WatchdogSettings
from robolang.features import CAMERA_NAMES, STATE_NAMES
from robolang.robot import EEDeltaRobot, RobotFault

BOX = SafetyLimits((0.3, -0.3, 0.02), (0.7, 0.3, 0.4))
DOG = WatchdogSettings(max_data_age_s=0.25, inference_budget_s=0.05, max_trips=3)


class Clock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Config:
    def __init__(self, calibration_dir):
        self.id, self.calibration_dir = "test", calibration_dir  # what lerobot's Robot reads


class BusArm(EEDeltaRobot):
    """A minimal backend: its 'bus' is a list of the normalized actions written to it."""

    name = "bus_arm"

    def __init__(self, clock, where, ee=(0.5, 0.0, 0.2)):
        super().__init__(Config(where))
        self.clock, self.ee = clock, np.array(ee, float)
        self.bus: list[np.ndarray] = []
        self.data_delay = 0.0  # how old the "camera" frames are
        self.fail_at: int | None = None  # observation number that raises RobotFault
        self.observations = 0

    def camera_shape(self, camera):
        return (4, 4, 3)

    def _connect(self):
        pass

    def _disconnect(self):
        pass

    def _read_observation(self):
        self.observations += 1
        if self.fail_at is not None and self.observations >= self.fail_at:
            raise RobotFault("the arm's controller reports a protective stop; clear it on the pendant")
        obs = dict.fromkeys(STATE_NAMES, 0.0)
        obs["ee.x"], obs["ee.y"], obs["ee.z"] = self.ee.tolist()
        for cam in CAMERA_NAMES:
            obs[cam] = np.zeros((4, 4, 3), np.uint8)
        return obs

    def data_timestamp(self):
        return self.clock() - self.data_delay

    def _apply_action(self, action):
        self.bus.append(action.copy())
        self.ee = self.ee + self.limits.scale(action)[:3]
        return action


class Policy:
    """Answers a fixed sequence of actions; each call can take ``takes`` seconds of the fake clock."""

    def __init__(self, clock, actions, takes=0.01):
        self.clock, self.actions, self.takes = clock, list(actions), takes
        self.predictions = 0

    def act(self, observation, instruction):
        assert set(observation) == {*CAMERA_NAMES, *STATE_NAMES}  # the policy's view: nothing privileged
        self.clock.now += self.takes
        self.predictions += 1
        return np.asarray(self.actions.pop(0) if len(self.actions) > 1 else self.actions[0], float)


def run(arm, policy, clock, stop=None, **loop):
    settings = LoopSettings(**{"rate_hz": 10, "time_limit_s": 1.0, **loop})
    steps = []
    outcome = run_instruction(arm, policy, "lift it", BOX, DOG, settings, stop or StopKeys(keys=False),
                              steps.append, clock, clock.sleep)  # fmt: skip
    return outcome, steps


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def arm(clock, tmp_path):
    arm = BusArm(clock, tmp_path)
    arm.connect()
    return arm


def test_a_clean_run_sends_every_step_at_the_rate_until_the_time_limit(arm, clock):
    outcome, steps = run(arm, Policy(clock, [[0.5, 0, 0, 0, 1]]), clock)
    assert outcome.reason == "time limit" and outcome.steps == 10
    assert len(arm.bus) == 10  # one write per step, nothing after the end
    assert all(s == pytest.approx(0.09) for s in clock.sleeps)  # 0.1 s period less the 10 ms inference
    assert outcome.timing.overruns == 0 and outcome.timing.summary()["period_p50_s"] == pytest.approx(0.1)


def test_a_nan_action_sends_nothing_and_stops_after_max_trips(arm, clock):
    outcome, steps = run(arm, Policy(clock, [[0.1, 0, 0, 0, 1], [math.nan, 0, 0, 0, 1]]), clock)
    assert len(arm.bus) == 1  # the first good step, then nothing
    assert [s.hold for s in steps] == [None, NON_FINITE, NON_FINITE, NON_FINITE]
    assert all(s.sent is None for s in steps[1:])
    assert outcome.reason == f"watchdog: {NON_FINITE} 3 times in a row" and outcome.trips[NON_FINITE] == 3


def test_stale_data_holds_the_arm_by_sending_nothing(arm, clock):
    policy = Policy(clock, [[0.5, 0.2, 0, 0, 0.4]])

    def on_step(step):
        arm.data_delay = 0.3  # the camera froze after the first step

    settings = LoopSettings(rate_hz=10, time_limit_s=1.0)
    outcome = run_instruction(arm, policy, "lift it", BOX, DOG, settings, StopKeys(keys=False), on_step, clock,
                              clock.sleep)  # fmt: skip
    assert policy.predictions == 1  # never asked on stale data
    assert len(arm.bus) == 1  # the arm keeps its last goal: no motion, the gripper at 0.4
    np.testing.assert_allclose(arm.bus[0], [0.5, 0.2, 0, 0, 0.4])
    assert outcome.reason == f"watchdog: {STALE} 3 times in a row"


def test_slow_inference_holds_and_a_good_step_resets_the_count(arm, clock):
    policy = Policy(clock, [[0.5, 0, 0, 0, -1]], takes=0.01)
    slow = iter([False, True, True, False, True, True, False] + [False] * 20)

    class Sometimes:
        predictions = 0

        def act(self, observation, instruction):
            self.predictions += 1
            if next(slow):
                clock.now += 0.2
            return policy.act(observation, instruction)

    outcome, steps = run(arm, Sometimes(), clock)
    assert [s.hold for s in steps[:7]] == [None, OVERRUN, OVERRUN, None, OVERRUN, OVERRUN, None]
    assert len(arm.bus) == 10 - 4  # nothing on the four held steps
    assert outcome.reason == "time limit" and outcome.trips[OVERRUN] == 4
    assert outcome.timing.overruns == 4  # each slow step also ran past its period


def test_nothing_reaches_the_arm_after_the_stop_key(arm, clock):
    stop = StopKeys(keys=False)

    class StopsAtThree(Policy):
        def act(self, observation, instruction):
            if self.predictions == 3:
                stop.request("space pressed")
            return super().act(observation, instruction)

    outcome, steps = run(arm, StopsAtThree(clock, [[0.5, 0, 0, 0, 1]]), clock, stop=stop)
    assert outcome.reason == "stopped (space pressed)" and outcome.steps == 4
    assert len(arm.bus) == 4


def test_a_limit_violation_writes_the_limited_value(clock, tmp_path):
    arm = BusArm(clock, tmp_path, ee=(0.695, 0.0, 0.2))  # 5 mm from the +x wall
    arm.connect()
    outcome, steps = run(arm, Policy(clock, [[1.0, 0, 0, 0, 7.0]]), clock, time_limit_s=0.1)
    np.testing.assert_allclose(arm.bus[0], [0.25, 0, 0, 0, 1.0])
    assert steps[0].violations == ("range", "workspace") and outcome.violations == {"range": 1, "workspace": 1}


def test_a_robot_fault_ends_the_run_and_nothing_more_is_sent(arm, clock):
    arm.fail_at = 4
    outcome, steps = run(arm, Policy(clock, [[0.1, 0, 0, 0, 1]]), clock)
    assert outcome.reason == "robot fault" and "protective stop" in outcome.fault
    assert outcome.steps == 3 and len(arm.bus) == 3


def test_a_dry_run_sends_nothing_but_logs_the_limited_actions(arm, clock):
    outcome, steps = run(arm, Policy(clock, [[3.0, 0, 0, 0, 1]]), clock, dry_run=True)
    assert arm.bus == [] and outcome.dry_run and outcome.steps == 10
    np.testing.assert_allclose(steps[0].sent, [1.0, 0, 0, 0, 1])
    assert steps[0].applied == {"dx": 1.0, "dy": 0.0, "dz": 0.0, "dyaw": 0.0, "gripper": 1.0}


@pytest.mark.parametrize("kwargs", [{"rate_hz": 0}, {"rate_hz": math.nan}, {"time_limit_s": -1}])
def test_settings_that_cannot_run_are_refused(kwargs):
    with pytest.raises(DeployError):
        LoopSettings(**kwargs)


def test_ctrl_c_asks_for_a_stop_once_and_quits_the_second_time():
    import os
    import signal

    before = signal.getsignal(signal.SIGINT)
    with StopKeys(keys=False) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.poll() and stop.why == "Ctrl-C"  # the loop ends the instruction, the arm holds
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # the user's handler is back
