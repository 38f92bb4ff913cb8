"""What the task matcher reads in an instruction besides its embedding: the words a person
wraps a request in, and the few meanings a sentence embedding blurs.

``core`` strips what carries no task: politeness frames ("could you ...", "... for me,
please"), fillers ("just", "a bit") and the table as a place ("off the table"), and turns
gerunds of known verbs back into imperatives ("would you mind putting" -> "put"). Both the
instruction and every phrasing of the matcher's table are compared in this form too.

``concepts`` names the meanings a sentence embedding places close together although the task
flips on them (measured: "turn the light on" / "off" 0.84; "the right side of the table" /
"the far side" 0.93): directions, spatial relations, landmarks, and poles (on/off,
open/close, up/down, in/out, small/big). The words are general English for these meanings
and the grammar's own direction phrases (``grammar_vocab.ALTERNATIVES``).
"""

from __future__ import annotations

import re

# Directions and regions of the table, as the robot sees them (left = +y, far = away from it).
DIRECTIONS = ("LEFT", "RIGHT", "FAR", "NEAR", "CW", "CCW", "SIDE")  # SIDE: a region ("the left half")
RELATIONS = ("TOP", "NEXT", "FRONT_OF", "BEHIND", "NOT")  # NOT: "X should not be on the plate"
LANDMARKS = ("PLATE", "DRAWER", "DOOR", "LIGHT", "BUTTON")
# An instruction names these only when it means them: a phrasing may not add one, and a task
# must be able to express each one the instruction names.
SPECIFIC = frozenset(DIRECTIONS + RELATIONS + LANDMARKS)
SIZES = frozenset({"SMALL", "BIG"})
# Poles: a phrasing holding only the other pole of a pair the instruction holds one of is out.
POLES = (
    ("ON", "OFF"),
    ("OPEN", "CLOSE"),
    ("UP", "DOWN"),
    ("IN", "OUT"),
    ("SMALL", "BIG"),
    ("ON", "FROM"),
    ("IN", "FROM"),
)

_W = r"(?<![\w'])"  # a word starts here
_E = r"(?![\w'])"  # a word ends here
# (pattern, concept or None): applied in order, each match replaced by a marker so that later
# patterns do not read it again ("right next to" is NEXT, not RIGHT; "the front of the table"
# is NEAR, "in front of" FRONT_OF). None: an intensifier, removed.
PATTERNS: tuple[tuple[str, str | None], ...] = (
    (r"right(?= (?:next|in front|behind|beside|by|there|here|now|away|on top))", None),
    (r"counter ?-?clockwise|anti ?-?clockwise|ccw", "CCW"),
    (r"clockwise|cw", "CW"),
    (r"on (?:the )?top of|atop|on top", "TOP"),
    (r"in front of(?! (?:you|yourself|me|the robot))", "FRONT_OF"),
    (r"behind|in back of", "BEHIND"),
    (r"(?:to|at|on|towards?) the (?:front|near (?:side|end|edge))(?: (?:half|part|edge))?(?: of the table)?", "NEAR"),
    (r"(?:to|at|on|towards?) the (?:back|far (?:side|end|edge))(?: (?:half|part|edge))?(?: of the table)?", "FAR"),
    (r"(?:back )?(?:towards?|to|near|close to|closer to|nearer to|in front of) (?:you|yourself|me|the robot)", "NEAR"),
    (r"(?:far|farther|further|away) from (?:you|yourself|me|the robot)|(?:farther|further) away", "FAR"),
    (r"closer|nearer|backwards?|back(?! (?:down|in|into|on|onto|out|of|up|where|to the table))", "NEAR"),
    (r"forwards?|far side|far end|farther|further", "FAR"),
    (r"next to|beside|besides|alongside|side by side|adjacent to|close to|near|nearby|by the side of", "NEXT"),
    (r"(?:side|half|part|edge)(?: of the table)?", "SIDE"),
    (r"not|\w+n't|cannot|no longer|anymore|any more|never", "NOT"),
    (r"left(?:wards?|most)?", "LEFT"),
    (r"right(?:wards?|most)?", "RIGHT"),
    (r"plates?|dish|dishes|platter|saucer", "PLATE"),
    (r"drawers?", "DRAWER"),
    (r"doors?|slider|sliding panel", "DOOR"),
    (r"lights?|lamps?|bulbs?", "LIGHT"),
    (r"buttons?", "BUTTON"),
    (r"on|onto|bright|brighter|brighten|illuminate", "ON"),
    (r"off|dark|darker|darken|dim", "OFF"),
    (r"open|opened|opening", "OPEN"),
    (r"close|closed|shut", "CLOSE"),
    (r"up|lift|raise|hoist|elevate", "UP"),
    (r"down|lower", "DOWN"),
    (r"in|into|inside", "IN"),
    (r"out", "OUT"),
    (r"from", "FROM"),
    (r"small|smaller|smallest|little|tiny|short", "SMALL"),
    (r"big|bigger|biggest|large|larger|largest|huge|tall", "BIG"),
)
_COMPILED = tuple((re.compile(_W + f"(?:{p})" + _E), c) for p, c in PATTERNS)

# Politeness frames and fillers: at the start, at the end, anywhere (general English, and the
# grammar's own frames: grammar_vocab.FRAMES).
_START = (
    r"(?:hey|hi|hello|ok|okay|alright|so|now|and|then|robot|please|kindly|just|also|first)",
    r"(?:would|do) you mind",
    r"(?:could|can|would|will) you(?: please| kindly| just)?(?: be so kind as to)?",
    r"i(?:'d| would) like you to|i (?:want|need) you to|you (?:should|need to|can|could|must)",
    r"(?:can|could) we|we (?:need|have) to|let's|lets|let us|go ahead and|try to|time to|please try to",
    r"i(?:'d| would) like to|i want to|i need to",
)
_END = r"(?:please|for me|thanks|thank you|if you can|if you could|if you would|now|right now|when you can)"
_FILLER = r"just|gently|carefully|quickly|slowly|slightly|a (?:little )?bit|a little|a tiny bit|some more"
# The table as a place says which way: off it is up, onto it is down ("put it back on the table").
_TABLE_WAYS = (
    (re.compile(_W + r"(?:up )?(?:off|from) (?:of )?the (?:table|tabletop|table top|surface)" + _E), " up "),
    (re.compile(_W + r"(?:down )?(?:on|onto) the (?:table|tabletop|table top|surface)" + _E), " down "),
    (re.compile(_W + r"(?:across|over) the (?:table|tabletop|table top|surface)" + _E), " "),
)
_START_RE = re.compile(r"^(?:" + "|".join(_START) + r")(?:\s+|$)")
_END_RE = re.compile(r"(?:^|\s+)" + _END + r"$")
_FILLER_RE = re.compile(_W + f"(?:{_FILLER})" + _E)


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces (apostrophes kept inside words), single spaces."""
    text = re.sub(r"[’`]", "'", text.lower())
    text = re.sub(r"[^\w\s']|(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


def core(text: str, verbs: frozenset[str] = frozenset()) -> str:
    """``text`` normalised, without politeness frames, fillers or the table as a place, and a
    leading gerund of one of ``verbs`` made an imperative. Never empty: the normalised text
    when nothing would be left."""
    full = normalise(text)
    out = _plain(full)
    for _ in range(4):  # frames nest: "ok so could you please ..."
        stripped = _END_RE.sub("", _START_RE.sub("", out)).strip()
        if stripped == out:
            break
        out = stripped
    words = out.split()
    if words and (verb := _imperative(words[0], verbs)):
        words[0] = verb
    return " ".join(words) or full


def _plain(text: str) -> str:
    """A normalised text with the table as a place turned into its way (up, down) and no fillers."""
    for pattern, way in _TABLE_WAYS:
        text = pattern.sub(way, text)
    return " ".join(_FILLER_RE.sub(" ", text).split())


def _imperative(word: str, verbs: frozenset[str]) -> str | None:
    """``putting`` -> ``put``, ``placing`` -> ``place``, ``moving`` -> ``move`` (when a verb)."""
    if not word.endswith("ing") or len(word) < 5:
        return None
    stem = word[:-3]
    for candidate in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem):
        if candidate in verbs:
            return candidate
    return None


def concepts(text: str) -> frozenset[str]:
    """The direction, relation, landmark and pole concepts ``text`` expresses (fillers and the
    table as a place are not read: "a little bit" is no size, "off the table" no pole)."""
    text = f" {_plain(normalise(text))} "
    found = set()
    for pattern, concept in _COMPILED:
        if concept is None:
            text = pattern.sub(" ", text)
            continue
        text, n = pattern.subn(" | ", text)
        if n:
            found.add(concept)
    return frozenset(found)


_SIZE_WORDS = {c: re.compile(f"(?:{p})") for p, c in PATTERNS if c in ("SMALL", "BIG")}


def size_of(word: str) -> str | None:
    """``SMALL`` or ``BIG`` for a size word ("little", "larger"), else None."""
    return next((c for c, p in _SIZE_WORDS.items() if p.fullmatch(word)), None)


def contradicts(query: frozenset[str], candidate: frozenset[str]) -> bool:
    """True when the query holds one pole of a pair and the candidate only the other."""
    for a, b in POLES:
        for mine, theirs in ((a, b), (b, a)):
            if mine in query and theirs not in query and theirs in candidate and mine not in candidate:
                return True
    return False
