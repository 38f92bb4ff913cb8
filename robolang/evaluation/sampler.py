"""Which episode a seed gives: a (task, objects) feasible in that start state, and an instruction.

Feasibility is decided on the sim side by the scripted expert (``sim/play/expert.py``, built
from ``configs/eval.yaml: expert``), from the privileged scene state and the play agent's own
``feasible_choices``; the policy never sees any of it. A task whose precondition a fresh scene
lacks (put X down needs X in the hand, unstack needs a stack, turn off the light needs it on)
is *set up*: the expert plays the prerequisite behaviour first (``expert.prepare``), and the
episode's start state is taken after that. A seed whose scene offers nothing suitable, or
whose set-up fails, is skipped for the next derived seed (up to ``max_tries``).

Honest starts (``start_pose: random``, the default): after the set-up the expert moves the
arm to a random pose at least ``start_away_m`` from the task's target (``expert.move_to_start``),
holding what it holds, so no episode starts with the gripper on the button it just pressed or
at the handle it just pulled. The gripper's start distance from the target is kept with the pick.

Instructions come from the phrasing grammar in the requested split, with the same held-out
(task, object) pairs the captioner uses (``HindsightCaptioner``), so "heldout_composition"
means exactly the pairs no training caption had. A split may also be an *instruction set*
(``configs/eval.yaml: instruction_sets``): sentences people wrote in their own words, each
labelled with its task and objects (``robolang/task_match_eval.py``); an episode of a
(task, objects) then says one of that set's sentences for it, never a grammar phrasing. Only
sentences with one accepted task are used, and never for a held-out pair (so the set is compared
with ``train``, whose pairs are the same).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from robolang.captioning import grammar
from robolang.captioning.config import CaptionConfig
from robolang.captioning.grammar_describe import by_position
from robolang.captioning.states import EpisodeStates, SceneInfo
from robolang.captioning.tasks import BY_ID, instances

START_POSES = ("random", "as_set_up")  # where an episode starts: a random pose, or where the set-up left the arm


def derive_seed(*parts) -> int:
    """A 31-bit seed fixed by ``parts`` (ints and strings), the same on every machine."""
    words = [p if isinstance(p, int) else int(grammar.stable_fraction(str(p)) * 2**31) for p in parts]
    return int(np.random.SeedSequence(words).generate_state(1)[0] & 0x7FFFFFFF)


@dataclass(frozen=True)
class Pick:
    """A sampled instruction: what to do, in which words, from which seed."""

    seed: int
    task_id: str
    args: tuple[str, ...]
    split: str
    instruction: str
    start_m: float | None = None  # the gripper's distance from the task's target at the start (m)
    by_position: bool | None = (
        None  # an object is named by where it is ("the leftmost cube"); None: no grammar phrasing
    )


def scene_pairs(scene: dict, cfg: CaptionConfig = CaptionConfig()) -> set[tuple[str, str]]:
    """The held-out (task, object) pairs of a scene, computed as ``HindsightCaptioner`` does."""
    info = SceneInfo.from_description(scene)
    possible = {(t.id, a) for t, args in instances(info, cfg) for a in args}
    return grammar.heldout_pairs(grammar.TASK_IDS, [o.name for o in info.objects], possible=possible)


def set_sentences(rows: list[dict], task_id: str, args) -> list[str]:
    """The sentences of an instruction set (rows of ``task_match_eval.load``) that ask for exactly
    ``task_id`` on ``args``: one accepted task, the same objects (a slot-less task's own entity,
    e.g. the plate of ``move_plate``, read as no objects)."""
    from robolang.task_match_eval import expected_args

    return [r["text"] for r in rows
            if r["accept"] == [task_id] and expected_args(task_id, r["args"]) == tuple(args)]  # fmt: skip


def phrasable(task_id: str, split: str, scene: dict, pairs, cfg: CaptionConfig = CaptionConfig(),
              sets: dict | None = None) -> bool:  # fmt: skip
    """Whether any instance of the task in this scene has a phrasing in ``split`` (a fixture
    task has no held-out composition; a task may hold out no object at all), or, for an
    instruction set of ``sets``, a sentence of it outside the held-out pairs."""
    info = SceneInfo.from_description(scene)
    for task, args in instances(info, cfg, [BY_ID[task_id]]):
        if sets and split in sets:
            if not any((task.id, a) in pairs for a in args) and set_sentences(sets[split], task.id, args):
                return True
        elif grammar.count_phrasings(task.id, args, scene, pairs=pairs)[split] > 0:
            return True
    return False


class TaskSampler:
    """Feasible (task, args) per seed on ``robot`` (a connected sim robot), judged by ``expert``."""

    def __init__(self, robot, expert, max_tries: int = 20, cfg: CaptionConfig = CaptionConfig(),
                 start_pose: str = "random", start_away_m: float = 0.15, sets: dict | None = None):  # fmt: skip
        if start_pose not in START_POSES:
            raise ValueError(f"start_pose={start_pose!r}: expected one of {', '.join(START_POSES)}")
        self.robot, self.expert, self.max_tries = robot, expert, max_tries
        self.start_pose, self.start_away_m = start_pose, start_away_m
        self.sets = dict(sets or {})  # instruction set name -> its rows (task_match_eval.load)
        self.scene = robot.scene_description()
        self.pairs = scene_pairs(self.scene, cfg)

    def in_split(self, task_id: str, args, split: str) -> bool:
        """A held-out (task, object) pair is phrased only in ``heldout_composition``, any other only outside it."""
        held = any((task_id, a) in self.pairs for a in args)
        if split in self.sets:
            return not held and bool(set_sentences(self.sets[split], task_id, args))
        return held == (split == "heldout_composition")

    def sample(self, seed: int, split: str, task_id: str | None = None) -> tuple[Pick, dict] | None:
        """Reset to a seed derived from ``seed``, set the task up, and return the pick with the
        start state (``robot.get_state()``); None if ``max_tries`` seeds offered nothing."""
        tasks = None if task_id is None else [task_id]
        for k in range(self.max_tries):
            s = derive_seed(seed, k)
            self.robot.reset(s)
            options = [c for c in self.expert.candidates(True, tasks) if self.in_split(*c, split)]
            if not options:
                continue
            task, args = choose_task(options, random.Random(s))
            self.expert.begin(None, (), s)  # the set-up's random choices follow the seed, not earlier episodes
            if not self.expert.prepare(task, args):
                continue
            if self.start_pose == "random":
                self.expert.move_to_start(task, args, derive_seed(s, "start"), self.start_away_m)
                if not self.expert.feasible(task, args):  # the move disturbed the scene
                    continue
            pick = self.phrase(s, task, args, split)
            if pick is not None:
                pick = replace(pick, start_m=self.expert.start_distance(task, args))
                return pick, self.robot.get_state()
        return None

    def next(self, seed: int, split: str, previous: str | None = None, setup: bool = False, only=None,
             fewest: Mapping[str, int] | None = None) -> Pick | None:  # fmt: skip
        """A task feasible from the scene as it is now (or, with ``setup``, after a prerequisite
        behaviour that can start now), not the ``previous`` one; one of ``only`` (task ids) when given;
        with ``fewest`` (task id -> attempts so far), one of the feasible tasks attempted least."""
        options = [
            c
            for c in self.expert.candidates(setup)
            if self.in_split(*c, split) and c[0] != previous and (only is None or c[0] in only)
        ]
        if not options:
            return None
        if fewest is not None:
            least = min(fewest.get(t, 0) for t, _ in options)
            options = [c for c in options if fewest.get(c[0], 0) == least]
        task, args = choose_task(options, random.Random(seed))
        return self.phrase(seed, task, args, split)

    def phrase(self, seed: int, task: str, args, split: str) -> Pick | None:
        """The pick of (task, args) phrased in ``split``, from the scene as it is now (positional words);
        None when the split has no phrasing for it."""
        if split in self.sets:  # one of the set's sentences for it, chosen by the seed
            sentences = set_sentences(self.sets[split], task, args)
            return Pick(seed, task, tuple(args), split, random.Random(seed).choice(sentences)) if sentences else None
        states = EpisodeStates(self.robot.scene_vector()[None], self.robot.scene_fields)
        positions = {o: tuple(float(v) for v in states.pos(o)[0]) for o in states.objects}
        p = grammar.choose(task, args, self.scene, split, seed, positions=positions, pairs=self.pairs)
        if p is None:
            return None
        where = by_position(p.descriptions, args, self.scene, positions) if args else None
        return Pick(seed, task, tuple(args), split, p.text, by_position=where)


def choose_task(options: list[tuple[str, tuple[str, ...]]], rng: random.Random) -> tuple[str, tuple[str, ...]]:
    """Uniform over task ids, then over their argument tuples (so tasks with many objects do not dominate)."""
    tasks = sorted({t for t, _ in options})
    task = rng.choice(tasks)
    return task, rng.choice(sorted(a for t, a in options if t == task))
