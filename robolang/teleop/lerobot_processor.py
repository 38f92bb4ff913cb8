"""LeRobot's end-effector teleoperators as robolang actions, inside LeRobot's own pipelines.

``keyboard_ee`` and ``gamepad`` (lerobot 0.4.4) emit ``delta_x, delta_y, delta_z`` and a
0 / 1 / 2 gripper command; robolang robots take ``dx, dy, dz, dyaw, gripper`` and refuse
anything else. ``EEDeltaToRobolangStep`` is a LeRobot ``RobotActionProcessorStep``
(registered as ``robolang_ee_delta_to_action``) that converts one into the other with
``convert_lerobot_action`` from ``lerobot_adapter.py`` (the teleop's axes, the scale, the
latched gripper), the conversion ``robolang teleop`` uses too. It runs wherever LeRobot runs
processors: in ``teleop_loop`` / ``record_loop`` given a ``RobotProcessorPipeline``, and inside
``RobolangActionTeleop``, the mixin that makes the ``robolang_keyboard_ee`` / ``robolang_gamepad``
teleoperators (package ``lerobot_robot_robolang``) that ``lerobot-teleoperate`` and
``lerobot-record`` build from ``--teleop.type``: those scripts give the robot what the
teleoperator emits (their processors are the identity) and ``lerobot-record`` stores it under
the robot's action names, so there the conversion belongs to the teleoperator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from lerobot.configs.types import PipelineFeatureType
from lerobot.processor import ProcessorStepRegistry, RobotAction, RobotActionProcessorStep

from robolang.features import ACTION_NAMES
from robolang.teleop.device import StickyGripper
from robolang.teleop.lerobot_adapter import IDENTITY, LEROBOT_FRAMES, convert_lerobot_action

LEROBOT_EE_KEYS = ("delta_x", "delta_y", "delta_z", "gripper")


@ProcessorStepRegistry.register("robolang_ee_delta_to_action")
@dataclass
class EEDeltaToRobolangStep(RobotActionProcessorStep):
    """``{delta_x, delta_y, delta_z[, gripper 0/1/2]}`` -> ``{dx, dy, dz, dyaw, gripper}``.

    ``frame``: 3x3, rows = our dx, dy, dz as combinations of delta_x, delta_y, delta_z
    (``LEROBOT_FRAMES`` holds the known teleops'; ``for_teleop`` picks one by name).
    ``scale``: a unit delta is ``scale`` x full scale (the robot's per-step limit).
    The gripper is latched (0 closes, 2 opens, 1 keeps), so the step has state: ``reset()``
    opens it again, as at the start of an episode.
    """

    frame: list[list[float]] = field(default_factory=lambda: [list(row) for row in IDENTITY])
    scale: float = 1.0
    yaw_key: str | None = None

    def __post_init__(self) -> None:
        if np.asarray(self.frame, dtype=float).shape != (3, 3):
            raise ValueError(f"frame must be 3x3, got {self.frame!r}")
        if not np.isfinite(self.scale) or self.scale <= 0:
            raise ValueError(f"scale must be a positive number, got {self.scale!r}")
        self.frame = [[float(v) for v in row] for row in self.frame]
        self._gripper = StickyGripper()

    @classmethod
    def for_teleop(cls, teleop_type: str, scale: float = 1.0) -> EEDeltaToRobolangStep:
        """The step for one of LeRobot's teleops by its type (``keyboard_ee``, ``gamepad``)."""
        if teleop_type not in LEROBOT_FRAMES:
            raise ValueError(f"no known axes for LeRobot teleop {teleop_type!r}; known: {sorted(LEROBOT_FRAMES)}")
        return cls(frame=[list(row) for row in LEROBOT_FRAMES[teleop_type]], scale=scale)

    def action(self, action: RobotAction) -> RobotAction:
        return convert_lerobot_action(action, self.frame, self.scale, self._gripper, self.yaw_key)

    def reset(self) -> None:
        self._gripper.reset()

    def get_config(self) -> dict[str, Any]:
        return {"frame": self.frame, "scale": self.scale, "yaw_key": self.yaw_key}

    def transform_features(self, features: dict) -> dict:
        actions = dict(features.get(PipelineFeatureType.ACTION, {}))
        for key in (*LEROBOT_EE_KEYS, self.yaw_key):
            actions.pop(key, None)
        # Plain ``float`` (hardware-style features), as ``hw_to_dataset_features`` expects.
        actions.update(dict.fromkeys(ACTION_NAMES, float))
        return {**features, PipelineFeatureType.ACTION: actions}


class RobolangActionTeleop:
    """Mixin put before a LeRobot end-effector teleoperator class: its ``get_action`` returns a
    robolang action (``EEDeltaToRobolangStep``). ``lerobot_type`` names the wrapped teleop, whose
    axes (``LEROBOT_FRAMES``) map its deltas onto ours; its config needs a ``scale``."""

    lerobot_type: str

    def __init__(self, config):
        super().__init__(config)
        self.to_robolang = EEDeltaToRobolangStep.for_teleop(self.lerobot_type, config.scale)

    @property
    def action_features(self) -> dict:
        return dict.fromkeys(ACTION_NAMES, float)

    def connect(self) -> None:
        super().connect()
        self.to_robolang.reset()  # the gripper starts open, as the robot's does

    def get_action(self) -> dict[str, float]:
        return self.to_robolang.action(super().get_action())
