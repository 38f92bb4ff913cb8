"""A scripted stand-in for LeRobot's ``keyboard_ee``, as a LeRobot teleoperator plugin (tests only).

``scripted_keyboard_ee`` emits what ``keyboard_ee`` emits while the same keys stay pressed
(``delta_x, delta_y, delta_z`` and a 0 / 1 / 2 gripper command), with no keyboard or display.
``robolang_scripted_keyboard_ee`` is it behind ``RobolangActionTeleop``, the mixin that makes
``robolang_keyboard_ee`` out of ``keyboard_ee``. LeRobot's scripts find the package with
``--teleop.discover_packages_path=lerobot_teleoperator_scripted`` (``tests/helpers`` on
``PYTHONPATH``). It does not import ``lerobot_robot_robolang``: the robots must be found by
LeRobot's own discovery. ``log``: a file that receives the number of actions given, on disconnect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lerobot.teleoperators import Teleoperator, TeleoperatorConfig

from robolang.teleop.lerobot_processor import RobolangActionTeleop


@TeleoperatorConfig.register_subclass("scripted_keyboard_ee")
@dataclass
class ScriptedEETeleopConfig(TeleoperatorConfig):
    delta_x: float = 0.0
    delta_y: float = 0.0
    delta_z: float = 0.0
    gripper: int = 1  # keyboard_ee: 0 close, 1 stay, 2 open
    log: str | None = None


class ScriptedEETeleop(Teleoperator):
    config_class = ScriptedEETeleopConfig
    name = "scripted_keyboard_ee"

    def __init__(self, config: ScriptedEETeleopConfig):
        super().__init__(config)
        self.config = config
        self.calls = 0
        self._connected = False

    @property
    def action_features(self) -> dict:
        return {"dtype": "float32", "shape": (4,), "names": {"delta_x": 0, "delta_y": 1, "delta_z": 2, "gripper": 3}}

    @property
    def feedback_features(self) -> dict:
        return {}

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def is_calibrated(self) -> bool:
        return True

    def connect(self, calibrate: bool = True) -> None:
        self._connected = True

    def calibrate(self) -> None:
        pass

    def configure(self) -> None:
        pass

    def get_action(self) -> dict[str, float]:
        assert self._connected, "polled before connect()"
        self.calls += 1
        c = self.config
        return {"delta_x": c.delta_x, "delta_y": c.delta_y, "delta_z": c.delta_z, "gripper": c.gripper}

    def send_feedback(self, feedback: dict) -> None:
        pass

    def disconnect(self) -> None:
        self._connected = False
        if self.config.log:
            Path(self.config.log).write_text(str(self.calls))


@TeleoperatorConfig.register_subclass("robolang_scripted_keyboard_ee")
@dataclass
class RobolangScriptedEETeleopConfig(ScriptedEETeleopConfig):
    scale: float = 1.0


class RobolangScriptedEETeleop(RobolangActionTeleop, ScriptedEETeleop):
    config_class = RobolangScriptedEETeleopConfig
    name = "robolang_scripted_keyboard_ee"
    lerobot_type = "keyboard_ee"
