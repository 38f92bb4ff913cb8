"""DAgger on the play table: a trained policy acts, the scripted expert says what it would do.

``robolang dagger`` records with this agent in place of the scripted play agent (the same
crash-safe, parallel recorder as ``robolang collect``). It runs instruction after instruction,
as a chain does, from the scene as the previous one left it: a task feasible now is drawn
(uniform over tasks, as the evaluation draws them) and phrased in the grammar's ``train``
split, and the policy is asked to do it. At every step the scripted expert
(``ScriptedTaskExpert``, told the task) computes its own action from the same state: that is the
recorded action (the label, Ross et al. 2011), while the robot executes the policy's, or, with
probability ``beta`` per chunk of ``chunk_steps`` steps, the expert's own (DAgger's mixing).
So the dataset holds the states the policy itself visits, each labelled with the correction
the expert would make there: what behaviour cloning on play never shows (play visits only the
expert's own states).

Without a policy (``policy=None``, ``beta=1``) the expert acts at every step: its own
demonstrations of instructions, chained from the scene as it is, labelled with the instruction it
was given (no hindsight: each attempt is one task, start to finish).

``setup=True`` draws over every task that can be made feasible by a prerequisite behaviour that
can start now (as the evaluation's sampler sets a task up: open the drawer and put X in it before
"take X from the drawer"), and the expert plays that set-up first, recorded and covered by no
label; without it, tasks whose start state chained play rarely reaches are rarely demonstrated.
``tasks`` (task ids) draws only those: demonstrations aimed at the tasks a policy fails (with
``setup`` so that each can be set up). When none of them can be drawn from the scene as it is (its
objects held out of the split, say), another task is played, and labelled, to change the scene.

``balance=True`` draws, among the tasks feasible now, one attempted least so far in the episode
(then uniform over those): the uniform draw favours the tasks feasible in most scenes (measured on
the demo's 1.5 h: 147 attempts at ``stack``, 25 at ``push_left``, 22 at ``put_in_drawer``), where
balancing gives every task as many attempts as its feasibility allows (measured once: no gain for
the demo's state policy, so it is off by default).

``takeover`` > 0 records the expert taking over from the policy (HG-DAgger's interventions, Kelly
et al. 2019, at a random moment): in each attempt the policy acts alone for a number of steps drawn
uniformly from [0, ``takeover``], then the expert, planning afresh from the state the policy left,
acts to the end. Only the expert's part of a successful attempt is labelled (``labelled_from``), so
every label chunk is what was executed, from states the policy itself reached: recoveries from
its own mistakes, where beta's per-step labels along the policy's path were measured to blur the
demonstrations' chunks (BENCHMARKS.md, "DAgger on the 86% state policy"). An attempt the policy
finishes alone, or that fails after the takeover, gets no label.

``noise`` > 0 is DART (Laskey et al. 2017): the executed motion is the expert's (or policy's) plus
temporally correlated Gaussian noise on the translation and yaw (an AR(1) process: ``noise`` its
standard deviation in normalized action units, ``NOISE_CORRELATION`` its step-to-step
correlation, about a second at 10 Hz), the gripper untouched, while the label stays the expert's
clean action. The arm drifts off the expert's path as a learner's would, and the recorded labels
are the expert's corrections from there: states and recoveries clean demonstrations never show.

An attempt ends when the task's predicate holds (success: the captioner's own judge), after
``max_steps``, or when the expert has no plan left (it gave up too; its hold-still actions would
be wrong labels). Each attempt is one record of ``history`` (the behaviour log beside the
dataset): task, arguments, instruction, frames [start, end), success, who acted. ``robolang
dagger`` turns the records into annotation rows (``source=expert``). The recorded actions are
not what the robot did, so hindsight captioning must never run on such a dataset: the intent
vocabulary says ``relabelled`` and ``robolang caption`` refuses it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from robolang.captioning.states import SceneInfo
from robolang.captioning.tasks import TASK_IDS
from robolang.dagger import NO_POLICY_NEEDS_BETA_ONE, START_POSES, TAKEOVER_NEEDS, chosen_tasks
from robolang.evaluation.rollout import TaskJudge, policy_view
from robolang.evaluation.sampler import TaskSampler, derive_seed
from sim.play.expert import ScriptedTaskExpert

RELABELLED = "scripted expert on the policy's own states (robolang dagger)"
ATTEMPTS = 20  # the expert replans this often within one attempt before it gives up
WAIT_STEPS = 10  # nothing feasible now: hold this long, then draw again
INTENT_FIELDS = ("task", "expert_acting", "attempt")
NOISE_CORRELATION = 0.9  # DART's noise: AR(1) correlation per step (~1 s at 10 Hz, long enough to leave the path)


@dataclass
class Attempt:
    """One instruction the policy was given; frames [start, end) of the episode (``behaviour``:
    the task id, so the recorder's behaviour counts read as the policy's success per task)."""

    behaviour: str
    target: str  # the task's object arguments, comma-separated ("" for fixture tasks)
    instruction: str
    start: int
    end: int
    success: bool
    expert_steps: int  # steps the expert's action was executed (beta's mixing)
    stop: str  # "success", "timeout", "expert_idle" or "episode_end"
    labelled_from: int = -1  # the first labelled frame (-1: ``start``); takeover: where the expert took over

    @property
    def label_start(self) -> int:
        return self.start if self.labelled_from < 0 else self.labelled_from

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=2)
def _load(path: str):
    """The policy at ``path`` and whether it is privileged (one load per process and path)."""
    import torch

    from robolang.evaluation.policies import is_privileged, load_policy

    torch.set_num_threads(1)  # one rollout per process, as evaluation runs them
    policy = load_policy(path)
    return policy, is_privileged(policy)


def _controller(path: str, robot):
    """The rollout controller of the policy at ``path`` (privileged ones read the scene state)."""
    from robolang.evaluation.privileged import PrivilegedController
    from robolang.evaluation.rollout import PolicyController

    loaded, privileged = _load(path)
    if privileged:
        return PrivilegedController(loaded)
    loaded.check_robot(robot.observation_features)
    return PolicyController(loaded)


class DaggerAgent:
    """The recorder's agent: ``act(observation)`` is what the robot executes, ``label`` what is recorded."""

    intent_fields = INTENT_FIELDS
    observes = True  # the recorder passes the observation it already has to ``act``

    def __init__(self, robot, seed: int, policy: str | None, beta: float = 0.0, max_steps: int = 250,
                 chunk_steps: int = 10, split: str = "train", start_pose: str = "here", noise: float = 0.0,
                 setup: bool = False, tasks=None, balance: bool = False, takeover: int = 0,
                 spots: str = "random"):  # fmt: skip
        tasks = chosen_tasks(tasks)
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta={beta!r} is not allowed: the chance that the expert acts must be in [0, 1]")
        if max_steps < 1 or chunk_steps < 1:
            raise ValueError(f"max_steps={max_steps} and chunk_steps={chunk_steps} must be >= 1")
        if policy is None and beta != 1.0:
            raise ValueError(NO_POLICY_NEEDS_BETA_ONE)
        if start_pose not in START_POSES:
            raise ValueError(f"start_pose={start_pose!r} is not allowed: one of {', '.join(START_POSES)}")
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise={noise!r} is not allowed: the executed actions' noise std must be in [0, 1]")
        if takeover and (policy is None or beta != 0.0 or takeover < 0):
            raise ValueError(TAKEOVER_NEEDS)
        self.controller = None if policy is None else _controller(str(policy), robot)
        self.robot, self.seed, self.beta, self.max_steps = robot, seed, beta, max_steps
        self.chunk_steps, self.split, self.start_pose = chunk_steps, split, start_pose
        self.noise_std, self.setup, self.takeover = noise, setup, int(takeover)
        self.takeover_at: int | None = None  # takeover: the frame at which the expert takes over this attempt
        self.tasks = None if tasks is None else frozenset(tasks)  # draw only these (None: every task)
        self.attempted: Counter | None = Counter() if balance else None  # balance: the least attempted feasible task
        self.noise = np.zeros(4, np.float32)  # DART: the AR(1) state on x, y, z, yaw (the gripper is never perturbed)
        self._prelude = None  # set-up and move to a start pose before the next attempt (recorded, unlabelled)
        self.expert = ScriptedTaskExpert(robot, skill="expert", seed=seed, attempts=ATTEMPTS, spots=spots)
        self.sampler = TaskSampler(robot, self.expert)
        self.rng = np.random.default_rng(seed)
        self.records: list[Attempt] = []
        self.t = 0  # frames of this episode so far
        self.current: Attempt | None = None
        self.judge: TaskJudge | None = None
        self.pick = None
        self.previous: str | None = None
        self.expert_turn = False
        self.waiting = 0
        self.grip = -1.0  # the last executed gripper command (-1: open)
        self.label = np.zeros(5, np.float32)

    # ---- the recorder's agent protocol ------------------------------------------------------
    def act(self, observation: dict) -> np.ndarray:
        """The action the robot executes now; ``self.label`` is set to the expert's (recorded)."""
        self._judge_last_step()
        # Frames outside every attempt hold still, the grip as it was (a held object stays held); no
        # segment covers them, so their label is never read.
        self.label = np.array([0, 0, 0, 0, self.grip], np.float32)
        if self.current is None and self._prelude is None and not self._begin():
            self.t += 1
            return self.label
        if self._prelude is not None:  # setup / start_pose=random: the expert prepares the attempt first
            if (move := next(self._prelude, None)) is not None:
                self.t += 1
                self.label = move.astype(np.float32)
                self.grip = float(self.label[4])
                return self.label
            self._prelude = None
            if not self._ready():  # the set-up failed or the move disturbed the scene: draw again
                self.t += 1
                return self.label
            self._start_attempt()
        if self.takeover_at is not None:
            if self.t < self.takeover_at:  # the policy alone; nothing is labelled yet
                return self._policy_step(observation)
            self._take_over()
        if self.current.labelled_from < 0 and (self.t - self.current.start) % self.chunk_steps == 0:
            self.expert_turn = bool(self.rng.random() < self.beta)
        expert = self.expert.act()
        if self.expert.idle:  # no plan left: its hold-still is no label; the attempt ends before this frame
            self._finish(False, "expert_idle")
            self.t += 1
            return self.label
        self.t += 1
        self.label = np.clip(expert, -1.0, 1.0).astype(np.float32)
        executed = self.label
        if self.controller is not None and self.current.labelled_from < 0:  # no policy: the expert's own (beta 1)
            policy = np.asarray(self.controller.act(policy_view(observation), self.pick.instruction), np.float32)
            executed = self.label if self.expert_turn else np.clip(policy, -1.0, 1.0).astype(np.float32)
        self.current.expert_steps += int(self.expert_turn)
        self.grip = float(executed[4])
        return self._perturbed(executed)

    def _policy_step(self, observation: dict) -> np.ndarray:
        """Takeover's first part: the policy's action, executed; its label is never read."""
        self.t += 1
        action = self.controller.act(policy_view(observation), self.pick.instruction)
        self.label = np.clip(np.asarray(action, np.float32), -1.0, 1.0)
        self.grip = float(self.label[4])
        return self._perturbed(self.label)

    def _take_over(self) -> None:
        """The expert plans afresh from the state the policy left and acts from this frame on."""
        pick = self.pick
        self.expert.begin(pick.task_id, pick.args, derive_seed(pick.seed, "takeover"))
        self.current.labelled_from, self.takeover_at = self.t, None
        self.expert_turn = True  # to the attempt's end (beta's draw is skipped once labelled_from is set)

    def _perturbed(self, executed: np.ndarray) -> np.ndarray:
        """``executed`` with DART's correlated noise on its motion (a copy; the label is untouched)."""
        if self.noise_std == 0.0:
            return executed
        rho = NOISE_CORRELATION
        self.noise = rho * self.noise + np.sqrt(1 - rho**2) * self.noise_std * self.rng.standard_normal(4)
        out = executed.copy()
        out[:4] = np.clip(out[:4] + self.noise, -1.0, 1.0)
        return out

    @property
    def history(self) -> list[Attempt]:
        """Every attempt so far; the one in progress is cut at the episode's last frame."""
        if self.current is None or self.current.start >= self.t:
            return list(self.records)
        cut = Attempt(**{**self.current.to_dict(), "end": self.t, "stop": "episode_end"})
        if self.takeover:  # not known to succeed: takeover labels only successes
            cut.labelled_from = self.t
        return [*self.records, cut]

    def intent_code(self) -> np.ndarray:
        task = TASK_IDS.index(self.current.behaviour) if self.current is not None else -1
        return np.array([task, int(self.expert_turn), len(self.records)], dtype=np.int64)

    @staticmethod
    def vocabulary() -> dict:
        return {"fields": list(INTENT_FIELDS), "vocabularies": {"task": list(TASK_IDS)}, "relabelled": RELABELLED}

    # ---- attempts ---------------------------------------------------------------------------
    def _judge_last_step(self) -> None:
        """Judge the state the last executed action left (the recorder stepped the robot since)."""
        if self.current is None or self.t == self.current.start:
            return
        if self.judge.add(self.robot.scene_vector()):
            self._finish(True, "success")
        elif self.t - self.current.start >= self.max_steps:
            self._finish(False, "timeout")

    def _begin(self) -> bool:
        """Draw the next task feasible from the scene as it is; False (hold still) when none is."""
        if self.waiting:
            self.waiting -= 1
            return False
        seed = derive_seed(self.seed, "dagger", self.t)
        previous = self.previous if self.tasks is None else None  # the tasks named: again and again
        pick = self.sampler.next(seed, self.split, previous, setup=self.setup, only=self.tasks, fewest=self.attempted)
        if pick is None and self.tasks is not None:  # none of them can be drawn here: another task changes the scene
            pick = self.sampler.next(seed, self.split, self.previous, setup=self.setup)
        if pick is None:
            self.waiting = WAIT_STEPS - 1
            return False
        self.pick, self.previous = pick, pick.task_id
        if self.setup or self.start_pose == "random":
            self._prelude = self._prepare(pick.task_id, pick.args, seed)
            return True
        self._start_attempt()
        return True

    def _prepare(self, task: str, args: tuple[str, ...], seed: int):
        """The actions before an attempt: the task's set-up where it is not feasible yet, then (as
        the evaluation starts) the move to a random pose away from its target."""
        if self.setup and not self.expert.feasible(task, args):
            self.expert.begin(None, (), derive_seed(seed, "setup"))  # the set-up's choices follow the seed
            yield from self.expert.setup_plan(task, args)
        if self.start_pose == "random":
            yield from self.expert.start_plan(task, args, derive_seed(seed, "start"))

    def _ready(self) -> bool:
        """After the prelude: whether the task is feasible now; if so it is phrased again from the
        scene as the prelude left it (a set-up moves objects, and the words may name positions)."""
        pick = self.pick
        if not self.expert.feasible(pick.task_id, pick.args):
            return False
        self.pick = self.sampler.phrase(pick.seed, pick.task_id, pick.args, self.split)
        return self.pick is not None

    def _start_attempt(self) -> None:
        """The attempt at ``self.pick`` begins at this frame, from the scene as it is now."""
        pick = self.pick
        if self.controller is not None:
            self.controller.reset()
            if hasattr(self.controller, "begin_task"):
                self.controller.begin_task(self.robot, pick.task_id, pick.args, pick.seed)
        self.expert.begin(pick.task_id, pick.args, pick.seed)
        if self.attempted is not None:
            self.attempted[pick.task_id] += 1
        scene = SceneInfo.from_description(self.sampler.scene)
        self.judge = TaskJudge(pick.task_id, pick.args, self.robot.scene_fields, scene)
        self.judge.add(self.robot.scene_vector())
        self.current = Attempt(pick.task_id, ",".join(pick.args), pick.instruction, self.t, self.t, False, 0, "")
        self.noise[:] = 0.0  # each attempt starts on the expert's path
        if self.takeover:
            self.expert_turn = False
            self.takeover_at = self.t + int(self.rng.integers(0, self.takeover + 1))

    def _finish(self, success: bool, stop: str) -> None:
        self.current.end, self.current.success, self.current.stop = self.t, success, stop
        if self.takeover and (self.takeover_at is not None or not success):
            self.current.labelled_from = self.t  # the policy alone, or a takeover that failed: no label
        self.takeover_at = None
        if self.current.end > self.current.start:
            self.records.append(self.current)
        self.current = None


def dagger_agent(robot, seed: int, policy: str | None, beta: float = 0.0, max_steps: int = 250, chunk_steps: int = 10,
                 split: str = "train", start_pose: str = "here", noise: float = 0.0, setup: bool = False,
                 tasks=None, balance: bool = False, takeover: int = 0, spots: str = "random") -> DaggerAgent:  # fmt: skip
    """Hydra entry point (``configs/dagger.yaml: agent``)."""
    return DaggerAgent(
        robot,
        seed,
        policy,
        beta,
        max_steps,
        chunk_steps,
        split,
        start_pose,
        noise,
        setup,
        tasks,
        balance,
        takeover,
        spots,
    )
