"""The deploy loop's safety layer: pure functions of plain arrays, on by default.

Every action a policy proposes passes ``limit_action`` before it can reach a robot:

1. the NaN/inf gate: a non-finite action (or proprioception) raises ``UnsafeActionError`` and
   nothing is sent;
2. each entry is clipped into the normalized range [-1, 1];
3. the workspace box: the commanded end-effector target (the current position plus the step)
   is clamped into the box, in the robot base frame;
4. the speed limit: the translation of one step is at most ``max_step_m`` (its direction kept);
5. the rotation limit: the yaw of one step is at most ``max_step_yaw_rad``;
6. the gripper command is kept in ``[gripper_low, gripper_high]`` (e.g. never fully closed on
   an arm without force control).

Property: from a position inside the box, the target never leaves it; from outside (a robot
pushed out by hand), every step moves it no further from the box. Both, and the speed,
rotation and range limits, are property-tested (``tests/test_deploy_safety.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robolang.errors import RobolangError
from robolang.robot import EEDeltaLimits
from robolang.safety import UnsafeActionError, action_to_array, clamp_to_box, reject_non_finite

# Names of the limits that changed an action, in the order they are applied.
RANGE, WORKSPACE, SPEED, ROTATION, GRIPPER = "range", "workspace", "speed", "rotation", "gripper"


class SafetyConfigError(RobolangError, ValueError):
    """Safety limits that cannot protect anything (a box with low >= high, a negative speed)."""


@dataclass(frozen=True)
class SafetyLimits:
    """Limits in the robot base frame, per control step."""

    workspace_low: tuple[float, float, float]
    workspace_high: tuple[float, float, float]
    max_step_m: float = 0.02  # 0.2 m/s at 10 Hz
    max_step_yaw_rad: float = 0.15  # ~86 deg/s at 10 Hz
    gripper_low: float = -1.0  # normalized gripper command: -1 open, +1 closed
    gripper_high: float = 1.0

    def __post_init__(self) -> None:
        low, high = np.asarray(self.workspace_low, float), np.asarray(self.workspace_high, float)
        if low.shape != (3,) or high.shape != (3,):
            raise SafetyConfigError(
                f"safety.workspace_low/high must be [x, y, z] in metres, got {self.workspace_low} / {self.workspace_high}"
            )
        if not (np.isfinite(low).all() and np.isfinite(high).all() and (low < high).all()):
            raise SafetyConfigError(
                f"safety.workspace_low {list(low)} must be finite and below safety.workspace_high {list(high)} "
                "on every axis"
            )
        for key in ("max_step_m", "max_step_yaw_rad"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise SafetyConfigError(f"safety.{key} must be a finite number >= 0, got {value}")
        if not (-1.0 <= self.gripper_low <= self.gripper_high <= 1.0):
            raise SafetyConfigError(
                f"safety.gripper_low/high must satisfy -1 <= low <= high <= 1, got {self.gripper_low} / "
                f"{self.gripper_high}"
            )

    @classmethod
    def for_robot(cls, robot, workspace_low: Sequence[float] | None = None,
                  workspace_high: Sequence[float] | None = None, **limits) -> SafetyLimits:  # fmt: skip
        """Limits with the box given, or else the robot's own ``workspace``; neither is an error."""
        if workspace_low is None or workspace_high is None:
            if robot.workspace is None:
                raise SafetyConfigError(
                    f"{robot.name} declares no workspace box: set safety.workspace_low=[x,y,z] and "
                    "safety.workspace_high=[x,y,z] (metres, robot base frame)"
                )
            workspace_low = workspace_low if workspace_low is not None else robot.workspace[0]
            workspace_high = workspace_high if workspace_high is not None else robot.workspace[1]
        return cls(tuple(map(float, workspace_low)), tuple(map(float, workspace_high)), **limits)


@dataclass(frozen=True)
class Limited:
    """A safe action and the limits that changed it."""

    action: np.ndarray  # (5,) normalized, every entry in [-1, 1]
    violations: tuple[str, ...]


def limit_action(action, ee_pos, scale: EEDeltaLimits, limits: SafetyLimits) -> Limited:
    """The action that may be sent from end-effector position ``ee_pos`` (m, base frame).

    ``action`` is normalized (a dict of ``ACTION_NAMES`` or a (5,) sequence); ``scale`` is the
    robot's ``limits`` (metres and radians of a full-scale action). Raises ``UnsafeActionError``
    when the action or the position is not finite: then nothing may be sent.
    """
    a = reject_non_finite(action_to_array(action))
    ee = np.asarray(ee_pos, dtype=np.float64)
    if ee.shape != (3,) or not np.isfinite(ee).all():
        raise UnsafeActionError(f"the end-effector position {ee.tolist()} is not finite; nothing was sent")
    violations = []
    clipped = np.clip(a, -1.0, 1.0)
    if (clipped != a).any():
        violations.append(RANGE)
    physical = scale.scale(clipped)
    step = physical[:3]
    target = clamp_to_box(ee + step, limits.workspace_low, limits.workspace_high)
    if (target != ee + step).any():
        violations.append(WORKSPACE)
        step = target - ee
    length = float(np.linalg.norm(step))
    if length > limits.max_step_m:
        violations.append(SPEED)
        step = step * (limits.max_step_m / length)
    yaw = float(np.clip(physical[3], -limits.max_step_yaw_rad, limits.max_step_yaw_rad))
    if yaw != physical[3]:
        violations.append(ROTATION)
    gripper = float(np.clip(physical[4], limits.gripper_low, limits.gripper_high))
    if gripper != physical[4]:
        violations.append(GRIPPER)
    safe = scale.normalize(np.array([*step, yaw, gripper]))
    # Shrinking an entry towards 0 keeps the target between the position and the limited target:
    # still in the box, still within the speed.
    return Limited(np.clip(safe, -1.0, 1.0), tuple(violations))


def outside_distance(point, low, high) -> float:
    """How far ``point`` is from the box [low, high] (0 inside)."""
    p = np.asarray(point, dtype=np.float64)
    return float(np.linalg.norm(p - clamp_to_box(p, low, high)))
