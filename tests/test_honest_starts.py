"""Honest start states: after the scripted set-up the arm moves to a random pose away from the
task's target (keeping an object in hand where the task needs it), the scripted expert still
does the task from there, the start distance is reported per task, and bad settings are refused."""

import numpy as np
import pytest
from helpers.eval_robot import connected_robot, expert_for

from robolang import cli
from robolang.evaluation.rollout import ScriptedController, ZeroController, run_episode
from robolang.evaluation.sampler import TaskSampler
from robolang.evaluation.stats import start_rows, summarize

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]
AWAY = 0.15


@pytest.fixture(scope="module")
def robot():
    yield from connected_robot()


def horizontal_gap(robot, expert, task, args) -> float:
    state = robot.scene_state()
    target = expert.target_point(task, args, state)
    return float(np.linalg.norm(np.asarray(state["robot"]["ee_pos"])[:2] - target[:2]))


@pytest.mark.parametrize("task", ["turn_on_light", "close_drawer"])
def test_a_set_up_no_longer_leaves_the_gripper_on_the_target(robot, task):
    expert = expert_for(robot)
    left = TaskSampler(robot, expert, start_pose="as_set_up").sample(3, "train", task)
    honest = TaskSampler(robot, expert, start_pose="random", start_away_m=AWAY).sample(3, "train", task)
    assert left is not None and honest is not None
    assert left[0].start_m < AWAY  # the problem: the set-up ends with the gripper at the button / handle
    assert honest[0].start_m >= AWAY
    assert horizontal_gap(robot, expert, task, honest[0].args) >= AWAY


def test_put_down_starts_with_the_object_still_in_the_hand(robot):
    expert = expert_for(robot)
    pick, _ = TaskSampler(robot, expert).sample(5, "train", "put_down")
    from sim.play.world import held_object

    assert held_object(robot.scene_state()) == pick.args[0]
    assert pick.start_m < 0.05  # the object is its own target


def test_random_starts_are_seeded(robot):
    sampler = TaskSampler(robot, expert_for(robot))
    first = sampler.sample(7, "train", "open_drawer")
    ee_first = np.asarray(robot.scene_state()["robot"]["ee_pos"])
    again = sampler.sample(7, "train", "open_drawer")
    # The same episode; the pose to within physics noise (the solver warm-starts from what ran before).
    assert first[0].instruction == again[0].instruction and first[0].args == again[0].args
    assert first[0].start_m == pytest.approx(again[0].start_m, abs=0.005)
    np.testing.assert_allclose(robot.scene_state()["robot"]["ee_pos"], ee_first, atol=0.005)


@pytest.mark.parametrize("task", ["turn_off_light", "lift"])
def test_the_scripted_expert_still_does_the_task_and_the_zero_action_does_not(robot, task):
    sampler = TaskSampler(robot, expert_for(robot))
    pick, start = sampler.sample(11, "train", task)
    runs = {}
    for name, controller in (("scripted", ScriptedController(expert_for)), ("zero", ZeroController())):
        runs[name] = run_episode(robot, controller, pick.instruction, pick.task_id, pick.args, pick.seed, 250,
                                 start_state=start)  # fmt: skip
    assert runs["scripted"].success, pick
    assert not runs["zero"].success, pick


def test_the_summary_gives_each_tasks_start_distance_once_per_episode():
    base = {"kind": "single", "world": "default", "split": "train", "success": False, "steps": 5}
    records = [
        {**base, "task": "open_drawer", "index": 0, "controller": "ours", "start_m": 0.30},
        {**base, "task": "open_drawer", "index": 0, "controller": "zero", "start_m": 0.30},
        {**base, "task": "open_drawer", "index": 1, "controller": "ours", "start_m": 0.20},
        {**base, "task": "lift", "index": 0, "controller": "ours", "start_m": 0.25},
    ]
    start = summarize(records, ["ours", "zero"], 5)["start"]
    assert start["open_drawer"]["n"] == 2
    assert start["open_drawer"]["median_m"] == pytest.approx(0.25)
    assert start["open_drawer"]["min_m"] == pytest.approx(0.20)
    header, rows = start_rows({"start": start})
    assert rows[0][0] == "lift" and rows[1][1] == "25.0 cm"


@pytest.mark.parametrize(
    ("override", "says"),
    [("start_pose=nowhere", "start_pose='nowhere'"), ("start_away_m=-1", "start_away_m=-1"),
     ("start_away_m=abc", "start_away_m='abc'")],
)  # fmt: skip
def test_bad_start_settings_are_one_line_errors(tmp_path, capsys, override, says):
    assert cli.main(["eval", override, f"out={tmp_path / 'eval'}", *SMALL]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "eval").exists()
