"""Judging a matcher's answers: right, unjudged or wrong, and instruction files that cannot be read."""

import pytest

from robolang import task_match_eval as evaluation
from robolang.task_match import TaskMatch


def test_a_verdict_needs_an_accepted_task_and_exactly_the_objects():
    assert evaluation.verdict(["stack"], ["red_cube", "green_cube"], "stack", ("red_cube", "green_cube")) == "right"
    assert evaluation.verdict(["stack"], ["red_cube", "green_cube"], "stack", ("green_cube", "red_cube")) == "wrong"
    assert evaluation.verdict(["lift", "grasp"], ["red_cube"], "grasp", ("red_cube",)) == "right"
    assert evaluation.verdict(["lift"], ["red_cube"], "place_next_to", ("red_cube", "blue_bar")) == "wrong"
    assert evaluation.verdict(["lift"], ["red_cube"], None, ()) == "unjudged"
    assert evaluation.verdict([], [], None, ()) == "right"  # nothing covers it: declining is right
    assert evaluation.verdict([], [], "lift", ("red_cube",)) == "wrong"
    # a task without objects: naming the one thing it acts on is the same as naming nothing
    assert evaluation.verdict(["move_plate"], ["plate"], "move_plate", ()) == "right"
    assert evaluation.verdict(["open_drawer"], ["drawer"], "open_drawer", ()) == "right"
    assert evaluation.verdict(["move_plate"], ["plate", "red_cube"], "move_plate", ()) == "wrong"
    assert evaluation.verdict(["push_left"], ["plate"], "push_left", ()) == "wrong"  # it has a slot


def test_measure_counts_per_task_and_in_percent(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"text": "open the drawer", "accept": ["open_drawer"], "args": []}\n\n'
        '{"text": "lift it", "accept": ["lift"], "args": ["red_cube"]}\n'
        '{"text": "sing", "accept": [], "args": []}\n'
    )

    class Fixed:  # a matcher that judges only "open the drawer"
        def match(self, text):
            task = "open_drawer" if text == "open the drawer" else "lift" if text == "sing" else None
            return TaskMatch(task, (), 0.9, text, False)

    outcomes = evaluation.measure(Fixed(), evaluation.load(path))
    assert [o.verdict for o in outcomes] == ["right", "unjudged", "wrong"]
    assert evaluation.rates(outcomes) == pytest.approx({"right": 100 / 3, "unjudged": 100 / 3, "wrong": 100 / 3})
    assert evaluation.per_task(outcomes)["none"] == {"right": 0, "unjudged": 0, "wrong": 1}


@pytest.mark.parametrize("line", ['{"text": "x"}', "not json", '{"text": "x", "accept": 3, "args": []}'])
def test_an_unreadable_line_is_named(tmp_path, line):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "accept": [], "args": []}\n' + line + "\n")
    with pytest.raises(evaluation.InstructionSetError, match=r"bad.jsonl:2"):
        evaluation.load(path)
    with pytest.raises(evaluation.InstructionSetError, match="no such"):
        evaluation.load(tmp_path / "missing.jsonl")
