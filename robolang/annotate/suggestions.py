"""Instructions to offer for a marked segment, so a person picks instead of typing.

A suggester is any function ``(dataset root, episode, start, end) -> Suggestions`` (frames
``[start, end)``); ``suggester_for(root)`` picks the one that fits a dataset. Today that is the
oracle captioner's for recordings with the simulator's scene state (its task predicates run on
the segment's first and last frame, and its grammar phrases every task that holds, exactly as
``robolang caption`` would), and none for other data (a real robot). A learned captioner that
watches the video plugs in here as another suggester.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

from robolang.captioning.config import CaptionConfig
from robolang.captioning.grammar_splits import SPLITS


@dataclass(frozen=True)
class Suggestion:
    """One instruction, with the task, object arguments and split it is stored with if picked."""

    instruction: str
    task_id: str
    args: str  # comma-separated, as in the annotation table
    split: str
    source: str  # what suggested it ("oracle"; a learned captioner names itself)


@dataclass(frozen=True)
class Suggestions:
    items: tuple[Suggestion, ...] = ()
    note: str = ""  # said in the page, e.g. why there are none


Suggester = Callable[[Path, int, int, int], Suggestions]
PHRASINGS_PER_SPLIT = 3  # a few wordings of each task to choose from, not the grammar's thousands


def no_suggestions(root: Path, episode: int, start: int, end: int) -> Suggestions:
    return Suggestions(
        note="no suggestions for this dataset: it has no scene state (a real robot?); type the instruction"
    )


def suggester_for(root: str | Path, cfg: CaptionConfig | None = None) -> Suggester:
    """The oracle captioner's suggestions (with ``cfg``'s thresholds, as `robolang caption` reads
    them from configs/caption/default.yaml) where the dataset has scene state, else none."""
    from robolang.captioning.states import read_scene, scene_fields
    from robolang.errors import RobolangError

    try:
        scene_fields(root), read_scene(root)
    except RobolangError:
        return no_suggestions
    return partial(oracle_suggestions, cfg=cfg or CaptionConfig())


def oracle_suggestions(root: Path, episode: int, start: int, end: int, cfg: CaptionConfig | None = None) -> Suggestions:
    """Every task the oracle captioner finds done between frame ``start`` and frame ``end - 1``,
    in the phrasings it would store (a few per split; a held-out (task, object) pair offers
    only held-out phrasings, which keep their split when picked)."""
    from robolang.captioning import grammar
    from robolang.captioning.tasks import instances

    cfg = cfg or CaptionConfig()
    states, scene, pairs = _episode(Path(root).resolve(), episode, cfg)
    if not 0 <= start < end <= len(states):
        return Suggestions(note=f"frames {start} to {end} are not a segment of episode {episode}")
    present = set(states.objects) | set(states.fixtures)
    positions = {o: tuple(states.pos(o)[start]) for o in states.objects}
    items: dict[str, Suggestion] = {}
    for task, args in instances(states.scene, cfg):
        if not present.issuperset(args) or task.entity(args, states.scene) not in present:
            continue
        if not bool(task.holds(states, start, end - 1, args, cfg)):
            continue
        for split in SPLITS:
            for i in range(PHRASINGS_PER_SPLIT):
                seed = f"annotate:{episode}:{start}:{end}:{i}"
                phrasing = grammar.choose(task.id, args, scene, split, seed, positions=positions, pairs=pairs)
                if phrasing is not None and phrasing.text not in items:
                    items[phrasing.text] = Suggestion(phrasing.text, task.id, ",".join(args), split, "oracle")
    note = "" if items else "the oracle captioner finds no task completed over these frames; type the instruction"
    return Suggestions(tuple(items.values()), note)


@lru_cache(maxsize=4)
def _episode(snapshot: Path, episode: int, cfg: CaptionConfig):
    """One episode's scene states, the scene description and the held-out pairs (as the
    captioner computes them), cached per snapshot: reading the states costs a pass over the data."""
    from robolang.captioning import grammar
    from robolang.captioning.states import SCENE_FILE, read_episodes
    from robolang.captioning.tasks import instances

    found = list(read_episodes(snapshot, [episode]))
    if not found:
        raise ValueError(f"episode {episode} has no frames in {snapshot}")
    states = found[0][1]
    scene = json.loads((snapshot / "meta" / SCENE_FILE).read_text())
    possible = {(t.id, a) for t, args in instances(states.scene, cfg) for a in args}
    return states, scene, grammar.heldout_pairs(grammar.TASK_IDS, list(states.objects), possible=possible)
