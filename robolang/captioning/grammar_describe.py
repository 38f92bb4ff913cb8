"""Referring expressions for the phrasing grammar: objects from colour, shape and size, and
(given positions) relative to other objects; fixtures from their nouns and side of the table.

A description is kept only when it picks out its object alone among the scene's objects:
"the red one" when nothing else is red, "the small cube" when the other cubes are clearly
bigger, "the leftmost block" when no other block is within ``RELATIVE_MARGIN_M`` of being as far
left. Nothing here knows the play table's particular objects; it reads the scene description
recorded beside each dataset (``meta/robolang_scene.json``).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from robolang.captioning.grammar_vocab import (
    COLOUR_VARIANTS,
    FIXTURE_NOUNS,
    GENERIC_NOUNS,
    LANDMARK_SHAPES,
    PRONOUN,
    SHAPE_NOUNS,
)

# "small"/"big" need the volume 1.5x apart from the next object the noun covers: about 14% per
# edge, 6 mm on a 4 cm block, plain side by side (the table's cubes are 4 and 5.5 cm: 2.6x).
SIZE_RATIO = 1.5
# "long": the longest side at least 1.8x the middle one (the 8 x 3.5 cm bar is 2.3x; a cube 1x,
# a flat plate 1x, a standing 4 x 5 cm cylinder 1.25x).
LONG_RATIO = 1.8
# A relative description needs its object ahead of the runner-up by 3 cm, more than half a
# block's width, so a person glancing at the table agrees which one is meant.
RELATIVE_MARGIN_M = 0.03
# A fixture is "on your left/right" when its cabinet is 15 cm or more off the robot's centre
# line (the play table's cabinets are at y = +0.47 and -0.46).
SIDE_MIN_Y_M = 0.15
SIZE_WORDS = {"small": ("small", "little"), "big": ("big", "large")}


@dataclass(frozen=True)
class Description:
    """A noun phrase for one thing: ``text`` ("the small red cube"), ``noun`` (the noun
    synonym whose hold-out decides the phrasing split) and ``kind`` (how it refers)."""

    text: str
    noun: str
    kind: str  # colour | size | long | shape | relative | fixture | name


class Memo:
    """A bounded memo (least recently used out first). A key of None means "do not memoise":
    the value is made and returned, never stored (inputs that have no safe key)."""

    def __init__(self, size: int):
        self.size, self.items = size, OrderedDict()

    def get(self, key: Hashable | None, make: Callable[[], object]):
        if key is None:
            return make()
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = self.items[key] = make()
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value

    def clear(self) -> None:
        self.items.clear()


def scene_key(scene: Mapping) -> str | None:
    """The scene description as canonical JSON: equal scenes, equal keys (None when it holds
    something JSON cannot write, e.g. numpy numbers: such a scene is described afresh each time)."""
    try:
        return json.dumps(scene, sort_keys=True)
    except (TypeError, ValueError):
        return None


# Descriptions depend only on the scene (and positions): the grammar asks for the same ones
# thousands of times (TaskMatcher: 7,440 choices; the captioner: three splits per segment).
_ATTRIBUTES = Memo(1024)  # (scene key, object name) -> descriptions from colour, shape and size
_FIXTURES = Memo(256)  # (kind, scene key) -> fixture descriptions


def is_movable(obj: Mapping) -> bool:
    return obj.get("shape") not in LANDMARK_SHAPES


def nouns_of(obj: Mapping) -> tuple[str, ...]:
    """The nouns that fit ``obj``: its shape's synonyms, then generic ones if it is movable."""
    shape = str(obj.get("shape") or "").strip()
    own = SHAPE_NOUNS.get(shape, (shape.replace("_", " "),) if shape else ())
    return own + (GENERIC_NOUNS + (PRONOUN,) if is_movable(obj) else ())


def find_object(scene: Mapping, obj: str | Mapping) -> Mapping:
    """The scene's object record for a name (or the record itself); ValueError if absent."""
    name = obj if isinstance(obj, str) else obj.get("name")
    for o in scene.get("objects", ()):
        if o.get("name") == name:
            return o
    known = [o.get("name") for o in scene.get("objects", ())]
    raise ValueError(f"object {name!r} is not in the scene description; its objects are {known}")


def _volume(obj: Mapping) -> float:
    size = obj.get("size") or ()
    return math.prod(float(s) for s in size) if len(size) == 3 else 0.0


def _is_long(obj: Mapping) -> bool:
    size = sorted(float(s) for s in obj.get("size") or ())
    return len(size) == 3 and size[1] > 0 and size[2] >= LONG_RATIO * size[1]


def _extreme(target: Mapping, others: list[Mapping], score: Callable[[Mapping], float], ratio: float) -> bool:
    """``target`` scores at least ``ratio`` times every other object's score (all > 0)."""
    mine = score(target)
    return bool(others) and mine > 0 and all(score(o) > 0 and mine >= ratio * score(o) for o in others)


def _adjectives(obj: Mapping, covered: list[Mapping]) -> dict[str, Callable[[Mapping], bool]]:
    """Adjective kind -> predicate, for the adjectives true of ``obj`` among the objects a
    noun covers. Size words are relative to ``covered``; colour and "long" are absolute."""
    others = [o for o in covered if o is not obj]
    preds: dict[str, Callable[[Mapping], bool]] = {}
    if obj.get("colour"):
        preds["colour"] = lambda o, c=obj["colour"]: o.get("colour") == c
    if _extreme(obj, others, lambda o: 1.0 / _volume(o) if _volume(o) else 0.0, SIZE_RATIO):
        preds["small"] = lambda o, t=obj: o is t
    if _extreme(obj, others, _volume, SIZE_RATIO):
        preds["big"] = lambda o, t=obj: o is t
    if is_movable(obj) and _is_long(obj):
        preds["long"] = _is_long
    return preds


def _words(kind: str, obj: Mapping) -> tuple[str, ...]:
    if kind == "colour":
        colour = str(obj["colour"])
        return COLOUR_VARIANTS.get(colour, (colour.replace("_", " "),))
    return SIZE_WORDS.get(kind, (kind,))


# Adjective orders tried (English puts size before colour: "the small red cube").
_COMBOS = ((), ("colour",), ("small",), ("big",), ("long",), ("small", "colour"), ("big", "colour"), ("long", "colour"))


def _attribute_descriptions(obj: Mapping, scene_objects: list[Mapping]) -> list[Description]:
    out = []
    for noun in nouns_of(obj):
        covered = [o for o in scene_objects if noun in nouns_of(o)]
        preds = _adjectives(obj, covered)
        for combo in _COMBOS:
            if (noun == PRONOUN and not combo) or not all(k in preds for k in combo):
                continue
            if len(combo) > 1 and noun in GENERIC_NOUNS:
                continue  # "the big green thing": the generic nouns take one adjective
            if [o for o in covered if all(preds[k](o) for k in combo)] != [obj]:
                continue  # ambiguous: something else fits too
            for words in _product([_words(k, obj) for k in combo]):
                text = " ".join(("the", *words, noun))
                out.append(Description(text, noun, combo[0] if combo else "shape"))
    return out


def _product(lists: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [()]
    for options in lists:
        out = [prefix + (w,) for prefix in out for w in options]
    return out


def _xy(positions: Mapping, name: str) -> tuple[float, float] | None:
    """An object's (x, y) from ``{name: (x, y, z)}`` or scene-state ``{name: {"pos": ...}}``."""
    p = positions.get(name)
    if isinstance(p, Mapping):
        p = p.get("pos")
    if p is None or len(p) < 2:
        return None
    return float(p[0]), float(p[1])


def _relations(landmark: str | None) -> list[tuple[Callable, tuple[str, ...]]]:
    """(score from (xy, landmark xy), phrasings with {n}): the highest score is the one meant."""
    rel = [
        (lambda p, q: p[1], ("the leftmost {n}", "the {n} furthest to the left")),
        (lambda p, q: -p[1], ("the rightmost {n}", "the {n} furthest to the right")),
        (lambda p, q: -p[0], ("the {n} closest to you", "the {n} nearest to you")),
        (lambda p, q: p[0], ("the {n} farthest from you", "the {n} furthest away")),
    ]
    if landmark:
        near = (f"the {{n}} closest to the {landmark}", f"the {{n}} nearest the {landmark}")
        rel.append((lambda p, q: -math.dist(p, q), near))
        rel.append((lambda p, q: math.dist(p, q), (f"the {{n}} farthest from the {landmark}",)))
    return rel


def _relative_descriptions(obj: Mapping, scene_objects: list[Mapping], positions: Mapping) -> list[Description]:
    if not is_movable(obj):
        return []
    landmarks = [o for o in scene_objects if not is_movable(o)]
    landmark = landmarks[0] if len(landmarks) == 1 and _xy(positions, landmarks[0]["name"]) else None
    land_xy = _xy(positions, landmark["name"]) if landmark else None
    land_word = nouns_of(landmark)[0] if landmark else None
    own = nouns_of(obj)
    out = []
    for noun in dict.fromkeys((own[0], GENERIC_NOUNS[0], PRONOUN)):
        covered = [o for o in scene_objects if noun in nouns_of(o)]
        xys = [_xy(positions, o["name"]) for o in covered]
        if len(covered) < 2 or any(p is None for p in xys):
            continue  # a relation needs rivals, and every rival's position to rule them out
        mine = xys[covered.index(obj)]
        rivals = [p for o, p in zip(covered, xys, strict=True) if o is not obj]
        for score, phrases in _relations(land_word):
            if all(score(mine, land_xy) >= score(p, land_xy) + RELATIVE_MARGIN_M for p in rivals):
                out += [Description(f.format(n=noun), noun, "relative") for f in phrases]
        if landmark:
            radius = max(float(s) for s in landmark.get("size") or (0.0,)) / 2
            inside = math.dist(mine, land_xy) < radius
            if inside and all(math.dist(p, land_xy) > radius + RELATIVE_MARGIN_M for p in rivals):
                out.append(Description(f"the {noun} on the {land_word}", noun, "relative"))
    return out


def describe(obj: str | Mapping, scene: Mapping, positions: Mapping | None = None) -> list[Description]:
    """Every description of ``obj`` (a name or an object record) that no other object of
    ``scene`` also fits. Relative ones ("the leftmost block") need ``positions`` (object name
    -> (x, y, ...) or scene-state records with "pos", at the segment's start) and appear only
    when unambiguous. If nothing singles the object out, its name is used ("the red cube")."""
    obj = find_object(scene, obj)
    objects = list(scene.get("objects", ()))
    if positions is not None and isinstance(positions.get("objects"), Mapping):
        positions = positions["objects"]  # a whole scene state was passed
    key = scene_key(scene)
    key = None if key is None else (key, obj.get("name"))
    found = list(_ATTRIBUTES.get(key, lambda: tuple(_attribute_descriptions(obj, objects))))
    if positions is not None:
        found += _relative_descriptions(obj, objects, positions)
    if not found:
        words = str(obj["name"]).replace("_", " ").split()
        found = [Description(" ".join(("the", *words)), words[-1], "name")]
    return list({d.text: d for d in found}.values())  # first of each text, in order


def by_position(descriptions, objects, scene: Mapping, positions: Mapping) -> bool:
    """Whether a phrasing's noun phrases (``Phrasing.descriptions``, one per slot, for the
    ``objects`` it names) single one out by where it is ("the cube furthest to the left") rather
    than by what it is ("the red cube")."""
    for text, obj in zip(descriptions, objects, strict=False):
        if any(d.text == text and d.kind == "relative" for d in describe(obj, scene, positions)):
            return True
    return False


def _side_of(fixture: Mapping | None) -> str | None:
    where = (fixture or {}).get("cabinet") or (fixture or {}).get("position")
    if not where or len(where) < 2:
        return None
    y = float(where[1])
    return "left" if y >= SIDE_MIN_Y_M else "right" if y <= -SIDE_MIN_Y_M else None


SCENE_FIXTURE_KEYS = {"drawer": "drawer", "door": "slider", "button": "button", "light": "light"}


def describe_fixture(kind: str, scene: Mapping) -> list[Description]:
    """Noun phrases for a fixture slot: ``plate`` (the scene's plate-like object), ``drawer``,
    ``door``, ``light`` or ``button``; the drawer and door also by their side of the table."""
    key = scene_key(scene)
    return list(_FIXTURES.get(None if key is None else (kind, key), lambda: tuple(_fixture_descriptions(kind, scene))))


def _fixture_descriptions(kind: str, scene: Mapping) -> list[Description]:
    if kind == "plate":
        plates = [o for o in scene.get("objects", ()) if not is_movable(o)]
        if len(plates) == 1:
            return describe(plates[0], scene)
        return [Description(f"the {n}", n, "fixture") for n in SHAPE_NOUNS["plate"]]
    entries = FIXTURE_NOUNS[kind]
    found = [Description(phrase, key, "fixture") for key, phrase in entries]
    side = _side_of((scene.get("fixtures") or {}).get(SCENE_FIXTURE_KEYS[kind]))
    if side and kind in ("drawer", "door"):
        canon = entries[0][0]
        found += [Description(f"the {canon} on {w} {side}", canon, "fixture") for w in ("the", "your")]
    return found
