"""A robot with the contract and nothing more: the play table seen as a real arm would be.

It implements only ``EEDeltaRobot``'s hooks (cameras, proprioception, actions) by delegating to
a hidden ``PlayTableRobot``; it has no seeded reset, no scene state and no save/restore, so
``is_simulator`` is False. Commands given it must behave as on real hardware.
"""

from __future__ import annotations

import numpy as np

from robolang.robot import EEDeltaRobot
from sim.robot import PlayTableRobot


class BareArm(EEDeltaRobot):
    name = "bare_arm"

    def __init__(self, config):
        super().__init__(config)
        self._sim = PlayTableRobot(config)
        self.limits = self._sim.limits

    def camera_shape(self, camera: str) -> tuple[int, int, int]:
        return self._sim.camera_shape(camera)

    def _connect(self) -> None:
        self._sim.connect()

    def _disconnect(self) -> None:
        self._sim.disconnect()

    def _read_observation(self) -> dict:
        return self._sim._read_observation()

    def _apply_action(self, action: np.ndarray) -> np.ndarray:
        return self._sim._apply_action(action)
