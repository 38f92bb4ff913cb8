"""DAgger: the policy acts, the scripted expert's action is what is recorded, the attempts become
labels (source=expert), hindsight captioning refuses the dataset, and training mixes it with play."""

import itertools
import json
from collections import Counter

import numpy as np
import pytest
import torch
from helpers.eval_robot import SMALL, connected_robot
from test_policy_state import _labelled, _train

from robolang import cli
from robolang.captioning import annotations
from robolang.dataset_tools import load_episodes
from robolang.policy.mixture import DatasetMixture
from robolang.recording.features import BEHAVIOURS_FILE, INTENTS_FILE
from robolang.recording.store import read_records
from sim.play.checks import footprint, pos
from sim.play.dagger import DaggerAgent
from sim.play.expert_plans import REGION_MARGIN_M, beside_spot, in_region, region_middle, region_spot
from sim.play.world import PLAY_HIGH, PLAY_LOW


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A privileged policy trained 4 steps (it acts almost at random: the expert's labels differ)."""
    root = tmp_path_factory.mktemp("dagger")
    assert _train(_labelled(root / "play"), root / "run") == 0
    return root / "run"


@pytest.fixture(scope="module")
def robot():
    yield from connected_robot()


def _drive(robot, agent, steps):
    """The recorder's loop: what was executed and what was recorded, per step."""
    obs = robot.reset(3)
    executed, recorded = [], []
    for _ in range(steps):
        action = agent.act(obs)
        robot.send_action(action)
        executed.append(np.asarray(action))
        recorded.append(agent.label.copy())
        obs = robot.get_observation()
    return np.array(executed), np.array(recorded)


def test_with_beta_one_the_agent_is_the_expert_and_its_instructions_succeed(robot, checkpoint):
    agent = DaggerAgent(robot, seed=1, policy=str(checkpoint), beta=1.0, max_steps=250)
    executed, recorded = _drive(robot, agent, 400)
    np.testing.assert_array_equal(executed, recorded)
    done = [a for a in agent.history if a.stop != "episode_end"]
    assert done and all(a.expert_steps == a.end - a.start for a in done)
    assert sum(a.success for a in done) >= max(1, len(done) - 1)  # the scripted expert does ~98% of tasks


def test_with_beta_zero_the_policy_acts_and_the_expert_s_action_is_recorded(robot, checkpoint):
    agent = DaggerAgent(robot, seed=2, policy=str(checkpoint), beta=0.0, max_steps=40)
    executed, recorded = _drive(robot, agent, 120)
    history = agent.history
    assert history and all(a.expert_steps == 0 for a in history)
    inside = np.zeros(len(executed), bool)
    for a in history:
        assert 0 <= a.start < a.end <= 120 and a.end - a.start <= 40 and a.instruction.strip()
        inside[a.start : a.end] = True
    # inside an attempt the label is the expert's, computed on the policy's states: not what was executed
    assert np.abs(executed[inside] - recorded[inside]).max() > 0.1
    assert np.abs(recorded[inside]).max() <= 1 and np.abs(recorded[inside, :4]).sum() > 0
    assert [a.stop for a in history[:-1]] and {a.stop for a in history[:-1]} <= {"success", "timeout", "expert_idle"}


def test_with_nothing_feasible_the_arm_holds_still_with_its_grip(robot, checkpoint, monkeypatch):
    agent = DaggerAgent(robot, seed=1, policy=str(checkpoint), beta=1.0, max_steps=250)
    draw = agent.sampler.next
    monkeypatch.setattr(agent.sampler, "next", lambda *a, **k: None if agent.records else draw(*a, **k))
    executed, _ = _drive(robot, agent, 300)
    first = agent.history[0]
    assert len(agent.history) == 1 and first.end < 290
    held = executed[first.end :]  # after the only attempt: nothing feasible, so hold
    assert not held[:, :4].any() and (held[:, 4] == executed[first.end - 1, 4]).all()


def test_a_beta_outside_zero_to_one_is_refused(robot, checkpoint):
    with pytest.raises(ValueError, match="beta=1.5 is not allowed"):
        DaggerAgent(robot, seed=0, policy=str(checkpoint), beta=1.5)


@pytest.fixture(scope="module")
def recorded(checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("dagger_data") / "dagger"
    assert cli.main(["dagger", f"checkpoint={checkpoint}", f"out={out}", "hours=0.01", "episode_seconds=18",
                     "workers=1", "max_steps=60", *SMALL]) == 0  # fmt: skip
    return out


def test_robolang_dagger_stores_each_attempt_as_an_expert_label_of_the_dataset(recorded):
    records = read_records(recorded / "meta" / BEHAVIOURS_FILE)
    table = annotations.load(recorded)
    lengths = {int(e.episode_index): int(e.length) for e in load_episodes(recorded).itertuples()}
    assert len(lengths) == 2 and sum(lengths.values()) == 360
    assert len(table) == len([r for r in records if r["end"] > r["start"]]) > 0
    assert set(table["source"]) == {"expert"} and set(table["split"]) == {"train"}
    for row in table.itertuples():
        assert 0 <= row.start_frame < row.end_frame <= lengths[row.episode_index] and row.instruction.strip()
    vocabulary = json.loads((recorded / "meta" / INTENTS_FILE).read_text())
    assert "robolang dagger" in vocabulary["relabelled"]


def test_hindsight_captioning_refuses_a_relabelled_dataset(recorded, capsys):
    before = annotations.load(recorded)
    assert cli.main(["caption", str(recorded)]) == 2
    err = capsys.readouterr().err
    assert "relabelled rollouts" in err and "not what the robot did" in err
    assert annotations.load(recorded).equals(before)


def test_a_missing_checkpoint_is_refused_before_anything_is_recorded(tmp_path, capsys):
    assert cli.main(["dagger", f"checkpoint={tmp_path / 'none'}", f"out={tmp_path / 'out'}", *SMALL]) == 2
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_train_mixes_play_and_dagger_data_and_refuses_what_does_not_fit(checkpoint, recorded, tmp_path, capsys):
    play = checkpoint.parent / "play"
    assert _train(play, tmp_path / "mixed", f"extra_datasets=[{recorded}]") == 0
    assert "training on 2 datasets" in capsys.readouterr().out
    assert _train(play, tmp_path / "missing", f"extra_datasets=[{tmp_path / 'nowhere'}]") == 2
    assert "no dataset at" in capsys.readouterr().err
    other = _labelled(tmp_path / "other", scene_fields=(*_scene_fields(play)[:-1],))
    assert _train(play, tmp_path / "other_run", f"extra_datasets=[{other}]") == 2
    assert "records another scene state" in capsys.readouterr().err
    assert _train(play, tmp_path / "weight", f"extra_datasets=[{recorded}]", "data.extra_weight=2") == 2
    assert "data.extra_weight=2 is not allowed" in capsys.readouterr().err


def _scene_fields(root):
    from robolang.policy.state_data import scene_fields_of

    return scene_fields_of(root)


class Part:
    """A dataset stand-in: ``num_frames`` and batches whose ``source`` says which part drew them."""

    def __init__(self, name, frames):
        self.name, self.num_frames, self.stats, self.frames = name, frames, name, name

    def sample(self, n, rng):
        return {"source": torch.full((n,), self.name), "x": torch.as_tensor(rng.random(n))}


def test_a_mixture_draws_by_labelled_frames_or_by_the_extra_weight_and_is_fixed_by_the_rng():
    mixture = DatasetMixture([Part(0, 300), Part(1, 100)])
    np.testing.assert_allclose(mixture.weights, [0.75, 0.25])
    assert mixture.stats == 0 and mixture.num_frames == 400
    counts = torch.bincount(torch.cat([mixture.sample(64, np.random.default_rng(s))["source"] for s in range(50)]))
    assert abs(counts[1].item() / counts.sum().item() - 0.25) < 0.03
    a, b = mixture.sample(32, np.random.default_rng(7)), mixture.sample(32, np.random.default_rng(7))
    assert all(torch.equal(a[k], b[k]) for k in a)
    fixed = DatasetMixture([Part(0, 300), Part(1, 100), Part(2, 300)], extra_weight=0.5)
    np.testing.assert_allclose(fixed.weights, [0.5, 0.125, 0.375])
    with pytest.raises(ValueError, match="extra_weight=1.5"):
        DatasetMixture([Part(0, 1), Part(1, 1)], extra_weight=1.5)


@pytest.mark.parametrize(
    "bad, said",
    [
        ("beta=2", "beta=2"),
        ("max_steps=0", "max_steps"),
        ("chunk_steps=0", "chunk_steps"),
        ("split=nope", "split"),
        ("start_pose=nowhere", "start_pose"),
        ("noise=-0.1", "noise"),
        ("setup=maybe", "setup"),
        ("balance=maybe", "balance"),
        ("tasks=[take_from_drawer,fly]", "unknown fly"),
        ("tasks=[]", "tasks=[] is not allowed: empty"),
        ("takeover=-1", "takeover=-1"),
        ("takeover=maybe", "takeover"),
        ("spots=anywhere", "spots"),
        ("labels=some", "labels"),
        ("labels=successful", "labels=successful needs beta=1"),
        ("relabel=maybe", "relabel"),
    ],
)
def test_a_bad_setting_is_refused_before_anything_is_recorded(checkpoint, tmp_path, capsys, bad, said):
    out = tmp_path / "out"
    assert cli.main(["dagger", f"checkpoint={checkpoint}", f"out={out}", bad, *SMALL]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_without_a_policy_the_expert_demonstrates_and_beta_must_be_one(robot):
    agent = DaggerAgent(robot, seed=4, policy=None, beta=1.0, max_steps=250)
    executed, recorded = _drive(robot, agent, 300)
    np.testing.assert_array_equal(executed, recorded)
    done = [a for a in agent.history if a.stop != "episode_end"]
    assert done and sum(a.success for a in done) >= max(1, len(done) - 1)
    with pytest.raises(ValueError, match="checkpoint=null .* set beta=1"):
        DaggerAgent(robot, seed=0, policy=None, beta=0.5)


def test_robolang_dagger_without_a_checkpoint_records_labelled_expert_demonstrations(tmp_path, capsys):
    out = tmp_path / "expert"
    assert cli.main(["dagger", "checkpoint=null", f"out={tmp_path / 'refused'}", *SMALL]) == 2
    assert "set beta=1" in capsys.readouterr().err and not (tmp_path / "refused").exists()
    assert cli.main(["dagger", "checkpoint=null", "beta=1", "labels=successful", f"out={out}", "hours=0.005",
                     "episode_seconds=18", "workers=1", *SMALL]) == 0  # fmt: skip
    table = annotations.load(out)
    assert len(table) > 0 and set(table["source"]) == {"expert"}
    printed = capsys.readouterr().out
    assert "policy alone" not in printed and "unsuccessful attempts left unlabelled" in printed
    records = [r for r in read_records(out / "meta" / BEHAVIOURS_FILE) if r["end"] > r["start"]]
    assert any(not r["success"] for r in records)  # at least the attempt the episode's end cut
    labelled = sorted((r["episode_index"], r["start"], r["end"]) for r in records if r["success"])
    table = table.sort_values(["episode_index", "start_frame"])
    assert list(zip(table.episode_index, table.start_frame, table.end_frame, strict=True)) == labelled
    relabel = ["dagger", "relabel=true", f"out={out}"]  # no checkpoint or beta: the recording's log says who acted
    assert cli.main(relabel) == 0  # labels=all on the same recording, nothing recorded: every attempt
    assert len(annotations.load(out)) == len(records) > len(labelled)
    assert len(load_episodes(out)) == 1


def test_relabel_refuses_a_folder_without_an_agent_log_and_successful_labels_where_the_policy_acted(
    recorded, tmp_path, capsys
):
    assert cli.main(["dagger", "relabel=true", f"out={tmp_path / 'none'}"]) == 2
    assert "holds no agent log" in capsys.readouterr().err and not (tmp_path / "none").exists()
    before = annotations.load(recorded)
    said = ["dagger", "relabel=true", "labels=successful", f"out={recorded}"]
    assert cli.main(said) == 2
    assert "recorded with a policy acting" in capsys.readouterr().err
    assert annotations.load(recorded).equals(before)


def test_with_random_start_poses_the_arm_moves_away_before_each_attempt_and_the_move_is_unlabelled(robot):
    agent = DaggerAgent(robot, seed=5, policy=None, beta=1.0, start_pose="random")
    executed, recorded = _drive(robot, agent, 400)
    history = agent.history
    assert history and history[0].start > 0  # the first frames move the arm to its start pose
    assert np.abs(executed[: history[0].start, :3]).sum() > 0
    for before, after in itertools.pairwise(history):
        assert after.start > before.end  # a recorded move between attempts, covered by no label
    done = [a for a in history if a.stop != "episode_end"]
    assert done and sum(a.success for a in done) >= max(1, len(done) - 1)
    with pytest.raises(ValueError, match="start_pose='nowhere'"):
        DaggerAgent(robot, seed=0, policy=None, beta=1.0, start_pose="nowhere")


def test_dart_noise_perturbs_the_executed_motion_and_never_the_label_or_the_gripper(robot):
    agent = DaggerAgent(robot, seed=6, policy=None, beta=1.0, noise=0.3)
    executed, recorded = _drive(robot, agent, 300)
    labelled = np.zeros(len(executed), bool)
    for attempt in agent.history:
        labelled[attempt.start : attempt.end] = True
    off = executed[labelled, :4] - recorded[labelled, :4]
    assert np.abs(off).mean() > 0.05  # the arm was pushed off the expert's path...
    np.testing.assert_array_equal(executed[:, 4], recorded[:, 4])  # ...the gripper never
    steps = off[np.all(np.abs(executed[labelled, :4]) < 1, axis=1)]  # unclipped steps: the noise itself
    assert np.corrcoef(steps[:-1, 0], steps[1:, 0])[0, 1] > 0.5  # correlated in time (a drift, not jitter)
    assert np.all(np.abs(executed) <= 1.0)
    done = [a for a in agent.history if a.stop != "episode_end"]
    assert done and sum(a.success for a in done) >= len(done) // 2  # the expert corrects: tasks still succeed
    with pytest.raises(ValueError, match="noise=2"):
        DaggerAgent(robot, seed=0, policy=None, beta=1.0, noise=2)


def test_with_setup_a_task_no_chain_reaches_is_set_up_first_and_the_set_up_is_unlabelled(robot, monkeypatch):
    agent = DaggerAgent(robot, seed=7, policy=None, beta=1.0, setup=True)
    robot.reset(3)
    cube = next(c for c in ("red_cube", "green_cube") if agent.sampler.in_split("take_from_drawer", (c,), "train"))
    assert not agent.expert.feasible("take_from_drawer", (cube,))  # the cube is on the table
    pick = agent.sampler.phrase(1, "take_from_drawer", (cube,), "train")
    monkeypatch.setattr(agent.sampler, "next", lambda *a, **k: pick)
    executed, _ = _drive(robot, agent, 700)
    history = agent.history
    assert history and history[0].behaviour == "take_from_drawer"
    assert history[0].start > 50  # open the drawer, put the cube in: recorded, covered by no label
    assert np.abs(executed[: history[0].start, :3]).sum() > 0
    assert history[0].success
    for before, after in itertools.pairwise(history):
        assert after.start > before.end  # each later attempt is set up again (the cube is out)


def test_tasks_draws_only_the_tasks_named_and_unknown_ones_are_refused(robot):
    agent = DaggerAgent(robot, seed=8, policy=None, beta=1.0, setup=True, tasks=["rotate_left", "open_drawer"])
    _drive(robot, agent, 500)
    drawn = [a.behaviour for a in agent.history]
    named = drawn.count("rotate_left") + drawn.count("open_drawer")
    assert named >= 2 and named >= 2 * (len(drawn) - named)  # another only when none of them can be drawn
    alone = DaggerAgent(robot, seed=9, policy=None, beta=1.0, setup=True, tasks=["rotate_right"])
    _drive(robot, alone, 400)
    assert [a.behaviour for a in alone.history].count("rotate_right") >= 2  # again and again
    with pytest.raises(ValueError, match="tasks=\\['fly'\\] is not allowed"):
        DaggerAgent(robot, seed=0, policy=None, beta=1.0, tasks=["fly"])


def test_balance_draws_the_feasible_task_attempted_least(robot, monkeypatch):
    agent = DaggerAgent(robot, seed=10, policy=None, beta=1.0)
    robot.reset(3)
    options = [(t, a) for t, a in agent.expert.candidates(False) if agent.sampler.in_split(t, a, "train")]
    feasible = sorted({t for t, _ in options})
    assert len(feasible) >= 3
    monkeypatch.setattr(agent.expert, "candidates", lambda *a, **k: options)
    counts = {t: 5 for t in feasible} | {feasible[0]: 2, feasible[1]: 2, "take_from_drawer": 0}
    drawn = {agent.sampler.next(seed, "train", fewest=counts).task_id for seed in range(40)}
    assert drawn == {feasible[0], feasible[1]}  # the least attempted of the feasible ones, both drawn
    assert {agent.sampler.next(seed, "train").task_id for seed in range(40)} > drawn  # without it: uniform


def test_a_balanced_agent_counts_the_attempts_it_begins_and_draws_by_them(robot, monkeypatch):
    agent = DaggerAgent(robot, seed=11, policy=None, beta=1.0, balance=True)
    asked = []
    draw = agent.sampler.next
    monkeypatch.setattr(
        agent.sampler, "next", lambda *a, **k: asked.append(dict(k.get("fewest") or {})) or draw(*a, **k)
    )
    _drive(robot, agent, 400)
    history = agent.history
    assert len(history) >= 2
    assert agent.attempted == Counter(a.behaviour for a in history)
    assert (
        asked[0] == {} and asked[-1] and sum(asked[-1].values()) >= len(history) - 1
    )  # each draw saw the counts so far
    assert DaggerAgent(robot, seed=11, policy=None, beta=1.0).attempted is None  # off: the uniform draw


def test_with_takeover_the_policy_acts_first_and_only_the_expert_s_successful_finish_is_labelled(robot, checkpoint):
    agent = DaggerAgent(robot, seed=7, policy=str(checkpoint), beta=0.0, max_steps=250, takeover=30)
    executed, recorded = _drive(robot, agent, 600)
    done = [a for a in agent.history if a.stop != "episode_end"]
    taken = [a for a in done if a.start < a.label_start < a.end]
    assert taken and sum(a.success for a in taken) >= max(1, len(taken) - 1)  # the expert finishes what it took over
    for a in done:
        assert 0 <= a.start <= a.label_start <= a.end
        if a.label_start < a.end:  # labelled: a success, taken over within 30 steps, the expert acting to its end
            assert a.success and a.label_start - a.start <= 30 and a.expert_steps == a.end - a.label_start
            np.testing.assert_array_equal(executed[a.label_start : a.end], recorded[a.label_start : a.end])
        else:  # the policy alone, or a takeover that failed: no label
            assert a.expert_steps == 0 or not a.success
    assert any(a.label_start > a.start for a in taken)  # some attempts began with the policy acting
    cut = agent.history[-1]
    assert cut.stop != "episode_end" or cut.label_start == cut.end  # an unfinished attempt is never labelled
    with pytest.raises(ValueError, match="takeover=N .* needs a policy"):
        DaggerAgent(robot, seed=0, policy=None, beta=1.0, takeover=10)
    with pytest.raises(ValueError, match="beta=0"):
        DaggerAgent(robot, seed=0, policy=str(checkpoint), beta=0.5, takeover=10)


def test_robolang_dagger_with_takeover_labels_from_where_the_expert_took_over(checkpoint, tmp_path, capsys):
    out = tmp_path / "takeover"
    assert cli.main(["dagger", f"checkpoint={checkpoint}", "beta=0.5", "takeover=5", f"out={out}", *SMALL]) == 2
    assert "takeover=5 is not allowed" in capsys.readouterr().err and not out.exists()
    assert cli.main(["dagger", "checkpoint=null", "beta=1", "takeover=5", f"out={out}", *SMALL]) == 2
    assert "needs a policy" in capsys.readouterr().err and not out.exists()
    assert cli.main(["dagger", f"checkpoint={checkpoint}", "takeover=20", f"out={out}", "hours=0.01",
                     "episode_seconds=18", "workers=1", *SMALL]) == 0  # fmt: skip
    printed = capsys.readouterr().out  # no success rate of the policy's: its unfinished attempts were cut short
    assert "policy finished before takeover" in printed and "policy alone" not in printed
    records = read_records(out / "meta" / BEHAVIOURS_FILE)
    labelled = [r for r in records if r["labelled_from"] < r["end"]]
    assert labelled and any(r["labelled_from"] > r["start"] for r in labelled) and all(r["success"] for r in labelled)
    table = annotations.load(out).sort_values(["episode_index", "start_frame"])
    expected = sorted((r["episode_index"], r["labelled_from"], r["end"]) for r in labelled)
    assert list(zip(table.episode_index, table.start_frame, table.end_frame, strict=True)) == expected


def test_the_takeover_summary_counts_each_part_and_gives_the_policy_no_success_rate():
    from robolang.dagger import summary

    records = [
        {"behaviour": "lift", "expert_steps": 0, "success": True, "stop": "success", "labelled_from": 30},
        {"behaviour": "lift", "expert_steps": 12, "success": True, "stop": "success", "labelled_from": 8},
        {"behaviour": "lift", "expert_steps": 40, "success": False, "stop": "timeout", "labelled_from": 90},
        {"behaviour": "lift", "expert_steps": 0, "success": False, "stop": "episode_end", "labelled_from": 99},
    ]
    table = summary(records).splitlines()
    assert table[1].split() == ["lift", "3", "1", "2", "1"] and table[-1].split() == ["all", "3", "1", "2", "1"]
    assert "%" not in summary(records)
    plain = [{**r, "labelled_from": -1} for r in records]  # no takeover: the policy's own success rate
    assert "policy alone" in summary(plain)


def _angle(a, b) -> float:
    return float(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def test_preferred_spots_are_one_per_scene_nearest_what_they_prefer_and_do_the_task(robot):
    robot.reset(3)
    state = robot.scene_state()
    left = region_spot(state, None, "red_cube", "left")
    assert left is not None and np.array_equal(left[0], region_spot(state, None, "red_cube", "left")[0])
    assert in_region(left[0], "left", REGION_MARGIN_M)
    low, high = np.add(PLAY_LOW, footprint("red_cube")), np.subtract(PLAY_HIGH, footprint("red_cube"))
    middle = region_middle("left", low, high)
    drawn = [region_spot(state, np.random.default_rng(seed), "red_cube", "left") for seed in range(30)]
    drawn = [d[0] for d in drawn if d is not None]
    assert len({tuple(np.round(d, 3)) for d in drawn}) > 20  # random: a different spot almost every time
    assert np.linalg.norm(left[0] - middle) <= min(np.linalg.norm(d - middle) for d in drawn)
    green, red = pos(state, "green_cube")[:2], pos(state, "red_cube")[:2]
    for side, facing in ((None, red - green), ((1.0, 0.0), np.array([1.0, 0.0])), ((0.0, 1.0), np.array([0.0, 1.0]))):
        spot = beside_spot(state, None, "red_cube", "green_cube", side)
        assert spot is not None
        offset = spot[0] - green
        assert np.linalg.norm(offset) == pytest.approx(footprint("red_cube") + footprint("green_cube") + 0.025)
        turn = _angle(offset, facing)
        draws = [beside_spot(state, np.random.default_rng(k), "red_cube", "green_cube", side) for k in range(30)]
        assert turn <= min(_angle(d[0] - green, facing) for d in draws if d is not None) + np.deg2rad(5)
        assert side is None or turn <= np.deg2rad(30)  # on the side asked for
    agent = DaggerAgent(robot, seed=12, policy=None, beta=1.0, setup=True, spots="preferred",
                        tasks=["place_behind", "move_to_left_side", "put_down", "remove_from_plate"])  # fmt: skip
    _drive(robot, agent, 1200)
    done = [a for a in agent.history if a.stop != "episode_end"]
    assert len(done) >= 4 and sum(a.success for a in done) >= len(done) - 1
    with pytest.raises(ValueError, match="spots='anywhere'"):
        DaggerAgent(robot, seed=0, policy=None, beta=1.0, spots="anywhere")


def test_the_expert_with_preferred_spots_puts_an_object_down_at_the_same_place_whatever_its_seed(robot):
    def placed(seed: int, spots: str) -> np.ndarray:
        agent = DaggerAgent(robot, seed=seed, policy=None, beta=1.0, tasks=["move_to_left_side"], spots=spots)
        obs = robot.reset(3)
        for _ in range(400):
            robot.send_action(agent.act(obs))
            obs = robot.get_observation()
            done = [a for a in agent.history if a.stop != "episode_end"]
            if done:
                break
        attempt = done[0]
        assert attempt.success
        return pos(robot.scene_state(), attempt.target)[:2]

    preferred = [placed(seed, "preferred") for seed in (1, 2)]
    assert np.linalg.norm(preferred[0] - preferred[1]) < 0.015  # one spot (the grasp itself varies a little)
    randomly = [placed(seed, "random") for seed in (1, 2)]
    assert np.linalg.norm(randomly[0] - randomly[1]) > 0.03
