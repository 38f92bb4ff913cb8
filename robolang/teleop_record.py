"""``robolang teleop``: drive a robot with a teleoperation device and record it as play.

Frames go to a crash-safe LeRobotDataset (``robolang.recording.store``) with ``task="play"``.
Enter (or the device's "next episode") saves the episode and resets the scene; Backspace
("re-record") discards it and resets with the same seed; Esc/x ("stop") or Ctrl-C saves the
episode in progress and finalizes.
"""

from __future__ import annotations

import inspect
import json
import sys

from hydra.utils import get_method, instantiate
from omegaconf import DictConfig

from robolang.config import ConfigError
from robolang.features import CAMERA_NAMES, CONTROL_FPS
from robolang.recording.features import SCENE_FILE, dataset_features
from robolang.recording.recorder import make_frame
from robolang.recording.store import EpisodeStore
from robolang.recording.worker import MIN_EPISODE_FRAMES, episode_seed, quiet_encoders
from robolang.robot import is_simulator
from robolang.teleop import TeleopEvent, run_teleop


class TeleopRecorder:
    """The ``on_step`` callback of ``run_teleop``: frames into episodes, events into saves and resets."""

    def __init__(self, robot, store: EpisodeStore, base_seed: int, episode_steps: int, run_offset: int = 0):
        self.robot, self.store = robot, store
        self.base_seed, self.run_offset = base_seed, run_offset
        self.episode_steps = episode_steps
        self.saved = 0
        self.seed = episode_seed(base_seed, run_offset, 0, 0)
        self.has_scene_state = is_simulator(robot)

    def start(self) -> None:
        self._reset(self.seed)
        self.store.begin_episode()

    def _reset(self, seed: int) -> None:
        if self.has_scene_state:
            self.robot.reset(seed)

    def on_step(self, observation: dict, applied: dict, events) -> None:
        scene = self.robot.scene_vector() if self.has_scene_state else None
        self.store.add_frame(make_frame(observation, applied, scene))
        if TeleopEvent.RERECORD_EPISODE in events:
            self.store.discard_episode()
            print(f"episode discarded; re-recording from the same start (seed {self.seed})")
            self._reset(self.seed)
            self.store.begin_episode()
        elif TeleopEvent.NEXT_EPISODE in events or self.store.frames_in_episode >= self.episode_steps:
            self._next_episode()

    def _next_episode(self) -> None:
        self.finish()
        self.seed = episode_seed(self.base_seed, self.run_offset, 0, self.saved)
        self._reset(self.seed)
        self.store.begin_episode()

    def finish(self) -> None:
        """Save the episode in progress (discard it if shorter than a second)."""
        frames = self.store.frames_in_episode
        if frames >= MIN_EPISODE_FRAMES:
            self.store.end_episode()
            self.saved += 1
            print(f"episode saved ({frames} frames); {self.store.episodes_saved} episodes in {self.store.root}")
        else:
            self.store.discard_episode()


def make_device(cfg: DictConfig, robot):
    """Instantiate the device config; devices that attach to the robot (the GUI keyboard) get it."""
    target = get_method(cfg.device._target_)
    takes_robot = "robot" in inspect.signature(target).parameters
    return instantiate(cfg.device, **({"robot": robot} if takes_robot else {}), _convert_="all")


def run(cfg: DictConfig) -> int:
    """Teleoperate and record as configured by ``configs/teleop.yaml``; returns episodes saved."""
    if cfg.device._target_.endswith("TerminalKeyboard") and not sys.stdin.isatty():
        raise ConfigError("device=terminal needs an interactive terminal on stdin; run it from a terminal")
    keys = cfg.device.get("events_from") or {}
    if str(keys.get("_target_", "")).endswith("TerminalKeyboard") and not sys.stdin.isatty():
        raise ConfigError(
            "this device takes its recording keys from the terminal (device.events_from), and stdin is not a "
            "terminal: run it from one, or set device.events_from=null and stop with Ctrl-C"
        )
    quiet_encoders()
    robot = instantiate(cfg.robot, _convert_="all")
    shapes = {cam: robot.observation_features[cam] for cam in CAMERA_NAMES}
    simulated = is_simulator(robot)
    fields = robot.scene_fields if simulated else None
    sidecars = {SCENE_FILE: json.dumps(robot.scene_description(), indent=1)} if simulated else {}
    features = dataset_features(shapes, fields)
    store = EpisodeStore(
        cfg.out, cfg.repo_id, CONTROL_FPS, features, robot.name, resume=cfg.resume, vcodec=cfg.vcodec, sidecars=sidecars
    )
    robot.connect()
    recorder = TeleopRecorder(robot, store, cfg.seed, int(cfg.episode_seconds * CONTROL_FPS), store.episodes_saved)
    max_steps = None if cfg.minutes is None else int(cfg.minutes * 60 * CONTROL_FPS)
    try:
        device = make_device(cfg, robot)
        recorder.start()
        run_teleop(robot, device, fps=cfg.fps, max_steps=max_steps, on_step=recorder.on_step)
    except KeyboardInterrupt:
        print("\ninterrupted: saving the episode in progress")
    finally:
        try:
            recorder.finish()
        finally:
            store.close()
            robot.disconnect()
    print(f"{recorder.saved} episodes recorded this session; dataset: {store.root}")
    return recorder.saved
