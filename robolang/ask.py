"""``robolang ask``: give a trained policy an instruction in your own words and watch it.

The scene is reset from a seed, the policy acts until the task is achieved or the time limit,
and a video (both cameras, the instruction and a step counter drawn on it) is written.
Success is judged by the captioner's predicate when the instruction maps to a known task
(``robolang.task_match``); otherwise the run is reported as "unjudged". In interactive mode
one instruction follows another in the same scene, each with its own video.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from robolang.config import checked
from robolang.errors import RobolangError
from robolang.evaluation.rollout import PolicyController, run_instruction
from robolang.features import CONTROL_FPS
from robolang.grounding import restate
from robolang.policy.checkpoint import load_checkpoint
from robolang.policy.inference import LanguagePolicy
from robolang.policy.language import InstructionCache, LanguageError, SentenceEncoder
from robolang.robot import is_simulator
from robolang.task_match import TaskMatcher, usable
from robolang.video import VideoWriter

CACHE = Path("~/.cache/robolang/instructions")  # encoder outputs for the matcher's phrasings


class AskError(RobolangError):
    """A request ``robolang ask`` cannot honour on this robot, with the reason."""


@dataclass
class Answer:
    """What happened for one instruction."""

    instruction: str
    success: bool | None  # None: unjudged
    task: str | None
    steps: int
    video: Path
    nearest: str | None  # None: the robot has no scene state, nothing could be judged
    told: str | None = None  # ground=true: what the policy was told instead (the matcher's restatement)

    def summary(self) -> str:
        seconds = self.steps / CONTROL_FPS
        if self.success is None and self.nearest is None:
            verdict = "unjudged (this robot has no scene state to judge success by)"
        elif self.success is None:
            verdict = f"unjudged (no known task matches; the closest known instruction is {self.nearest!r})"
        else:
            verdict = ("success" if self.success else "failure") + f" (task {self.task})"
        told = f" (told the policy {self.told!r})" if self.told and self.told != self.instruction else ""
        return f"{self.instruction!r}{told}: {verdict}, {self.steps} steps ({seconds:.1f} s); video: {self.video}"


def _display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _match_cameras(robot_config: dict, images: dict) -> None:
    """Render the simulated cameras at the size the policy was trained on (``<camera>_width`` keys)."""
    for camera, (height, width, _) in images.items():
        if f"{camera}_width" in robot_config:
            robot_config[f"{camera}_width"], robot_config[f"{camera}_height"] = width, height


def load_deployable(cfg: DictConfig, checkpoint: str | Path) -> tuple[LanguagePolicy, InstructionCache]:
    """A checkpoint's policy ready to act on a robot (``cfg.execution``, ``cfg.actions_per_chunk``),
    with its instruction cache; a privileged one is refused before any robot is built. A composed
    estimator + state policy folder (``robolang estimator compose``) is asked through its state policy's
    sentence encoder."""
    from robolang.policy.estimated_state import EstimatedStatePolicy, is_estimated_state

    composed = is_estimated_state(checkpoint)
    bundle = load_checkpoint(Path(checkpoint) / "policy" if composed else checkpoint)
    encoder = SentenceEncoder(bundle.encoder, max_length=getattr(bundle.policy.config, "max_lang_tokens", 32))
    key = Path(encoder.reference).name.replace("/", "_")
    instructions = InstructionCache(encoder, CACHE.expanduser() / f"{key}.pt")
    execution = {"execution": cfg.execution, "actions_per_chunk": cfg.actions_per_chunk}
    policy = LanguagePolicy(bundle, instructions, **({} if composed else execution))
    if composed:  # the state policy loaded once, wrapped with its estimator
        policy = EstimatedStatePolicy.around(checkpoint, policy, **execution)
    refuse_privileged(policy, checkpoint)
    return policy, instructions


def refuse_privileged(policy, checkpoint) -> None:
    """A privileged policy (it reads the simulator's scene state) acts on no robot."""
    if getattr(policy, "privileged", False):
        raise AskError(
            f"{checkpoint} is a privileged {policy.name} policy: it reads the simulator's scene state, which no "
            "robot's observation has, so it cannot be asked or deployed; robolang eval compares it as an upper bound"
        )


def connect_robot(cfg: DictConfig, policy):
    """The configured robot (a simulator's cameras rendered at the policy's size when
    ``cfg.match_cameras``), connected and checked against the policy; disconnected again if not."""
    gui = cfg.gui if cfg.gui != "auto" else _display()
    robot_cfg = OmegaConf.to_container(cfg.robot, resolve=True)
    if _has_field(robot_cfg["config"], "gui"):  # a simulator's window; real arms have none
        robot_cfg["config"]["gui"] = bool(gui)
    if cfg.match_cameras:
        _match_cameras(robot_cfg["config"], policy.image_shapes)
    robot = instantiate(robot_cfg, _convert_="all")
    robot.connect()
    try:
        policy.check_robot(robot.observation_features)
    except BaseException:
        robot.disconnect()
        raise
    return robot


def _has_field(config: dict, name: str) -> bool:
    """Whether the robot config class named by ``config["_target_"]`` has a field ``name``."""
    cls = get_class(config["_target_"])
    return dataclasses.is_dataclass(cls) and name in {f.name for f in dataclasses.fields(cls)}


def build(cfg: DictConfig, checkpoint: str | Path):
    """The policy, the robot (connected, checked against the policy) and the task matcher."""
    policy, instructions = load_deployable(cfg, checkpoint)
    robot = connect_robot(cfg, policy)
    try:
        matcher = None
        if is_simulator(robot):
            tasks = list(cfg.match_tasks) if cfg.match_tasks else None
            cache = cfg.get("match_cache")
            matcher = TaskMatcher(robot.scene_description(), instructions, tasks=tasks, cache_dir=cache)
        elif cfg.prepare:
            raise AskError(
                "prepare=true needs a simulator (the scripted agent sets the scene up); this robot is not one"
            )
        instructions.save()
    except BaseException:
        robot.disconnect()
        raise
    return policy, robot, matcher


class Readiness:
    """Whether a matched task can start from the scene as it is, judged by the scripted agent on
    the privileged sim state ("close the drawer" when it is closed cannot); with ``prepare`` the
    agent first plays the prerequisite (open it), as ``robolang eval`` does. A robot without a
    privileged scene state (real hardware) is never judged."""

    def __init__(self, robot, cfg: DictConfig):
        self.robot, self.cfg, self._expert = robot, cfg, None

    def check(self, task_id: str, args: tuple[str, ...]) -> str | None:
        """What to tell the user before the policy starts (a set-up played, or a warning), or
        None when the task can start from the scene as it is."""
        if not is_simulator(self.robot) or self.cfg.get("expert") is None:
            return None
        if self._expert is None:
            self._expert = instantiate(self.cfg.expert, robot=self.robot)
        if self._expert.feasible(task_id, tuple(args)):
            return None
        what = f"{task_id}{'(' + ', '.join(args) + ')' if args else ''}"
        if not self.cfg.prepare:
            return (f"note: {what} cannot start from this scene as it is (its precondition does not hold, "
                    "e.g. the drawer is already closed); the attempt will probably fail. "
                    "prepare=true lets the scripted agent set it up first")  # fmt: skip
        if self._expert.prepare(task_id, tuple(args)):
            # Not where the set-up left the gripper (on the button it just pressed): a random pose away from the target.
            self._expert.move_to_start(task_id, tuple(args), self.cfg.seed)
            return f"set up by the scripted agent so that {what} can start (then the arm moved away from its target)"
        return f"note: the scripted agent could not set up {what} in this scene; running anyway"


def ask(policy, robot, matcher, instructions: Iterable[str], cfg: DictConfig, out: Path,
        on_answer: Callable[[Answer], None] | None = None) -> list[Answer]:  # fmt: skip
    """Run each instruction in turn in one scene (a simulator is reset once from ``cfg.seed``).

    ``matcher`` None (a robot without scene state, e.g. a real arm): the policy runs and every
    attempt is reported unjudged."""
    if is_simulator(robot):
        robot.reset(cfg.seed)
    else:
        print("note: this robot has no scene state; the policy runs and its attempts are unjudged", flush=True)
    controller = PolicyController(policy)
    controller.reset()
    readiness = Readiness(robot, cfg)
    answers = []
    for n, text in enumerate(instructions, 1):
        try:
            text = usable(text)
        except LanguageError as e:
            print(f"not run: {e}")
            continue
        match = matcher.match(text) if matcher is not None else None
        task_id, args = (match.task_id, match.args) if match is not None else (None, ())
        if task_id is not None and (note := readiness.check(task_id, args)):
            print(note, flush=True)
        told = None
        if cfg.get("ground") and match is not None:  # the policy hears the task in its training words
            told = restate(match, robot.scene_description(), text, matcher.instructions)
        result = run_instruction(robot, controller, told or text, task_id, args, cfg.seed, cfg.max_steps, True)
        video = out if n == 1 else out.with_name(f"{out.stem}_{n}{out.suffix}")
        with VideoWriter(video, CONTROL_FPS) as writer:
            for frame in result.frames:
                writer.write(frame)
        answer = Answer(text, result.success, task_id, result.steps, video, match.nearest if match else None, told)
        (on_answer or (lambda a: print(a.summary(), flush=True)))(answer)
        answers.append(answer)
    return answers


def prompts() -> Iterable[str]:
    """Instructions typed at a prompt until an empty line, 'quit' or end of input."""
    while True:
        try:
            line = input("instruction (empty to quit)> ").strip()
        except EOFError:
            return
        if not line or line.lower() in ("quit", "exit", "q"):
            return
        yield line


def run(cfg: DictConfig, checkpoint: str | Path, instruction: str | None, interactive: bool) -> list[Answer]:
    if not interactive and instruction is None:
        raise LanguageError('say what the robot should do, e.g. robolang ask "open the drawer" --checkpoint DIR')
    if instruction is not None:
        usable(instruction)  # refuse before loading anything
    checked(cfg, "ground", bool)
    policy, robot, matcher = build(cfg, checkpoint)
    try:
        first = [instruction] if instruction is not None else []
        stream = [*first, *prompts()] if interactive else first
        return ask(policy, robot, matcher, stream, cfg, Path(cfg.out))
    finally:
        robot.disconnect()
