"""The matcher's phrasing table: the same from its disk cache as built afresh, and rebuilt when
anything it depends on changes or the file is damaged."""

import numpy as np
import pytest

from robolang import task_match_table as table
from robolang.captioning.config import CaptionConfig
from robolang.policy.language import InstructionCache, SentenceEncoder
from robolang.task_match import TaskMatcher
from robolang.testing.scene_states import PLAY_TABLE

TASKS = ("open_drawer", "turn_off_light", "lift")


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder()


class Counting:
    """The encoder, counting the texts it is asked to embed."""

    def __init__(self, encoder):
        self.encoder, self.texts = encoder, 0
        self.reference, self.max_length, self.dim = encoder.reference, encoder.max_length, encoder.dim

    def encode(self, texts):
        self.texts += len(texts)
        return self.encoder.encode(texts)


def test_a_cached_table_is_the_uncached_one_and_is_read_without_embedding_it_again(encoder, tmp_path):
    fresh = TaskMatcher(PLAY_TABLE, InstructionCache(encoder), tasks=TASKS)  # no cache: the reference
    first = TaskMatcher(PLAY_TABLE, InstructionCache(encoder), tasks=TASKS, cache_dir=tmp_path)
    counting = Counting(encoder)
    again = TaskMatcher(PLAY_TABLE, InstructionCache(counting), tasks=TASKS, cache_dir=tmp_path)
    assert fresh.texts == first.texts == again.texts and fresh.keys == first.keys == again.keys
    np.testing.assert_allclose(again._vectors, fresh._vectors, atol=1e-5)
    assert counting.texts == 1  # the probe only
    assert len(list(tmp_path.glob("*.npz"))) == 1
    for text in ("shut the drawer", "please raise the red cube", "lights off please"):
        assert again.match(text) == fresh.match(text)


def test_the_table_holds_the_grammar_s_choices_and_their_cores_under_their_keys(encoder):
    matcher = TaskMatcher(PLAY_TABLE, InstructionCache(encoder), tasks=TASKS)
    chosen = table.chosen_tasks(TASKS)
    grammar_texts, grammar_keys = table.phrasings(PLAY_TABLE, CaptionConfig(), chosen)
    n = len(grammar_texts)
    assert matcher.texts[:n] == grammar_texts and matcher.keys[:n] == grammar_keys  # every choice, in order
    assert len(matcher.texts) > n and set(matcher.keys[n:]) <= set(grammar_keys)  # then the cores of framed ones


def test_another_scene_task_list_or_a_damaged_file_builds_a_new_table(encoder, tmp_path):
    TaskMatcher(PLAY_TABLE, InstructionCache(encoder), tasks=TASKS, cache_dir=tmp_path)
    TaskMatcher(PLAY_TABLE, InstructionCache(encoder), tasks=TASKS[:2], cache_dir=tmp_path)
    purple = {**PLAY_TABLE, "objects": [{**o, "colour": "purple"} if o["name"] == "red_cube" else o
                                        for o in PLAY_TABLE["objects"]]}  # fmt: skip
    m = TaskMatcher(purple, InstructionCache(encoder), tasks=TASKS, cache_dir=tmp_path)
    assert any("purple" in t for t in m.texts)
    files = sorted(tmp_path.glob("*.npz"))
    assert len(files) == 3
    for f in files:
        f.write_bytes(b"not a table")
    counting = Counting(encoder)
    m = TaskMatcher(PLAY_TABLE, InstructionCache(counting), tasks=TASKS, cache_dir=tmp_path)
    assert counting.texts == len(m.texts) and m.match("open the drawer").task_id == "open_drawer"
