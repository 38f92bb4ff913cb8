"""Matching a person's instruction to a known task, so `ask` can judge success (or say it can't)."""

import numpy as np
import pytest

from robolang.captioning import grammar
from robolang.captioning.config import CaptionConfig
from robolang.captioning.states import SceneInfo
from robolang.captioning.tasks import instances
from robolang.policy.language import InstructionCache, LanguageError, SentenceEncoder
from robolang.task_match import TaskMatcher, _expressible, _whole_words, contradicts, plate_moves, usable
from robolang.testing.scene_states import PLAY_TABLE

TASKS = ("open_drawer", "close_drawer", "turn_on_light", "turn_off_light", "push_left", "push_right", "lift")
TASKS += ("move_plate", "topple", "place_on_plate")


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
        ("tug on the handle of the drawer to get it open", "open_drawer", ()),  # a handle is its fixture
        ("take hold of the drawer and then push it shut", "close_drawer", ()),  # hold, then move
        ("hit the switch so that the lights come on", "turn_on_light", ()),  # a press said by its effect
        ("lite on thx", "turn_on_light", ()),  # shorthand
        ("small red cube -> dish", "place_on_plate", ("red_cube",)),  # a bare name and where to
        ("switch of the lamp pls", "turn_off_light", ()),  # "of" for "off"
    ],
)
def test_people_s_words_are_judged(matcher, text, task, args):
    m = matcher.match(text)
    assert (m.task_id, m.args) == (task, args), m


@pytest.mark.parametrize(
    "text, task, args",
    [
        ("Could you lift the blue bar up a bit? I'd like to see underneath it.", "lift", ("blue_bar",)),
        ("It is in my way. Push the blue bar to the left!", "push_left", ("blue_bar",)),
        ("Open the drawer. I need the space.", "open_drawer", ()),
        ("Lift the red cube. I want it on the plate.", None, ()),  # two requests: `ask` runs one task
        ("Lift the red cube. It should end up next to the cylinder.", None, ()),
        ("Lift the red cube. Then put it on the plate.", "place_on_plate", ("red_cube",)),  # read whole
    ],
)
def test_of_several_sentences_the_only_request_is_judged(matcher, text, task, args):
    m = matcher.match(text)
    assert (m.task_id, m.args) == (task, args), m


def test_a_task_on_the_plate_alone_is_judged_as_moving_the_plate():
    """In the play table only pushes and moves to a side take the plate as their one argument:
    each succeeds only when the plate moved and rests on the table, so each is move_plate."""
    on_plate = {
        t.id for t, args in instances(SceneInfo.from_description(PLAY_TABLE), CaptionConfig()) if args == ("plate",)
    }
    assert on_plate == {f"push_{d}" for d in ("left", "right", "forward", "back")} | {
        f"move_to_{s}" for s in ("left_side", "right_side", "front", "back")
    }
    keys = [("push_left", ("plate",)), ("push_left", ("red_cube",)), ("place_next_to", ("red_cube", "plate"))]
    moving = ("move_plate", ())
    assert plate_moves([*keys, moving], "plate") == {
        keys[0]: moving,
        keys[1]: keys[1],
        keys[2]: keys[2],
        moving: moving,
    }
    assert plate_moves(keys, "plate") == {k: k for k in keys}  # no task moves the plate itself: kept


@pytest.mark.parametrize(
    "text",
    [
        "shove the dish over to the right",  # a push of the plate
        "could you drag the platter a touch to the left?",
        "slide the dish alongside the yellow tube",  # the plate is what moves: the tube is where
        "nudge the plate over by the drawer",
    ],
)
def test_moving_the_plate_any_way_is_move_plate(matcher, text):
    m = matcher.match(text)
    assert (m.task_id, m.args) == ("move_plate", ()), m


@pytest.mark.parametrize(
    "text",
    [
        "slide the yellow tube next to the plate",  # the tube moves, the plate is a place
        "shift the plate into the drawer",  # a pole moving the plate cannot say
        "knock over the red box",  # only the standing tube topples: no grasp or push instead
        "make the red box fall over",
    ],
)
def test_no_plate_move_or_other_task_is_judged_for_what_the_words_do_not_ask(matcher, text):
    """None of these can be right among the fixture's tasks: each is declined, never a guess."""
    assert not matcher.match(text).judged, matcher.match(text)


def test_on_top_of_the_plate_is_on_it(matcher):
    assert "TOP" in _expressible(("place_on_plate", ("red_cube",)), PLAY_TABLE)
    m = matcher.match("rest the yellow tube on top of the dish")
    assert (m.task_id, m.args) == ("place_on_plate", ("yellow_cylinder",)), m
    m = matcher.match("make the yellow tube fall over")
    assert (m.task_id, m.args) == ("topple", ("yellow_cylinder",)), m


def test_the_words_the_encoder_knows_whole_are_read_from_its_tokenizer():
    """Typo repair leaves the encoder's whole words alone ("lit" is no "lift"): an encoder whose
    vocabulary could not be read would let every near-miss be mended (it happened once, silently)."""
    known = _whole_words(SentenceEncoder())
    assert {"lit", "lift", "drawer"} <= known and not any(w.startswith("#") for w in known)


def test_the_memoised_concepts_of_a_key_equal_those_read_afresh():
    """``_expressible`` keeps each task's and object's part across keys (~1 s of every ``ask``):
    for every (task, objects) of the scene, the answer is the one read with no memo."""
    from robolang.captioning.grammar import _arg_tuples
    from robolang.captioning.tasks import TASKS

    memo: dict = {}
    for task in TASKS:
        for args in _arg_tuples(task.id, PLAY_TABLE):
            assert _expressible((task.id, args), PLAY_TABLE, memo) == _expressible((task.id, args), PLAY_TABLE)
    assert memo, "no task was read"
