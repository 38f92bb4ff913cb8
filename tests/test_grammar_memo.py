"""The phrasing grammar's memos make it fast without changing one phrasing.

The digests below were taken from the grammar before memoisation (commit 464b1a4): every
``choose`` of every task, argument tuple, split and three seeds on the play table, with and
without positions, and every ``count_phrasings``; and five segments' full enumerations.
"""

from __future__ import annotations

import hashlib
import itertools
import random

from robolang.captioning import grammar as g
from robolang.captioning.grammar_describe import Description, describe
from robolang.testing.scene_states import PLAY_TABLE

POSITIONS = {"red_cube": (0.40, 0.10, 0.02), "green_cube": (0.50, -0.10, 0.03), "blue_bar": (0.45, 0.00, 0.02),
             "yellow_cylinder": (0.60, 0.18, 0.025), "plate": (0.42, 0.12, 0.006)}  # fmt: skip
CHOOSE_DIGEST = "5a11c5f9790e18c93e923cfb6a2d947acf45cd89371f82ca53140cc65bbc468e"
ENUMERATE_DIGEST = "617dde997b03edff15da5db41032a6ac9f5c585b37268be946c4e1f3fa79d40d"
SEGMENTS = (("lift", ("red_cube",)), ("open_drawer", ()), ("push_left", ("blue_bar",)), ("turn_off_light", ()),
            ("place_on_plate", ("yellow_cylinder",)))  # fmt: skip


def test_every_choice_and_count_is_what_the_grammar_gave_before_memoisation():
    digest = hashlib.sha256()
    for task in g.TASK_IDS:
        for args in g._arg_tuples(task, PLAY_TABLE):
            for positions in (None, POSITIONS):
                for split in g.SPLITS:
                    for seed in range(3):
                        digest.update(repr(g.choose(task, args, PLAY_TABLE, split, seed, positions=positions)).encode())
                digest.update(repr(g.count_phrasings(task, args, PLAY_TABLE, positions)).encode())
    assert digest.hexdigest() == CHOOSE_DIGEST


def test_enumerations_are_what_the_grammar_gave_before_memoisation():
    digest = hashlib.sha256()
    for task, args in SEGMENTS:
        for positions in (None, POSITIONS):
            for p in g.enumerate_phrasings(task, args, PLAY_TABLE, positions):
                digest.update(repr(p).encode())
    assert digest.hexdigest() == ENUMERATE_DIGEST


def test_novel_combinations_are_indexed_in_product_order_without_listing_them():
    for trial in range(200):
        rng = random.Random(trial)
        fills = tuple(
            tuple(
                Description(f"w{rng.randrange(6)}", f"w{rng.randrange(6)}", "colour")
                for _ in range(rng.randrange(1, 5))
            )
            for _ in range(rng.randrange(0, 4))
        )
        held = frozenset(f"w{k}" for k in range(6) if rng.random() < 0.3)
        listed = [c for c in itertools.product(*fills) if any(d.noun in held for d in c)]
        novel = g._Novel(fills, held)
        assert len(novel) == len(listed) and list(novel) == listed


def test_a_changed_scene_is_described_afresh():
    scene = {"objects": [dict(o) for o in PLAY_TABLE["objects"]], "fixtures": PLAY_TABLE["fixtures"]}
    assert "the red cube" in [d.text for d in describe("red_cube", scene)]
    scene["objects"][0]["colour"] = "purple"  # the same dict, edited: its memo key changes with it
    texts = [d.text for d in describe("red_cube", scene)]
    assert "the purple cube" in texts and "the red cube" not in texts
    before = " ".join(p.text for p in g.enumerate_phrasings("open_drawer", (), scene))
    assert "purple" not in before  # the fixture's phrasings do not name objects
    purple = " ".join(p.text for p in g.enumerate_phrasings("lift", ("red_cube",), scene))
    scene["objects"][0]["colour"] = "red"
    red = " ".join(p.text for p in g.enumerate_phrasings("lift", ("red_cube",), scene))
    assert "purple" in purple and "purple" not in red and "red" in red
