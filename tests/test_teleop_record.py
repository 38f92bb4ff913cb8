"""Teleoperation recording: device events become saved, discarded and re-recorded episodes."""

import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from robolang.config import load_config
from robolang.features import CAMERA_NAMES, CONTROL_FPS
from robolang.recording.features import dataset_features
from robolang.recording.store import EpisodeStore
from robolang.teleop import ScriptedDevice, TeleopEvent, TeleopInput, run_teleop
from robolang.teleop.device import idle_action
from robolang.teleop_record import TeleopRecorder, make_device
from sim.robot import PlayTableRobot, PlayTableRobotConfig

MOVE = {"dx": 0.5}


@pytest.fixture
def robot(tmp_path):
    r = PlayTableRobot(
        PlayTableRobotConfig(
            static_width=32, static_height=32, wrist_width=32, wrist_height=32, calibration_dir=tmp_path / "cal"
        )
    )
    r.connect()
    yield r
    r.disconnect()


def store_for(robot, root, resume=False):
    shapes = {cam: robot.observation_features[cam] for cam in CAMERA_NAMES}
    return EpisodeStore(
        root, "test/teleop", CONTROL_FPS, dataset_features(shapes, robot.scene_fields), robot.name, resume=resume
    )


def test_events_save_discard_and_rerecord_episodes(robot, tmp_path):
    root = tmp_path / "teleop"
    recorder = TeleopRecorder(robot, store_for(robot, root), base_seed=0, episode_steps=1000)
    script = (
        [MOVE] * 12
        + [TeleopInput(idle_action(), frozenset({TeleopEvent.NEXT_EPISODE}))]  # save episode 0 (13 frames)
        + [MOVE] * 5
        + [TeleopInput(idle_action(), frozenset({TeleopEvent.RERECORD_EPISODE}))]  # throw those 6 away
        + [MOVE] * 14  # episode 1: 14 frames, saved on stop
        + [TeleopInput(idle_action(), frozenset({TeleopEvent.STOP}))]
    )
    recorder.start()
    run_teleop(robot, ScriptedDevice(script), fps=1000, on_step=recorder.on_step, print_fn=None, sleep=lambda s: None)
    recorder.finish()
    ds = LeRobotDataset("test/teleop", root=root)
    assert ds.num_episodes == 2
    assert [int(n) for n in ds.meta.episodes["length"]] == [13, 14]
    assert ds[0]["task"] == "play" and "scene_state" in ds[0]
    assert float(ds[5]["action"][0]) == pytest.approx(0.5)


def test_episodes_end_after_episode_seconds(robot, tmp_path):
    root = tmp_path / "teleop"
    recorder = TeleopRecorder(robot, store_for(robot, root), base_seed=0, episode_steps=15)
    recorder.start()
    run_teleop(
        robot,
        ScriptedDevice([MOVE] * 40),
        fps=1000,
        max_steps=40,
        on_step=recorder.on_step,
        print_fn=None,
        sleep=lambda s: None,
    )
    recorder.finish()
    assert [int(n) for n in LeRobotDataset("test/teleop", root=root).meta.episodes["length"]] == [15, 15, 10]


def test_short_interrupted_episode_is_discarded(robot, tmp_path):
    root = tmp_path / "teleop"
    recorder = TeleopRecorder(robot, store_for(robot, root), base_seed=0, episode_steps=100)
    recorder.start()
    run_teleop(
        robot, ScriptedDevice([MOVE] * 3), fps=1000, on_step=recorder.on_step, print_fn=None, sleep=lambda s: None
    )
    recorder.finish()
    assert recorder.saved == 0 and not root.exists()


def test_device_configs_build_and_gui_device_gets_the_robot(robot):
    cfg = load_config("teleop", ["device=terminal"])
    assert type(make_device(cfg, robot)).__name__ == "TerminalKeyboard"
    cfg = load_config("teleop", ["device=gui"])
    assert cfg.robot.config.gui is True  # the scene opens in a window for the GUI keyboard
    assert type(make_device(cfg, robot)).__name__ == "PyBulletGuiKeyboard"
