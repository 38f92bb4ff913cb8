"""Which known task, if any, a free-form instruction asks for: so that `ask` can judge success.

A sampled grammar phrasing is matched exactly. Anything else
(a person's own words) is matched by meaning: every (task, objects) of the scene is represented
by a sample of its phrasings from all three splits, embedded with the same frozen sentence
encoder the policy uses, and the instruction goes to its nearest phrasing when that is close
enough (``min_similarity``) and clearly closer than the best phrasing of any other task
(``min_margin``). Otherwise the instruction is "unjudged": the policy still runs, but no
success is claimed for it. The thresholds were chosen on the grammar's held-out phrasings
(tests check that they match back to their own task) and deliberately favour "unjudged" over
a wrong judgement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from robolang.captioning import grammar
from robolang.captioning import tasks as task_registry
from robolang.captioning.config import CaptionConfig
from robolang.captioning.states import SceneInfo
from robolang.captioning.tasks import instances
from robolang.policy.language import InstructionCache, LanguageError, check_instruction

SEEDS_PER_SPLIT = 16  # phrasings sampled per (task, objects) and split
# Sentence embeddings place antonyms close together ("turn the light on" / "off" measured 0.84),
# so a candidate must not contradict the instruction's polar words: opposite poles are words a
# task's meaning flips on. Compounds are merged first ("counter clockwise" -> "ccw").
POLES = ((("on", "onto"), ("off",)), (("open",), ("close", "shut")), (("left",), ("right",)), (("cw",), ("ccw",)),
         (("up", "lift", "raise"), ("down", "lower")))  # fmt: skip
COMPOUNDS = {"counter clockwise": "ccw", "anti clockwise": "ccw", "counterclockwise": "ccw", "anticlockwise": "ccw",
             "clockwise": "cw"}  # fmt: skip
DIRECTIONS = frozenset({"left", "right", "forward", "forwards", "back", "backward", "backwards", "cw", "ccw"})
# Things a candidate may only mention when the instruction does (any synonym of the same thing).
LANDMARKS = (frozenset({"plate", "dish", "platter", "saucer"}), frozenset({"drawer"}), frozenset({"door"}),
             frozenset({"lamp", "light", "lights"}), frozenset({"button"}))  # fmt: skip


@dataclass(frozen=True)
class TaskMatch:
    """The task an instruction asks for (``task_id`` None when unjudged) and why."""

    task_id: str | None
    args: tuple[str, ...]
    similarity: float
    nearest: str  # the closest phrasing the grammar knows
    exact: bool

    @property
    def judged(self) -> bool:
        return self.task_id is not None


MAX_WORDS = 40
MAX_CHARS = 300  # 40 words of 7 letters and a space each; the encoder reads at most 32 tokens anyway


def usable(text: object) -> str:
    """The instruction, or a clear error for empty, letter-less or overlong text."""
    text = check_instruction(text)
    if not re.search(r"[^\W\d_]", text):
        raise LanguageError(f"{text!r} has no words in it; say what the robot should do, e.g. 'open the drawer'")
    if len(text.split()) > MAX_WORDS:
        raise LanguageError(f"the instruction is longer than {MAX_WORDS} words; one short sentence works best")
    if len(text) > MAX_CHARS:  # one 5,000-letter "word" is as unusable as 5,000 words
        raise LanguageError(
            f"the instruction is {len(text)} characters long (at most {MAX_CHARS}); one short sentence works best"
        )
    return text


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _words(text: str) -> set[str]:
    text = f" {_normalise(text)} "
    for compound, token in COMPOUNDS.items():
        text = text.replace(f" {compound} ", f" {token} ")
    return set(text.split())


def contradicts(query: set[str], candidate: set[str]) -> bool:
    """True when the query holds one pole of a polar pair and the candidate only the other."""
    for a, b in POLES:
        for mine, theirs in ((a, b), (b, a)):
            if query & set(mine) and not query & set(theirs) and candidate & set(theirs) and not candidate & set(mine):
                return True
    return False


class TaskMatcher:
    """Maps instructions to (task, objects) of one scene; see the module notes."""

    def __init__(self, scene: dict, instructions: InstructionCache, min_similarity: float = 0.75,
                 min_margin: float = 0.02, caption_config=None, tasks=None):  # fmt: skip
        self.instructions, self.min_similarity, self.min_margin = instructions, min_similarity, min_margin
        cfg = caption_config or CaptionConfig()
        texts, keys = [], []
        registered = task_registry.TASKS  # read now: a task registered after import is matched too
        self._verbs = {t.id: frozenset(t.verbs) for t in registered}  # each task's verb synonyms
        self._all_verbs = frozenset().union(*self._verbs.values())
        chosen = None if tasks is None else [t for t in registered if t.id in set(tasks)]
        for task, args in instances(SceneInfo.from_description(scene), cfg, chosen):
            for split in grammar.SPLITS:
                for seed in range(SEEDS_PER_SPLIT):
                    p = grammar.choose(task.id, args, scene, split, seed)
                    if p is not None and p.text not in texts:
                        texts.append(p.text)
                        keys.append((task.id, tuple(args)))
        self.texts, self.keys = texts, keys
        self._words = [_words(t) for t in texts]
        self._sequences = [_normalise(t).split() for t in texts]
        colours = {o["name"]: o.get("colour", "") for o in scene.get("objects", [])}
        self._colour_words = {w for c in colours.values() for w in c.lower().split()}
        self._key_colours = {k: {w for a in k[1] for w in colours.get(a, "").lower().split()} for k in set(keys)}
        self._exact = {_normalise(t): k for t, k in zip(texts, keys, strict=True)}
        self._vectors = instructions.encode(texts).pooled.numpy()  # (P, D), unit length

    def match(self, instruction: str) -> TaskMatch:
        text = usable(instruction)
        key = self._exact.get(_normalise(text))
        if key is not None:
            return TaskMatch(key[0], key[1], 1.0, text, True)
        query = self.instructions.encode([text]).pooled.numpy()[0]
        similarity = self._vectors @ query  # (P,)
        words = _words(text)
        sequence = _normalise(text).split()
        order = [i for i in np.argsort(-similarity) if self._consistent(words, sequence, i)]
        if not order:
            best = int(np.argmax(similarity))
            return TaskMatch(None, (), float(similarity[best]), self.texts[best], False)
        best = order[0]
        rival = next((similarity[i] for i in order if self.keys[i] != self.keys[best]), -1.0)
        ok = similarity[best] >= self.min_similarity and similarity[best] - rival >= self.min_margin
        task_id, args = self.keys[best] if ok else (None, ())
        return TaskMatch(task_id, args, float(similarity[best]), self.texts[best], False)

    def _consistent(self, words: set[str], sequence: list[str], i: int) -> bool:
        """The candidate phrasing may not contradict the instruction's verbs, poles or colours."""
        key = self.keys[i]
        verbs = words & self._all_verbs
        if verbs and not verbs & self._verbs.get(key[0], frozenset()):
            return False
        theirs = self._words[i]
        if contradicts(words, theirs):
            return False
        if words & DIRECTIONS and theirs & DIRECTIONS - words:  # "forward" is not "left"
            return False
        if any(theirs & group and not words & group for group in LANDMARKS):
            return False
        named = words & self._colour_words
        if named and named != self._key_colours[key]:  # every object it acts on, and no other
            return False
        # Two objects named by colour: the same order as in the candidate ("stack red on green").
        return self._colour_order(sequence) == self._colour_order(self._sequences[i]) or len(key[1]) < 2

    def _colour_order(self, words: list[str]) -> list[str]:
        return [w for w in words if w in self._colour_words]
