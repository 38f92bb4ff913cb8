"""Deterministic held-out vocabulary and held-out (task, object) pairs (DESIGN.md splits).

Every decision is a stable hash (SHA-256, never Python's salted ``hash``) of the task and the
word or object name, so the same grammar gives the same splits on every machine and run.

* ``heldout_phrasing``: per task, a subset of its verb synonyms and of the noun synonyms its
  slots can use is never in that task's training phrasings. Canonical words (the first of each
  list: "lift", "cube", "drawer") are always trained, every synonym list of two or more keeps at
  least half of its words for training and holds out at least one.
* ``heldout_composition``: a subset of (task, object) pairs is never captioned in training: a
  segment whose task holds out *any* of its object arguments (X or Y of ``stack``) is held out
  whole. At most one object per task, objects spread evenly, so each task and each object
  keeps training captions with other partners.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from robolang.captioning.grammar_vocab import (
    FIXTURE_NOUNS,
    GENERIC_NOUNS,
    SHAPE_NOUNS,
    SLOT_KINDS,
)
from robolang.captioning.tasks import REGISTRY, phrasing_slots

# The splits of every phrasing and every annotation row (DESIGN.md "Instructions and splits").
SPLITS = ("train", "heldout_phrasing", "heldout_composition")

# About a third of the synonyms are held out: enough novel words per task to measure zero-shot
# phrasing, while training keeps most of the vocabulary (the canonical word always).
VERB_HOLDOUT = 0.3
NOUN_HOLDOUT = 0.3
# 15% of (task, object) pairs, at most one object per task: the play table's 23 object tasks x
# 4 objects hold out 14 pairs, 3 or 4 per object (13 counting only the pairs its detector can see).
COMPOSITION_HOLDOUT = 0.15


def stable_fraction(*parts: str) -> float:
    """A number in [0, 1) fixed by ``parts`` alone (SHA-256), the same on every run."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return int(digest[:13], 16) / 16**13


def check_task(task_id: str) -> None:
    """``TaskError`` (a ``ValueError``) listing the known ids unless ``task_id`` is registered."""
    REGISTRY.get(task_id)


@cache
def task_slots(task_id: str) -> tuple[str, ...]:
    """The slots a task's templates use, in ``SLOT_KINDS`` order (``("x", "d")`` for put_in_drawer)."""
    return phrasing_slots(REGISTRY.get(task_id).phrasing)


def object_arity(task_id: str) -> int:
    """How many object arguments a task takes: 0 (fixture tasks), 1 or 2 (X, Y)."""
    return sum(s in ("x", "y") for s in task_slots(task_id))


def noun_groups(task_id: str) -> list[tuple[str, ...]]:
    """The synonym lists a task's slots draw nouns from, canonical first."""
    groups: list[tuple[str, ...]] = []
    for slot in task_slots(task_id):
        kind = SLOT_KINDS[slot]
        if kind == "object":  # any object, the plate too (push_left may push the plate)
            groups += [*SHAPE_NOUNS.values(), GENERIC_NOUNS]
        elif kind == "plate":
            groups.append(SHAPE_NOUNS["plate"])
        else:
            groups.append(tuple(dict.fromkeys(key for key, _ in FIXTURE_NOUNS[kind])))
    return list(dict.fromkeys(groups))


def _max_held(group: tuple[str, ...]) -> int:
    return len(group) - max(1, math.ceil(len(group) / 2))


def _hold(task_id: str, kind: str, groups: list[tuple[str, ...]], fraction: float) -> frozenset[str]:
    """Words held out of ``task_id``'s training: those hashing under ``fraction``, then at most
    ``_max_held`` and (for lists of two or more) at least one per list."""
    rank = {w: stable_fraction(kind, task_id, w) for g in groups for w in g}
    canonical = {g[0] for g in groups}
    held = {w for w in rank if w not in canonical and rank[w] < fraction}
    for g in groups:
        for w in sorted((w for w in g if w in held), key=rank.get)[_max_held(g) :]:
            held.discard(w)
    for g in groups:
        if len(g) < 2 or any(w in held for w in g):
            continue
        for w in sorted((w for w in g if w not in canonical), key=rank.get):
            if all(sum(v in held for v in g2) < _max_held(g2) for g2 in groups if w in g2):
                held.add(w)
                break
    return frozenset(held)


@dataclass(frozen=True)
class HeldOutVocabulary:
    """The verb and noun synonyms a task never uses in training."""

    verbs: frozenset[str]
    nouns: frozenset[str]


@cache
def heldout_vocabulary(task_id: str) -> HeldOutVocabulary:
    """Which of ``task_id``'s verb and noun synonyms are held out of its training phrasings."""
    verbs = _hold(task_id, "verb", [REGISTRY.get(task_id).verbs], VERB_HOLDOUT)
    return HeldOutVocabulary(verbs, _hold(task_id, "noun", noun_groups(task_id), NOUN_HOLDOUT))


def heldout_pairs(
    tasks: Iterable[str], objects: Iterable[str], possible: Iterable[tuple[str, str]] | None = None
) -> set[tuple[str, str]]:
    """The (task, object) pairs never captioned in training, among these tasks (fixture tasks
    are skipped) and object names, or only among the ``possible`` pairs (those the captioner can
    detect: a cylinder is never rotated, a bar may not fit the drawer). Deterministic; a task
    holds out at most one object and keeps enough others to train (two for a two-object task),
    and an object stays trained with some other task."""
    tasks = sorted(set(tasks))
    for t in tasks:
        check_task(t)
    objects = sorted(set(objects))
    candidates = [(t, o) for t in tasks if object_arity(t) for o in objects]
    if possible is not None:
        possible = set(possible)
        candidates = [p for p in candidates if p in possible]
    partners = {t: sum(t == c for c, _ in candidates) for t in tasks}
    uses = {o: sum(o == k for _, k in candidates) for o in objects}
    target = round(COMPOSITION_HOLDOUT * len(candidates))
    per_object_cap = math.ceil(target / max(1, len(objects)))
    held: set[tuple[str, str]] = set()
    for t, o in sorted(candidates, key=lambda p: stable_fraction("composition", *p)):
        if len(held) == target:
            break
        if partners[t] <= object_arity(t) or any(t == h for h, _ in held):
            continue  # the task would lose all its training segments, or holds one out already
        held_o = sum(o == k for _, k in held)
        if held_o >= per_object_cap or held_o + 1 >= uses[o]:
            continue  # spread the held-out pairs over the objects; each keeps a trained task
        held.add((t, o))
    return held


def _forget() -> None:
    """A task registered or removed: what was derived per task id may no longer hold."""
    task_slots.cache_clear()
    heldout_vocabulary.cache_clear()


REGISTRY.on_change(_forget)
