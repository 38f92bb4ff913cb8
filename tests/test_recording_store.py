"""The crash-safe dataset store: resume, discard, full disk, unwritable targets, merging, SIGKILL."""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import synthetic
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from robolang.dataset_tools import verify
from robolang.recording.merge import merge_into
from robolang.recording.store import COMPLETE_MARK, DatasetStoreError, read_records, recover, versions_dir


def load(root) -> LeRobotDataset:
    return LeRobotDataset("test/play", root=root)


def test_episodes_accumulate_across_resumes_and_load(tmp_path):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), episodes=2, frames=12)
    synthetic.record(synthetic.store(root, resume=True), episodes=1, frames=7, seed=1)
    ds = load(root)
    assert ds.num_episodes == 3 and len(ds) == 31
    assert ds[0]["task"] == "play" and ds[0]["observation.images.static"].shape == (3, 32, 32)
    assert int(ds[30]["debug.intent"]) == 0  # third episode, first of its run
    assert verify(root).ok
    assert root.is_symlink() and len(list(versions_dir(root).glob("v*"))) == 1  # old snapshots removed


def test_existing_dataset_needs_resume(tmp_path):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), 1, 5)
    with pytest.raises(DatasetStoreError, match="resume"):
        synthetic.store(root)


def test_resume_refuses_different_features(tmp_path):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), 1, 5)
    other = dict(synthetic.FEATURES)
    other["action"] = {"dtype": "float32", "shape": (7,), "names": None}
    with pytest.raises(DatasetStoreError, match="differ"):
        from robolang.recording.store import EpisodeStore

        EpisodeStore(root, "test/play", 10, other, resume=True)


def test_discarded_episode_leaves_dataset_unchanged(tmp_path):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), 1, 6)
    st = synthetic.store(root, resume=True)
    st.begin_episode()
    st.add_frame(synthetic.frame(np.random.default_rng(0), 1))
    st.discard_episode()
    assert load(root).num_episodes == 1
    assert len(list(versions_dir(root).glob("v*"))) == 1


class _CtrlCMidFrame(dict):
    """A frame that sends Ctrl-C to this process while LeRobot is half-way through appending it."""

    def pop(self, key, *default):
        if key == "task":  # frame_index and timestamp are appended by now, task and the rest not yet
            os.kill(os.getpid(), signal.SIGINT)
        return super().pop(key, *default)


def test_ctrl_c_while_a_frame_is_added_adds_it_whole_then_interrupts(tmp_path):
    # Python's own Ctrl-C handler, whatever the shell gave: a background job of a shell without
    # job control starts with SIGINT ignored, and then no KeyboardInterrupt would come
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_mid_frame(tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_mid_frame(tmp_path):
    root = tmp_path / "play"
    rng = np.random.default_rng(0)
    st = synthetic.store(root)
    st.begin_episode()
    for _ in range(4):
        st.add_frame(synthetic.frame(rng, 0))
    with pytest.raises(KeyboardInterrupt):
        st.add_frame(_CtrlCMidFrame(synthetic.frame(rng, 0)))
    assert st.frames_in_episode == 5
    st.end_episode()  # columns of equal length: the episode saves
    assert len(load(root)) == 5 and verify(root).ok


def test_disk_full_while_saving_keeps_saved_episodes(tmp_path, monkeypatch):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), 2, 6)
    before = sorted(p.name for p in root.resolve().rglob("*"))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LeRobotDataset, "save_episode", full)
    st = synthetic.store(root, resume=True)
    st.begin_episode()
    st.add_frame(synthetic.frame(np.random.default_rng(0), 2))
    with pytest.raises(DatasetStoreError, match="No space left.*still holds the 2 episodes"):
        st.end_episode()
    monkeypatch.undo()
    assert sorted(p.name for p in root.resolve().rglob("*")) == before
    assert load(root).num_episodes == 2 and verify(root).ok


def test_low_disk_space_is_refused_before_recording(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(100, 99, 1))
    with pytest.raises(DatasetStoreError, match="MiB free"):
        synthetic.store(tmp_path / "play")


def test_unwritable_target_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatasetStoreError, match="cannot write"):
        synthetic.store(blocker / "play")


def test_plain_lerobot_dataset_is_adopted_on_resume(tmp_path):
    plain = tmp_path / "made_elsewhere"
    synthetic.record(synthetic.store(plain), 1, 5)
    real = plain.resolve()
    target = tmp_path / "plain"
    os.replace(real, target)  # a plain folder, as lerobot-record leaves it
    (target / COMPLETE_MARK).unlink()
    synthetic.record(synthetic.store(target, resume=True), 1, 4)
    assert load(target).num_episodes == 2 and target.is_symlink()


def test_recover_drops_incomplete_snapshots_and_dangling_links(tmp_path):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), 1, 5)
    good = root.resolve()
    (versions_dir(root) / "v000099").mkdir()  # a snapshot whose recording was killed
    assert recover(root) == good and not (versions_dir(root) / "v000099").exists()
    root.unlink()
    os.symlink("nowhere", root)  # dangling
    assert recover(root) == good


def test_merge_appends_worker_datasets(tmp_path):
    root, a, b = tmp_path / "play", tmp_path / "w0", tmp_path / "w1"
    st = synthetic.store(root)
    st.begin_episode()
    for _ in range(5):
        st.add_frame(synthetic.frame(np.random.default_rng(0), 0))
    st.end_episode({"robolang_log.jsonl": [{"what": "root"}]})
    st.close()
    synthetic.record(synthetic.store(a, sidecars={"robolang_x.json": "[1]"}), 2, 4, seed=1)
    st = synthetic.store(b)
    st.begin_episode()
    for _ in range(3):
        st.add_frame(synthetic.frame(np.random.default_rng(2), 0))
    st.end_episode({"robolang_log.jsonl": [{"what": "b0"}, {"what": "b0 again"}]})
    st.close()
    merge_into(root, "test/play", [a, b])
    rows = read_records(root / "meta" / "robolang_log.jsonl")
    assert [(r["episode_index"], r["what"]) for r in rows] == [(0, "root"), (3, "b0"), (3, "b0 again")]
    ds = load(root)
    assert ds.num_episodes == 4 and len(ds) == 5 + 8 + 3
    assert (root / "meta" / "robolang_x.json").read_text() == "[1]"
    assert verify(root).ok


def test_sigkill_at_random_moments_loses_at_most_the_episode_in_progress(tmp_path):
    """Kill a real recording process at random points, five times; each time the dataset
    loads, verifies, and keeps every episode the recorder had reported as saved."""
    root = tmp_path / "play"
    rng = np.random.default_rng(7)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    saved_total = 0
    for attempt in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "helpers.synthetic", str(root), str(attempt)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=Path(__file__).parent,
        )  # fmt: skip
        first = proc.stdout.readline()  # the recorder is up once it has saved one episode
        assert first.startswith("saved"), first
        time.sleep(float(rng.uniform(0.0, 1.5)))
        proc.send_signal(signal.SIGKILL)
        reported = 1 + sum(1 for line in proc.stdout if line.startswith("saved"))
        proc.wait()
        saved_total += reported
        ds = load(root)
        # Episodes reported saved are all there; at most one more (saved but killed before printing).
        assert saved_total <= ds.num_episodes <= saved_total + 1
        saved_total = ds.num_episodes
        assert verify(root, decode_videos=attempt == 4).ok


def test_second_writer_is_refused_while_the_first_records(tmp_path):
    root = tmp_path / "play"
    first = synthetic.store(root)
    first.begin_episode()
    with pytest.raises(DatasetStoreError, match="another process"):
        synthetic.store(root, resume=True)
    assert recover(root) is None  # a reader leaves the live recording alone
    assert any(versions_dir(root).glob("v*"))
    for _ in range(3):  # LeRobot's per-episode stats differ in schema for 1-frame episodes
        first.add_frame(synthetic.frame(np.random.default_rng(0), 0))
    first.end_episode()
    first.close()
    synthetic.record(synthetic.store(root, resume=True), 1, 3)
    assert load(root).num_episodes == 2


def test_a_merged_dataset_can_be_resumed_and_merged_again(tmp_path):
    """LeRobot's aggregation leaves meta/episodes file indices of its sources; merge_into repairs them."""
    from robolang.recording.merge import episode_files_consistent

    root = tmp_path / "play"
    for name in ("a", "b"):
        synthetic.record(synthetic.store(tmp_path / name), episodes=2, frames=10)  # 2 metadata files each
    merge_into(root, "test/play", [tmp_path / "a", tmp_path / "b"])
    assert episode_files_consistent(root.resolve())
    synthetic.record(synthetic.store(root, resume=True), episodes=1, frames=10, seed=1)
    synthetic.record(synthetic.store(tmp_path / "c"), episodes=1, frames=10, seed=2)
    merge_into(root, "test/play", [tmp_path / "c"])
    assert verify(root).ok and load(root).num_episodes == 6


def test_a_dataset_damaged_by_an_earlier_merge_is_repaired_when_merged(tmp_path):
    import pandas as pd

    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), episodes=1, frames=10)
    meta = next(root.resolve().glob("meta/episodes/chunk-*/file-*.parquet"))
    df = pd.read_parquet(meta)
    df["meta/episodes/file_index"] = 1  # what LeRobot 0.4.4's aggregation leaves behind
    df.to_parquet(meta, index=False)
    synthetic.record(synthetic.store(tmp_path / "b"), episodes=1, frames=10, seed=1)
    merge_into(root, "test/play", [tmp_path / "b"])
    assert verify(root).ok and load(root).num_episodes == 2
    assert not list(versions_dir(root).glob("repair*"))


def test_verify_reports_a_missing_video_without_a_network_error(tmp_path):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), episodes=1, frames=10)
    video = next(root.resolve().glob("videos/observation.images.wrist/*/*.mp4"))
    video.unlink()
    report = verify(root)
    assert not report.ok and any("is missing" in p and "wrist" in p for p in report.problems)
    assert "ConnectionError" not in str(report) and "LeRobotDataset cannot load" not in str(report)


def test_each_saved_episode_gives_the_writer_s_freed_memory_back(tmp_path, monkeypatch):
    from robolang.recording import store

    trims = []
    monkeypatch.setattr(store, "_malloc_trim", lambda: trims.append)
    synthetic.record(synthetic.store(tmp_path / "play"), episodes=3, frames=5)
    assert trims == [0, 0, 0]  # malloc_trim(0) once per saved episode
    monkeypatch.setattr(store, "_malloc_trim", lambda: None)  # not glibc: nothing to call, nothing fails
    synthetic.record(synthetic.store(tmp_path / "play", resume=True), episodes=1, frames=5)
    assert load(tmp_path / "play").num_episodes == 4
