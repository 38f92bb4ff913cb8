"""Table-driven tests of the pure safety functions (robolang/safety.py) and EEDeltaLimits.scale.

Like ros2_control's joint limiter tests, every table includes the boundaries and +-inf.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from robolang.features import ACTION_NAMES
from robolang.robot import EEDeltaLimits
from robolang.safety import (
    UnsafeActionError,
    action_to_array,
    array_to_action,
    clamp_to_box,
    clip_normalized,
    reject_non_finite,
    wrap_angle,
)

NAN, INF = math.nan, math.inf
VALUES = [0.1, -0.2, 0.3, -0.4, 1.0]
AS_DICT = dict(zip(ACTION_NAMES, VALUES, strict=True))


# ---- action_to_array / array_to_action ---------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "expected"),
    [
        pytest.param(AS_DICT, VALUES, id="dict"),
        pytest.param(dict(reversed(AS_DICT.items())), VALUES, id="dict-any-order"),
        pytest.param({k: np.float32(v) for k, v in AS_DICT.items()}, VALUES, id="dict-numpy-scalars"),
        pytest.param(list(VALUES), VALUES, id="list"),
        pytest.param(tuple(VALUES), VALUES, id="tuple"),
        pytest.param(np.asarray(VALUES, dtype=np.float32), VALUES, id="float32-array"),
        pytest.param(np.asarray(VALUES).reshape(1, 5), VALUES, id="batch-of-one"),
        pytest.param([0, 0, 0, 0, 1], [0.0, 0.0, 0.0, 0.0, 1.0], id="ints"),
    ],
)
def test_action_to_array_accepts(action, expected):
    arr = action_to_array(action)
    assert arr.shape == (5,) and arr.dtype == np.float64
    np.testing.assert_allclose(arr, expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("action", "match"),
    [
        pytest.param({k: 0.0 for k in ACTION_NAMES[1:]}, r"missing \['dx'\]", id="missing-key"),
        pytest.param({**AS_DICT, "droll": 0.0}, r"unexpected \['droll'\]", id="extra-key"),
        pytest.param(
            {**{k: 0.0 for k in ACTION_NAMES[:-1]}, "grip": 0.0}, "missing.*gripper.*unexpected.*grip", id="renamed"
        ),
        pytest.param({}, "missing", id="empty-dict"),
        pytest.param([0.0] * 4, "5 values", id="too-short"),
        pytest.param([0.0] * 6, "5 values", id="too-long"),
        pytest.param([], "5 values", id="empty-list"),
        pytest.param(0.5, "5 values", id="scalar"),
        pytest.param(np.zeros((2, 5)), "5 values", id="batch-of-two"),
        pytest.param(["a", "b", "c", "d", "e"], "not numeric", id="strings"),
        pytest.param({**AS_DICT, "dx": "fast"}, "not numeric", id="string-value"),
        pytest.param([[0.0, 1.0], [2.0]], "not numeric", id="ragged"),
    ],
)
def test_action_to_array_rejects(action, match):
    with pytest.raises(UnsafeActionError, match=match):
        action_to_array(action)


@pytest.mark.parametrize(
    "action",
    [
        pytest.param({**AS_DICT, "dx": None}, id="none-value"),
        pytest.param([None] * 5, id="all-none"),
        pytest.param({**AS_DICT, "dyaw": "nan"}, id="nan-string"),
    ],
)
def test_send_pipeline_rejects_values_numpy_reads_as_nan(action):
    # numpy converts None and the string "nan" to NaN instead of failing, so these pass
    # action_to_array; the pipeline send_action runs (convert, then reject_non_finite) stops them.
    with pytest.raises(UnsafeActionError):
        reject_non_finite(action_to_array(action))


def test_array_to_action_round_trips_with_plain_floats():
    action = array_to_action(np.asarray(VALUES, dtype=np.float32))
    assert list(action) == list(ACTION_NAMES)
    assert all(type(v) is float for v in action.values())
    np.testing.assert_allclose(action_to_array(action), VALUES, rtol=1e-6)


def test_unsafe_action_error_is_a_value_error():
    assert issubclass(UnsafeActionError, ValueError)


# ---- reject_non_finite -------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [NAN, INF, -INF], ids=["nan", "+inf", "-inf"])
@pytest.mark.parametrize("position", range(len(ACTION_NAMES)), ids=list(ACTION_NAMES))
def test_reject_non_finite_in_each_position(bad, position):
    arr = np.zeros(len(ACTION_NAMES))
    arr[position] = bad
    with pytest.raises(UnsafeActionError, match=rf"\['{ACTION_NAMES[position]}'\].*nothing was sent"):
        reject_non_finite(arr)


def test_reject_non_finite_names_every_bad_entry():
    with pytest.raises(UnsafeActionError, match=r"\['dx', 'dyaw', 'gripper'\]"):
        reject_non_finite(np.array([NAN, 0.0, 0.0, INF, -INF]))


@pytest.mark.parametrize(
    "arr", [np.zeros(5), np.ones(5), -np.ones(5), np.full(5, 1e300), np.array([5.0, -7.0, 0.0, 1.0, -1.0])]
)
def test_reject_non_finite_passes_finite_through(arr):
    assert reject_non_finite(arr) is arr


# ---- clip_normalized ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "clipped", "mask"),
    [
        ([0.0, 0.5, -0.5, 0.99, -0.99], [0.0, 0.5, -0.5, 0.99, -0.99], [0, 0, 0, 0, 0]),
        ([1.0, -1.0, 1.0, -1.0, 1.0], [1.0, -1.0, 1.0, -1.0, 1.0], [0, 0, 0, 0, 0]),  # boundaries are in range
        ([1.0000001, -1.0000001, 0.0, 0.0, 0.0], [1.0, -1.0, 0.0, 0.0, 0.0], [1, 1, 0, 0, 0]),
        ([5.0, -7.0, 0.2, 2.0, -2.0], [1.0, -1.0, 0.2, 1.0, -1.0], [1, 1, 0, 1, 1]),
        ([1e300, -1e300, 0.0, 0.0, 0.0], [1.0, -1.0, 0.0, 0.0, 0.0], [1, 1, 0, 0, 0]),
    ],
)
def test_clip_normalized(action, clipped, mask):
    out, changed = clip_normalized(np.asarray(action))
    np.testing.assert_array_equal(out, clipped)
    np.testing.assert_array_equal(changed, np.asarray(mask, dtype=bool))
    assert changed.dtype == bool


def test_clip_normalized_custom_range_and_input_untouched():
    action = np.array([0.0, 0.5, 1.0, -0.5, -1.0])
    out, changed = clip_normalized(action, low=-0.5, high=0.5)
    np.testing.assert_array_equal(out, [0.0, 0.5, 0.5, -0.5, -0.5])
    np.testing.assert_array_equal(changed, [False, False, True, False, True])
    np.testing.assert_array_equal(action, [0.0, 0.5, 1.0, -0.5, -1.0])


# ---- clamp_to_box ------------------------------------------------------------------------------
BOX_LOW, BOX_HIGH = (0.2, -0.3, 0.0), (0.7, 0.3, 0.5)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0.4, 0.0, 0.2), (0.4, 0.0, 0.2)),  # inside
        ((0.2, -0.3, 0.0), (0.2, -0.3, 0.0)),  # low corner
        ((0.7, 0.3, 0.5), (0.7, 0.3, 0.5)),  # high corner
        ((1.0, 0.0, 0.2), (0.7, 0.0, 0.2)),  # beyond x
        ((0.4, -1.0, -0.1), (0.4, -0.3, 0.0)),  # two axes below
        ((-5.0, 5.0, 9.0), (0.2, 0.3, 0.5)),  # every axis out
        ((INF, -INF, INF), (0.7, -0.3, 0.5)),  # infinities land on the faces
    ],
)
def test_clamp_to_box(point, expected):
    np.testing.assert_array_equal(clamp_to_box(np.asarray(point), BOX_LOW, BOX_HIGH), expected)


def test_clamp_to_box_propagates_nan():
    # NaN must stay visible for reject_non_finite, not be silently clamped to a face.
    assert np.isnan(clamp_to_box(np.array([NAN, 0.0, 0.2]), BOX_LOW, BOX_HIGH)[0])


# ---- wrap_angle --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("angle", "expected"),
    [
        (0.0, 0.0),
        (1.0, 1.0),
        (-1.0, -1.0),
        (math.pi, -math.pi),  # [-pi, pi): +pi maps to -pi
        (-math.pi, -math.pi),
        (2 * math.pi, 0.0),
        (3 * math.pi / 2, -math.pi / 2),
        (-3 * math.pi / 2, math.pi / 2),
        (10 * math.pi + 0.5, 0.5),
    ],
)
def test_wrap_angle(angle, expected):
    assert float(wrap_angle(angle)) == pytest.approx(expected, abs=1e-9)


def test_wrap_angle_arrays():
    angles = np.linspace(-20, 20, 401)
    wrapped = wrap_angle(angles)
    assert wrapped.shape == angles.shape
    assert np.all(wrapped >= -math.pi) and np.all(wrapped < math.pi)
    np.testing.assert_allclose(np.sin(wrapped), np.sin(angles), atol=1e-9)
    np.testing.assert_allclose(np.cos(wrapped), np.cos(angles), atol=1e-9)


# ---- EEDeltaLimits.scale -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("limits", "normalized", "expected"),
    [
        (EEDeltaLimits(), [1.0, -1.0, 0.5, 1.0, -1.0], [0.02, -0.02, 0.01, 0.15, -1.0]),
        (EEDeltaLimits(), [0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0, 1.0]),
        (EEDeltaLimits(0.05, 0.3), [0.2, 0.4, -1.0, -0.5, 0.3], [0.01, 0.02, -0.05, -0.15, 0.3]),
        (EEDeltaLimits(0.0, 0.0), [1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 1.0]),
    ],
)
def test_limits_scale(limits, normalized, expected):
    inp = np.asarray(normalized, dtype=np.float32)
    out = limits.scale(inp)
    assert out.dtype == np.float64 and out.shape == (5,)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(inp, np.asarray(normalized, dtype=np.float32))  # input not modified


def test_limit_defaults():
    # 2 cm and 0.15 rad per 10 Hz step (robolang/robot.py).
    assert EEDeltaLimits() == EEDeltaLimits(translation_m=0.02, yaw_rad=0.15)
