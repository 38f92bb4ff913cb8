"""The deploy loop driving the UR driver over a fake ur_rtde: what reaches the controller.

No write after a NaN action, none while the watchdog holds or after it stops the run, none after
the stop key, and after a limit violation the limited target is what ``servoL`` receives."""

import math

import numpy as np
import pytest
from test_hardware_ur import install_fake_sdk, make_config

from hardware.ur import URRobot
from robolang.deploy.limits import SafetyLimits
from robolang.deploy.loop import LoopSettings, run_instruction
from robolang.deploy.stop import StopKeys
from robolang.deploy.watchdog import NON_FINITE, OVERRUN, WatchdogSettings

BOX = SafetyLimits((0.3, -0.3, 0.1), (0.46, 0.3, 0.5), max_step_m=0.01)  # home x is 0.45: 1 cm to the wall
FAST = LoopSettings(rate_hz=50, time_limit_s=0.2)  # 10 steps; the fake controller answers at once
DOG = WatchdogSettings(max_data_age_s=5.0, inference_budget_s=0.05, max_trips=3)


class Scripted:
    """Returns its actions in turn (the last one repeats); ``slow`` steps take 0.1 s to answer."""

    def __init__(self, actions, slow=(), stop_at=None, stop=None):
        self.actions, self.slow, self.stop_at, self.stop = actions, set(slow), stop_at, stop
        self.predictions = 0

    def act(self, observation, instruction):
        n = self.predictions
        self.predictions += 1
        if n in self.slow:
            import time

            time.sleep(0.1)
        if n == self.stop_at:
            self.stop.request("space pressed")
        return np.asarray(self.actions[min(n, len(self.actions) - 1)], float)


@pytest.fixture
def setup(monkeypatch):
    arm = install_fake_sdk(monkeypatch)
    robot = URRobot(make_config())
    robot.connect()
    yield arm, robot
    if robot.is_connected:
        robot.disconnect()


def servo_targets(arm):
    return [args[0] for name, args in arm.commands if name == "servoL"]


def run(robot, policy, stop=None):
    return run_instruction(robot, policy, "lift it", BOX, DOG, FAST, stop or StopKeys(keys=False))


def test_nothing_is_written_for_a_nan_action_and_the_run_stops(setup):
    arm, robot = setup
    outcome = run(robot, Scripted([[0.1, 0, 0, 0, -1], [math.nan, 0, 0, 0, -1]]))
    assert len(servo_targets(arm)) == 1 and outcome.trips[NON_FINITE] == 3
    assert outcome.reason.startswith("watchdog")


def test_nothing_is_written_while_the_watchdog_holds_or_after_it_stops_the_run(setup):
    arm, robot = setup
    outcome = run(robot, Scripted([[0.1, 0, 0, 0, -1]], slow={2, 3, 4}))
    assert outcome.trips[OVERRUN] == 3 and outcome.steps == 5
    assert len(servo_targets(arm)) == 2  # steps 0 and 1; none on the held steps, none after


def test_nothing_is_written_after_the_stop_key(setup):
    arm, robot = setup
    stop = StopKeys(keys=False)
    outcome = run(robot, Scripted([[0.1, 0, 0, 0, -1]], stop_at=3, stop=stop), stop)
    assert outcome.reason == "stopped (space pressed)" and len(servo_targets(arm)) == 4


def test_a_limit_violation_writes_the_limited_target(setup):
    arm, robot = setup
    before = robot.get_observation()["ee.x"]
    outcome = run(robot, Scripted([[1.0, 0.0, 0.0, 0.0, -1.0]]))
    targets = np.array(servo_targets(arm))
    assert {"speed", "workspace"} <= set(outcome.violations)
    assert targets[0][0] == pytest.approx(before + 0.01, abs=1e-9)  # 2 cm asked, the speed limit's 1 cm sent
    assert targets[:, 0].max() <= BOX.workspace_high[0] + 1e-9  # and never past the wall
