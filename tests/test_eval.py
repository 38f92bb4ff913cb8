"""`robolang eval`: Wilson intervals, feasible sampling (the scripted expert succeeds, the zero
action does not), what a policy may see, determinism, the report, tiny checkpoints end to end."""

import json
import re

import numpy as np
import pytest
from helpers.eval_policies import tiny_act, tiny_checkpoint
from helpers.eval_robot import connected_robot, expert_for
from hydra.utils import instantiate

from robolang import cli
from robolang.config import load_config
from robolang.evaluation import suite
from robolang.evaluation.rollout import (
    LIFTED_M,
    NEAR_M,
    EstimateProbe,
    ScriptedController,
    ZeroController,
    run_episode,
)
from robolang.evaluation.sampler import TaskSampler
from robolang.evaluation.stats import REACH_M, comparison_rows, fmt_rate, reference_rows, summarize, wilson
from robolang.features import CAMERA_NAMES, STATE_NAMES

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]
TINY_EVAL = [*SMALL, "worlds=[default]", "tasks=[open_drawer,lift]", "episodes=1", "chains=1", "chain_length=2",
             "chain_splits=[train]", "max_steps=80", "workers=1", "videos=1"]  # fmt: skip


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (81, 100, 0.7222, 0.8749),
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_interval_matches_published_values(k, n, low, high):
    assert wilson(k, n) == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_edge_cases():
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(3, 2)


@pytest.fixture(scope="module")
def robot():
    yield from connected_robot()


def test_sampled_tasks_are_feasible_the_expert_does_them_and_the_zero_action_does_not(robot):
    sampler = TaskSampler(robot, expert_for(robot))
    scripted, zero, tasks = [], [], []
    for seed in range(6):
        pick, start = sampler.sample(seed, "train")
        tasks.append(pick.task_id)
        for controller, out in ((ScriptedController(expert_for), scripted), (ZeroController(), zero)):
            r = run_episode(
                robot, controller, pick.instruction, pick.task_id, pick.args, pick.seed, 200, start_state=start
            )
            out.append(r.success)
    assert len(set(tasks)) >= 4, tasks  # tasks are drawn uniformly over ids, not dominated by one
    assert sum(scripted) >= 5, list(zip(tasks, scripted, strict=True))
    assert sum(zero) <= 1, list(zip(tasks, zero, strict=True))


def test_closest_approach_tells_reaching_the_object_from_staying_away(robot):
    sampler = TaskSampler(robot, expert_for(robot))
    pick, start = sampler.sample(0, "train", "lift")
    got = {}
    for name, controller in (("scripted", ScriptedController(expert_for)), ("zero", ZeroController())):
        got[name] = run_episode(
            robot, controller, pick.instruction, pick.task_id, pick.args, pick.seed, 200, start_state=start
        )
    assert got["scripted"].success and got["scripted"].closest < REACH_M  # a grasp closes on the object
    robot.set_state(start)
    ee, target = robot.scene_state()["robot"]["ee_pos"], robot.scene_state()["objects"][pick.args[0]]["pos"]
    start_distance = np.linalg.norm(np.subtract(ee, target))
    assert start_distance > REACH_M and got["zero"].closest == pytest.approx(start_distance, abs=2e-3)
    assert run_episode(robot, ZeroController(), "open the drawer", "open_drawer", (), 0, 3).closest is None
    summary = summarize(
        [{"kind": "single", "controller": c, "split": "train", "world": "default", "task": "lift",
          "success": bool(r.success), "closest_m": r.closest} for c, r in got.items()],
        ["scripted", "zero"], 5,
    )  # fmt: skip
    assert summary["reach"]["scripted"]["within"]["rate"] == 1 and summary["reach"]["zero"]["within"]["rate"] == 0
    assert "within 5 cm" in comparison_rows(summary, ["train"], [])[1][0][-1]


def test_the_estimate_probe_scores_each_new_estimate_of_the_named_object_where_the_frame_showed_it():
    fields = ("ee.x", "ee.y", "ee.z", "red_cube.x", "red_cube.y", "red_cube.z", "plate.x", "plate.y", "plate.z")
    probe = EstimateProbe(fields, ("red_cube",))
    far = np.array([0, 0, 0.1, 0.05, 0, 0, 0.3, 0, 0])  # the gripper 11 cm from the cube
    guess = (fields, np.array([9, 9, 9, 0.08, 0, 0, 9, 9, 9]))  # the cube read 3 cm off; nothing else scored
    probe.add(guess, far)
    probe.add(guess, far)  # the same estimate (a chunk still running) counts once
    near = far.copy()
    near[:3] = (0.05, 0, 0.05)  # the gripper 5 cm above it
    probe.add((fields, np.array([0, 0, 0, 0.05, 0.01, 0, 0, 0, 0])), near)
    probe.add(None, near)  # no estimate yet: nothing
    held = near.copy()
    held[[2, 5]] = (0.09, 0.06)  # the cube 6 cm up, the gripper 3 cm above it: lifted
    probe.add((fields, np.array([0, 0, 0, 0.05, 0, 0.01, 0, 0, 0])), held)  # read 5 cm low
    assert 0.05 < NEAR_M < 0.11 and LIFTED_M < 0.06
    assert probe.summary() == pytest.approx((0.03, 0.03, 0.05))  # all: 3, 1, 5 cm; near: 1, 5; lifted: 5
    assert EstimateProbe(fields, ("red_cube",)).summary() == (None, None, None)  # no estimate
    assert EstimateProbe(fields, ("blue_bar",)).summary() == (None, None, None)  # an object the scene vector lacks
    records = [{"kind": "single", "controller": c, "split": "train", "world": "default", "task": "lift",
                "success": True, **extra}
               for c, extra in (("deployable", {"estimate_m": 0.02, "estimate_near_m": 0.01, "estimate_lifted_m": None}),
                                ("deployable", {"estimate_m": 0.04, "estimate_near_m": None, "estimate_lifted_m": None}),
                                ("privileged", {}))]  # fmt: skip
    summary = summarize(records, ["deployable", "privileged"], 5)
    cell = summary["estimate"]["deployable"]
    assert cell == {"median_m": pytest.approx(0.03), "n": 2, "near_median_m": pytest.approx(0.01), "near_n": 1,
                    "lifted_median_m": None, "lifted_n": 0}  # fmt: skip
    assert "privileged" not in summary["estimate"]
    header, rows = comparison_rows(summary, ["train"], [])
    assert header[-1].startswith("estimate of the object")
    assert rows[0][-1] == "3.0 cm (n=2); near 1.0 cm (n=1); lifted -" and rows[1][-1] == "-"
    assert not comparison_rows(summarize(records[2:], ["privileged"], 5), ["train"], [])[0][-1].startswith("estimate")


def test_an_episode_says_whether_its_instruction_names_the_object_by_where_it_is(robot):
    sampler = TaskSampler(robot, expert_for(robot))
    by_position = re.compile(r"\b(furthest|farthest|nearest|closest|leftmost|rightmost)\b|\bon the plate\b")
    seen = set()
    for seed in range(40):
        pick, _ = sampler.sample(seed, "train", "lift")
        assert pick.by_position is not None  # lift names an object
        seen.add(pick.by_position)
        assert pick.by_position == bool(by_position.search(pick.instruction)), pick.instruction
    assert seen == {True, False}  # the evaluation draws both kinds, as the grammar does
    pick, _ = sampler.sample(0, "train", "open_drawer")
    assert pick.by_position is None  # no object named
    records = [
        {
            "kind": "single",
            "controller": "p",
            "split": "train",
            "world": "default",
            "task": "lift",
            "success": ok,
            "by_position": where,
        }
        for ok, where in ((True, False), (True, False), (False, True))
    ]
    summary = summarize(records, ["p"], 5)  # fmt: skip
    assert summary["references"]["p"]["what"]["rate"] == 1 and summary["references"]["p"]["where"]["rate"] == 0
    header, rows = reference_rows(summary)
    assert rows == [["p", fmt_rate(summary["references"]["p"]["what"]), fmt_rate(summary["references"]["p"]["where"])]]
    assert reference_rows(summarize([{**r, "by_position": None} for r in records], ["p"], 5))[1] == []


def test_a_held_out_composition_instruction_names_a_held_out_pair(robot):
    sampler = TaskSampler(robot, expert_for(robot))
    pick, _ = sampler.sample(3, "heldout_composition")
    assert any((pick.task_id, a) in sampler.pairs for a in pick.args)
    assert pick.instruction.strip()


SETS = {
    "people": [
        {"text": "raise the red block up high", "accept": ["lift"], "args": ["red_cube"]},
        {"text": "hoist the red block", "accept": ["lift"], "args": ["red_cube"]},
        {"text": "pick up or lift the red block", "accept": ["lift", "grasp"], "args": ["red_cube"]},
        {"text": "drawer open please", "accept": ["open_drawer"], "args": []},
    ]
}


def test_an_instruction_set_split_says_that_sets_sentences_for_its_task_and_objects(robot):
    sampler = TaskSampler(robot, expert_for(robot), sets=SETS)
    lift = sampler.sample(5, "people", "lift")
    assert lift is not None
    pick, _ = lift
    assert pick.split == "people" and (pick.task_id, pick.args) == ("lift", ("red_cube",))
    assert pick.instruction in {"raise the red block up high", "hoist the red block"}  # one task accepted only
    assert sampler.sample(5, "people", "open_drawer")[0].instruction == "drawer open please"
    assert sampler.sample(5, "people", "push_left") is None  # no sentence for it: never a grammar phrasing
    assert not sampler.in_split("lift", ("green_cube",), "people")
    assert sampler.in_split("lift", ("green_cube",), "train")


def test_eval_runs_an_instruction_set_as_a_split(tmp_path):
    out = tmp_path / "eval"
    argv = ["eval", *SMALL, "worlds=[default]", "tasks=[lift,open_drawer,push_left]", "splits=[outside]",
            "episodes=1", "chains=0", "chain_splits=[]", "workers=1", "videos=0", "references=[scripted]",
            "max_steps=120", f"out={out}"]  # fmt: skip
    assert cli.main(argv) == 0
    lines = [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]
    rows = [r for job in lines if isinstance(job, list) for r in job]
    from robolang.task_match_eval import OUTSIDE, load

    said = {r["text"] for r in load(OUTSIDE)}
    assert rows and {r["split"] for r in rows} == {"outside"}
    assert all(r["instruction"] in said for r in rows)
    assert {r["task"] for r in rows} == {"lift", "open_drawer", "push_left"}


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("+instruction_sets.train=x.jsonl", "cannot name a set"),
        ("+instruction_sets.mine=/nonexistent/mine.jsonl", "no such instruction set"),
        ("splits=[mine]", "unknown splits .*'mine'; known: .*outside"),
        ("+instruction_sets.mine=3", "expected the path of a JSON-lines file"),
    ],
)
def test_a_bad_instruction_set_is_refused_naming_it(override, said):
    from robolang.evaluation.settings import EvalConfigError, read_settings

    with pytest.raises(EvalConfigError, match=said):
        read_settings(load_config("eval", ["references=[zero]", override]))


def test_instruction_sets_must_be_a_map():
    from robolang.evaluation.settings import EvalConfigError, read_instruction_sets

    with pytest.raises(EvalConfigError, match="expected a map name -> JSON-lines file"):
        read_instruction_sets(["a.jsonl"])
    assert read_instruction_sets(None) == {}


def test_a_malformed_instruction_set_line_is_refused_with_its_line(tmp_path):
    from robolang.evaluation.settings import EvalConfigError, read_settings

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "lift it", "accept": ["lift"], "args": []}\n{"text": "oops"}\n')
    with pytest.raises(EvalConfigError, match=r"bad.jsonl:2"):
        read_settings(load_config("eval", ["references=[zero]", f"+instruction_sets.mine={bad}"]))


class Spy:
    """Records what a controller is shown."""

    needs_observation = True

    def __init__(self):
        self.keys = set()

    def reset(self):
        pass

    def act(self, observation, instruction):
        self.keys |= set(observation)
        return np.zeros(5, np.float32)


def test_a_policy_sees_cameras_and_proprioception_only(robot):
    spy = Spy()
    r = run_episode(robot, spy, "open the drawer", "open_drawer", (), 0, 3, frames=True)
    assert spy.keys == {*CAMERA_NAMES, *STATE_NAMES}
    assert r.success is False and r.steps == 3 and len(r.frames) == 3
    assert len({f.shape for f in r.frames}) == 1  # the caption band keeps the frame size fixed


def test_an_instruction_without_a_task_runs_unjudged(robot):
    r = run_episode(robot, ZeroController(), "dance a little", None, (), 0, 4)
    assert r.success is None and not r.judged and r.steps == 4


def test_eval_is_deterministic_and_writes_a_report_with_plots_and_videos(tmp_path):
    a = suite.run(load_config("eval", [*TINY_EVAL, f"out={tmp_path / 'a'}"]))
    b = suite.run(load_config("eval", [*TINY_EVAL, f"out={tmp_path / 'b'}"]))
    assert a["episodes"] == b["episodes"] and a["summary"] == b["summary"]
    assert a["summary"]["controllers"] == ["scripted", "zero"]
    html = (tmp_path / "a" / "report.html").read_text()
    assert html.count("<svg") >= 3 and "data:video/mp4;base64," in html and "Wilson" in html
    videos = list((tmp_path / "a" / "videos").glob("*.mp4"))
    assert videos and all(v.stat().st_size > 0 for v in videos)
    saved = json.loads((tmp_path / "a" / "results.json").read_text())
    assert saved["summary"]["by_split"]["scripted"]["train"]["n"] == 2


def test_tiny_checkpoints_run_through_eval_end_to_end(tmp_path, capsys):
    # folder names that say nothing: each kind is read from the folder's contents
    ours = tiny_checkpoint(tmp_path / "a", "transformer")
    mcil = tiny_checkpoint(tmp_path / "b", "mcil")
    act = tiny_act(tmp_path / "c")
    args = [*TINY_EVAL, "tasks=[open_drawer]", "chains=0", "max_steps=20", "videos=0", f"out={tmp_path / 'eval'}"]
    controllers = f"controllers={{ours:{ours},baseline:{mcil},blind:{act}}}"
    assert cli.main(["eval", controllers, *args]) == 0
    printed = capsys.readouterr().out
    names = ("ours", "baseline", "blind", "scripted", "zero")
    for name in names:
        assert name in printed
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    about = {c["name"]: c["about"] for c in results["config"]["controller_specs"]}
    assert list(about) == list(names)
    assert about["ours"].startswith("transformer policy:") and about["baseline"].startswith("mcil policy:")
    assert about["blind"].startswith("act policy (language-blind):")
    ran = {(r["controller"], r["instruction"]) for r in results["episodes"]}
    assert len({i for _, i in ran}) == len(results["episodes"]) // 5  # every controller, the same instructions


def test_a_bad_checkpoint_path_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["eval", f"checkpoint={tmp_path / 'nothing'}", *TINY_EVAL, f"out={tmp_path / 'eval'}"]) == 2
    err = capsys.readouterr().err
    assert "no checkpoint at" in err and "nothing" in err


@pytest.mark.slow
def test_parallel_workers_give_the_same_numbers_as_one(tmp_path):
    one = suite.run(load_config("eval", [*TINY_EVAL, f"out={tmp_path / 'one'}"]))
    two = suite.run(load_config("eval", [*TINY_EVAL, "workers=2", f"out={tmp_path / 'two'}"]))
    assert one["episodes"] == two["episodes"]


def test_the_expert_servos_through_action_latency(monkeypatch):
    # two control steps between sending an action and the arm applying it (the held-out world has
    # 1-2): the expert predicts from the scene's in-flight actions; without that it oscillates
    from sim.play.expert import PredictiveMotion

    cfg = load_config("eval", [*SMALL, "+world.action_latency_steps=[2,2]"])
    robot = instantiate(cfg.robot, _convert_="all")
    robot.connect()
    try:
        robot.reset(0)
        scene = robot.scene
        assert len(scene.in_flight) == 2
        scene.in_flight[0][0] = 99.0  # copies: the queue itself cannot be edited from outside
        assert all(a[0] != 99.0 for a in scene.in_flight)

        def open_drawer():
            return run_episode(robot, ScriptedController(expert_for), "open the drawer", "open_drawer", (), 0, 150)

        assert open_drawer().success
        monkeypatch.setattr(PredictiveMotion, "_in_flight", lambda self: [])
        assert not open_drawer().success
    finally:
        robot.disconnect()


def test_a_trace_follows_the_episode_step_by_step_and_only_when_asked(robot):
    expert = ScriptedController(lambda r: expert_for(r))
    plain = run_episode(robot, expert, "lift the red cube", "lift", ("red_cube",), 3, 250)
    traced = run_episode(robot, expert, "lift the red cube", "lift", ("red_cube",), 3, 250, trace=True)
    assert plain.trace is None and (traced.success, traced.steps) == (plain.success, plain.steps)
    assert traced.success and len(traced.trace) == traced.steps
    first, last = traced.trace[0], traced.trace[-1]
    assert set(first) == {"ee", "action", "red_cube", "fixtures", "contacts"}
    assert len(first["ee"]) == 5 and len(first["action"]) == 5 and len(first["red_cube"]) == 4  # x, y, z, yaw
    assert set(first["fixtures"]) == {"drawer", "slider", "light"}
    assert "red_cube.table" in first["contacts"] and "red_cube.gripper" not in first["contacts"]
    assert "red_cube.gripper" in last["contacts"] and "red_cube.table" not in last["contacts"]  # lifted in the hand
    assert last["red_cube"][2] > first["red_cube"][2] + 0.02  # the cube it lifted rose in the trace
    assert np.linalg.norm(np.subtract(last["ee"][:3], last["red_cube"][:3])) < 0.05  # and is in the hand at the end


def test_eval_trace_true_keeps_each_single_episode_s_trace_in_the_results(tmp_path):
    out = tmp_path / "eval"
    assert suite.run(load_config("eval", [*TINY_EVAL, "chains=0", "videos=0", "trace=true", f"out={out}"]))
    singles = [e for e in json.loads((out / "results.json").read_text())["episodes"] if e["kind"] == "single"]
    assert singles and all(len(e["trace"]) == e["steps"] for e in singles)
    with pytest.raises(Exception, match="trace='yes': expected true or false"):
        suite.run(load_config("eval", [*TINY_EVAL, "trace=yes", f"out={tmp_path / 'bad'}"]))
