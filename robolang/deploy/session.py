"""``robolang deploy``: a trained checkpoint on any robot, one instruction after another.

Builds the policy (a deployable checkpoint; a privileged one is refused), connects the robot
and checks that its cameras, image sizes and action space fit the checkpoint, then runs each
instruction through ``loop.run_instruction``. Every instruction is one LeRobotDataset episode
in ``out/dataset`` (task = the instruction; a simulator's scene state beside it, so it can be
captioned and judged) unless the run is dry (nothing was executed, so nothing is worth
training on); a video of the cameras with the action drawn on it goes to ``out/videos``, and a
line of timing and safety figures to ``out/deployments.jsonl``. A ``RobotFault`` (protective
stop, lost connection) ends the run after saving the episode so far.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from robolang.deploy.limits import SafetyLimits
from robolang.deploy.loop import DeployError, LoopSettings, Outcome, Step, run_instruction
from robolang.deploy.stop import StopKeys
from robolang.deploy.watchdog import WatchdogSettings
from robolang.evaluation.rollout import PolicyController, annotate, policy_view
from robolang.features import ACTION_NAMES, CAMERA_NAMES
from robolang.robot import RobotFault, is_simulator
from robolang.video import VideoWriter

LOG_FILE = "deployments.jsonl"


def settings_from(cfg: DictConfig) -> tuple[LoopSettings, WatchdogSettings, dict]:
    """The loop's and the watchdog's settings, and the safety section, checked before anything connects."""
    loop = LoopSettings(float(cfg.rate_hz), float(cfg.time_limit_s), bool(cfg.dry_run))
    watchdog = WatchdogSettings(**OmegaConf.to_container(cfg.watchdog, resolve=True))
    return loop, watchdog, OmegaConf.to_container(cfg.safety, resolve=True)


def check_action_space(robot, checkpoint) -> None:
    if tuple(robot.action_features) != ACTION_NAMES:
        raise DeployError(
            f"{checkpoint} acts in {list(ACTION_NAMES)} but {robot.name} takes {list(robot.action_features)}: "
            "the checkpoint's action space does not fit this robot"
        )


class Recorder:
    """Deployment episodes into a crash-safe LeRobotDataset (``robolang.recording.store``)."""

    def __init__(self, robot, root: Path, fps: int, repo_id: str, vcodec: str):
        from robolang.recording.features import SCENE_FILE, dataset_features
        from robolang.recording.store import EpisodeStore

        simulated = is_simulator(robot)
        shapes = {cam: robot.observation_features[cam] for cam in CAMERA_NAMES}
        features = dataset_features(shapes, robot.scene_fields if simulated else None)
        sidecars = {SCENE_FILE: json.dumps(robot.scene_description(), indent=1)} if simulated else {}
        self.robot, self.simulated = robot, simulated
        self.store = EpisodeStore(root, repo_id, fps, features, robot.name, resume=True, vcodec=vcodec,
                                  sidecars=sidecars)  # fmt: skip

    def begin(self) -> None:
        self.store.begin_episode()

    def add(self, step: Step, instruction: str) -> None:
        from robolang.recording.recorder import make_frame

        if step.applied is None:  # nothing reached the robot: no (observation, action) pair
            return
        scene = self.robot.scene_vector() if self.simulated else None
        self.store.add_frame(make_frame(step.observation, step.applied, scene, task=instruction))

    def end(self) -> int | None:
        """Save the episode (None when it has no frame: nothing was sent)."""
        if self.store.frames_in_episode == 0:
            self.store.discard_episode()
            return None
        self.store.end_episode()
        return self.store.episodes_saved - 1

    def close(self) -> None:
        self.store.close()


def draw_step(step: Step, instruction: str, max_steps: int, dry_run: bool) -> np.ndarray:
    """The cameras with the instruction, the step, the action sent (an arrow for dx, dy in the
    base frame: up = +x, left = +y) and any hold or limit written under them."""
    import cv2

    a = step.sent
    if a is None:
        what = f"nothing sent ({step.hold})" if step.hold else "nothing sent"
    else:
        what = " ".join(f"{k} {v:+.2f}" for k, v in zip(ACTION_NAMES, a, strict=True))
        what += f"  HOLD: {step.hold}" if step.hold else ""
        what += f"  limited: {', '.join(step.violations)}" if step.violations else ""
    label = ("DRY RUN  " if dry_run else "") + what
    frame = annotate(step.observation, instruction, step.index + 1, max_steps, label)
    if a is not None:
        size = 40
        centre = (frame.shape[1] - size - 6, size + 6)
        cv2.circle(frame, centre, size, (90, 90, 90), 1)
        tip = (int(centre[0] - a[1] * size), int(centre[1] - a[0] * size))
        cv2.arrowedLine(frame, centre, tip, (255, 60, 60) if step.hold is None else (255, 200, 0), 2, tipLength=0.3)
        cv2.circle(frame, (centre[0], centre[1] + size + 10), 5, (255, 255, 255) if a[4] > 0 else (60, 60, 60), -1)
    return frame


def deploy(robot, policy, instructions: Iterable[str], cfg: DictConfig, out: Path) -> list[Outcome]:
    """Run each instruction on the connected ``robot``; what happened, per instruction."""
    from robolang.task_match import usable

    loop, watchdog, safety_cfg = settings_from(cfg)
    safety = SafetyLimits.for_robot(robot, **safety_cfg)
    if loop.rate_hz != robot.control_fps:
        print(f"note: {robot.name}'s actions are scaled for {robot.control_fps} Hz; running at {loop.rate_hz:g} Hz "
              "moves it at a different speed than in training", flush=True)  # fmt: skip
    recorder = None if loop.dry_run else Recorder(robot, out / "dataset", round(loop.rate_hz), cfg.repo_id, cfg.vcodec)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    controller = PolicyController(policy)
    max_steps = max(1, round(loop.time_limit_s * loop.rate_hz))
    if is_simulator(robot):
        robot.reset(cfg.seed)
    outcomes = []
    try:
        with StopKeys(keys=bool(cfg.stop_key)) as stop:
            print("space or Ctrl-C stops the arm (it holds where it is); Ctrl-C twice quits", flush=True)
            for n, text in enumerate(instructions):
                text = usable(text)
                # One discarded prediction first: a torch model's first call and a new instruction's
                # encoding are many times slower than a step and would trip the inference watchdog.
                policy.predict(policy_view(robot.get_observation()), text)
                stop.clear()
                controller.reset()
                video = out / "videos" / f"{_stamp()}_{n:03d}.mp4"
                outcome = _one(robot, controller, text, safety, watchdog, loop, stop, recorder, video, max_steps)
                outcomes.append(outcome)
                if outcome.fault is not None:
                    raise RobotFault(f"{outcome.fault} (the episode so far is saved in {out})")
                if stop.why == "Ctrl-C":
                    break
    finally:
        if recorder is not None:
            recorder.close()
    return outcomes


def _one(robot, controller, text, safety, watchdog, loop, stop, recorder, video, max_steps) -> Outcome:
    episode = None
    with VideoWriter(video, round(loop.rate_hz)) as writer:

        def on_step(step: Step) -> None:
            writer.write(draw_step(step, text, max_steps, loop.dry_run))
            if recorder is not None:
                recorder.add(step, text)

        if recorder is not None:
            recorder.begin()
        try:
            outcome = run_instruction(robot, controller, text, safety, watchdog, loop, stop, on_step)
        finally:
            if recorder is not None:
                episode = recorder.end()
    record = {**outcome.summary(), "episode": episode, "video": str(video)}
    with open(video.parent.parent / LOG_FILE, "a") as log:
        log.write(json.dumps(record) + "\n")
        log.flush()
        os.fsync(log.fileno())
    where = f"episode {episode}" if episode is not None else "not recorded (dry run)" if loop.dry_run else "no frames"
    print(f"{text!r}: {outcome.steps} steps, ended by {outcome.reason}; {where}; video {video}", flush=True)
    print("  " + outcome.timing.line(), flush=True)
    if outcome.trips and any(outcome.trips.values()):
        print(f"  watchdog holds: {outcome.trips}", flush=True)
    if outcome.violations:
        print(f"  actions limited by the safety layer: {outcome.violations}", flush=True)
    return outcome


def _stamp() -> str:
    import time

    return time.strftime("%Y%m%d-%H%M%S")


def set_threads(cfg: DictConfig) -> None:
    if cfg.get("threads") is not None:
        import torch

        torch.set_num_threads(int(cfg.threads))


def run(cfg: DictConfig, interactive: bool = False) -> list[Outcome]:
    from robolang.ask import connect_robot, prompts, refuse_privileged
    from robolang.policy.inference import load_policy
    from robolang.task_match import usable

    if cfg.checkpoint in (None, "", "???"):
        raise DeployError("say which policy to deploy: robolang deploy checkpoint=runs/policy instruction='...'")
    given = [cfg.instruction] if cfg.get("instruction") else list(cfg.get("instructions") or [])
    if not given and not interactive:
        raise DeployError("say what the robot should do: instruction='open the drawer' (or instructions=[...], "
                          "or --interactive)")  # fmt: skip
    for text in given:
        usable(text)  # refused before anything loads or moves
    settings_from(cfg)  # bad rate, time limit or watchdog settings: refused before connecting
    set_threads(cfg)
    policy = load_policy(cfg.checkpoint, execution=cfg.execution, actions_per_chunk=cfg.actions_per_chunk)
    refuse_privileged(policy, cfg.checkpoint)
    robot = connect_robot(cfg, policy)
    try:
        check_action_space(robot, cfg.checkpoint)
        stream = [*given, *prompts()] if interactive else given
        return deploy(robot, policy, stream, cfg, Path(cfg.out))
    finally:
        robot.disconnect()
