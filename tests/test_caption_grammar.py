"""The phrasing grammar: counts, enumeration, deterministic splits, descriptions, bad input."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
from functools import cache

import pytest

from robolang.captioning import grammar as g
from robolang.captioning import tasks
from robolang.captioning.grammar_vocab import FRAMES
from robolang.testing.scene_states import PLAY_TABLE

TASKS = {t.id: t.phrasing for t in tasks.TASKS}  # each task's phrasing templates
SCENE = PLAY_TABLE  # the play table's scene description (as recorded beside datasets)
OBJECTS = ["red_cube", "green_cube", "blue_bar", "yellow_cylinder"]
# The lead's 28 task ids; the grammar may add more.
REQUIRED = [
    "lift",
    "place_on_plate",
    "remove_from_plate",
    "put_in_drawer",
    "take_from_drawer",
    "push_left",
    "push_right",
    "push_forward",
    "push_back",
    "rotate_left",
    "rotate_right",
    "move_to_left_side",
    "move_to_right_side",
    "move_to_front",
    "move_to_back",
    "put_down",
    "grasp",
    "stack",
    "unstack",
    "place_next_to",
    "open_drawer",
    "close_drawer",
    "slide_door_left",
    "slide_door_right",
    "turn_on_light",
    "turn_off_light",
    "press_button",
    "move_plate",
]
POSITIONS = {  # red cube on the plate, yellow cylinder far left and far away
    "red_cube": (0.40, 0.10, 0.02),
    "green_cube": (0.50, -0.10, 0.03),
    "blue_bar": (0.45, 0.00, 0.02),
    "yellow_cylinder": (0.60, 0.18, 0.025),
    "plate": (0.42, 0.12, 0.006),
}


def words(text: str) -> set[str]:
    return set(re.findall(r"[\w'-]+", text.lower()))


def training_args(task_id: str) -> tuple[str, ...]:
    """A segment whose pair is trained, with the objects that have the fewest descriptions (the
    plate as Y: two-object segments have 10^5 phrasings, and the tests enumerate them all)."""
    pairs = g.scene_heldout_pairs(SCENE)
    order = ["yellow_cylinder", "plate", "red_cube", "blue_bar", "green_cube"]
    if g.object_arity(task_id) == 1:
        order.remove("plate")
    for args in itertools.permutations(order, g.object_arity(task_id)):
        if not any((task_id, a) in pairs for a in args):
            return args
    raise AssertionError(f"{task_id} has no trained segment")


@cache
def phrasings(task_id: str) -> list[g.Phrasing]:
    return g.enumerate_phrasings(task_id, training_args(task_id), SCENE)


def test_task_vocabulary_covers_the_leads_ids_and_documents_each():
    assert set(REQUIRED) <= set(g.TASK_IDS) and len(g.TASK_IDS) >= 30
    assert all(TASKS[t].meaning for t in g.TASK_IDS)
    assert {t: g.object_arity(t) for t in ("lift", "stack", "open_drawer")} == {"lift": 1, "stack": 2, "open_drawer": 0}


def test_every_verb_pattern_names_its_verb_and_every_object_slot():
    for task_id, t in TASKS.items():
        slots = {"x", "y"} if g.object_arity(task_id) == 2 else {"x"} if g.object_arity(task_id) else set()
        for verb, patterns in t.verbs.items():
            for p in patterns:
                assert verb in words(p), (task_id, verb, p)
                assert all("{" + s + "}" in p for s in slots), (task_id, p)
        assert all(all("{" + s + "}" in goal for s in slots) for goal in t.goals), task_id


def test_phrasings_per_task_counts():
    per_task = {t: sum(g.count_phrasings(t, training_args(t), SCENE).values()) for t in g.TASK_IDS}
    assert min(per_task.values()) >= 300, per_task
    assert sum(per_task.values()) / len(per_task) >= 20
    table = g.coverage_table(SCENE)
    assert g.VERSION in table and "TOTAL" in table and all(t in table for t in g.TASK_IDS)


def test_enumeration_is_deterministic_duplicate_free_and_clean():
    for task_id in g.TASK_IDS:
        ps = phrasings(task_id)
        texts = [p.text for p in ps]
        assert len(set(texts)) == len(texts), task_id
        assert len(ps) == sum(g.count_phrasings(task_id, training_args(task_id), SCENE).values()), task_id
        for t in texts:
            assert t.strip() == t and t and "  " not in t and "{" not in t and "<" not in t, t
    again = g.enumerate_phrasings("put_in_drawer", training_args("put_in_drawer"), SCENE)
    assert again == phrasings("put_in_drawer")


def test_phrasing_records_its_grammar_elements():
    p = next(p for p in phrasings("put_in_drawer") if p.template_id == "can_you:put {x} into {d}")
    assert p.text == f"can you put {p.descriptions[0]} into {p.descriptions[1]}?"
    assert p.verb == "put" and len(p.nouns) == 2 and p.nouns[1] in ("drawer", "cabinet", "desk")
    goal = next(p for p in phrasings("put_in_drawer") if p.template_id.startswith("goal:"))
    assert goal.verb is None


def test_split_of_matches_the_recorded_split_and_checks_the_segment():
    ps = phrasings("lift")
    args = training_args("lift")
    assert all(g.split_of(p, "lift", args) == p.split for p in ps[::7])
    assert g.split_of(ps[0], "lift", args, pairs={("lift", args[0])}) == "heldout_composition"
    with pytest.raises(ValueError, match="was made for"):
        g.split_of(ps[0], "grasp", args)


def test_heldout_phrasing_vocabulary_is_never_trained():
    for task_id in g.TASK_IDS:
        held = g.heldout_vocabulary(task_id)
        assert held.verbs and held.nouns, task_id
        assert next(iter(TASKS[task_id].verbs)) not in held.verbs  # the canonical verb trains
        ps = phrasings(task_id)
        train = [p for p in ps if p.split == "train"]
        novel = [p for p in ps if p.split == "heldout_phrasing"]
        assert len(train) >= 100 and len(novel) >= 100, (task_id, len(train), len(novel))
        train_words = set().union(*(words(p.text) for p in train))
        assert not train_words & (held.verbs | held.nouns), (task_id, train_words & (held.verbs | held.nouns))
        assert {p.verb for p in train}.isdisjoint(held.verbs) and not {n for p in train for n in p.nouns} & held.nouns
        assert all(p.verb in held.verbs or set(p.nouns) & held.nouns for p in novel), task_id
        used_verbs = {p.verb for p in novel} & held.verbs
        assert used_verbs == held.verbs, task_id  # every held-out verb is really used


def test_heldout_composition_pairs():
    pairs = g.scene_heldout_pairs(SCENE)
    object_tasks = [t for t in g.TASK_IDS if g.object_arity(t)]
    assert len(pairs) >= 8
    assert all(sum(t == task for t, _ in pairs) <= 1 for task in object_tasks)
    for task_id, obj in pairs:
        for args in itertools.permutations(OBJECTS, g.object_arity(task_id)):
            if obj not in args:
                continue
            counts = g.count_phrasings(task_id, args, SCENE)
            assert counts["train"] == counts["heldout_phrasing"] == 0 and counts["heldout_composition"] > 0
            assert g.choose(task_id, args, SCENE, "train", 0) is None
            p = g.choose(task_id, args, SCENE, "heldout_composition", 0)
            held = g.heldout_vocabulary(task_id)  # only the pairing is new
            assert p.verb not in held.verbs and not set(p.nouns) & held.nouns
    trained = {
        (t, args)
        for t in object_tasks
        for args in itertools.permutations(OBJECTS, g.object_arity(t))
        if not any((t, a) in pairs for a in args)
    }
    assert {t for t, _ in trained} == set(object_tasks)  # each task trains with other objects
    assert {a for _, args in trained for a in args} == set(OBJECTS)
    for obj in OBJECTS:  # ... and each object with most tasks
        assert sum(any(obj in args for tt, args in trained if tt == t) for t in object_tasks) >= len(object_tasks) - 6


def test_heldout_pairs_is_deterministic_and_guards_its_input():
    tasks = [t for t in g.TASK_IDS if g.object_arity(t)]
    assert g.heldout_pairs(tasks, OBJECTS) == g.heldout_pairs(reversed(tasks + ["open_drawer"]), OBJECTS[::-1])
    assert g.heldout_pairs(tasks, ["red_cube"]) == set()
    two = g.heldout_pairs(tasks, ["a", "b"])
    assert two and all(g.object_arity(t) == 1 for t, _ in two)
    # Only pairs that can occur: topple only for the tall cylinder, so it keeps it for training.
    possible = {(t, o) for t in tasks for o in OBJECTS if t != "topple" or o == "yellow_cylinder"}
    some = g.heldout_pairs(tasks, OBJECTS, possible=possible)
    assert some <= possible and not any(t == "topple" for t, _ in some) and len(some) >= 8
    lone = {("lift", "red_cube"), ("lift", "green_cube"), ("grasp", "red_cube")}
    assert all(o != "red_cube" or t != "grasp" for t, o in g.heldout_pairs(tasks, OBJECTS, possible=lone))
    with pytest.raises(ValueError, match="known task ids"):
        g.heldout_pairs(["fly_away"], OBJECTS)


def test_choose_is_seeded_and_stays_in_its_split():
    args = training_args("stack")
    everything = {p.text: p for p in phrasings("stack")}
    for split in ("train", "heldout_phrasing"):
        picks = [g.choose("stack", args, SCENE, split, seed) for seed in range(12)]
        assert picks == [g.choose("stack", args, SCENE, split, seed) for seed in range(12)]
        assert all(everything[p.text] == p and p.split == split for p in picks)
        assert len({p.text for p in picks}) >= 10
    assert g.choose("stack", args, SCENE, "heldout_composition", 3) is None
    p = g.choose("stack", args, SCENE, "heldout_composition", 3, pairs={("stack", args[1])})
    assert p.split == "heldout_composition" and p.heldout_pair
    task_id, obj = sorted(g.scene_heldout_pairs(SCENE))[0]
    args = (obj,) + (
        () if g.object_arity(task_id) == 1 else ("yellow_cylinder" if obj != "yellow_cylinder" else "red_cube",)
    )
    assert g.choose(task_id, args, SCENE, "train", 0) is None
    assert g.choose(task_id, args, SCENE, "train", 0, pairs=set()).split == "train"
    with pytest.raises(ValueError, match="unknown split"):
        g.choose("stack", args, SCENE, "test", 0)


def test_descriptions_adapt_to_another_scene():
    scene = {
        "objects": [
            {"name": "purple_sphere", "colour": "purple", "shape": "sphere", "size": [0.05, 0.05, 0.05]},
            {"name": "orange_small", "colour": "orange", "shape": "cube", "size": [0.03, 0.03, 0.03]},
            {"name": "orange_big", "colour": "orange", "shape": "cube", "size": [0.06, 0.06, 0.06]},
            {"name": "ring", "colour": "grey", "shape": "torus", "size": [0.06, 0.06, 0.02]},
        ],
        "fixtures": {},
    }
    texts = lambda name: {d.text for d in g.describe(name, scene)}  # noqa: E731
    assert {"the purple ball", "the purple sphere", "the ball", "the purple one"} <= texts("purple_sphere")
    assert "the orange cube" not in texts("orange_small")  # two orange cubes: ambiguous
    assert {"the small orange cube", "the little cube", "the small one"} <= texts("orange_small")
    assert {"the big orange cube", "the large block"} <= texts("orange_big")
    assert {"the grey torus", "the gray torus"} <= texts("ring")
    lift = {p.text for p in g.enumerate_phrasings("lift", ["purple_sphere"], scene)}
    assert "pick up the purple ball" in lift and not any("red" in t or "cube" in t for t in lift)
    assert "the red cube" in {d.text for d in g.describe("red_cube", SCENE)}
    assert "the long one" in {d.text for d in g.describe("blue_bar", SCENE)}
    assert "the small one" not in {d.text for d in g.describe("red_cube", SCENE)}  # the cylinder is as small


def test_relative_descriptions_only_when_given_positions_and_unambiguous():
    assert not [d for o in OBJECTS for d in g.describe(o, SCENE) if d.kind == "relative"]
    rel = lambda name, pos: {d.text for d in g.describe(name, SCENE, pos) if d.kind == "relative"}  # noqa: E731
    assert {"the leftmost one", "the one farthest from you", "the leftmost object"} <= rel("yellow_cylinder", POSITIONS)
    assert {"the cube on the plate", "the one closest to the plate", "the cube closest to you"} <= rel(
        "red_cube", POSITIONS
    )
    assert "the rightmost cube" in rel("green_cube", POSITIONS)
    close = dict(POSITIONS, red_cube=(0.40, 0.09, 0.02), green_cube=(0.50, 0.08, 0.03))  # 1 cm apart in y
    assert not {"the leftmost cube", "the rightmost cube"} & (rel("red_cube", close) | rel("green_cube", close))
    assert not rel("red_cube", {"red_cube": (0.4, 0.1)})  # rivals' positions unknown
    state = {"objects": {k: {"pos": v} for k, v in POSITIONS.items()}}  # a scene state works too
    assert rel("red_cube", state) == rel("red_cube", POSITIONS)
    lift = {p.text for p in g.enumerate_phrasings("lift", ["red_cube"], SCENE, POSITIONS)}
    assert "pick up the cube on the plate" in lift


def test_bad_input_is_refused_clearly():
    for call in (
        lambda: g.enumerate_phrasings("fly_away", [], SCENE),
        lambda: g.count_phrasings("fly_away", [], SCENE),
        lambda: g.choose("fly_away", [], SCENE, "train", 0),
        lambda: g.heldout_vocabulary("fly_away"),
    ):
        with pytest.raises(ValueError, match="unknown task id 'fly_away'; known task ids: lift, grasp"):
            call()
    with pytest.raises(ValueError, match="takes 2 object"):
        g.enumerate_phrasings("stack", ["red_cube"], SCENE)
    with pytest.raises(ValueError, match="distinct"):
        g.enumerate_phrasings("stack", ["red_cube", "red_cube"], SCENE)
    with pytest.raises(ValueError, match="not in the scene description"):
        g.enumerate_phrasings("lift", ["purple_sphere"], SCENE)
    pushed = {p.text for p in g.enumerate_phrasings("push_left", ["plate"], SCENE)}  # the plate as X
    assert "push the white plate to the left" in pushed


def test_non_ascii_words_pass_through_unchanged():
    scene = {"objects": [{"name": "x", "colour": "rosé", "shape": "würfel", "size": [0.04, 0.04, 0.04]}]}
    texts = {p.text for p in g.enumerate_phrasings("lift", ["x"], scene)}
    assert "lift the rosé würfel" in texts and "could you please lift the rosé one?" in texts


def _digest() -> str:
    """Everything split- and order-relevant for a few segments, as one hash."""
    parts = [g.VERSION, sorted(g.scene_heldout_pairs(SCENE))]
    for t in ("lift", "put_in_drawer", "open_drawer"):
        args = training_args(t)
        parts.append([(p.text, p.split) for p in g.enumerate_phrasings(t, args, SCENE, POSITIONS)])
        parts.append(sorted(g.heldout_vocabulary(t).verbs | g.heldout_vocabulary(t).nouns))
        parts.append([g.choose(t, args, SCENE, s, 5) for s in g.SPLITS])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def test_grammar_and_splits_are_the_same_in_every_process():
    code = "import test_caption_grammar as m; print(m._digest())"
    here = os.path.dirname(os.path.abspath(__file__))
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=here, env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == _digest()


def test_version_names_the_grammar():
    assert re.fullmatch(r"caption-grammar/\d+\+[0-9a-f]{10}", g.VERSION)
    assert set(FRAMES) >= {"bare", "please", "can_you"}
