"""The evaluation's scripted expert (upper bound): executes one requested caption task.

``ScriptedTaskExpert(robot)`` is reached from the core through a hydra ``_target_``
(``configs/eval.yaml: expert``), so ``robolang/`` never imports the simulator. It maps a caption
task and its objects (``robolang/captioning/tasks/``) to a play behaviour (the reverse of
``robolang/captioning/quality.py: expected_tasks``), decides feasibility with the play agent's
own ``feasible_choices`` on the privileged scene state, and plays the behaviour out.

Feasibility is decided here, on the sim side, in two steps:

* ``direct``: a behaviour that does the task can start now (``feasible_choices``, plus the
  task's start condition: the lamp off for "turn on", the object outside the region for
  "move to the left side", ...).
* ``setup``: some tasks are never possible in a freshly reset scene (put X down needs X in the
  hand; take X out of the drawer needs X in it). ``prepare`` first plays other behaviours that
  bring the scene there (``SETUP``), and only then is the episode's start state taken.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterator

import numpy as np

from robolang.captioning.states import SceneInfo
from robolang.captioning.tasks import BY_ID, instances
from robolang.dagger import SPOTS
from sim import assets
from sim.panda import YAW_LIMIT
from sim.play import checks
from sim.play.behaviours import PLANS
from sim.play.checks import in_drawer, in_the_air, resting_on
from sim.play.choices import feasible_choices
from sim.play.expert_plans import EXTRA_PLANS, REGIONS, SIDES, beside, beside_spot, in_region, region_spot
from sim.play.motion import Abort, Motion
from sim.play.primitives import GRIP_CLOSED, GRIP_OPEN, travel
from sim.play.skill import skill_profile
from sim.play.vocab import DIRECTIONS, Choice
from sim.play.world import DOOR_FRONT_Y, door_edges, drawer_handle, held_object, transit_height

ALL_PLANS = {**PLANS, **EXTRA_PLANS}
SETUP_STEPS = 600  # one prerequisite behaviour may take this many control steps (60 s)
# Honest starts: after a set-up the arm goes to a random pose in this box (m, world frame; the
# object region and the air above it), at least START_AWAY_M (horizontally) from the task's target.
START_LOW = (0.30, -0.28, 0.10)
START_HIGH = (0.66, 0.28, 0.30)
START_AWAY_M = 0.15
START_YAW = 0.8  # rad either side of straight
PUSHES = {f"push_{d}": d for d in DIRECTIONS}
ROTATIONS = {"rotate_left": "left", "rotate_right": "right"}
SIDE_TASKS = {"move_to_left_side": "left", "move_to_right_side": "right", "move_to_front": "front"}
SIDE_TASKS["move_to_back"] = "back"
# The door moves along +x ("forward"); facing its cabinet that is to the right (quality.py).
DOOR = {"slide_door_right": "forward", "slide_door_left": "back"}


def _wanted(task: str, args: tuple[str, ...], state: dict) -> list[Choice]:
    """Behaviours that would do ``task`` on ``args`` from ``state`` (feasible or not)."""
    x = args[0] if args else "none"
    light = bool(state["light_on"])
    if task in ("lift", "grasp", "place_on_plate", "put_in_drawer"):
        return [Choice(task, x)]
    if task in ("stack", "unstack"):
        return [Choice(task, x, args[1])] if task == "stack" or resting_on(state, x, args[1]) else []
    if task in PUSHES:
        return [Choice("push", x, PUSHES[task])]
    if task in ROTATIONS:
        return [Choice("rotate", x, ROTATIONS[task])]
    if task in SIDE_TASKS:
        inside = in_region(checks.pos(state, x)[:2], SIDE_TASKS[task])
        return [] if inside else [Choice("carry_to", x, SIDE_TASKS[task])]
    if task in SIDES:
        return [] if beside(state, x, args[1], SIDES[task]) else [Choice(task, x, args[1])]
    if task in ("open_drawer", "close_drawer"):
        return [Choice(task, "drawer")]
    if task in DOOR:
        return [Choice("slide_door", "door", DOOR[task])]
    if task in ("press_button", "turn_on_light", "turn_off_light"):
        ready = task == "press_button" or task == ("turn_off_light" if light else "turn_on_light")
        return [Choice("press_button", "button")] if ready else []
    if task in ("topple", "move_plate"):
        return [Choice("topple" if task == "topple" else "push", x if args else "plate", d) for d in DIRECTIONS]
    starts = {
        # In the air, not only in the hand: held on the table it is a grasp the judge cannot call put down.
        "put_down": lambda: held_object(state) == x and in_the_air(state, x),
        "remove_from_plate": lambda: resting_on(state, x, "plate"),
        "take_from_drawer": lambda: in_drawer(state, x),
    }
    return [Choice("carry", x)] if task in starts and starts[task]() else []


def _setup(task: str, args: tuple[str, ...]) -> list[Choice]:
    """Prerequisite behaviours, in order of preference: the first feasible one is played."""
    x = args[0] if args else "none"
    table = {
        "put_down": [Choice("lift", x)],
        "remove_from_plate": [Choice("place_on_plate", x)],
        "take_from_drawer": [Choice("put_in_drawer", x), Choice("open_drawer", "drawer")],
        "unstack": [Choice("stack", x, args[1])] if len(args) > 1 else [],
        "put_in_drawer": [Choice("open_drawer", "drawer")],
        "close_drawer": [Choice("open_drawer", "drawer")],
        "open_drawer": [Choice("close_drawer", "drawer")],
        "turn_on_light": [Choice("press_button", "button")],
        "turn_off_light": [Choice("press_button", "button")],
        "slide_door_left": [Choice("slide_door", "door", "forward")],
        "slide_door_right": [Choice("slide_door", "door", "back")],
    }
    return table.get(task, [])


class PredictiveMotion(Motion):
    """``Motion`` servoing the target the arm *will* have once the actions still in flight are
    applied. With action latency (``world.action_latency_steps``, the held-out world has 1-2
    steps) the plain servo re-sends a correction the arm has not applied yet and oscillates for
    ever: a unit-gain servo with one step of delay has its poles on the unit circle (measured:
    0 of 12 lifts and drawer openings in the held-out world without this, 12 of 12 with it)."""

    def _in_flight(self) -> list[np.ndarray]:
        return list(self.scene.in_flight)

    @property
    def target_pos(self) -> np.ndarray:
        ws, p = self.scene.config.workspace, np.asarray(self.scene.arm.target_pos, dtype=np.float64)
        for delta in self._in_flight():
            p = np.clip(p + delta[:3], ws.low, ws.high)
        return p

    @property
    def target_yaw(self) -> float:
        yaw = float(self.scene.arm.target_yaw)
        for delta in self._in_flight():
            yaw = float(np.clip(yaw + delta[3], -YAW_LIMIT, YAW_LIMIT))
        return yaw


class ScriptedTaskExpert:
    """Plays the behaviour that does a requested (task, args) on a connected ``PlayTableRobot``.

    It reads the privileged scene state, so it is the upper bound of an evaluation, never a
    policy. ``seed`` seeds its random choices (speed, spots, grasp details).
    """

    def __init__(self, robot, skill: str | float = "expert", seed: int = 0, attempts: int = 2, spots: str = "random"):
        if spots not in SPOTS:
            raise ValueError(f"spots={spots!r} is not allowed: one of {', '.join(SPOTS)}")
        self.robot, self.profile, self.attempts, self.spots = robot, skill_profile(skill), attempts, spots
        self.scene_info = SceneInfo.from_description(robot.scene_description())
        self.begin(None, (), seed)

    # ---- feasibility -----------------------------------------------------------------------
    def feasible(self, task: str, args: tuple[str, ...], state: dict | None = None, allowed=None) -> list[Choice]:
        """Behaviours that do ``task`` on ``args`` and can start now (``allowed``: the state's
        ``feasible_choices``, when already computed)."""
        state = state or self.robot.scene_state()
        wanted = _wanted(task, tuple(args), state)
        if not wanted:
            return []
        allowed = set(feasible_choices(state)) if allowed is None else allowed
        out = []
        for c in wanted:
            if c.behaviour in EXTRA_PLANS:
                pickable = Choice("carry", c.target) in allowed
                if pickable and self._spot(state, c) is not None:
                    out.append(c)
            elif c in allowed and c.behaviour in ALL_PLANS:
                out.append(c)
        return out

    def candidates(self, setup: bool = True, tasks=None) -> list[tuple[str, tuple[str, ...]]]:
        """Every (task, args) of the captioner's vocabulary (or of the task ids ``tasks``) feasible
        now, or (``setup``) after a prerequisite behaviour that can start now."""
        state = self.robot.scene_state()
        allowed = set(feasible_choices(state))
        chosen = None if tasks is None else [BY_ID[t] for t in tasks]
        out = []
        for task, args in instances(self.scene_info, _thresholds(), chosen):
            later = setup and any(c in allowed for c in _setup(task.id, args))
            if later or self.feasible(task.id, args, state, allowed):
                out.append((task.id, tuple(args)))
        return out

    def prepare(self, task: str, args: tuple[str, ...], rounds: int = 3) -> bool:
        """Play prerequisite behaviours on the robot until ``task`` is feasible; False if it
        cannot be made so (a prerequisite failed or none can start)."""
        plan = self.setup_plan(task, args, rounds)
        while True:
            try:
                self.robot.send_action(next(plan))
            except StopIteration as end:  # the plan's value: False when it gave up
                return bool(end.value) and bool(self.feasible(task, args))

    def setup_plan(self, task: str, args: tuple[str, ...], rounds: int = 3) -> Generator[np.ndarray, None, bool]:
        """``prepare``'s actions, one per step, for a caller that sends (and records) them: up to
        ``rounds`` prerequisite behaviours, each computed from the scene as the last left it. It
        stops early when the task is feasible (value True) or when no prerequisite can start or one
        failed its check (value False)."""
        for _ in range(rounds):
            state = self.robot.scene_state()
            if self.feasible(task, args, state):
                return True
            allowed = set(feasible_choices(state))
            steps = [c for c in _setup(task, tuple(args)) if c in allowed]
            if not steps:
                return False
            yield from self._behaviour(steps[0], state)
            if not checks.check(steps[0].behaviour, state, self.robot.scene_state(), steps[0].target, steps[0].arg):
                return False
        return True

    # ---- honest starts ----------------------------------------------------------------------
    def target_point(self, task: str, args: tuple[str, ...], state: dict | None = None) -> np.ndarray | None:
        """Where the gripper has to go first for ``task`` (world frame): its first object, the
        drawer's handle, the sliding door's face or the button; None for an unknown task."""
        state = state or self.robot.scene_state()
        if args and args[0] in state["objects"]:
            return np.asarray(state["objects"][args[0]]["pos"], dtype=np.float64)
        if task == "move_plate":
            return np.asarray(state["objects"]["plate"]["pos"], dtype=np.float64)
        if task in ("open_drawer", "close_drawer"):
            return drawer_handle(state)
        if task in DOOR:
            return np.array([sum(door_edges(state)) / 2, DOOR_FRONT_Y, 0.19])
        if task in ("press_button", "turn_on_light", "turn_off_light"):
            return np.array([*assets.BUTTON_POS, 0.03])
        return None

    def start_distance(self, task: str, args: tuple[str, ...]) -> float | None:
        """The gripper's distance (m, 3-D) from the task's target now; None without a target."""
        state = self.robot.scene_state()
        target = self.target_point(task, tuple(args), state)
        if target is None:
            return None
        return float(np.linalg.norm(np.asarray(state["robot"]["ee_pos"]) - target))

    def move_to_start(self, task: str, args: tuple[str, ...], seed: int, away: float = START_AWAY_M) -> None:
        """Move the arm to a random start pose at least ``away`` (m, horizontally) from the task's
        target, holding whatever it holds (put X down starts with X in the hand), so that the
        policy starts neither where a set-up left the gripper (on the button it just pressed, at
        the handle it just pulled) nor anywhere it could succeed without moving. A held object is
        its own target, so only the pose is random then. Seeded: the same seed, the same pose."""
        for action in self.start_plan(task, args, seed, away):
            self.robot.send_action(action)

    def start_plan(
        self, task: str, args: tuple[str, ...], seed: int, away: float = START_AWAY_M
    ) -> Iterator[np.ndarray]:
        """``move_to_start``'s actions, one per step, for a caller that sends (and records) them;
        each is computed from the scene as the previous one left it."""
        rng = np.random.default_rng(seed)
        state = self.robot.scene_state()
        held = held_object(state)
        target = self.target_point(task, tuple(args), state)
        low, high = np.asarray(START_LOW), np.asarray(START_HIGH)
        goals = rng.uniform(low, high, size=(64, 3))
        goals[:, 2] = np.maximum(goals[:, 2], transit_height(state, held))
        if target is not None and not (held is not None and held == (args[:1] or (None,))[0]):
            gaps = np.linalg.norm(goals[:, :2] - target[:2], axis=1)
            far = goals[gaps >= away]
            goals = far if len(far) else goals[[int(np.argmax(gaps))]]
        goal, yaw = goals[0], float(rng.uniform(-START_YAW, START_YAW))
        motion = PredictiveMotion(self.robot.scene, self.robot.limits, skill_profile("expert"), rng)
        motion.state = state
        grip = GRIP_CLOSED if held else GRIP_OPEN
        plan = itertools.chain(
            travel(motion, goal[:2], yaw, grip, carrying=held), motion.move(goal, yaw, grip), motion.hold(5, grip)
        )
        try:
            for _ in range(SETUP_STEPS):
                yield np.clip(next(plan), -1.0, 1.0)
                motion.state = self.robot.scene_state()
        except (StopIteration, Abort):
            return

    # ---- acting ----------------------------------------------------------------------------
    def begin(self, task: str | None, args: tuple[str, ...] = (), seed: int = 0) -> None:
        """Start working on ``task`` (None: idle). The same seed gives the same actions."""
        self.task, self.args, self.tries = task, tuple(args), 0
        self.idle = task is None  # true once ``act`` found no plan left (done, given up or impossible)
        self.rng = np.random.default_rng(seed)
        self.motion = PredictiveMotion(self.robot.scene, self.robot.limits, self.profile, self.rng)
        self.motion.spots = self.spots
        self._plan = None

    def act(self) -> np.ndarray:
        """The next normalized action (5,) float32 in [-1, 1]; holds still once out of plans."""
        state = self.robot.scene_state()
        self.motion.state = state
        for _ in range(2):
            if self._plan is None and not self._next_plan(state):
                break
            try:
                action = np.clip(next(self._plan), -1.0, 1.0).astype(np.float32)
                self.idle = False
                return action
            except (StopIteration, Abort):
                self._plan = None
        self.idle = True
        return np.clip(self.motion.action(), -1.0, 1.0).astype(np.float32)

    def _next_plan(self, state: dict) -> bool:
        if self.task is None or self.tries >= self.attempts:
            return False
        choices = self.feasible(self.task, self.args, state)
        if not choices:
            return False
        self.tries += 1
        choice = choices[int(self.rng.integers(len(choices)))]
        self.motion.phase, self.motion.retry = "approach", 0
        self.motion.speed = float(self.rng.uniform(*self.profile.speed))
        plan = ALL_PLANS[choice.behaviour](self.motion, choice)
        self._plan = itertools.chain(self._clear(state), plan) if self.tries == 1 else plan
        return True

    def _clear(self, state: dict):
        """Rise 4 cm with the grip as it is before a new task starts low: in a chain the next
        instruction starts the moment the previous one succeeded, often with the open fingers
        still around the object, and the next plan's first (closed-gripper) move would grab it."""
        if self.motion.target_pos[2] >= transit_height(state):
            return
        grip = GRIP_CLOSED if held_object(state) else GRIP_OPEN
        yield from self.motion.move(self.motion.target_pos + [0.0, 0.0, 0.04], None, grip, tol=0.02, arrive=False)

    def _behaviour(self, choice: Choice, start: dict) -> Iterator[np.ndarray]:
        """One behaviour's actions from the scene ``start``, to its end (or ``SETUP_STEPS``)."""
        self.motion.state = start
        plan = ALL_PLANS[choice.behaviour](self.motion, choice)
        try:
            for _ in range(SETUP_STEPS):
                yield np.clip(next(plan), -1.0, 1.0)
                self.motion.state = self.robot.scene_state()
        except (StopIteration, Abort):
            return

    def _spot(self, state: dict, c: Choice):
        # feasibility must not consume the acting RNG; preferred spots are the ones the plan will take
        rng = np.random.default_rng(0) if self.spots == "random" else None
        if c.behaviour == "carry_to":
            return region_spot(state, rng, c.target, c.arg)
        return beside_spot(state, rng, c.target, c.arg, SIDES[c.behaviour])


def _thresholds():
    from robolang.captioning.config import CaptionConfig

    return CaptionConfig()


__all__ = ["REGIONS", "ScriptedTaskExpert"]
