"""What a caption task is, and the one registry of tasks.

A ``Task`` is declarative (STYLE.md rule 7, CALVIN's ``tasks.py``): a predicate over (start
state, end state), the objects it takes, the entity it acts on, and its phrasing (verbs,
patterns and goals, ``grammar_vocab.TaskTemplates``). ``holds(states, t0, t1, args, cfg)``
compares the scene at frame ``t0`` with the scene at frame ``t1`` (``t0`` and ``t1`` are ints
or integer arrays that broadcast, so one call tests many candidate windows).

Tasks live in one ordered registry (``REGISTRY``): the captioner (``instances``), the phrasing
grammar, the evaluator and the expert all read it, so a task registered once (``register``) is
captioned, phrased, split and evaluated, and ``unregister`` removes it everywhere again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from robolang.captioning import relations as rel
from robolang.captioning.config import CaptionConfig, TaskThresholds
from robolang.captioning.errors import CaptionError
from robolang.captioning.grammar_vocab import SLOT_KINDS, TaskTemplates
from robolang.captioning.states import ROUND_SHAPES, EpisodeStates, ObjectInfo, SceneInfo

Predicate = Callable[..., np.ndarray]  # (states, t0, t1, args, thresholds) -> bool array
FIXTURES = ("drawer", "slider", "button")


class TaskError(CaptionError):
    """An unknown task id, or a task that cannot be registered (the message says why)."""


@dataclass(frozen=True)
class Slot:
    """An argument: its role in the phrasing and which objects may fill it (``KINDS``)."""

    name: str
    kind: str = "object"


@dataclass(frozen=True)
class Task:
    """One task: id, argument slots, the predicate, what it acts on, what it means, and how
    it is phrased (``phrasing``: its verb synonyms with their patterns, and its goals).

    ``acts_on`` is a slot name, "plate", or a fixture joint (``FIXTURES``): the entity whose
    approach starts a window (``segment.py``). ``starts`` replaces those start frames;
    ``fallback_starts`` adds some where no window from them overlaps (an object lifted off the
    plate and put back on it: from the moment it is held in the air). ``by_robot``: the robot
    (gripper or arm) touched the object it acts on at some frame in (t0, t1], so a cube shoved
    along by another cube was not "pushed left" by the robot.
    """

    id: str
    slots: tuple[Slot, ...]
    predicate: Predicate
    acts_on: str
    description: str  # what the predicate checks, in one line
    phrasing: TaskTemplates = field(compare=False)
    starts: Callable[..., np.ndarray] | None = None  # (states, args, thresholds) -> (T,) bool
    fallback_starts: Callable[..., np.ndarray] | None = None
    uses_plate: bool = False  # needs a plate in the scene
    by_robot: bool = True

    @property
    def verbs(self) -> tuple[str, ...]:
        """The verb synonyms, canonical first (the words the held-out phrasing split draws on)."""
        return tuple(self.phrasing.verbs)

    @property
    def meaning(self) -> str:
        return self.phrasing.meaning

    def holds(self, states: EpisodeStates, t0, t1, args: tuple[str, ...], cfg) -> np.ndarray:
        """Whether the task was done between frame ``t0`` and frame ``t1`` (broadcast arrays)."""
        done = self.predicate(states, t0, t1, tuple(args), thresholds(cfg))
        entity = self.entity(tuple(args), states.scene)
        if self.by_robot and entity in states.objects:
            touched = rel.touched_by_robot(states, entity)
            done = done & rel.ever(states, ("touched", entity), touched, t0, t1)
        return done

    def entity(self, args: tuple[str, ...], scene: SceneInfo) -> str:
        """The object or fixture the robot acts on to do this task."""
        names = [s.name for s in self.slots]
        if self.acts_on in names:
            return args[names.index(self.acts_on)]
        return scene.plate if self.acts_on == "plate" else self.acts_on


def thresholds(cfg) -> TaskThresholds:
    return cfg.tasks if isinstance(cfg, CaptionConfig) else cfg


def phrasing_slots(phrasing: TaskTemplates) -> tuple[str, ...]:
    """The slots a task's templates use, in ``SLOT_KINDS`` order (``("x", "d")`` for put_in_drawer)."""
    used: set[str] = set()
    for pattern in [p for ps in phrasing.verbs.values() for p in ps] + list(phrasing.goals):
        used |= set(re.findall(r"{(\w)}", pattern))
    unknown = used - set(SLOT_KINDS)
    if unknown:
        raise TaskError(f"templates use unknown slots {sorted(unknown)}; slots are {', '.join(SLOT_KINDS)}")
    return tuple(s for s in SLOT_KINDS if s in used)


# ---- which objects fill a slot ------------------------------------------------------------------
def graspable(o: ObjectInfo, scene: SceneInfo, c: TaskThresholds) -> bool:
    return min(o.size[:2]) <= c.grasp_max_width_m and o.name != scene.plate


KINDS: dict[str, Callable[[ObjectInfo, SceneInfo, TaskThresholds], bool]] = {
    "object": lambda o, scene, c: True,
    "not_plate": lambda o, scene, c: o.name != scene.plate,
    "graspable": graspable,
    "fits_drawer": lambda o, scene, c: graspable(o, scene, c) and max(o.size[:2]) <= c.drawer_fit_max_m,
    "rotatable": lambda o, scene, c: o.shape not in ROUND_SHAPES,  # a disc's turn is invisible
    "tall": lambda o, scene, c: o.size[2] >= c.tall_ratio * min(o.size[:2]),
}


# ---- the registry ---------------------------------------------------------------------------------
class TaskRegistry:
    """The tasks in registration order (the vocabulary's order: coverage tables and evaluation
    follow it). Code that caches per task (the grammar's held-out vocabulary) listens with
    ``on_change``, so a task removed and registered again is never seen stale."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._listeners: list[Callable[[], None]] = []
        self.by_id = MappingProxyType(self._tasks)  # a live, read-only view
        self.generation = 0  # bumped on every change

    def __iter__(self) -> Iterator[Task]:
        return iter(tuple(self._tasks.values()))

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._tasks

    def ids(self) -> tuple[str, ...]:
        return tuple(self._tasks)

    def get(self, task_id: str) -> Task:
        """The task with this id; ``TaskError`` listing the known ids otherwise."""
        try:
            return self._tasks[task_id]
        except (KeyError, TypeError):
            raise TaskError(f"unknown task id {task_id!r}; known task ids: {', '.join(self._tasks)}") from None

    def register(self, task: Task) -> Task:
        """Add ``task`` at the end; ``TaskError`` if its id is taken or it does not fit together."""
        validate(task)
        if task.id in self._tasks:
            raise TaskError(f"task id {task.id!r} is already registered; unregister it first")
        self._tasks[task.id] = task
        self._changed()
        return task

    def unregister(self, task_id: str) -> Task:
        task = self.get(task_id)
        del self._tasks[task_id]
        self._changed()
        return task

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        self.generation += 1
        for listener in self._listeners:
            listener()


def validate(task: Task) -> None:
    """A task's parts agree: its templates fill exactly its object slots (X, then Y), its
    slot kinds and the entity it acts on exist, and each verb occurs in its own patterns."""
    where = f"task {task.id!r}"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", task.id):
        raise TaskError(f"{where}: an id is lower-case letters, digits and underscores")
    if not isinstance(task.phrasing, TaskTemplates) or not task.phrasing.verbs:
        raise TaskError(f"{where}: phrasing must be grammar_vocab.templates(meaning, verbs, goals) with a verb")
    objects = sum(s in ("x", "y") for s in phrasing_slots(task.phrasing))
    if objects != len(task.slots):
        raise TaskError(f"{where}: its templates fill {objects} object slot(s) but it takes {len(task.slots)}")
    for slot in task.slots:
        if slot.kind not in KINDS:
            raise TaskError(f"{where}: slot kind {slot.kind!r} is not one of {', '.join(KINDS)}")
    if task.acts_on not in {s.name for s in task.slots} | {"plate", *FIXTURES}:
        raise TaskError(f"{where}: acts_on {task.acts_on!r} is none of its slots, 'plate' or {FIXTURES}")
    for verb, patterns in task.phrasing.verbs.items():
        if not all(re.search(rf"\b{re.escape(verb)}\b", p) for p in patterns):
            raise TaskError(f"{where}: every pattern of verb {verb!r} must contain it as a word")


REGISTRY = TaskRegistry()


def instances(scene: SceneInfo, cfg, tasks=None) -> list[tuple[Task, tuple[str, ...]]]:
    """Every (task, args) possible in this scene (of ``tasks``, default every registered task);
    two slots never hold the same object."""
    c, out = thresholds(cfg), []
    for task in REGISTRY if tasks is None else tasks:
        if task.uses_plate and scene.plate is None:
            continue
        combos: list[tuple[str, ...]] = [()]
        for slot in task.slots:
            names = [o.name for o in scene.objects if KINDS[slot.kind](o, scene, c)]
            combos = [(*a, n) for a in combos for n in names if n not in a]
        out += [(task, args) for args in combos]
    return out


def register(task: Task) -> Task:
    """Add a task to the vocabulary: the captioner labels it, the grammar phrases and splits
    it, evaluation can ask for it. Returns the task (so a module can keep a name for it)."""
    return REGISTRY.register(task)


def unregister(task_id: str) -> Task:
    """Remove a task from the vocabulary again; returns it."""
    return REGISTRY.unregister(task_id)


@contextmanager
def registered(*tasks: Task) -> Iterator[tuple[Task, ...]]:
    """``with registered(task): ...``: the tasks are part of the vocabulary inside the block
    only (tests, experiments), and removed even when the block fails."""
    done: list[Task] = []
    try:
        for task in tasks:
            done.append(register(task))
        yield tuple(done)
    finally:
        for task in reversed(done):
            unregister(task.id)
