"""The deploy safety layer: table tests and property tests (hypothesis, >= 10,000 cases each)."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robolang.deploy.limits import (
    GRIPPER,
    RANGE,
    ROTATION,
    SPEED,
    WORKSPACE,
    SafetyConfigError,
    SafetyLimits,
    limit_action,
    outside_distance,
)
from robolang.deploy.watchdog import NON_FINITE, OVERRUN, STALE, Watchdog, WatchdogConfigError, WatchdogSettings
from robolang.robot import EEDeltaLimits
from robolang.safety import UnsafeActionError

SCALE = EEDeltaLimits(translation_m=0.02, yaw_rad=0.15)
BOX = SafetyLimits((0.3, -0.3, 0.02), (0.7, 0.3, 0.4), max_step_m=0.015, max_step_yaw_rad=0.1, gripper_high=0.8)
EPS = 1e-9
CASES = settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

wild = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
actions = st.lists(wild, min_size=5, max_size=5)
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])


def inside(low, high):
    return st.tuples(*(st.floats(lo, hi) for lo, hi in zip(low, high, strict=True)))


def boxes():
    """Random limits: a box of 1 cm to 1 m per axis, speed and turn limits, a gripper range."""

    @st.composite
    def build(draw):
        low = [draw(st.floats(-1.0, 1.0)) for _ in range(3)]
        high = [lo + draw(st.floats(0.01, 1.0)) for lo in low]
        g_low = draw(st.floats(-1.0, 1.0))
        return SafetyLimits(tuple(low), tuple(high), draw(st.floats(0.0, 0.05)), draw(st.floats(0.0, 0.3)),
                            g_low, draw(st.floats(g_low, 1.0)))  # fmt: skip

    return build()


def target_of(out, ee):
    return np.asarray(ee) + SCALE.scale(out)[:3]


def check_step_limits(out, limits):
    physical = SCALE.scale(out)
    assert np.all(np.abs(out) <= 1.0)
    assert np.linalg.norm(physical[:3]) <= limits.max_step_m + EPS
    assert abs(physical[3]) <= limits.max_step_yaw_rad + EPS
    assert limits.gripper_low - EPS <= physical[4] <= limits.gripper_high + EPS


# ---- table tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "action, ee, expected, why",
    [
        ([0.5, 0, 0, 0, -1], [0.5, 0, 0.2], [0.5, 0, 0, 0, -1], ()),  # 1 cm: inside every limit
        ([1, 0, 0, 0, -1], [0.5, 0, 0.2], [0.75, 0, 0, 0, -1], (SPEED,)),  # 2 cm -> 1.5 cm
        ([3, 0, 0, 0, -1], [0.5, 0, 0.2], [0.75, 0, 0, 0, -1], (RANGE, SPEED)),
        ([1, 0, 0, 0, -1], [0.695, 0, 0.2], [0.25, 0, 0, 0, -1], (WORKSPACE,)),  # 5 mm left to the wall
        ([0, 0, -1, 0, -1], [0.5, 0, 0.02], [0, 0, 0, 0, -1], (WORKSPACE,)),  # on the floor of the box
        ([0, 0, 0, 1, -1], [0.5, 0, 0.2], [0, 0, 0, 0.1 / 0.15, -1], (ROTATION,)),
        ([0, 0, 0, 0, 1], [0.5, 0, 0.2], [0, 0, 0, 0, 0.8], (GRIPPER,)),
        ([-1, 0, 0, 0, -1], [0.9, 0, 0.2], [-0.75, 0, 0, 0, -1], (WORKSPACE, SPEED)),  # outside: back, at speed
        ([1, 0, 0, 0, -1], [0.9, 0, 0.2], [-0.75, 0, 0, 0, -1], (WORKSPACE, SPEED)),  # outside: never further
    ],
)
def test_limit_table(action, ee, expected, why):
    out = limit_action(action, ee, SCALE, BOX)
    np.testing.assert_allclose(out.action, expected, atol=1e-12)
    assert out.violations == why


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("where", range(5))
def test_non_finite_actions_never_pass(bad, where):
    action = [0.0] * 5
    action[where] = bad
    with pytest.raises(UnsafeActionError, match="nothing was sent"):
        limit_action(action, [0.5, 0, 0.2], SCALE, BOX)


@pytest.mark.parametrize("ee", [[math.nan, 0, 0.2], [0.5, math.inf, 0.2], [0.5, 0.0]])
def test_an_unknown_position_sends_nothing(ee):
    with pytest.raises(UnsafeActionError):
        limit_action([0.0] * 5, ee, SCALE, BOX)


def test_a_dict_action_is_limited_by_name():
    out = limit_action({"dx": 0, "dy": 0, "dz": 0, "dyaw": 0, "gripper": 1}, [0.5, 0, 0.2], SCALE, BOX)
    assert out.action[-1] == pytest.approx(0.8)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"workspace_low": (0.5, 0, 0), "workspace_high": (0.4, 1, 1)}, "below"),
        ({"workspace_low": (0, 0, math.nan), "workspace_high": (1, 1, 1)}, "finite"),
        ({"workspace_low": (0, 0), "workspace_high": (1, 1, 1)}, r"\[x, y, z\]"),
        ({"max_step_m": -0.01}, "max_step_m"),
        ({"max_step_yaw_rad": math.inf}, "max_step_yaw_rad"),
        ({"gripper_low": 0.5, "gripper_high": 0.2}, "gripper"),
    ],
)
def test_limits_that_protect_nothing_are_refused(kwargs, message):
    base = {"workspace_low": (0, 0, 0), "workspace_high": (1, 1, 1)}
    with pytest.raises(SafetyConfigError, match=message):
        SafetyLimits(**{**base, **kwargs})


def test_a_robot_without_a_box_needs_one():
    class Arm:
        name, workspace = "arm", None

    with pytest.raises(SafetyConfigError, match="safety.workspace_low"):
        SafetyLimits.for_robot(Arm())
    limits = SafetyLimits.for_robot(Arm(), workspace_low=[0, 0, 0], workspace_high=[1, 1, 1], max_step_m=0.01)
    assert limits.workspace_high == (1.0, 1.0, 1.0) and limits.max_step_m == 0.01


# ---- properties -----------------------------------------------------------------------------------
@CASES
@given(action=actions, data=st.data())
def test_from_inside_the_box_no_command_leaves_it_or_exceeds_a_limit(action, data):
    limits = data.draw(boxes())
    ee = data.draw(inside(limits.workspace_low, limits.workspace_high))
    out = limit_action(action, ee, SCALE, limits).action
    target = target_of(out, ee)
    assert np.all(target >= np.asarray(limits.workspace_low) - EPS)
    assert np.all(target <= np.asarray(limits.workspace_high) + EPS)
    check_step_limits(out, limits)


@CASES
@given(action=actions, data=st.data(), offset=st.tuples(*[st.floats(-2.0, 2.0)] * 3))
def test_from_outside_the_box_no_command_moves_further_from_it(action, data, offset):
    limits = data.draw(boxes())
    ee = np.asarray(limits.workspace_low) + np.asarray(offset)  # anywhere, often outside
    out = limit_action(action, ee, SCALE, limits).action
    low, high = limits.workspace_low, limits.workspace_high
    assert outside_distance(target_of(out, ee), low, high) <= outside_distance(ee, low, high) + EPS
    check_step_limits(out, limits)


@CASES
@given(action=actions, bad=non_finite, where=st.integers(0, 4))
def test_nan_or_inf_anywhere_never_passes(action, bad, where):
    action[where] = bad
    with pytest.raises(UnsafeActionError):
        limit_action(action, [0.5, 0.0, 0.2], SCALE, BOX)


# ---- the watchdog ---------------------------------------------------------------------------------
def test_the_watchdog_counts_trips_in_a_row():
    dog = Watchdog(WatchdogSettings(max_data_age_s=0.2, inference_budget_s=0.05, max_trips=3))
    assert dog.check_data(0.1) is None and dog.check_data(0.3) == STALE and dog.check_data(math.nan) == STALE
    assert dog.check_inference(0.04) is None and dog.check_inference(0.06) == OVERRUN
    for trip in (STALE, OVERRUN, None, NON_FINITE, STALE):
        dog.record(trip)
    assert not dog.exhausted and dog.in_a_row == 2
    dog.record(STALE)
    assert dog.exhausted and dog.last == STALE and dog.trips == 5 and dog.counts[STALE] == 3


@pytest.mark.parametrize("kwargs", [{"max_data_age_s": 0}, {"inference_budget_s": -1}, {"max_trips": 0}])
def test_a_watchdog_that_cannot_work_is_refused(kwargs):
    with pytest.raises(WatchdogConfigError):
        WatchdogSettings(**kwargs)
