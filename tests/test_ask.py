"""`robolang ask`: an instruction in, a video and a judged (or unjudged) outcome out."""

import pytest
from test_train_cmd import labelled, train  # noqa: F401 (fixture)

from robolang import cli
from robolang.dataset_tools import count_frames

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]
FAST = [*SMALL, "max_steps=4", "match_tasks=[open_drawer,close_drawer,turn_on_light,turn_off_light]", "gui=false"]


@pytest.fixture(scope="module")
def checkpoint(labelled, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("ask") / "run"
    assert train(labelled, out, "train.steps=1", "policy.d_model=32", "policy.n_layers=1", "policy.n_heads=2") == 0
    return out


def test_a_known_instruction_is_judged_and_filmed(checkpoint, tmp_path, capsys):
    video = tmp_path / "ask.mp4"
    assert cli.main(["ask", "open the drawer", "--checkpoint", str(checkpoint), f"out={video}", *FAST]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("'open the drawer'"))
    assert line.endswith(f"failure (task open_drawer), 4 steps (0.4 s); video: {video}")  # an untrained policy
    assert count_frames(video, 0, 10) == 4


def test_an_unknown_instruction_runs_unjudged(checkpoint, tmp_path, capsys):
    assert (
        cli.main(["ask", "make me a cup of tea", "--checkpoint", str(checkpoint), f"out={tmp_path / 'a.mp4'}", *FAST])
        == 0
    )
    assert "unjudged" in capsys.readouterr().out


def test_interactive_mode_takes_instructions_in_the_same_scene(checkpoint, tmp_path, monkeypatch, capsys):
    typed = iter(["turn on the lamp", "   ", "quit"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(typed))
    video = tmp_path / "i.mp4"
    args = ["ask", "open the drawer", "--interactive", "--checkpoint", str(checkpoint), f"out={video}", *FAST]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "open_drawer" in out and "turn_on_light" in out
    assert video.exists() and (tmp_path / "i_2.mp4").exists()


@pytest.mark.parametrize("bad", ["", "  ", "?!", "x" * 5000])
def test_unusable_instructions_are_refused_before_anything_runs(checkpoint, bad, tmp_path, capsys):
    assert cli.main(["ask", bad, "--checkpoint", str(checkpoint), f"out={tmp_path / 'x.mp4'}", *FAST]) == 2
    assert "robolang ask: error" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()


def test_simulated_cameras_follow_the_policy_unless_told_not_to(checkpoint, tmp_path, capsys):
    video = tmp_path / "m.mp4"
    args = [
        "ask",
        "open the drawer",
        "--checkpoint",
        str(checkpoint),
        *FAST,
        "robot.config.wrist_width=64",
        f"out={video}",
    ]
    assert cli.main(args) == 0  # rendered at the policy's 32x32 anyway
    assert video.exists()


def test_a_policy_that_does_not_fit_the_robot_is_refused(checkpoint, capsys):
    args = ["ask", "open the drawer", "--checkpoint", str(checkpoint), *FAST, "robot.config.wrist_width=64",
            "match_cameras=false"]  # fmt: skip
    assert cli.main(args) == 2
    assert "does not fit the robot" in capsys.readouterr().err


def test_a_missing_checkpoint_says_what_is_expected(tmp_path, capsys):
    assert cli.main(["ask", "open the drawer", "--checkpoint", str(tmp_path / "none"), *FAST]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_a_task_that_cannot_start_is_flagged_or_set_up(checkpoint, tmp_path, capsys):
    # seed 0 starts with the lamp on: "turn on the light" cannot start as the scene is
    base = ["ask", "turn on the light", "--checkpoint", str(checkpoint), "seed=0", *FAST]
    assert cli.main([*base, f"out={tmp_path / 'a.mp4'}"]) == 0
    out = capsys.readouterr().out
    assert "turn_on_light cannot start from this scene" in out and "prepare=true" in out
    assert cli.main([*base, f"out={tmp_path / 'b.mp4'}", "prepare=true"]) == 0
    out = capsys.readouterr().out
    assert "set up by the scripted agent so that turn_on_light can start" in out
    assert "cannot start" not in out


def test_a_task_that_can_start_gets_no_note(checkpoint, tmp_path, capsys):
    args = ["ask", "turn off the light", "--checkpoint", str(checkpoint), "seed=0", f"out={tmp_path / 'c.mp4'}"]
    assert cli.main([*args, *FAST]) == 0
    out = capsys.readouterr().out
    assert "turn_off_light" in out and "cannot start" not in out and "set up" not in out


def test_a_robot_without_scene_state_runs_the_policy_unjudged(checkpoint, tmp_path, capsys):
    """On a real arm (here the sim behind the bare contract) ask runs the policy and says it cannot judge."""
    video = tmp_path / "bare.mp4"
    args = ["ask", "open the drawer", "--checkpoint", str(checkpoint), f"out={video}", "robot._target_=helpers.bare_arm.BareArm", *FAST]  # fmt: skip
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "has no scene state" in out and "unjudged (this robot has no scene state" in out
    assert count_frames(video, 0, 10) == 4


def test_prepare_on_a_robot_without_scene_state_is_refused(checkpoint, tmp_path, capsys):
    args = ["ask", "close the drawer", "--checkpoint", str(checkpoint), f"out={tmp_path / 'p.mp4'}", "prepare=true", "robot._target_=helpers.bare_arm.BareArm", *FAST]  # fmt: skip
    assert cli.main(args) == 2
    assert "prepare=true needs a simulator" in capsys.readouterr().err
    assert not (tmp_path / "p.mp4").exists()


def test_the_bare_arm_is_not_a_simulator():
    from helpers.bare_arm import BareArm

    from robolang.robot import is_simulator
    from sim.robot import PlayTableRobot, PlayTableRobotConfig

    assert is_simulator(PlayTableRobot(PlayTableRobotConfig()))
    assert not is_simulator(BareArm(PlayTableRobotConfig()))


def test_ground_true_tells_the_policy_the_task_in_its_training_words(checkpoint, tmp_path, capsys):
    said = "could you pull the drawer open for me"
    args = ["ask", said, "--checkpoint", str(checkpoint), f"out={tmp_path / 'g.mp4'}", *FAST]  # ground=true: default
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert f"'{said}' (told the policy '" in out and "(task open_drawer)" in out
    told = out.split("(told the policy '")[1].split("')")[0]
    assert "drawer" in told and told != said
    assert cli.main(["ask", "make me a cup of tea", "--checkpoint", str(checkpoint), f"out={tmp_path / 'h.mp4'}",
                     *FAST]) == 0  # fmt: skip
    assert "told the policy" not in capsys.readouterr().out  # unjudged: the words as said
    assert cli.main([*args, "ground=false"]) == 0
    assert "told the policy" not in capsys.readouterr().out  # as said, on request


def test_a_bad_ground_value_is_refused_before_anything_runs(checkpoint, tmp_path, capsys):
    args = ["ask", "open the drawer", "--checkpoint", str(checkpoint), f"out={tmp_path / 'b.mp4'}", "ground=maybe"]
    assert cli.main([*args, *FAST]) == 2
    assert "ground=" in capsys.readouterr().err and not (tmp_path / "b.mp4").exists()
