"""LeRobot's own teleoperation loop drives the simulated play table, unchanged.

A scripted mock teleoperator (a real ``lerobot.teleoperators.Teleoperator`` subclass) emits
end-effector delta actions in our ``ACTION_NAMES``; ``lerobot_teleoperate.teleop_loop`` with
LeRobot's default processors sends them to ``PlayTableRobot``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from lerobot.processor import make_default_processors
from lerobot.robots import make_robot_from_config
from lerobot.scripts.lerobot_teleoperate import teleop_loop
from lerobot.teleoperators import Teleoperator, TeleoperatorConfig

from robolang.features import ACTION_NAMES, STATE_NAMES
from sim.robot import PlayTableRobot, PlayTableRobotConfig

FPS = 10
DURATION_S = 1.5  # ~15 control steps at 10 Hz


def _ee_action(dx=0.0, dy=0.0, dz=0.0, dyaw=0.0, gripper=-1.0) -> dict[str, float]:
    return dict(zip(ACTION_NAMES, (dx, dy, dz, dyaw, gripper), strict=True))


@TeleoperatorConfig.register_subclass("robolang_mock_ee")
@dataclass(kw_only=True)
class MockEETeleopConfig(TeleoperatorConfig):
    """A scripted sequence of end-effector delta actions; the last one repeats."""

    script: list[dict[str, float]] = field(default_factory=lambda: [_ee_action()])


class MockEETeleop(Teleoperator):
    """Plays back ``config.script`` one action per ``get_action`` call and counts the calls."""

    config_class = MockEETeleopConfig
    name = "robolang_mock_ee"

    def __init__(self, config: MockEETeleopConfig):
        super().__init__(config)
        self.config = config
        self.calls = 0
        self._connected = False

    @property
    def action_features(self) -> dict:
        return {k: float for k in ACTION_NAMES}

    @property
    def feedback_features(self) -> dict:
        return {}

    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self, calibrate: bool = True) -> None:
        self._connected = True

    @property
    def is_calibrated(self) -> bool:
        return True

    def calibrate(self) -> None:
        pass

    def configure(self) -> None:
        pass

    def get_action(self) -> dict[str, float]:
        assert self._connected, "teleop polled before connect()"
        action = self.config.script[min(self.calls, len(self.config.script) - 1)]
        self.calls += 1
        return dict(action)

    def send_feedback(self, feedback: dict) -> None:
        pass

    def disconnect(self) -> None:
        self._connected = False


@pytest.fixture
def robot(tmp_path):
    cfg = PlayTableRobotConfig(
        id="test",
        calibration_dir=tmp_path / "robot",  # keep LeRobot's calibration folder out of ~/.cache
        static_width=64,
        static_height=64,
        wrist_width=64,
        wrist_height=64,
    )
    r = PlayTableRobot(cfg)
    r.connect()
    yield r
    if r.is_connected:
        r.disconnect()


def _ee(robot: PlayTableRobot) -> np.ndarray:
    obs = robot.get_observation()
    return np.array([obs[k] for k in STATE_NAMES[:3]])


def test_lerobot_teleop_loop_drives_the_sim(robot, tmp_path):
    # Half speed (1 cm per step) toward +x and -y, then +z: stays well inside the workspace.
    script = [_ee_action(dx=0.5, dy=-0.5)] * 8 + [_ee_action(dz=0.5, gripper=1.0)]
    teleop = MockEETeleop(MockEETeleopConfig(id="mock", calibration_dir=tmp_path / "teleop", script=script))
    teleop.connect()
    start = _ee(robot)
    teleop_action_processor, robot_action_processor, robot_observation_processor = make_default_processors()
    teleop_loop(
        teleop,
        robot,
        FPS,
        teleop_action_processor=teleop_action_processor,
        robot_action_processor=robot_action_processor,
        robot_observation_processor=robot_observation_processor,
        duration=DURATION_S,
    )
    teleop.disconnect()
    end = _ee(robot)
    moved = end - start
    assert teleop.calls >= 8, f"teleop polled only {teleop.calls} times in {DURATION_S} s at {FPS} fps"
    # 8 steps of 1 cm commanded in x and -y: require most of it (IK tracking lags a little).
    assert moved[0] > 0.04 and moved[1] < -0.04, moved
    assert moved[2] > 0.0, moved  # the +z phase has begun
    assert robot.scene.arm.target_finger == 0.0  # gripper commanded closed by the last action


def test_lerobot_factory_builds_the_play_table(tmp_path):
    """``make_robot_from_config`` (what lerobot-teleoperate / lerobot-record call) finds our robot."""
    robot = make_robot_from_config(PlayTableRobotConfig(id="factory", calibration_dir=tmp_path))
    assert isinstance(robot, PlayTableRobot)
    assert PlayTableRobotConfig(id="x").type == "robolang_play_table"
    assert MockEETeleopConfig(id="x").type == "robolang_mock_ee"
