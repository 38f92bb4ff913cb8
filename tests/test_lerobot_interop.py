"""LeRobot's own teleoperation loop drives the simulated play table, unchanged.

A scripted mock teleoperator (a real ``lerobot.teleoperators.Teleoperator`` subclass) emits
end-effector delta actions in our ``ACTION_NAMES``, or LeRobot's ``keyboard_ee`` deltas through
robolang's processor step; ``lerobot_teleoperate.teleop_loop`` sends them to ``PlayTableRobot``.
Also: the ``robolang_keyboard_ee`` / ``robolang_gamepad`` teleoperators, how LeRobot finds the
``lerobot_robot_robolang`` plugin, and the control-rate guard. The CLIs themselves:
``tests/test_lerobot_cli.py``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from lerobot.configs.parser import load_plugin
from lerobot.datasets.pipeline_features import aggregate_pipeline_dataset_features, create_initial_features
from lerobot.processor import ProcessorStepRegistry, RobotProcessorPipeline, make_default_processors
from lerobot.processor.converters import robot_action_observation_to_transition, transition_to_robot_action
from lerobot.robots import RobotConfig, make_robot_from_config
from lerobot.scripts.lerobot_teleoperate import teleop_loop
from lerobot.teleoperators import Teleoperator, TeleoperatorConfig, make_teleoperator_from_config

from lerobot_robot_robolang import (
    RobolangGamepadTeleop,
    RobolangGamepadTeleopConfig,
    RobolangKeyboardEETeleop,
    RobolangKeyboardEETeleopConfig,
)
from robolang.control_rate import WINDOW, ControlRateError, ControlRateGuard
from robolang.features import ACTION_NAMES, STATE_NAMES
from robolang.teleop.lerobot_processor import EEDeltaToRobolangStep
from sim.robot import PlayTableRobot, PlayTableRobotConfig

REPO = Path(__file__).resolve().parents[1]

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


# ---- LeRobot's end-effector teleoperators (delta_x/y/z, gripper 0/1/2) ---------------------------
def _keyboard_ee(delta_x=0.0, delta_y=0.0, delta_z=0.0, gripper=1) -> dict[str, float]:
    return {"delta_x": delta_x, "delta_y": delta_y, "delta_z": delta_z, "gripper": gripper}


def _ee_pipeline(step) -> RobotProcessorPipeline:
    return RobotProcessorPipeline(
        steps=[step], to_transition=robot_action_observation_to_transition, to_output=transition_to_robot_action
    )


def test_processor_step_lets_lerobot_keyboard_ee_drive_the_sim(robot, tmp_path):
    # keyboard_ee with Up held (delta_y = -1: its "forward") and Left Ctrl pressed once (close).
    script = [_keyboard_ee(delta_y=-1.0, gripper=0)] + [_keyboard_ee(delta_y=-1.0)] * 10
    teleop = MockEETeleop(MockEETeleopConfig(id="kb", calibration_dir=tmp_path / "teleop", script=script))
    teleop.connect()
    start = _ee(robot)
    _, robot_action_processor, robot_observation_processor = make_default_processors()
    teleop_loop(
        teleop,
        robot,
        FPS,
        teleop_action_processor=_ee_pipeline(EEDeltaToRobolangStep.for_teleop("keyboard_ee", scale=0.5)),
        robot_action_processor=robot_action_processor,
        robot_observation_processor=robot_observation_processor,
        duration=1.0,
    )
    moved = _ee(robot) - start
    # Its forward is our +x; ~10 steps of 1 cm (half scale), the gripper latched closed.
    assert moved[0] > 0.04 and abs(moved[1]) < 0.01 and abs(moved[2]) < 0.01, moved
    assert robot.scene.arm.target_finger == 0.0


def test_processor_step_converts_latches_and_describes_its_features(tmp_path):
    step = EEDeltaToRobolangStep.for_teleop("gamepad", scale=0.5)
    assert step.action(_keyboard_ee(1.0, -0.5, 4.0, gripper=0)) == {
        "dx": 0.5, "dy": -0.25, "dz": 1.0, "dyaw": 0.0, "gripper": 1.0,
    }  # fmt: skip
    assert step.action(_keyboard_ee())["gripper"] == 1.0  # 1 = stay: still closed
    assert step.action(_keyboard_ee(gripper=2))["gripper"] == -1.0
    step.action(_keyboard_ee(gripper=0))
    step.reset()  # a new episode starts open, as the robot does
    assert step.action(_keyboard_ee())["gripper"] == -1.0
    with pytest.raises(ValueError, match="0 \\(close\\), 1 \\(stay\\) or 2 \\(open\\)"):
        step.action(_keyboard_ee(gripper=7))
    with pytest.raises(ValueError, match="3x3"):
        EEDeltaToRobolangStep(frame=[[1.0, 0.0]])
    assert ProcessorStepRegistry.get("robolang_ee_delta_to_action") is EEDeltaToRobolangStep
    # What lerobot-record would derive from a pipeline with the step: robolang's action names.
    teleop_features = dict.fromkeys(("delta_x", "delta_y", "delta_z", "gripper"), float)
    features = aggregate_pipeline_dataset_features(
        _ee_pipeline(step), create_initial_features(action=teleop_features), use_videos=True
    )
    assert features["action"]["names"] == list(ACTION_NAMES)
    # It saves and loads as a LeRobot pipeline (its config: the teleop's axes and the scale).
    _ee_pipeline(EEDeltaToRobolangStep.for_teleop("keyboard_ee", 0.25)).save_pretrained(tmp_path / "pipe")
    loaded = RobotProcessorPipeline.from_pretrained(
        tmp_path / "pipe",
        config_filename="dataprocessorpipeline.json",
        to_transition=robot_action_observation_to_transition,
        to_output=transition_to_robot_action,
    )
    assert loaded.steps[0].get_config() == EEDeltaToRobolangStep.for_teleop("keyboard_ee", 0.25).get_config()


class FakeGamepadController:
    """What ``GamepadTeleop`` reads from its controller (``gamepad_utils``), scripted: the bus."""

    def __init__(self):
        self.deltas, self.command = (0.0, 0.0, 0.0), "stay"

    def update(self):
        pass

    def get_deltas(self):
        return self.deltas

    def gripper_command(self):
        return self.command


def test_robolang_gamepad_teleoperator_emits_robolang_actions(tmp_path):
    config = RobolangGamepadTeleopConfig(id="pad", calibration_dir=tmp_path, scale=0.5)
    teleop = make_teleoperator_from_config(config)  # what lerobot-teleoperate / lerobot-record call
    assert isinstance(teleop, RobolangGamepadTeleop) and config.type == teleop.name == "robolang_gamepad"
    assert teleop.action_features == dict.fromkeys(ACTION_NAMES, float)
    teleop.gamepad = FakeGamepadController()  # connected, without pygame or a device
    teleop.gamepad.deltas, teleop.gamepad.command = (1.0, -0.4, 0.2), "close"
    assert teleop.get_action() == pytest.approx({"dx": 0.5, "dy": -0.2, "dz": 0.1, "dyaw": 0.0, "gripper": 1.0})
    teleop.gamepad.deltas, teleop.gamepad.command = (0.0, 0.0, 0.0), "stay"
    assert teleop.get_action()["gripper"] == 1.0
    teleop.gamepad.command = "open"
    assert teleop.get_action()["gripper"] == -1.0


def test_robolang_keyboard_ee_teleoperator_is_keyboard_ee_in_our_frame(tmp_path):
    teleop = make_teleoperator_from_config(RobolangKeyboardEETeleopConfig(id="kb", calibration_dir=tmp_path))
    assert isinstance(teleop, RobolangKeyboardEETeleop) and teleop.name == "robolang_keyboard_ee"
    assert teleop.action_features == dict.fromkeys(ACTION_NAMES, float)
    # No display here, so no key listener: check the conversion it applies to keyboard_ee's output.
    up_left = teleop.to_robolang.action(_keyboard_ee(delta_x=1.0, delta_y=-1.0, delta_z=1.0, gripper=0))
    assert up_left == {"dx": 1.0, "dy": 1.0, "dz": 1.0, "dyaw": 0.0, "gripper": 1.0}


# ---- the plugin: how LeRobot's scripts find robolang -------------------------------------------
def test_lerobot_discovers_the_plugin_by_its_distribution_name(tmp_path):
    """LeRobot imports installed distributions named ``lerobot_robot_*``; a dist-info with the name
    of ``lerobot_robot_robolang/pyproject.toml`` is what ``pip install`` leaves behind."""
    name = tomllib.loads((REPO / "lerobot_robot_robolang" / "pyproject.toml").read_text())["project"]["name"]
    assert name == "lerobot_robot_robolang", "LeRobot imports the distribution name as a module"
    (site := tmp_path / f"{name}-0.1.0.dist-info").mkdir()
    (site / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    probe = (
        "import json\n"
        "from lerobot.robots import RobotConfig\n"
        "from lerobot.teleoperators import TeleoperatorConfig\n"
        "before = set(RobotConfig.get_known_choices())\n"
        "from lerobot.utils.import_utils import register_third_party_plugins\n"
        "register_third_party_plugins()\n"
        "print(json.dumps([sorted(set(RobotConfig.get_known_choices()) - before), "
        "sorted(TeleoperatorConfig.get_known_choices())]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    robots, teleops = json.loads(out.stdout.strip().splitlines()[-1])
    assert "robolang_play_table" in robots
    assert {"robolang_keyboard_ee", "robolang_gamepad"} <= set(teleops)


def test_plugin_loads_by_path_and_a_broken_driver_does_not_stop_it(tmp_path, monkeypatch, caplog):
    import lerobot_robot_robolang as plugin

    load_plugin("lerobot_robot_robolang")  # --robot.discover_packages_path=lerobot_robot_robolang
    assert "sim.robot" in plugin.REGISTERED_MODULES
    assert "robolang_play_table" in RobotConfig.get_known_choices()
    (tmp_path / "driver_missing_sdk.py").write_text("import vendor_sdk_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.DEBUG, logger="lerobot_robot_robolang"):
        assert plugin._register("driver_missing_sdk") is False
        assert plugin._register("hardware.driver_not_written_yet") is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "vendor_sdk_that_is_not_installed" in warnings[0].getMessage()


# ---- the control rate --------------------------------------------------------------------------
@pytest.mark.parametrize(("hz", "refused"), [(10.0, False), (11.5, False), (30.0, True), (60.0, True)])
def test_control_rate_guard(hz, refused):
    guard = ControlRateGuard()
    times = [i / hz for i in range(WINDOW + 1)]
    for t in times[:-1]:
        guard.check(t, 10, "robolang_play_table")
    if refused:
        with pytest.raises(ControlRateError, match="--fps=10 to lerobot-teleoperate or --dataset.fps=10"):
            guard.check(times[-1], 10, "robolang_play_table")
    else:
        guard.check(times[-1], 10, "robolang_play_table")


def test_robolang_loops_may_step_the_sim_as_fast_as_it_goes(robot):
    """Only LeRobot's loops are held to control_fps: collection steps the sim flat out."""
    for _ in range(3 * WINDOW):
        robot.send_action(_ee_action())
    assert robot.control_fps == 10


def test_robolang_loads_lerobot_robot_without_its_processor_package_and_leaves_it_whole():
    """``robolang.robot`` serves LeRobot's robot module two type aliases instead of importing all
    of ``lerobot.processor`` (transformers, torchvision: ~4 s before ``ask`` acts); afterwards the
    real package imports as usual and the robots are still LeRobot robots."""
    for first in ("import robolang.robot", "import sim.robot", "import hardware.config_ur"):
        _check_light_lerobot_import(first)


def _check_light_lerobot_import(first: str) -> None:
    code = (
        first
        + """
import sys
from sim.robot import PlayTableRobot
light = [m for m in ("lerobot.processor", "transformers", "torchvision") if m in sys.modules]
import lerobot.processor
from lerobot.robots import Robot
from lerobot.robots.robot import RobotAction
print(light, hasattr(lerobot.processor, "RobotProcessorPipeline"), issubclass(PlayTableRobot, Robot), RobotAction)
"""
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[] True True dict[str, typing.Any]", first


def test_a_lerobot_that_needs_more_of_its_processor_package_is_loaded_whole():
    """Were LeRobot's robot module to import more than the two aliases, the light import would
    fail: robolang then loads the package whole instead of failing to start."""
    code = """
import sys, importlib.abc
class NeedsMore(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        processor = sys.modules.get("lerobot.processor")
        if name == "lerobot.robots.robot" and processor is not None and not hasattr(processor, "__file__"):
            raise ImportError("cannot import name 'RobotProcessorPipeline' from 'lerobot.processor'")
        return None
sys.meta_path.insert(0, NeedsMore())
import robolang.robot
import lerobot.processor
print(hasattr(lerobot.processor, "__file__"), robolang.robot.Robot.__module__)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "lerobot.robots.robot"]
