"""Pure safety and geometry functions: arrays in, arrays out, testable without a device.

Modelled on lerobot ``robots/utils.py: ensure_safe_goal_position``: every check is a
function of plain arrays so it is table-tested (including +-inf and NaN) without a robot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robolang.errors import RobolangError
from robolang.features import ACTION_NAMES


class UnsafeActionError(RobolangError, ValueError):
    """An action that must never reach the physics or the motors (NaN, inf, wrong shape)."""


def action_to_array(action: Mapping[str, float] | Sequence[float] | np.ndarray) -> np.ndarray:
    """Turn an action dict (keys of ``ACTION_NAMES``) or sequence into a (5,) float64 array.

    Raises ``UnsafeActionError`` naming the missing or unexpected keys.
    """
    if isinstance(action, Mapping):
        missing = [k for k in ACTION_NAMES if k not in action]
        extra = [k for k in action if k not in ACTION_NAMES]
        if missing or extra:
            raise UnsafeActionError(f"action keys must be {list(ACTION_NAMES)}; missing {missing}, unexpected {extra}")
        values = [action[k] for k in ACTION_NAMES]
    else:
        values = action
    try:
        arr = np.asarray(values).reshape(-1)  # no dtype: see what numpy makes of it
    except (TypeError, ValueError) as exc:
        raise UnsafeActionError(f"action is not numeric: {action!r}") from exc
    if arr.dtype.kind not in "biuf":  # None -> object, "0.5" -> str: refuse, don't coerce
        raise UnsafeActionError(f"action is not numeric: {action!r}")
    arr = arr.astype(np.float64)
    if arr.shape != (len(ACTION_NAMES),):
        raise UnsafeActionError(f"action must have {len(ACTION_NAMES)} values, got shape {arr.shape}")
    return arr


def array_to_action(arr: np.ndarray) -> dict[str, float]:
    """Inverse of ``action_to_array``: a dict with plain Python floats."""
    return {k: float(v) for k, v in zip(ACTION_NAMES, arr, strict=True)}


def reject_non_finite(action: np.ndarray) -> np.ndarray:
    """Raise ``UnsafeActionError`` if any entry is NaN or +-inf; return the action otherwise."""
    bad = ~np.isfinite(action)
    if bad.any():
        names = [ACTION_NAMES[i] if i < len(ACTION_NAMES) else str(i) for i in np.flatnonzero(bad)]
        raise UnsafeActionError(
            f"non-finite action values in {names}: {action.tolist()}; nothing was sent to the robot"
        )
    return action


def clip_normalized(action: np.ndarray, low: float = -1.0, high: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Clip a finite normalized action into [low, high].

    Returns the clipped action and a boolean mask of the entries that were changed.
    """
    clipped = np.clip(action, low, high)
    return clipped, clipped != action


def clamp_to_box(point: np.ndarray, low: Sequence[float], high: Sequence[float]) -> np.ndarray:
    """Clamp a position into an axis-aligned workspace box (all arrays in the same frame)."""
    return np.minimum(np.maximum(point, np.asarray(low, dtype=np.float64)), np.asarray(high, dtype=np.float64))


def wrap_angle(angle: float | np.ndarray) -> float | np.ndarray:
    """Wrap an angle to [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi
