"""Matching a person's instruction to a known task, so `ask` can judge success (or say it can't)."""

import numpy as np
import pytest

from robolang.captioning import grammar
from robolang.policy.language import InstructionCache, LanguageError, SentenceEncoder
from robolang.task_match import TaskMatcher, contradicts, usable
from robolang.testing.scene_states import PLAY_TABLE

TASKS = ("open_drawer", "close_drawer", "turn_on_light", "turn_off_light", "push_left", "push_right", "lift")


@pytest.fixture(scope="module")
def matcher():
    return TaskMatcher(PLAY_TABLE, InstructionCache(SentenceEncoder()), tasks=TASKS)


def test_grammar_phrasings_of_every_split_match_back_to_their_task(matcher):
    for task, args in (("open_drawer", ()), ("push_left", ("blue_bar",)), ("turn_off_light", ())):
        for split in grammar.SPLITS:
            p = grammar.choose(task, args, PLAY_TABLE, split, seed=99)
            if p is None:
                continue
            m = matcher.match(p.text)
            assert (m.task_id, m.args) in ((task, args), (None, ())), (p.text, m)


def test_polar_words_are_never_matched_to_their_opposite(matcher):
    for text, wrong in (("switch the light off", "turn_on_light"), ("shut the drawer", "open_drawer"),
                        ("shove the blue bar to the right", "push_left")):  # fmt: skip
        assert matcher.match(text).task_id != wrong
    assert contradicts({"turn", "light", "off"}, {"turn", "the", "lamp", "on"})
    assert not contradicts({"turn", "light", "off"}, {"switch", "lamp", "off"})


def test_colours_pick_the_object_and_unrelated_requests_are_unjudged(matcher):
    m = matcher.match("please lift the yellow cylinder up")
    assert m.task_id in ("lift", None) and (m.task_id is None or m.args == ("yellow_cylinder",))
    assert not matcher.match("make me a cup of tea").judged


@pytest.mark.parametrize("bad", ["", "   ", "?!", "12 34", None, "a" * 5000, "open " * 41])
def test_unusable_instructions_get_a_clear_message(bad):
    with pytest.raises(LanguageError):
        usable(bad)


def test_a_task_registered_after_import_is_matched():
    """`ask` judges a task defined outside robolang (here, in a test module) like a built-in one."""
    from test_caption_registry import TAP

    from robolang.captioning.tasks import registered

    with registered(TAP):
        matcher = TaskMatcher(PLAY_TABLE, InstructionCache(SentenceEncoder()), tasks=("tap", "lift"))
        m = matcher.match("tap the red cube")
        assert (m.task_id, m.args) == ("tap", ("red_cube",))
    assert "tap" not in {
        k[0] for k in TaskMatcher(PLAY_TABLE, InstructionCache(SentenceEncoder()), tasks=("lift",)).keys
    }


def test_a_task_must_be_able_to_express_every_pole_named(matcher):
    """ "dim" is off: neither turning the light on nor lifting can stand for it."""
    rows = matcher._allowed_rows("make the lamp go dim")
    assert {matcher.keys[i][0] for i in np.flatnonzero(rows)} <= {"turn_off_light"}


def test_a_phrasing_adds_no_action_the_instruction_does_not_name(matcher):
    """Every phrasing of lifting says "up" (or "lift"): none stands for only grabbing."""
    assert not matcher._allowed_rows("grab the red box").any()
    assert not matcher.match("grab the red box").judged


@pytest.mark.parametrize(
    "text",
    [
        "please don't push the red box to the left",  # a prohibition
        "lift the red box onto the shelf",  # a place the scene lacks
        "sniff the red box",  # an action no task has
        "juggle the lamp",
    ],
)
def test_prohibitions_unknown_places_and_unknown_actions_are_unjudged(matcher, text):
    assert not matcher.match(text).judged


@pytest.mark.parametrize(
    ("text", "task", "args"),
    [
        ("clsoe the drawr", "close_drawer", ()),  # typos
        ("I'd like the lamp on", "turn_on_light", ()),  # a goal
        ("lamps out, thx", "turn_off_light", ()),  # an idiom and shorthand
        ("give the long blue stick a little shove to the right", "push_right", ("blue_bar",)),
    ],
)
def test_people_s_words_are_judged(matcher, text, task, args):
    m = matcher.match(text)
    assert (m.task_id, m.args) == (task, args), m
