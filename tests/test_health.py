"""Health checks over scene states: table-driven on synthetic dicts, then once on the real sim."""

from __future__ import annotations

import copy
import math

import numpy as np
import pybullet as pb
import pytest

from robolang.features import STATE_NAMES
from robolang.health import (
    BELOW_TABLE,
    MALFORMED,
    NON_FINITE,
    OFF_TABLE,
    HealthIssue,
    HealthMonitor,
    NonFiniteStateError,
    nan_fields,
    non_finite_paths,
    raise_on_nan,
)

NAN, INF = math.nan, math.inf

# The play table's top: centre (0.35, 0), size 1.2 x 1.3 m, upper face z = 0 (sim/assets.py).
MONITOR = HealthMonitor(table_low=(-0.25, -0.65), table_high=(0.95, 0.65), table_z=0.0, drop_margin=0.05)


def healthy_state() -> dict:
    return {
        "objects": {
            "red_cube": {"pos": (0.50, 0.10, 0.02), "quat": (0.0, 0.0, 0.0, 1.0), "yaw": 0.0},
            "plate": {"pos": (0.40, -0.10, 0.007), "quat": (0.0, 0.0, 0.38, 0.92), "yaw": 0.78},
        },
        "fixtures": {"drawer": 0.05, "slider": 0.0, "button": 0.0},
        "light_on": False,
        "robot": {"ee_pos": (0.45, 0.0, 0.30), "ee_yaw": 0.0, "gripper_width": 0.08},
        "contacts": [("plate", "table"), ("red_cube", "table")],
    }


def with_change(path: tuple, value) -> dict:
    """A healthy state with the leaf at ``path`` (dict keys and tuple indices) replaced."""
    return _replace(healthy_state(), path, value)


def _replace(node, path: tuple, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, tuple):
        return tuple(_replace(v, rest, value) if i == head else v for i, v in enumerate(node))
    return {**node, head: _replace(node[head], rest, value)}


# (state, expected issues as (kind, entity) in report order)
CASES = [
    pytest.param(healthy_state(), [], id="healthy"),
    pytest.param(with_change(("objects", "red_cube", "pos", 2), NAN), [(NON_FINITE, "red_cube")], id="nan-pos"),
    pytest.param(with_change(("objects", "plate", "quat", 3), -INF), [(NON_FINITE, "plate")], id="neg-inf-quat"),
    pytest.param(with_change(("objects", "plate", "yaw"), np.float32("nan")), [(NON_FINITE, "plate")], id="np-nan-yaw"),
    pytest.param(with_change(("fixtures", "drawer"), INF), [(NON_FINITE, "drawer")], id="inf-fixture"),
    pytest.param(with_change(("robot", "ee_pos", 0), NAN), [(NON_FINITE, "robot")], id="nan-robot"),
    pytest.param(with_change(("robot", "gripper_width"), np.array(INF)), [(NON_FINITE, "robot")], id="0d-array-robot"),
    pytest.param(with_change(("objects", "red_cube", "pos", 0), 1.40), [(OFF_TABLE, "red_cube")], id="off-far-edge"),
    pytest.param(with_change(("objects", "red_cube", "pos", 1), -0.70), [(OFF_TABLE, "red_cube")], id="off-side"),
    pytest.param(with_change(("objects", "plate", "pos", 2), -0.20), [(BELOW_TABLE, "plate")], id="fell-through"),
    pytest.param(with_change(("objects", "plate", "pos", 2), -0.049), [], id="within-drop-margin"),
    pytest.param(with_change(("objects", "red_cube", "pos", 0), 0.95), [], id="exactly-on-edge"),
    pytest.param(
        with_change(("objects", "red_cube", "pos"), (2.0, 0.0, -0.8)), [(OFF_TABLE, "red_cube")], id="on-the-floor"
    ),
    pytest.param(with_change(("objects", "red_cube", "pos"), "here"), [(MALFORMED, "red_cube")], id="bad-pos"),
    pytest.param(with_change(("objects",), ["red_cube"]), [(MALFORMED, "objects")], id="objects-not-dict"),
    pytest.param(None, [(MALFORMED, "scene")], id="not-a-dict"),
]


@pytest.mark.parametrize(("state", "expected"), CASES)
def test_monitor_flags_exactly_the_expected_issues(state, expected):
    issues = MONITOR.check(state)
    assert all(isinstance(i, HealthIssue) for i in issues)
    assert [(i.kind, i.entity) for i in issues] == expected
    assert MONITOR.is_healthy(state) == (not expected)
    for issue in issues:
        assert issue.entity in issue.message or issue.kind == MALFORMED, issue


def test_messages_say_what_and_where():
    (nan,) = MONITOR.check(with_change(("objects", "red_cube", "pos", 2), NAN))
    assert "objects.red_cube.pos[2]" in nan.message and "nan" in nan.message
    (off,) = MONITOR.check(with_change(("objects", "red_cube", "pos", 0), 1.40))
    assert "left the table" in off.message and "1.400" in off.message
    (below,) = MONITOR.check(with_change(("objects", "plate", "pos", 2), -0.20))
    assert "below the table" in below.message and "-0.200" in below.message


def test_several_issues_are_all_reported():
    state = healthy_state()
    state["objects"]["red_cube"]["pos"] = (NAN, 0.0, INF)
    state["objects"]["plate"]["pos"] = (0.4, 3.0, 0.0)
    state["fixtures"]["slider"] = -INF
    kinds = sorted((i.kind, i.entity) for i in MONITOR.check(state))
    assert kinds == [(NON_FINITE, "red_cube"), (NON_FINITE, "red_cube"), (NON_FINITE, "slider"), (OFF_TABLE, "plate")]


def test_check_never_raises_on_odd_input():
    class Exploding(dict):
        def items(self):
            raise RuntimeError("boom")

    for state in (None, 3, "state", [], {"objects": 7}, {"objects": {"a": None}}, Exploding(objects={})):
        issues = MONITOR.check(state)
        assert issues and all(i.kind == MALFORMED for i in issues), (state, issues)


def test_from_table_matches_explicit_bounds():
    m = HealthMonitor.from_table(center=(0.35, 0.0), size=(1.2, 1.3))
    assert m.table_low == pytest.approx((-0.25, -0.65)) and m.table_high == pytest.approx((0.95, 0.65))


@pytest.mark.parametrize(("low", "high"), [((0, 0), (0, 1)), ((1, 0), (0, 1)), ((0, 0, 0), (1, 1, 1))])
def test_bad_bounds_are_refused(low, high):
    with pytest.raises(ValueError):
        HealthMonitor(low, high)


# ---- raise_on_nan and the flat helpers -------------------------------------------------------
def test_raise_on_nan_names_every_field():
    state = healthy_state()
    state["objects"]["plate"]["quat"] = (0.0, NAN, 0.0, 1.0)
    state["robot"]["ee_yaw"] = INF
    with pytest.raises(NonFiniteStateError, match=r"objects\.plate\.quat\[1\]=nan.*robot\.ee_yaw=inf"):
        raise_on_nan(state)
    ok = healthy_state()
    assert raise_on_nan(ok) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1.0, "b": (2, 3)}, []),
        ({"a": [1.0, NAN]}, ["a[1]"]),
        (np.array([[0.0, INF], [-INF, 1.0]]), ["[0, 1]", "[1, 0]"]),
        ({"flag": True, "name": "nan", "none": None, "n": 3}, []),
        ({"x": {"y": np.float64(-INF)}}, ["x.y"]),
    ],
)
def test_non_finite_paths(value, expected):
    assert non_finite_paths(value) == expected


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        ([0.0] * len(STATE_NAMES), []),
        ([NAN] + [0.0] * (len(STATE_NAMES) - 1), ["ee.x"]),
        ([0.0] * (len(STATE_NAMES) - 1) + [INF], ["joint7.pos"]),
        ([0.0, -INF, 0.0, NAN] + [0.0] * (len(STATE_NAMES) - 4), ["ee.y", "ee.yaw"]),
    ],
)
def test_nan_fields(vector, expected):
    assert nan_fields(np.asarray(vector, dtype=np.float32), STATE_NAMES) == expected


def test_nan_fields_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="does not match"):
        nan_fields([0.0, 1.0], ["a"])


# ---- on the real simulator -------------------------------------------------------------------
def test_sim_object_pushed_off_the_table_is_flagged():
    from sim.assets import TABLE_CENTER, TABLE_SIZE
    from sim.robot import PlayTableRobot, PlayTableRobotConfig

    monitor = HealthMonitor.from_table(TABLE_CENTER, TABLE_SIZE)
    cfg = PlayTableRobotConfig(static_width=32, static_height=32, wrist_width=32, wrist_height=32)
    with PlayTableRobot(cfg) as robot:
        state = robot.scene_state()
        assert monitor.check(state) == []
        scene = robot.scene
        name = next(iter(scene.bodies))
        far_x = TABLE_CENTER[0] + TABLE_SIZE[0]  # half a table beyond the far edge
        pb.resetBasePositionAndOrientation(
            scene.bodies[name], (far_x, 0.0, 0.3), (0, 0, 0, 1), physicsClientId=scene.client
        )
        robot.send_action({"dx": 0.0, "dy": 0.0, "dz": 0.0, "dyaw": 0.0, "gripper": -1.0})  # let it fall a step
        state = robot.scene_state()

    issues = monitor.check(state)
    assert [(i.kind, i.entity) for i in issues] == [(OFF_TABLE, name)]

    poisoned = copy.deepcopy(state)
    other = next(n for n in poisoned["objects"] if n != name)
    poisoned["objects"][other]["pos"] = (poisoned["objects"][other]["pos"][0], NAN, 0.02)
    kinds = {(i.kind, i.entity) for i in monitor.check(poisoned)}
    assert kinds == {(OFF_TABLE, name), (NON_FINITE, other)}
    with pytest.raises(NonFiniteStateError, match=rf"objects\.{other}\.pos\[1\]"):
        raise_on_nan(poisoned)
