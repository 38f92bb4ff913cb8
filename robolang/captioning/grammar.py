"""The phrasing grammar: every instruction a labelled segment may carry, and its split.

An instruction is a *template* (a politeness frame around a verb pattern, or a verb-less goal)
filled with *descriptions* of the task's objects and fixtures. Everything is enumerable
(STYLE.md rule 7): ``enumerate_phrasings`` lists every phrasing of a segment, ``choose`` picks
one per split from a seed, and ``split_of`` says which split a phrasing belongs to.

The tasks, their verbs and templates are the registered ``robolang.captioning.tasks``
(``TASK_IDS`` here is the registry's ids, in its order; ``X``, ``Y`` are object arguments;
directions are the robot's: left = +y, forward = away from the robot = +x). Each task's
one-line meaning is ``tasks.get(task_id).meaning``. A registered task is phrased, split and
counted here with no other edit; the splits follow by hashing.

Splits (``grammar_splits``): ``heldout_composition`` if the segment's task holds out one of its
objects (takes precedence), else ``heldout_phrasing`` if the phrasing uses a verb or noun
synonym held out of that task, else ``train``. ``choose(..., "heldout_composition", ...)``
prefers phrasings in training vocabulary, so the pairing is the only thing new. The held-out
pairs default to ``scene_heldout_pairs(scene)`` (every object task x every movable object); a
captioner that knows which pairs can occur passes ``pairs=heldout_pairs(tasks, objects,
possible=...)`` so no held-out pair is wasted on one that never happens.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from robolang.captioning import grammar_describe, grammar_splits, grammar_vocab
from robolang.captioning.grammar_describe import Description, describe, describe_fixture, is_movable
from robolang.captioning.grammar_splits import (
    SPLITS,
    check_task,
    heldout_pairs,
    heldout_vocabulary,
    object_arity,
    stable_fraction,
    task_slots,
)
from robolang.captioning.grammar_vocab import FRAMES, SLOT_KINDS
from robolang.captioning.tasks import REGISTRY

__all__ = [
    "SPLITS",
    "TASK_IDS",  # noqa: F822 (module __getattr__: the registry as it is now)
    "VERSION",  # noqa: F822
    "Description",
    "Phrasing",
    "choose",
    "count_phrasings",
    "coverage",
    "coverage_table",
    "describe",
    "enumerate_phrasings",
    "heldout_pairs",
    "heldout_vocabulary",
    "object_arity",
    "scene_heldout_pairs",
    "split_of",
    "version",
]

GRAMMAR_MAJOR = 1  # bump by hand for changes the digest below cannot see (e.g. in code)


def version() -> str:
    """``caption-grammar/<major>+<digest>``: the digest covers every registered task's
    templates (by id, so the order of registration does not matter), every word and threshold,
    so any change to the phrasings changes the version stored with annotations."""
    return _version(REGISTRY.generation)


@lru_cache(maxsize=4)
def _version(generation: int) -> str:
    templates = {t.id: t.phrasing for t in sorted(REGISTRY, key=lambda t: t.id)}
    parts = [repr(templates), repr(FRAMES)]
    parts += [
        repr(getattr(grammar_vocab, n)) for n in ("ALTERNATIVES", "SHAPE_NOUNS", "GENERIC_NOUNS", "FIXTURE_NOUNS")
    ]
    parts += [repr(getattr(grammar_vocab, n)) for n in ("PRONOUN", "LANDMARK_SHAPES", "COLOUR_VARIANTS")]
    parts += [
        repr(getattr(grammar_describe, n)) for n in ("SIZE_RATIO", "LONG_RATIO", "RELATIVE_MARGIN_M", "SIDE_MIN_Y_M")
    ]
    parts += [repr(getattr(grammar_splits, n)) for n in ("VERB_HOLDOUT", "NOUN_HOLDOUT", "COMPOSITION_HOLDOUT")]
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:10]
    return f"caption-grammar/{GRAMMAR_MAJOR}+{digest}"


def __getattr__(name: str):
    """``VERSION`` and ``TASK_IDS`` as the registry makes them now (a task registered at run
    time is part of both)."""
    if name == "VERSION":
        return version()
    if name == "TASK_IDS":
        return REGISTRY.ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Phrasing(NamedTuple):
    """One instruction and the grammar elements it was built from.

    ``template_id`` is ``"<frame>:<pattern>"`` (or ``"goal:<statement>"``), ``verb`` the verb
    synonym (None for verb-less goals), ``nouns`` and ``descriptions`` the noun synonym and
    noun phrase filling each slot, ``heldout_pair`` whether the segment's (task, object) pair is
    held out of training, and ``split`` the resulting split. (A named tuple: segments can have
    hundreds of thousands of phrasings, and tuples are built fast.)
    """

    text: str
    task_id: str
    args: tuple[str, ...]
    template_id: str
    verb: str | None
    nouns: tuple[str, ...]
    descriptions: tuple[str, ...]
    heldout_pair: bool
    split: str


@dataclass(frozen=True)
class _Block:
    """A template with the candidate descriptions of each of its slots: a product of phrasings."""

    template_id: str
    form: str  # the template with {x}-style slots
    verb: str | None
    slots: tuple[str, ...]
    fills: tuple[tuple[Description, ...], ...]
    pieces: tuple[str, ...]  # the form split at its slots: literal, slot, literal, ...

    def fill(self, combo: tuple[Description, ...]) -> str:
        """The text with ``combo`` in the slots, in one pass (a description is never re-read)."""
        texts = dict(zip(self.slots, (d.text for d in combo), strict=True))
        return "".join(texts[p] if i % 2 else p for i, p in enumerate(self.pieces))

    def size(self, heldout_nouns: frozenset[str] | None = None) -> int:
        """All phrasings, or with ``heldout_nouns`` only those using none of them."""
        if heldout_nouns is None:
            return math.prod(len(f) for f in self.fills)
        return math.prod(sum(d.noun not in heldout_nouns for d in f) for f in self.fills)


@lru_cache(maxsize=64)
def _heldout_pairs_for(objects: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    return frozenset(heldout_pairs([t for t in REGISTRY.ids() if object_arity(t)], objects))


def scene_heldout_pairs(scene: Mapping) -> frozenset[tuple[str, str]]:
    """The held-out (task, object) pairs for a scene: every object task x its movable objects."""
    return _heldout_pairs_for(tuple(sorted(o["name"] for o in scene.get("objects", ()) if is_movable(o))))


def _check_args(task_id: str, args: Sequence[str], scene: Mapping) -> tuple[str, ...]:
    check_task(task_id)
    args = (args,) if isinstance(args, str) else tuple(args or ())
    arity = object_arity(task_id)
    if len(args) != arity:
        raise ValueError(f"task {task_id!r} takes {arity} object argument(s), got {list(args)}")
    if len(set(args)) != len(args):
        raise ValueError(f"task {task_id!r} needs distinct objects, got {list(args)}")
    for a in args:
        grammar_describe.find_object(scene, a)
    return args


@dataclass(frozen=True)
class _Form:
    """A template of a task before its slots are filled (the same for every scene)."""

    template_id: str
    form: str
    verb: str | None
    slots: tuple[str, ...]
    pieces: tuple[str, ...]


@lru_cache(maxsize=256)
def _forms(task_id: str) -> tuple[_Form, ...]:
    t = REGISTRY.get(task_id).phrasing
    forms = [
        (f"{fid}:{p}", frame.replace("{c}", p), verb)
        for verb, ps in t.verbs.items()
        for p in ps
        for fid, frame in FRAMES.items()
    ]
    forms += [(f"goal:{g}", g, None) for g in t.goals]
    return tuple(
        _Form(
            tid,
            form,
            verb,
            tuple(s for s in SLOT_KINDS if "{" + s + "}" in form),
            tuple(re.split(r"\{([a-z])\}", form)),
        )
        for tid, form, verb in forms
    )


class _Blocks(NamedTuple):
    """A segment's blocks with their phrasing counts: all, and in training vocabulary."""

    blocks: list[_Block]
    sizes: list[int]
    clean: list[int]  # 0 for a block whose verb is held out


# (task, args, scene, positions) -> _Blocks: TaskMatcher asks for the same segment 48 times
# (16 seeds x 3 splits), the captioner three times (one per split).
_SEGMENTS = grammar_describe.Memo(512)


def _positions_key(scene: Mapping, positions: Mapping | None):
    """What of ``positions`` the descriptions read: each object's (x, y); None when unreadable."""
    if positions is None:
        return ()
    try:
        if isinstance(positions.get("objects"), Mapping):
            positions = positions["objects"]
        return tuple((o["name"], grammar_describe._xy(positions, o["name"])) for o in scene.get("objects", ()))
    except Exception:  # noqa: BLE001 (odd positions: described afresh, which raises what it raises)
        return None


def _blocks(task_id: str, args: tuple[str, ...], scene: Mapping, positions: Mapping | None) -> _Blocks:
    scene_key, where = grammar_describe.scene_key(scene), _positions_key(scene, positions)
    key = None if scene_key is None or where is None else (task_id, args, scene_key, where)
    return _SEGMENTS.get(key, lambda: _make_blocks(task_id, args, scene, positions))


def _make_blocks(task_id: str, args: tuple[str, ...], scene: Mapping, positions: Mapping | None) -> _Blocks:
    fills = {}
    for slot in task_slots(task_id):
        kind = SLOT_KINDS[slot]
        if kind == "object":
            fills[slot] = tuple(describe(args["xy".index(slot)], scene, positions))
        else:
            fills[slot] = tuple(describe_fixture(kind, scene))
    held = heldout_vocabulary(task_id)
    every = {s: len(f) for s, f in fills.items()}
    known = {s: sum(d.noun not in held.nouns for d in f) for s, f in fills.items()}
    blocks, sizes, clean = [], [], []
    for f in _forms(task_id):
        blocks.append(_Block(f.template_id, f.form, f.verb, f.slots, tuple(fills[s] for s in f.slots), f.pieces))
        sizes.append(math.prod(every[s] for s in f.slots))
        clean.append(0 if f.verb in held.verbs else math.prod(known[s] for s in f.slots))
    return _Blocks(blocks, sizes, clean)


def _split(task_id: str, verb: str | None, nouns: Iterable[str], heldout_pair: bool) -> str:
    if heldout_pair:
        return "heldout_composition"
    held = heldout_vocabulary(task_id)
    if verb in held.verbs or any(n in held.nouns for n in nouns):
        return "heldout_phrasing"
    return "train"


def _phrasing(task_id, args, block: _Block, combo: tuple[Description, ...], heldout_pair: bool) -> Phrasing:
    text = block.fill(combo)
    nouns = tuple(d.noun for d in combo)
    split = _split(task_id, block.verb, nouns, heldout_pair)
    return Phrasing(
        text, task_id, args, block.template_id, block.verb, nouns, tuple(d.text for d in combo), heldout_pair, split
    )


def _segment(task_id, args, scene, positions, pairs) -> tuple[tuple[str, ...], bool, _Blocks]:
    args = _check_args(task_id, args, scene)
    pairs = scene_heldout_pairs(scene) if pairs is None else frozenset(pairs)
    return args, any((task_id, a) in pairs for a in args), _blocks(task_id, args, scene, positions)


def enumerate_phrasings(
    task_id: str,
    args: Sequence[str],
    scene: Mapping,
    positions: Mapping | None = None,
    pairs: Iterable[tuple[str, str]] | None = None,
) -> list[Phrasing]:
    """Every phrasing of a segment (task ``task_id`` on objects ``args``, names from ``scene``),
    in a fixed order, one per distinct text. ``positions`` (object name -> xy at the segment's
    start) adds relative descriptions where they are unambiguous; ``pairs`` overrides the
    held-out (task, object) pairs (see the module notes). ValueError for an unknown task
    (listing the known ids) or arguments that do not fit it."""
    args, heldout_pair, segment = _segment(task_id, args, scene, positions, pairs)
    held = heldout_vocabulary(task_id)
    seen: dict[str, Phrasing] = {}
    for b in segment.blocks:
        verb_held = b.verb in held.verbs
        for combo in itertools.product(*b.fills):
            text = b.fill(combo)
            if text in seen:
                continue
            nouns = tuple(d.noun for d in combo)
            if heldout_pair:
                split = "heldout_composition"
            elif verb_held or not held.nouns.isdisjoint(nouns):
                split = "heldout_phrasing"
            else:
                split = "train"
            descriptions = tuple(d.text for d in combo)
            seen[text] = Phrasing(text, task_id, args, b.template_id, b.verb, nouns, descriptions, heldout_pair, split)
    return list(seen.values())


def count_phrasings(
    task_id: str,
    args: Sequence[str],
    scene: Mapping,
    positions: Mapping | None = None,
    pairs: Iterable[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Phrasings of a segment per split, counted without building them (the grammar yields no
    duplicate texts, which the tests check against ``enumerate_phrasings``)."""
    args, heldout_pair, segment = _segment(task_id, args, scene, positions, pairs)
    counts = dict.fromkeys(SPLITS, 0)
    for total, clean in zip(segment.sizes, segment.clean, strict=True):
        if heldout_pair:
            counts["heldout_composition"] += total
        else:
            counts["train"] += clean
            counts["heldout_phrasing"] += total - clean
    return counts


def split_of(
    phrasing: Phrasing, task_id: str, args: Sequence[str], pairs: Iterable[tuple[str, str]] | None = None
) -> str:
    """The split of ``phrasing`` as a caption of ``task_id`` on ``args``. Held-out pairs come
    from ``pairs`` if given, else from the scene the phrasing was enumerated for."""
    args = (args,) if isinstance(args, str) else tuple(args or ())
    check_task(task_id)
    if (phrasing.task_id, phrasing.args) != (task_id, args):
        raise ValueError(
            f"phrasing {phrasing.text!r} was made for {phrasing.task_id}{list(phrasing.args)}, not {task_id}{list(args)}"
        )
    heldout_pair = phrasing.heldout_pair if pairs is None else any((task_id, a) in set(pairs) for a in args)
    return _split(task_id, phrasing.verb, phrasing.nouns, heldout_pair)


class _Novel(Sequence):
    """The combinations of ``fills`` using at least one held-out noun, in ``itertools.product``
    order, indexed without listing them (a block can hold thousands; ``rng.choice`` needs only
    the length and one item)."""

    def __init__(self, fills: tuple[tuple[Description, ...], ...], held_nouns: frozenset[str]):
        self.fills = fills
        self.held = [[d.noun in held_nouns for d in f] for f in fills]
        self.all = [math.prod(len(f) for f in fills[i:]) for i in range(len(fills) + 1)]  # completions
        self.known = [math.prod(h.count(False) for h in self.held[i:]) for i in range(len(fills) + 1)]

    def __len__(self) -> int:
        return self.all[0] - self.known[0]

    def __getitem__(self, index: int) -> tuple[Description, ...]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        combo, novel = [], False
        for i, options in enumerate(self.fills):
            for d, held in zip(options, self.held[i], strict=True):
                inside = self.all[i + 1] if novel or held else self.all[i + 1] - self.known[i + 1]
                if index < inside:
                    combo.append(d)
                    novel = novel or held
                    break
                index -= inside
        return tuple(combo)


def _pick_in_block(rng: random.Random, block: _Block, task_id: str, want: str) -> tuple[Description, ...]:
    held = heldout_vocabulary(task_id)
    if want == "clean":  # training vocabulary only
        fills = [[d for d in f if d.noun not in held.nouns] for f in block.fills]
        return tuple(rng.choice(f) for f in fills)
    if block.verb in held.verbs:  # every combination is novel already
        return tuple(rng.choice(f) for f in block.fills)
    return rng.choice(_Novel(block.fills, held.nouns))


def choose(
    task_id: str,
    args: Sequence[str],
    scene: Mapping,
    split: str,
    seed: int | str,
    positions: Mapping | None = None,
    pairs: Iterable[tuple[str, str]] | None = None,
) -> Phrasing | None:
    """One phrasing of the segment in ``split``, the same for the same inputs and ``seed``
    (uniform over the split's phrasings); None when the split has none for this segment (a
    held-out pair has only ``heldout_composition`` phrasings, and only those)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; splits are {SPLITS}")
    args, heldout_pair, segment = _segment(task_id, args, scene, positions, pairs)
    if heldout_pair != (split == "heldout_composition"):
        return None
    blocks, clean = segment.blocks, segment.clean
    if split == "heldout_phrasing":
        weights, want = [n - c for n, c in zip(segment.sizes, clean, strict=True)], "novel"
    else:
        weights, want = clean, "clean"
        if split == "heldout_composition" and not sum(clean):
            weights, want = segment.sizes, "novel"  # no training-vocabulary phrasing: take any
    if not sum(weights):
        return None
    rng = random.Random(int(stable_fraction("choose", str(seed), task_id, *args, split) * 2**52))
    block = rng.choices(blocks, weights=weights)[0]
    if want == "novel" and split == "heldout_composition":
        combo = tuple(rng.choice(f) for f in block.fills)
    else:
        combo = _pick_in_block(rng, block, task_id, want)
    return _phrasing(task_id, args, block, combo, heldout_pair)


def _arg_tuples(task_id: str, scene: Mapping) -> list[tuple[str, ...]]:
    names = [o["name"] for o in scene.get("objects", ()) if is_movable(o)]
    return list(itertools.permutations(names, object_arity(task_id)))


def coverage(scene: Mapping, tasks: Iterable[str] | None = None, positions: Mapping | None = None) -> list[dict]:
    """Per task: argument tuples over the scene's movable objects, phrasings of one segment
    (the first tuple), and phrasings per split summed over all tuples."""
    rows = []
    for task_id in tasks if tasks is not None else REGISTRY.ids():
        check_task(task_id)
        combos = _arg_tuples(task_id, scene)
        per_split = dict.fromkeys(SPLITS, 0)
        first = None
        for args in combos:
            counts = count_phrasings(task_id, args, scene, positions)
            first = sum(counts.values()) if first is None else first
            per_split = {s: per_split[s] + counts[s] for s in SPLITS}
        rows.append({"task": task_id, "arg_tuples": len(combos), "per_segment": first or 0, **per_split})
    return rows


def coverage_table(scene: Mapping, tasks: Iterable[str] | None = None, positions: Mapping | None = None) -> str:
    """``coverage`` as a fixed-width table with a total row, headed by the grammar version."""
    rows = coverage(scene, tasks, positions)
    cols = ("task", "arg_tuples", "per_segment", *SPLITS)
    total = {c: sum(r[c] for r in rows) for c in cols[1:]}
    body = rows + [{"task": "TOTAL", **total}]
    widths = {c: max(len(c), *(len(str(r[c])) for r in body)) for c in cols}
    line = lambda r: "  ".join(str(r[c]).ljust(widths[c]) if c == "task" else str(r[c]).rjust(widths[c]) for c in cols)  # noqa: E731
    header = line({c: c for c in cols})
    return "\n".join([f"phrasing grammar {version()}", header, "-" * len(header), *map(line, body)])


def _forget() -> None:
    """A task registered or removed: its templates and segments may have changed."""
    _heldout_pairs_for.cache_clear()
    _forms.cache_clear()
    _SEGMENTS.clear()


REGISTRY.on_change(_forget)
