"""Caption tasks are objects in one registry: a task defined only here (its predicate, its
phrasing, its verbs) is captioned, phrased and split, and removing it restores everything."""

from __future__ import annotations

import pytest
from helpers import synthetic

from robolang.captioning import grammar, tasks
from robolang.captioning.captioner import HindsightCaptioner
from robolang.captioning.grammar_vocab import templates
from robolang.captioning.tasks import Slot, Task, TaskError, register, registered, unregister
from robolang.testing.scene_states import EE_HOME, PLAY_TABLE, StateScript


def touched(s, t0, t1, args, c):
    """Not touching the gripper at the start, touching it at the end."""
    g = s.contact(args[0], "gripper")
    return ~g[t0] & g[t1]


TAP_PHRASING = templates(
    "X ends touching the gripper's fingers",
    {"tap": ("tap {x}", "give {x} a tap"), "touch": "touch {x}", "prod": "prod {x}"},
    ("{x} needs a tap",),
)
TAP = Task("tap", (Slot("object"),), touched, "object", "X not touched by the gripper, then touched", TAP_PHRASING)


def tap_episode() -> StateScript:
    """The hand comes from home to the red cube and rests its open fingers on it."""
    s = StateScript(60)
    return s.ee_path(EE_HOME, (0.40, -0.12, 0.06), 10, 25).touch("red_cube", "gripper", True, 26, 60)


@pytest.fixture(scope="module")
def tapped(tmp_path_factory):
    root = tmp_path_factory.mktemp("tap") / "play"
    synthetic.record_states(root, [tap_episode()], PLAY_TABLE)
    return root


def _vocabulary():
    return tasks.TASK_IDS, grammar.TASK_IDS, grammar.VERSION, grammar.scene_heldout_pairs(PLAY_TABLE)


def test_a_task_defined_in_a_test_is_captioned_and_phrased_and_removing_it_restores_the_registry(tapped):
    before = _vocabulary()
    assert "tap" not in before[0] and not (HindsightCaptioner().caption(tapped)[0]["task_id"] == "tap").any()
    with registered(TAP):
        assert tasks.TASK_IDS[-1] == grammar.TASK_IDS[-1] == "tap" and tasks.get("tap") is TAP
        assert before[2] != grammar.VERSION, "the grammar's version covers the new templates"
        phrasings = grammar.enumerate_phrasings("tap", ["red_cube"], PLAY_TABLE)
        texts = {p.text for p in phrasings}
        assert {"tap the red cube", "could you please give the red cube a tap?", "the red cube needs a tap"} <= texts
        assert sum(grammar.count_phrasings("tap", ["red_cube"], PLAY_TABLE).values()) == len(phrasings)
        held = grammar.heldout_vocabulary("tap")
        assert held.verbs and "tap" not in held.verbs  # a synonym is held out, never the canonical verb
        table, _ = HindsightCaptioner().caption(tapped)
        labels = table[table["task_id"] == "tap"]
        assert len(labels) and set(labels["args"]) == {"red_cube"}
        assert set(labels["instruction"]) <= {
            p.text for p in grammar.enumerate_phrasings("tap", ["red_cube"], PLAY_TABLE)
        }
        assert labels["start_frame"].min() <= 25 and labels["end_frame"].max() == 27  # approach .. first touch
        assert (
            set(labels["captioner_version"]) == {HindsightCaptioner().version}
            and grammar.VERSION in labels["captioner_version"].iloc[0]
        )
    assert _vocabulary() == before
    assert not (HindsightCaptioner().caption(tapped)[0]["task_id"] == "tap").any()
    with pytest.raises(ValueError, match="unknown task id 'tap'"):
        grammar.enumerate_phrasings("tap", ["red_cube"], PLAY_TABLE)


def test_register_and_unregister_by_hand():
    before = _vocabulary()
    assert register(TAP) is TAP and "tap" in tasks.BY_ID  # BY_ID is a live view
    try:
        with pytest.raises(TaskError, match="'tap' is already registered"):
            register(TAP)
    finally:
        assert unregister("tap") is TAP
    assert _vocabulary() == before and "tap" not in tasks.BY_ID
    with pytest.raises(TaskError, match="unknown task id 'tap'"):
        unregister("tap")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"slots": ()}, "its templates fill 1 object slot"),
        ({"slots": (Slot("object", "floating"),)}, "slot kind 'floating'"),
        ({"acts_on": "table"}, "acts_on 'table'"),
        ({"id": "Tap me"}, "lower-case"),
        ({"phrasing": templates("X", {"tap": "touch {x}"})}, "verb 'tap' must contain it"),
        ({"phrasing": templates("X", {"tap": "tap {x} with {q}"})}, "unknown slots"),
    ],
)
def test_a_task_whose_parts_disagree_is_refused(change, message):
    from dataclasses import replace

    before = _vocabulary()
    with pytest.raises(TaskError, match=message):
        register(replace(TAP, **change))
    assert _vocabulary() == before


def test_one_registry_defines_the_task_ids():
    assert tasks.TASK_IDS == grammar.TASK_IDS == tuple(t.id for t in tasks.TASKS) == tuple(tasks.BY_ID)
    assert all(t.phrasing.meaning and t.verbs and t.description for t in tasks.TASKS)
