"""Rollouts: a controller acts on a robot until the captioner's predicate says the task is done.

A ``Controller`` is anything with ``reset()`` and ``act(observation, instruction) -> (5,)``.
It sees only ``robot.get_observation()`` (camera images and proprioception), never the
privileged scene state; the judge (``TaskJudge``) reads that state, as the captioner does. The
adapters here wrap a loaded policy (``PolicyController``: ours, MCIL, LeRobot's ACT), any object
with ``predict`` (``ChunkController``: chunks executed open-loop), the zero action (lower bound) and the scripted
expert (``ScriptedController``, the upper bound: privileged by design, it is told the task
through ``begin_task`` and acts on the sim directly; its class lives in ``sim/`` and is built
from a hydra config, so this module never imports the simulator).

``run_episode`` resets the scene from a seed (optionally restoring a prepared start state),
then ``run_instruction`` steps until success or ``max_steps``: success is judged every step by
the task's predicate from the start state to the current one, and the episode stops as soon as
it holds. ``frames=True`` keeps annotated frames (both cameras, instruction, step counter).
"""

from __future__ import annotations

import textwrap
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from robolang.captioning.config import CaptionConfig
from robolang.captioning.states import EpisodeStates, SceneInfo
from robolang.captioning.tasks import BY_ID
from robolang.features import CAMERA_NAMES, STATE_NAMES


@runtime_checkable
class Controller(Protocol):
    """What a rollout drives: ``act`` gets the robot's observation and the instruction."""

    def reset(self) -> None: ...

    def act(self, observation: dict, instruction: str) -> np.ndarray: ...


class PolicyController:
    """A loaded policy (any checkpoint ``robolang.policy.load_policy`` reads): ``select_action`` per step."""

    needs_observation = True

    def __init__(self, policy):
        self.policy = policy

    def reset(self) -> None:
        self.policy.reset()

    def act(self, observation: dict, instruction: str) -> np.ndarray:
        return self.policy.select_action(observation, instruction)

    @property
    def predictions(self) -> int | None:
        """Chunks the policy has predicted so far (None when it does not count them)."""
        return getattr(self.policy, "predictions", None)


class ChunkController:
    """Any policy with ``predict(observation, instruction) -> (K, 5)`` chunk and ``reset()``: each
    predicted chunk is executed open-loop, then the next is asked for. The policy gets the robot's
    observation plus ``state``, the (12,) proprioception vector."""

    needs_observation = True

    def __init__(self, policy):
        self.policy = policy
        self.queue: deque[np.ndarray] = deque()

    def reset(self) -> None:
        self.queue.clear()
        self.policy.reset()

    def act(self, observation: dict, instruction: str) -> np.ndarray:
        if not self.queue:
            state = np.array([observation[n] for n in STATE_NAMES], np.float32)
            self.queue.extend(np.asarray(self.policy.predict({**observation, "state": state}, instruction)))
        return np.clip(self.queue.popleft(), -1.0, 1.0)


class ZeroController:
    """The lower bound: the all-zero action every step (no motion; gripper command 0, half open)."""

    needs_observation = False

    def reset(self) -> None:
        pass

    def act(self, observation: dict, instruction: str) -> np.ndarray:
        return np.zeros(5, np.float32)


class ScriptedController:
    """The upper bound: the sim's scripted expert, told the task (privileged, on purpose).

    ``make_expert(robot)`` builds the sim-side expert (hydra ``instantiate`` of
    ``configs/eval.yaml: expert``); one is kept per robot.
    """

    needs_observation = False

    def __init__(self, make_expert: Callable):
        self.make_expert, self.experts, self.expert = make_expert, {}, None

    def reset(self) -> None:
        pass

    def begin_task(self, robot, task_id: str | None, args: tuple[str, ...], seed: int) -> None:
        key = id(robot)
        if key not in self.experts:
            self.experts[key] = self.make_expert(robot)
        self.expert = self.experts[key]
        self.expert.begin(task_id, tuple(args), seed)

    def act(self, observation: dict, instruction: str) -> np.ndarray:
        return self.expert.act()


class TaskJudge:
    """The captioner's predicate for (task, args), from the first recorded state to the last."""

    def __init__(self, task_id: str, args, fields, scene: SceneInfo, cfg: CaptionConfig = CaptionConfig()):
        if task_id not in BY_ID:
            raise ValueError(f"unknown task {task_id!r}")
        self.task, self.args, self.fields, self.scene, self.cfg = BY_ID[task_id], tuple(args), fields, scene, cfg
        self.rows: list[np.ndarray] = []
        # Where the gripper and the instruction's first object are, for the closest approach.
        index = {name: i for i, name in enumerate(self.fields)}
        target = self.args[0] if self.args else None
        columns = [index.get(f"{who}.{axis}") for who in ("ee", target) for axis in "xyz"]
        self._reach = None if target is None or None in columns else (columns[:3], columns[3:])
        self.closest: float | None = None

    def add(self, vector: np.ndarray) -> bool:
        """Record the state after a step; whether the task is done from the start to now."""
        self.rows.append(np.asarray(vector, np.float32))
        if self._reach is not None:
            gripper, target = self._reach
            distance = float(np.linalg.norm(self.rows[-1][gripper] - self.rows[-1][target]))
            self.closest = distance if self.closest is None else min(self.closest, distance)
        if len(self.rows) < 2:
            return False
        states = EpisodeStates(np.stack(self.rows), self.fields, self.scene)
        return bool(self.task.holds(states, 0, len(self.rows) - 1, self.args, self.cfg))


@dataclass
class EpisodeResult:
    """One instruction's outcome: success (None when unjudged), control steps taken, frames, and
    ``closest``: the nearest the gripper came to the instruction's object (m; None for fixtures)."""

    success: bool | None
    steps: int
    judged: bool
    frames: list[np.ndarray] | None = field(default=None, repr=False)
    closest: float | None = None
    trace: list[dict] | None = field(default=None, repr=False)
    estimate: float | None = None  # a camera-estimating policy: median error of its estimates of the object (m)
    estimate_near: float | None = None  # the same over estimates made with the gripper within NEAR_M of it
    estimate_lifted: float | None = None  # ... and over those made with it lifted (LIFTED_M up: in the hand)


def run_episode(
    robot,
    controller,
    instruction: str,
    task_id: str | None,
    args,
    seed: int,
    max_steps: int,
    frames: bool = False,
    start_state: dict | None = None,
    label: str = "",
    trace: bool = False,
) -> EpisodeResult:
    """Reset the scene from ``seed`` (then restore ``start_state`` if given) and run one instruction."""
    robot.reset(seed)
    if start_state is not None:
        robot.set_state(start_state)
    controller.reset()
    return run_instruction(robot, controller, instruction, task_id, args, seed, max_steps, frames, label, trace)


def run_instruction(
    robot, controller, instruction, task_id, args, seed, max_steps, frames=False, label="", trace=False
) -> EpisodeResult:
    """Run ``instruction`` from the scene as it is; ``task_id`` None runs unjudged to ``max_steps``.
    ``trace``: the result keeps every step's gripper, action and the instruction's objects (``Tracer``)."""
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    judge = None
    if task_id is not None:
        scene = SceneInfo.from_description(robot.scene_description())
        judge = TaskJudge(task_id, args, robot.scene_fields, scene)
        judge.add(robot.scene_vector())
    if hasattr(controller, "begin_task"):
        controller.begin_task(robot, task_id, tuple(args or ()), seed)
    watch = frames or getattr(controller, "needs_observation", True)
    kept = [] if frames else None
    tracer = Tracer(robot.scene_fields, args) if trace else None
    steps_run = tracer.steps if tracer is not None else None  # filled as the episode runs
    policy = getattr(controller, "policy", None)
    probe = EstimateProbe(robot.scene_fields, args) if hasattr(policy, "last_estimate") and args else None
    before = robot.scene_vector() if probe is not None else None  # the scene the observation shows
    obs = robot.get_observation() if watch else {}

    def result(success: bool | None, steps: int) -> EpisodeResult:
        closest = judge.closest if judge is not None else None
        error, near, lifted = probe.summary() if probe is not None else (None, None, None)
        return EpisodeResult(success, steps, judge is not None, kept, closest, steps_run, error, near, lifted)

    for step in range(1, max_steps + 1):
        action = np.asarray(controller.act(policy_view(obs), instruction), np.float32)
        if probe is not None:
            probe.add(policy.last_estimate, before)
        robot.send_action(action)
        needed = judge is not None or tracer is not None or probe is not None
        vector = robot.scene_vector() if needed else None
        done = judge is not None and judge.add(vector)
        if tracer is not None:
            tracer.add(action, vector)
        if kept is not None:
            kept.append(annotate(obs, instruction, step, max_steps, label))
        if done:
            return result(True, step)
        before = vector
        obs = robot.get_observation() if watch else {}
    return result(None if judge is None else False, max_steps)


NEAR_M = 0.10  # an estimate made with the gripper this close to the object (m): where the policy acts on it
LIFTED_M = 0.03  # the object this far above where it first rested (m): held up, read under the hand


class EstimateProbe:
    """For a policy that acts on a scene it estimates from the cameras (``last_estimate``: the field
    names and the vector of its latest estimate, None before one): how far each new estimate put the
    instruction's first object from where it was in the frame the estimate read, how far the
    gripper was from it then, and whether it was lifted (above its height at the first reading; an
    episode that starts with it in the hand counts from there). The estimator judged where the
    policy uses it: the median over rendered frames does not say how it reads the object in hand."""

    def __init__(self, fields, args):
        self.index = {f: i for i, f in enumerate(fields)}
        self.object = next((o for o in args if f"{o}.x" in self.index), None)
        self.readings: list[tuple[float, float, bool]] = []  # (error m, gripper distance m, lifted)
        self._seen = None
        self._rest_z: float | None = None  # the object's height at the first reading (it starts resting)

    def add(self, estimate, before: np.ndarray) -> None:
        """Score ``estimate`` (names, vector) against the scene vector ``before`` once, when it is new."""
        if estimate is None or estimate is self._seen or self.object is None:
            return
        self._seen = estimate
        names, vector = estimate
        where = {n: i for i, n in enumerate(names)}
        keys = [f"{self.object}.{a}" for a in "xyz"]
        if not all(k in where for k in keys):
            return
        truth = before[[self.index[k] for k in keys]]
        guess = np.asarray(vector, np.float64)[[where[k] for k in keys]]
        gripper = before[[self.index[f"ee.{a}"] for a in "xyz"]]
        if self._rest_z is None:
            self._rest_z = float(truth[2])
        lifted = truth[2] - self._rest_z > LIFTED_M
        self.readings.append((float(np.linalg.norm(guess - truth)), float(np.linalg.norm(gripper - truth)), lifted))

    def summary(self) -> tuple[float | None, float | None, float | None]:
        """The median error over the episode's estimates, over those with the gripper within ``NEAR_M``,
        and over those with the object lifted (``LIFTED_M`` above where it first rested: in the hand)."""
        errors = [e for e, _, _ in self.readings]
        near = [e for e, d, _ in self.readings if d <= NEAR_M]
        lifted = [e for e, _, up in self.readings if up]
        return tuple(float(np.median(x)) if x else None for x in (errors, near, lifted))


class Tracer:
    """Per step of an episode: the end effector (x, y, z, yaw), the gripper's width, the action
    sent, each of the instruction's objects' (x, y, z, yaw) after it, the fixtures (drawer and
    sliding door positions, the light) and which contacts those objects touch, rounded to 0.1 mm;
    for reading a failure step by step (``robolang eval trace=true``)."""

    FIXTURES = ("drawer.pos", "slider.pos", "light.on")

    def __init__(self, fields, args):
        index = {f: i for i, f in enumerate(fields)}
        self.ee = [index[f] for f in ("ee.x", "ee.y", "ee.z", "ee.yaw", "gripper.width") if f in index]
        self.objects = {
            o: [index[f"{o}.{a}"] for a in ("x", "y", "z", "yaw")] for o in (args or ()) if f"{o}.x" in index
        }
        self.fixtures = {f.split(".")[0]: index[f] for f in self.FIXTURES if f in index}
        self.contacts = {
            f.removeprefix("contact."): i
            for f, i in index.items()
            if f.startswith("contact.") and set(f.split(".")[1:]) & set(self.objects)
        }
        self.steps: list[dict] = []

    def add(self, action: np.ndarray, vector: np.ndarray) -> None:
        def r(values) -> list[float]:
            return [round(float(v), 4) for v in values]

        row = {"ee": r(vector[self.ee]), "action": r(action)}
        row.update({o: r(vector[i]) for o, i in self.objects.items()})
        if self.fixtures:
            row["fixtures"] = {name: round(float(vector[i]), 4) for name, i in self.fixtures.items()}
        if self.contacts:
            row["contacts"] = [pair for pair, i in self.contacts.items() if vector[i] > 0.5]
        self.steps.append(row)


def policy_view(observation: dict) -> dict:
    """What a controller may see: the cameras and proprioception of the robot contract, nothing else."""
    allowed = (*CAMERA_NAMES, *STATE_NAMES)
    return {k: observation[k] for k in allowed if k in observation}


def annotate(observation: dict, instruction: str, step: int, max_steps: int, label: str = "") -> np.ndarray:
    """Both cameras side by side (upscaled to >= 256 px tall) with the instruction and step counter under them."""
    from robolang.video import draw_text, tile_cameras

    images = [observation[c] for c in CAMERA_NAMES if c in observation]
    upscale = max(1, 256 // max(img.shape[0] for img in images))
    frame = tile_cameras(images, upscale)
    lines = [f'"{instruction}"', f"step {step}/{max_steps}" + (f"  {label}" if label else "")]
    return draw_text(frame, _fit(lines, frame.shape[1]))


def _fit(lines: list[str], width: int, rows: int = 3) -> list[str]:
    """Wrap to the frame's width, always ``rows`` lines (a video's frame size must not change)."""
    chars = max(20, width // 7)  # robolang.video's caption font: ~6.5 px per character
    out = [part for line in lines for part in (textwrap.wrap(line, chars) or [""])]
    out = out[:rows] if len(out) <= rows else [*out[: rows - 1], lines[-1][:chars]]
    return out + [""] * (rows - len(out))
