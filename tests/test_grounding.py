"""Grounding (`robolang eval ground=true`): a person's words restated, through the task matcher,
as a training phrasing of the task it judged; unjudged words pass through as said; the task the
evaluation asked for is never read."""

import json

import numpy as np
import pytest

from robolang import cli
from robolang.captioning import grammar
from robolang.config import load_config
from robolang.evaluation.settings import EvalConfigError, read_settings
from robolang.grounding import GroundedController, restate
from robolang.policy.data import grammar_pool
from robolang.policy.language import InstructionCache, SentenceEncoder
from robolang.task_match import TaskMatch
from robolang.testing.scene_states import PLAY_TABLE

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]


def texts(task_id, args):
    """Every phrasing of (task, objects) in training words (as a policy's training pool draws them)."""
    phrasings = grammar.enumerate_phrasings(task_id, args, PLAY_TABLE, pairs=())
    return {p.text for p in phrasings if p.split == "train"}


def judged(task_id, *args):
    return TaskMatch(task_id, tuple(args), 0.9, "", False, 0.2)


def test_a_judged_match_is_restated_as_a_training_phrasing_of_its_task_and_objects():
    scene = json.dumps(PLAY_TABLE)
    for task_id, args in (("lift", ("red_cube",)), ("open_drawer", ()), ("stack", ("green_cube", "red_cube"))):
        text = restate(judged(task_id, *args), PLAY_TABLE)
        assert text in texts(task_id, args), (task_id, text)
        pool = grammar_pool(task_id, ",".join(args), scene, 32)  # what a policy trained on; the plainest of it
        assert text in pool and len(text) == min(map(len, pool))
    assert restate(TaskMatch(None, (), 0.3, "", False), PLAY_TABLE) is None


def test_a_training_phrasing_is_restated_as_itself_and_others_as_the_closest_in_meaning():
    cache = InstructionCache(SentenceEncoder())
    pool = grammar_pool("lift", "red_cube", json.dumps(PLAY_TABLE), 32)
    for said in pool[:4]:
        assert restate(judged("lift", "red_cube"), PLAY_TABLE, said, cache) == said
    told = restate(judged("rotate_left", "blue_bar"), PLAY_TABLE, "spin the blue bar counterclockwise", cache)
    assert told in texts("rotate_left", ("blue_bar",)) and "blue" in told  # the pool has both kinds of names


def test_a_held_out_pair_is_restated_in_training_words():
    task_id, obj = sorted(grammar.scene_heldout_pairs(PLAY_TABLE))[0]
    text = restate(judged(task_id, obj), PLAY_TABLE)
    assert text in texts(task_id, (obj,))
    assert restate(judged(task_id, obj), PLAY_TABLE) == text  # one fixed choice


class Matcher:
    """Judges by a table: the sentence alone decides."""

    instructions = None  # no encoder: the shortest training phrasing

    def __init__(self, table):
        self.table, self.asked = table, []

    def match(self, text):
        self.asked.append(text)
        return self.table.get(text, TaskMatch(None, (), 0.2, "", False))


class Heard:
    needs_observation = True

    def __init__(self):
        self.heard, self.begun = [], []

    def reset(self):
        pass

    def begin_task(self, robot, task_id, args, seed):
        self.begun.append(task_id)

    def act(self, observation, instruction):
        self.heard.append(instruction)
        return np.zeros(5, np.float32)


class Robot:
    def scene_description(self):
        return PLAY_TABLE


def test_the_policy_hears_the_restatement_and_unjudged_words_as_said():
    matcher = Matcher({"could you pick the red block up off the table": judged("lift", "red_cube")})
    inner = Heard()
    grounded = GroundedController(inner, lambda scene: matcher)
    # the task the evaluation names (here deliberately another) is forwarded, never read
    grounded.begin_task(Robot(), "open_drawer", (), 0)
    grounded.act({}, "could you pick the red block up off the table")
    grounded.act({}, "could you pick the red block up off the table")
    grounded.act({}, "do a little dance")
    lift = restate(judged("lift", "red_cube"), PLAY_TABLE)
    assert inner.heard == [lift, lift, "do a little dance"] and inner.begun == ["open_drawer"]
    assert matcher.asked == ["could you pick the red block up off the table", "do a little dance"]  # once each
    assert grounded.told == {"could you pick the red block up off the table": lift, "do a little dance": None}


def test_grounding_before_the_robot_is_known_is_an_error():
    with pytest.raises(RuntimeError, match="begin_task"):
        GroundedController(Heard(), lambda scene: None).act({}, "lift the red cube")


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["splits=[train,heldout_phrasing]", "chain_splits=[]"], r"held-out splits \['heldout_phrasing'\]"),
        (["splits=[train]", "chain_splits=[heldout_phrasing]"], "would not be held out"),
        (["splits=[train]", "chain_splits=[]", "match_tasks=[fly]"], "match_tasks: unknown task ids 'fly'"),
        (["splits=[train]", "chain_splits=[]", "ground=yes"], "ground='yes': expected true or false"),
        (["splits=[train]", "chain_splits=[]", "match_cache=[1]"], "match_cache=.*expected a folder or null"),
    ],
)
def test_grounding_with_held_out_splits_or_bad_values_is_refused(overrides, said):
    with pytest.raises(EvalConfigError, match=said):
        read_settings(load_config("eval", ["references=[zero]", "ground=true", *overrides]))


class Repeater:
    """A policy that keeps every instruction it is asked (test module only)."""

    heard: list[str] = []

    def reset(self):
        pass

    def predict(self, observation, instruction):
        Repeater.heard.append(instruction)
        return np.zeros((5, 5), np.float32)


def test_eval_ground_true_tells_the_policy_the_restatement_and_records_it(tmp_path, capsys):
    Repeater.heard.clear()
    out = tmp_path / "eval"
    target = f"{{_target_:{Repeater.__module__}.Repeater}}"
    argv = ["eval", f"controllers={{said:{target}}}", *SMALL, "worlds=[default]", "tasks=[lift,open_drawer]",
            "splits=[outside]", "episodes=2", "chains=0", "chain_splits=[]", "workers=1", "videos=0",
            "references=[zero]", "max_steps=10", "ground=true", "match_tasks=[lift,open_drawer,close_drawer]",
            f"match_cache={tmp_path / 'tables'}", f"out={out}"]  # fmt: skip
    assert cli.main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    mine = [r for r in results["episodes"] if r["controller"] == "said"]
    assert len(mine) == 4 and all("told" in r for r in mine)
    assert all("told" not in r for r in results["episodes"] if r["controller"] == "zero")
    restated = [r for r in mine if r["told"] is not None]
    assert restated, "the matcher judged none of the outside set's lift / open_drawer sentences"
    for r in restated:  # a training phrasing of the episode's own task (the matcher was right here)
        assert r["told"] in texts(r["task"], tuple(r["args"])) and r["told"] in Repeater.heard
    for r in mine:
        assert (r["told"] or r["instruction"]) in Repeater.heard
    assert "restated by the task matcher" in capsys.readouterr().out
    assert "Grounding" in (out / "report.html").read_text()
