"""Which of the scene's objects an instruction names, in order: the task matcher judges a
(task, objects) only when the instruction names exactly its objects.

An object is named by a noun phrase the grammar would use for it alone
(``grammar_describe.describe``: "the small cube", "the long one", "the cylinder", "the big
green block"), read order-free and with size words folded ("little", "tiny" -> small;
"large", "bigger" -> big), or by its colour ("the red thing", "the yellow can"). A phrase
that fits several objects ("the block") names none of them. "one" with an adjective may
stand for the noun said before it ("the bigger cube onto the smaller one").
"""

from __future__ import annotations

from dataclasses import dataclass

from robolang import task_match_words as words
from robolang.captioning.grammar_describe import describe, is_movable
from robolang.captioning.grammar_vocab import PRONOUN

DETERMINERS = frozenset({"the", "a", "an", "that", "this", "your", "my", "its", "those", "these", "some"})
LOOK_BACK = 4  # words before a noun that may be its adjectives ("the small shiny red block")
LONG_WORDS = frozenset({"long", "longer", "longest", "lengthy", "elongated"})


@dataclass(frozen=True)
class Mentions:
    """The objects a text names, in order of first mention, and its size words in order."""

    order: tuple[str, ...]
    sizes: tuple[str, ...]

    @property
    def objects(self) -> set[str]:
        return set(self.order)

    def same_order(self, theirs: Mentions) -> bool:
        """A phrasing names the objects this text names in the same order (it may name more),
        and its size words in the same order when both have two or more."""
        mine = set(self.order)
        if tuple(o for o in theirs.order if o in mine) != self.order:
            return False
        return len(self.sizes) < 2 or len(theirs.sizes) < 2 or self.sizes == theirs.sizes


class ObjectReader:
    """Reads ``Mentions`` from normalised word sequences, for one scene."""

    def __init__(self, scene: dict, verbs: frozenset[str] = frozenset()):
        self.verbs = verbs  # a noun that is also a verb ("stick") names an object only after "the" or an adjective
        objects = list(scene.get("objects", []))
        self.movable = {o["name"] for o in objects if is_movable(o)}
        self.colours: dict[str, set[str]] = {}  # colour word -> objects of that colour
        self.phrases: dict[tuple[frozenset[str], str], set[str]] = {}  # (adjectives, noun) -> objects
        for o in objects:
            for w in str(o.get("colour", "")).lower().split():
                self.colours.setdefault(w, set()).add(o["name"])
            for d in describe(o, scene):
                *adjectives, noun = d.text.split()[1:]  # "the small red cube" -> small, red; cube
                key = (frozenset(_fold(a) for a in adjectives), noun)
                self.phrases.setdefault(key, set()).add(o["name"])
        self.nouns = {noun for _, noun in self.phrases}
        self.adjectives = {a for adjs, _ in self.phrases for a in adjs} | set(self.colours)

    def read(self, sequence: list[str]) -> Mentions:
        """The objects named in ``sequence`` (normalised words) and its size words, in order."""
        found: list[tuple[int, str]] = []  # (where, object)
        said_before = None  # the last noun other than "one"
        for i, w in enumerate(sequence):
            names = self.colours.get(w)  # a colour alone names its object ("the red can"), not "paint it red"
            if names is not None and len(names) == 1 and self._in_noun_phrase(sequence, i):
                found.append((i, next(iter(names))))
            noun = w if w in self.nouns else w[:-1] if w.endswith("s") and w[:-1] in self.nouns else None
            if noun is None or (w in self.verbs and not self._after_article(sequence, i)):
                continue
            adjectives = self._adjectives_before(sequence, i)
            name = self._referent(adjectives, noun)
            if name is None and noun == PRONOUN and adjectives and said_before:
                name = self._referent(adjectives, said_before)
            if name:
                found.append((i, name))
            said_before = said_before if noun == PRONOUN else noun
        order = tuple(dict.fromkeys(name for _, name in sorted(found)))
        sizes = tuple(s for w in sequence if (s := words.size_of(w)))
        return Mentions(order, sizes)

    def _after_article(self, sequence: list[str], i: int) -> bool:
        return i > 0 and (sequence[i - 1] in DETERMINERS or _fold(sequence[i - 1]) in self.adjectives)

    def _in_noun_phrase(self, sequence: list[str], i: int) -> bool:
        """A determiner comes before word ``i``, with only adjectives between ("the small red")."""
        for w in reversed(sequence[max(0, i - LOOK_BACK) : i]):
            if w in DETERMINERS:
                return True
            if _fold(w) not in self.adjectives:
                return False
        return False

    def _adjectives_before(self, sequence: list[str], i: int) -> frozenset[str]:
        found = set()
        for w in reversed(sequence[max(0, i - LOOK_BACK) : i]):
            if w in DETERMINERS or w in self.nouns:
                break
            if _fold(w) in self.adjectives:
                found.add(_fold(w))
        return frozenset(found)

    def _referent(self, adjectives: frozenset[str], noun: str) -> str | None:
        names = self.phrases.get((adjectives, noun))
        if names is None:  # an adjective the grammar does not pair with this noun: colour decides
            colours = [self.colours[a] for a in adjectives if a in self.colours]
            names = set.intersection(*colours) if colours else self.phrases.get((frozenset(), noun))
        return next(iter(names)) if names and len(names) == 1 else None


def _fold(word: str) -> str:
    """Size words to ``small`` / ``big``, length words to ``long``; others unchanged."""
    size = words.size_of(word)
    if size is not None:
        return size.lower()
    return "long" if word in LONG_WORDS else word
