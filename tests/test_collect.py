"""Scripted collection end to end: in-process, resumed, parallel (processes and Ray), killed, interrupted."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from robolang import collect
from robolang.config import load_config
from robolang.dataset_tools import verify
from robolang.errors import RobolangError
from robolang.recording.features import BEHAVIOURS_FILE, INTENTS_FILE, SCENE_FILE
from robolang.recording.store import DatasetStoreError, read_records
from robolang.view import export_episode

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]
EPISODE_20 = ["episode_seconds=2"]  # 20 frames per episode


def cfg_for(out, hours_frames: int, *extra):
    hours = hours_frames / 10 / 3600
    return load_config("collect", [f"out={out}", f"hours={hours}", *EPISODE_20, *SMALL, *extra])


def load(out) -> LeRobotDataset:
    return LeRobotDataset("robolang/play", root=out)


def test_plan_splits_episodes_over_workers():
    cfg = load_config("collect", ["hours=1", "episode_seconds=300", "workers=5"])
    steps, total, per_worker = collect.plan(cfg)
    assert (steps, total, per_worker) == (3000, 12, [3, 3, 2, 2, 2])
    with pytest.raises(ValueError, match="workers"):
        collect.plan(load_config("collect", ["workers=0"]))


def test_single_worker_records_resumes_and_views(tmp_path):
    out = tmp_path / "play"
    stats = collect.run(cfg_for(out, 40, "workers=1"))
    assert stats.episodes == 2 and stats.frames == 40
    ds = load(out)
    assert ds.num_episodes == 2 and ds[0]["task"] == "play"
    assert "scene_state" in ds.features and "debug.intent" in ds.features
    assert (out / "meta" / INTENTS_FILE).exists()
    first_ep0 = ds[0]["scene_state"].numpy()
    # A frame's observation is from before its action, its scene state from after it: the
    # proprioception of frame t + 1 is the scene state of frame t (policy/data.py: scene_seen_at).
    names = ds.meta.features["scene_state"]["names"]
    ee = [names.index(f"ee.{k}") for k in "xyz"]
    scene = np.stack([ds[t]["scene_state"].numpy() for t in range(20)])
    state = np.stack([ds[t]["observation.state"].numpy() for t in range(20)])
    np.testing.assert_allclose(state[1:, :3], scene[:-1, ee], atol=1e-3)
    assert np.abs(state[1:, :3] - scene[1:, ee]).max() > 1e-3  # not the same frame's state

    with pytest.raises(DatasetStoreError, match="resume=true"):
        collect.run(cfg_for(out, 20, "workers=1"))
    collect.run(cfg_for(out, 20, "workers=1", "resume=true"))
    ds = load(out)
    assert ds.num_episodes == 3
    assert not np.array_equal(ds[40]["scene_state"].numpy(), first_ep0)  # a new seed, not a repeat
    assert verify(out).ok
    assert {o["colour"] for o in __import__("json").loads((out / "meta" / SCENE_FILE).read_text())["objects"]} >= {
        "red",
        "blue",
    }
    behaviours = read_records(out / "meta" / BEHAVIOURS_FILE)
    assert all({"episode_index", "behaviour", "success", "start_step", "end_step"} <= r.keys() for r in behaviours)
    assert {r["episode_index"] for r in behaviours} <= {0, 1, 2}
    video = export_episode(out, 2, tmp_path / "ep2.mp4", upscale=2)
    assert video.stat().st_size > 0


# The Ray variant (24 s) runs with -m slow: both go through the same merge, Ray only starts the workers.
@pytest.mark.parametrize("runner", ["processes", pytest.param("ray", marks=pytest.mark.slow)])
def test_two_workers_merge_into_one_dataset(tmp_path, runner):
    out = tmp_path / "play"
    extra = ["workers=2"] + (["ray_address=local"] if runner == "ray" else [])
    stats = collect.run(cfg_for(out, 80, *extra))
    assert stats.episodes == 4
    ds = load(out)
    assert ds.num_episodes == 4 and len(ds) == 80
    starts = [ds[i * 20]["scene_state"].numpy() for i in range(4)]
    assert len({s.tobytes() for s in starts}) == 4  # distinct worker/episode seeds
    assert (out / "meta" / INTENTS_FILE).exists()
    assert {r["episode_index"] for r in read_records(out / "meta" / BEHAVIOURS_FILE)} <= {0, 1, 2, 3}
    assert not (tmp_path / ".play.workers").exists()
    assert verify(out, decode_videos=False).ok
    if runner == "ray":
        import ray

        ray.shutdown()


def _start(out: Path, *extra) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "robolang.cli",
        "collect",
        f"out={out}",
        "hours=1",
        "workers=1",
        *EPISODE_20,
        *SMALL,
        *extra,
    ]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_episodes(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and load(out).num_episodes >= n:  # read-only: never recover() under a live writer
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    raise AssertionError(f"no {n} episodes in {out} after {timeout} s")


def test_sigkill_of_a_real_collect_loses_at_most_the_episode_in_progress(tmp_path):
    out = tmp_path / "play"
    rng = np.random.default_rng(3)
    seen = 0
    for attempt in range(3):
        proc = _start(out, *(["resume=true"] if attempt else []))
        _wait_for_episodes(out, seen + 1, proc)
        time.sleep(float(rng.uniform(0.0, 2.0)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ds = load(out)
        assert ds.num_episodes >= seen + 1
        seen = ds.num_episodes
        assert verify(out, decode_videos=False).ok
    assert verify(out).ok


def test_ctrl_c_saves_the_episode_in_progress_and_exits_cleanly(tmp_path):
    out = tmp_path / "play"
    # A long episode (36,000 frames, minutes even on a fast machine): the interrupt lands mid-episode.
    # 60 s (600 frames) was recorded whole within 3 s on CI's faster cores.
    proc = _start(out, "episode_seconds=3600")
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".play.versions/v*/meta")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3.0)  # some frames into the first episode
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    ds = load(out)
    assert ds.num_episodes == 1 and 10 <= len(ds) < 36_000
    assert verify(out).ok


def test_unwritable_output_is_reported_before_recording(tmp_path, capsys):
    from robolang import cli

    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["collect", f"out={blocker / 'play'}", *SMALL]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["file"]


# ---- bad input: one clear line (key, value, what is allowed), no traceback, nothing created ----


@pytest.mark.parametrize(
    "override, expected",
    [
        ("hours=abc", "hours='abc' is not allowed: hours must be a number"),
        ("hours=0", "hours must be a number > 0"),
        ("episode_seconds=0.5", "episode_seconds=0.5 is not allowed"),
        ("workers=0", "workers must be an integer >= 1"),
        ("workers=1.5", "workers must be an integer"),
        ("resume=maybe", "resume must be true or false"),
    ],
)
def test_bad_values_are_refused_before_anything_is_created(tmp_path, capsys, override, expected):
    from robolang import cli

    assert cli.main(["collect", f"out={tmp_path / 'play'}", override]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_out_that_is_a_file_or_a_foreign_folder_is_refused_untouched(tmp_path, capsys):
    from robolang import cli

    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    assert cli.main(["collect", f"out={blocker}", *SMALL]) == 2
    assert "is a file" in capsys.readouterr().err
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "a.jpg").write_text("x")
    assert cli.main(["collect", f"out={foreign}", *SMALL]) == 2
    assert "holds no LeRobotDataset" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "photos"] and blocker.read_text() == "x"
    assert os.listdir(foreign) == ["a.jpg"]


def test_an_empty_existing_folder_is_simply_used(tmp_path):
    out = tmp_path / "play"
    out.mkdir()
    stats = collect.run(cfg_for(out, 20, "workers=1"))
    assert stats.episodes == 1 and load(out).num_episodes == 1


def test_a_damaged_info_json_is_named(tmp_path, capsys):
    from robolang import cli

    out = tmp_path / "play"
    (out / "meta").mkdir(parents=True)
    (out / "meta" / "info.json").write_text("{not json")
    assert cli.main(["collect", f"out={out}", "resume=true", *SMALL]) == 2
    err = capsys.readouterr().err
    assert str(out / "meta" / "info.json") in err and "not valid JSON" in err and "Traceback" not in err
    assert str(out / "meta" / "info.json") in str(verify(out))


def test_collect_refuses_a_robot_that_is_not_a_simulator(tmp_path, monkeypatch):
    from robolang.recording import worker

    monkeypatch.setattr(worker, "is_simulator", lambda robot: False)
    with pytest.raises(DatasetStoreError, match="not a simulator"):
        collect.run(cfg_for(tmp_path / "play", 20, "workers=1"))
    assert issubclass(DatasetStoreError, RobolangError) and issubclass(DatasetStoreError, RuntimeError)
