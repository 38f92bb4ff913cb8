"""One collection worker: drive a robot with a play agent and record episodes crash-safely.

Runs in-process (one worker), in spawned processes (several) or as Ray tasks; everything it
needs arrives as plain data, so it pickles. Progress goes to ``progress(frames)`` in chunks.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from robolang.features import CAMERA_NAMES, CONTROL_FPS
from robolang.health import HealthMonitor
from robolang.recording.features import BEHAVIOURS_FILE, INTENTS_FILE, SCENE_FILE, dataset_features
from robolang.recording.recorder import make_frame
from robolang.recording.store import DatasetStoreError, EpisodeStore
from robolang.robot import is_simulator
from robolang.safety import array_to_action

PROGRESS_EVERY = 50  # frames between progress reports (a queue put per frame would cost more than it tells)
MIN_EPISODE_FRAMES = 10  # shorter interrupted episodes (< 1 s) are discarded: LeRobot writes 1-frame episode stats in a different parquet schema, which breaks loading


@dataclass
class WorkerStats:
    """What a worker recorded; merged across workers for the summary."""

    episodes: int = 0
    frames: int = 0
    attempted: Counter = field(default_factory=Counter)
    succeeded: Counter = field(default_factory=Counter)
    health_issues: list[str] = field(default_factory=list)
    interrupted: bool = False

    def merge(self, other: WorkerStats) -> WorkerStats:
        self.episodes += other.episodes
        self.frames += other.frames
        self.attempted.update(other.attempted)
        self.succeeded.update(other.succeeded)
        self.health_issues += other.health_issues
        self.interrupted |= other.interrupted
        return self


def episode_seed(base_seed: int, run_offset: int, worker: int, episode: int) -> int:
    """Distinct, reproducible seed of one episode of one worker."""
    return int(np.random.SeedSequence([base_seed, run_offset, worker, episode]).generate_state(1)[0])


def record_episodes(
    cfg: dict,
    out: str,
    worker: int,
    episodes: int,
    episode_steps: int,
    run_offset: int = 0,
    resume: bool = False,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> WorkerStats:
    """Record ``episodes`` episodes of ``episode_steps`` frames into the dataset at ``out``.

    ``should_stop()`` is polled before every frame: once it is true the episode in progress is
    saved (or discarded when shorter than ``MIN_EPISODE_FRAMES``) and recording ends."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    quiet_encoders()
    should_stop = should_stop or (lambda: False)
    cfg = OmegaConf.create(cfg)
    robot = instantiate(cfg.robot, _convert_="all")
    if not is_simulator(robot):
        raise DatasetStoreError(
            f"robot={type(robot).__name__} is not a simulator: scripted play reads the scene state; "
            "record a real arm with `robolang teleop`"
        )
    shapes = {cam: robot.observation_features[cam] for cam in CAMERA_NAMES}
    robot.connect()
    stats = WorkerStats()
    try:
        probe = instantiate(cfg.agent, robot=robot, seed=0)
        features = dataset_features(shapes, robot.scene_fields, probe.intent_fields)
        sidecars = {INTENTS_FILE: json.dumps(probe.vocabulary(), indent=1)} if hasattr(probe, "vocabulary") else {}
        sidecars[SCENE_FILE] = json.dumps(robot.scene_description(), indent=1)
        store = EpisodeStore(
            out, cfg.repo_id, CONTROL_FPS, features, robot.name, resume=resume, vcodec=cfg.vcodec, sidecars=sidecars,
            encoder_threads=cfg.get("encoder_threads"),
        )  # fmt: skip
        monitor = robot.health_monitor()
        try:
            for e in range(episodes):
                if should_stop():
                    stats.interrupted = True
                    break
                seed = episode_seed(cfg.seed, run_offset, worker, e)
                agent = instantiate(cfg.agent, robot=robot, seed=seed)
                if not _record_one(robot, agent, store, monitor, episode_steps, seed, stats, progress, should_stop):
                    stats.interrupted = True
                    break
        finally:
            store.close()
    finally:
        robot.disconnect()
    return stats


def _record_one(
    robot, agent, store, monitor: HealthMonitor, steps: int, seed: int, stats: WorkerStats, progress, should_stop
) -> bool:
    """One episode; False if it was interrupted (Ctrl-C), after saving what is worth saving."""
    obs = robot.reset(seed)
    store.begin_episode()
    pending = 0
    try:
        for _ in range(steps):
            if should_stop():
                _close_episode(store, agent, stats)
                return False
            applied = robot.send_action(agent.act(obs) if getattr(agent, "observes", False) else agent.act())
            # DAgger's agent executes the policy's action and records the expert's (its ``label``).
            recorded = applied if getattr(agent, "label", None) is None else array_to_action(agent.label)
            store.add_frame(make_frame(obs, recorded, robot.scene_vector(), agent.intent_code()))
            obs = robot.get_observation()
            pending += 1
            if pending == PROGRESS_EVERY and progress is not None:
                progress(pending)
                pending = 0
    except KeyboardInterrupt:
        _close_episode(store, agent, stats)
        return False
    finally:
        if progress is not None and pending:
            progress(pending)
    issues = monitor.check(robot.scene_state())
    stats.health_issues += [f"episode seed {seed}: {i.message}" for i in issues]
    _close_episode(store, agent, stats)
    return True


def _close_episode(store: EpisodeStore, agent, stats: WorkerStats) -> None:
    frames = store.frames_in_episode
    if frames < MIN_EPISODE_FRAMES:
        store.discard_episode()
        return
    # The agent's behaviour log (with independently checked success) goes beside the data, to
    # evaluate captioners; step indices are frame indices of this episode.
    store.end_episode({BEHAVIOURS_FILE: [r.to_dict() if hasattr(r, "to_dict") else vars(r) for r in agent.history]})
    stats.episodes += 1
    stats.frames += frames
    for record in agent.history:
        stats.attempted[record.behaviour] += 1
        stats.succeeded[record.behaviour] += int(record.success)


def quiet_encoders() -> None:
    """SVT-AV1 logs its configuration per episode and datasets draws progress bars per save."""
    os.environ.setdefault("SVT_LOG", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    try:
        import av.logging
        import datasets

        datasets.disable_progress_bars()
        av.logging.set_level(av.logging.ERROR)  # mp4 muxer chatter ("moving the moov atom")
    except ImportError:
        pass
