"""`robolang deploy` on the simulated arm: the same loop, safety layer and recorder as a real one."""

import json

import numpy as np
import pandas as pd
import pytest
from test_train_cmd import labelled, train  # noqa: F401 (fixture)

from robolang import cli
from robolang.dataset_tools import count_frames, load_episodes
from robolang.robot import RobotFault

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]


@pytest.fixture(scope="module")
def checkpoint(labelled, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("deploy") / "run"
    assert train(labelled, out, "train.steps=1", "policy.d_model=32", "policy.n_layers=1", "policy.n_heads=2") == 0
    return out


def deploy(checkpoint, out, *extra):
    # A watchdog that never trips on a loaded test machine: these tests are about the recording
    # (tests/test_deploy_loop.py holds the watchdog to its budgets under a fake clock).
    relaxed = ["watchdog.inference_budget_s=5", "watchdog.max_data_age_s=5"]
    return cli.main(["deploy", f"checkpoint={checkpoint}", f"out={out}", "instruction=open the drawer",
                     "time_limit_s=0.5", "stop_key=false", *SMALL, *relaxed, *extra])  # fmt: skip


def log(out):
    return [json.loads(line) for line in (out / "deployments.jsonl").read_text().splitlines()]


def test_a_deployment_is_recorded_as_an_episode_with_its_instruction(checkpoint, tmp_path, capsys):
    out = tmp_path / "dep"
    assert deploy(checkpoint, out, "world=heldout") == 0
    printed = capsys.readouterr().out
    assert "'open the drawer': 5 steps, ended by time limit; episode 0" in printed and "period p50" in printed
    episodes = load_episodes(out / "dataset")
    assert len(episodes) == 1 and int(episodes.iloc[0]["length"]) == 5, log(out)
    tasks = pd.read_parquet(out / "dataset" / "meta" / "tasks.parquet")
    assert list(tasks.index) == ["open the drawer"]
    (entry,) = log(out)
    assert entry["steps"] == 5 and entry["episode"] == 0 and not entry["dry_run"] and entry["overruns"] >= 0
    assert count_frames(entry["video"], 0, 10) == 5
    frames = pd.read_parquet(next((out / "dataset" / "data").rglob("*.parquet")))
    assert "scene_state" in frames and np.abs(np.stack(frames["action"])).max() <= 1.0  # judgeable, and bounded
    assert deploy(checkpoint, out, "instructions=[turn on the lamp]", "instruction=null") == 0  # the same dataset
    assert len(load_episodes(out / "dataset")) == 2


def test_a_dry_run_sends_and_records_nothing_but_draws_the_actions(checkpoint, tmp_path, capsys):
    out = tmp_path / "dry"
    assert deploy(checkpoint, out, "dry_run=true") == 0
    assert "not recorded (dry run)" in capsys.readouterr().out
    assert not (out / "dataset").exists()
    (entry,) = log(out)
    assert entry["dry_run"] and count_frames(entry["video"], 0, 10) == 5


@pytest.mark.parametrize(
    "extra, message",
    [
        (["rate_hz=0"], "rate_hz must be a positive"),
        (["watchdog.max_trips=0"], "max_trips"),
        (["instruction=?!"], "instruction"),
        (["instruction=null"], "say what the robot should do"),
        (["safety.max_step_m=-1"], "max_step_m"),
        (["robot.config.wrist_width=64", "match_cameras=false"], "does not fit the robot"),
    ],
)
def test_bad_settings_are_refused_and_nothing_moves(checkpoint, tmp_path, capsys, extra, message):
    out = tmp_path / "bad"
    assert deploy(checkpoint, out, *extra) == 2
    assert message in capsys.readouterr().err
    assert not (out / "dataset").exists()


def test_a_lost_connection_stops_the_run_and_keeps_the_episode_so_far(checkpoint, tmp_path, capsys, monkeypatch):
    from sim.scene import PlayTableScene

    original, calls = PlayTableScene.proprioception, {"n": 0}

    def flaky(self):  # the sim's "bus": it answers 12 times, then the link is gone
        calls["n"] += 1
        if calls["n"] > 12:
            raise RobotFault("lost the connection to the arm's controller")
        return original(self)

    monkeypatch.setattr(PlayTableScene, "proprioception", flaky)
    out = tmp_path / "lost"
    assert deploy(checkpoint, out, "time_limit_s=5") == 2
    assert "lost the connection" in capsys.readouterr().err
    (entry,) = log(out)
    assert entry["ended"] == "robot fault" and entry["episode"] == 0
    assert int(load_episodes(out / "dataset").iloc[0]["length"]) == entry["steps"] > 0


def test_a_short_soak_holds_the_rate(checkpoint, tmp_path):
    """100 steps at 10 Hz (10 s): every step recorded, every period measured. (The 60-minute soak
    and its p99 period and memory growth: `robolang bench deploy`.)"""
    out = tmp_path / "soak"
    assert deploy(checkpoint, out, "time_limit_s=10") == 0
    (entry,) = log(out)
    assert entry["steps"] == 100 and entry["watchdog_trips"] == {"stale data": 0, "inference overrun": 0,
                                                                   "non-finite action": 0}  # fmt: skip
    assert int(load_episodes(out / "dataset").iloc[0]["length"]) == 100
    assert entry["period_p50_s"] == pytest.approx(0.1, abs=0.03)
