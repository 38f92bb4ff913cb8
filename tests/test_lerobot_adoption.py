"""Datasets LeRobot writes, made right: image statistics without uint8 overflow, and what
adopting a ``lerobot-record`` dataset changes (commanded actions clipped, statistics recomputed)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq
import pytest
from helpers import synthetic
from lerobot.datasets.compute_stats import RunningQuantileStats
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.processor import make_default_processors
from lerobot.scripts.lerobot_record import record_loop
from lerobot.teleoperators import Teleoperator, TeleoperatorConfig

from robolang.captioning import annotations
from robolang.captioning.export import export_windows
from robolang.dataset_tools import episode_frames
from robolang.features import ACTION_NAMES, CAMERA_NAMES, CONTROL_FPS, image_key
from robolang.policy.act_baseline import train_act
from robolang.recording.adoption import repair_image_stats
from robolang.recording.features import dataset_features
from robolang.recording.recorder import make_frame
from robolang.recording.stats import fix_lerobot_image_stats, overflowed_image_keys
from robolang.recording.store import EpisodeStore
from sim.robot import PlayTableRobot, PlayTableRobotConfig

STATIC = image_key(CAMERA_NAMES[0])


def lerobot_0_4_4_update():
    """``RunningQuantileStats.update`` as LeRobot 0.4.4 ships it (before robolang's fix)."""
    return getattr(RunningQuantileStats.update, "__wrapped__", RunningQuantileStats.update)


@pytest.fixture
def unfixed_lerobot(monkeypatch):
    """LeRobot writing image statistics as 0.4.4 does, for this test only."""
    fix_lerobot_image_stats()  # so that the original is known, then put it back for the test
    monkeypatch.setattr(RunningQuantileStats, "update", lerobot_0_4_4_update())
    monkeypatch.setattr("robolang.recording.stats.fix_lerobot_image_stats", lambda: None)


def stats_of(root) -> dict:
    return json.loads((root / "meta" / "stats.json").read_text())


def pixel_std(images: list[np.ndarray]) -> np.ndarray:
    """(3,) per-channel std of uint8 (H, W, 3) images, in [0, 1] units."""
    return np.concatenate([im.reshape(-1, 3) for im in images]).astype(np.float64).std(axis=0) / 255.0


def recorded_images(episodes: int, frames: int, camera: str) -> list[np.ndarray]:
    """The frames ``synthetic.record`` writes (same seed, same draws)."""
    rng = np.random.default_rng(0)
    return [synthetic.frame(rng, e)[image_key(camera)] for e in range(episodes) for _ in range(frames)]


def test_lerobot_0_4_4_squares_uint8_pixels_and_the_fix_does_not():
    pixels = np.random.default_rng(0).integers(0, 256, (4096, 3), dtype=np.uint8)
    truth = pixels.astype(np.float64).std(axis=0)
    broken = RunningQuantileStats()
    lerobot_0_4_4_update()(broken, pixels)
    fix_lerobot_image_stats()
    fix_lerobot_image_stats()  # idempotent
    fixed = RunningQuantileStats()
    fixed.update(pixels)
    assert broken.get_statistics()["std"].max() < 0.2 * truth.min()  # the bug, as LeRobot 0.4.4 has it
    np.testing.assert_allclose(fixed.get_statistics()["std"], truth, rtol=1e-9)

    def as_image_stats(stats):
        return {"img": {k: v / 255.0 for k, v in stats.get_statistics().items() if k != "count"}}

    assert overflowed_image_keys(as_image_stats(broken), ["img"]) == ["img"]
    assert overflowed_image_keys(as_image_stats(fixed), ["img"]) == []


def test_recorded_and_exported_image_stats_are_the_pixels(tmp_path):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), episodes=2, frames=12)
    for cam in CAMERA_NAMES:  # the recorder measures the frames it is given, before encoding
        std = np.asarray(stats_of(root)[image_key(cam)]["std"]).ravel()
        np.testing.assert_allclose(std, pixel_std(recorded_images(2, 12, cam)), rtol=1e-6)
    rows = [
        {"episode_index": e, "start_frame": 0, "end_frame": 12, "task_id": "lift", "args": "red_cube",
         "instruction": "lift the red block", "source": "oracle", "split": "train", "captioner_version": "test-1"}
        for e in range(2)
    ]  # fmt: skip
    annotations.save(root, annotations.rows_from(rows))
    export_windows(root, tmp_path / "labelled")
    exported = stats_of(tmp_path / "labelled")
    for cam in CAMERA_NAMES:  # the export measures the frames it decodes from the recording
        decoded = [f for e in range(2) for f in episode_frames(root, e, image_key(cam))]
        std = np.asarray(exported[image_key(cam)]["std"]).ravel()
        np.testing.assert_allclose(std, pixel_std(decoded), rtol=1e-6)
    assert overflowed_image_keys(exported, [image_key(c) for c in CAMERA_NAMES]) == []


OVERSHOOT = dict(zip(ACTION_NAMES, (-1.3, 0.2, 0.0, 0.0, 1.005), strict=True))


@dataclass
class GripperOvershootConfig(TeleoperatorConfig):
    pass


class GripperOvershoot(Teleoperator):
    """A teleoperator commanding a gripper of 1.005 and dx -1.3 (``record_loop`` skips, without
    advancing its clock, anything that is not a ``Teleoperator``)."""

    config_class = GripperOvershootConfig
    name = "gripper_overshoot"
    action_features = dict.fromkeys(ACTION_NAMES, float)
    feedback_features: dict = {}
    is_connected = is_calibrated = True

    def connect(self, calibrate: bool = True) -> None: ...

    def calibrate(self) -> None: ...

    def configure(self) -> None: ...

    def send_feedback(self, feedback: dict) -> None: ...

    def disconnect(self) -> None: ...

    def get_action(self) -> dict[str, float]:
        return dict(OVERSHOOT)


@pytest.fixture
def robot(tmp_path):
    r = PlayTableRobot(
        PlayTableRobotConfig(
            id="adopt", calibration_dir=tmp_path / "cal", static_width=32, static_height=32, wrist_width=32,
            wrist_height=32,
        )
    )  # fmt: skip
    r.connect()
    yield r
    r.disconnect()


def test_adopting_a_lerobot_record_dataset_clips_commands_and_fixes_image_stats(tmp_path, robot, unfixed_lerobot):
    root = tmp_path / "recorded"
    shapes = {cam: robot.camera_shape(cam) for cam in CAMERA_NAMES}
    features = dataset_features(shapes)  # what lerobot-record derives from the robot (conformance suite)
    dataset = LeRobotDataset.create(
        "test/recorded", CONTROL_FPS, features, root=root, robot_type=robot.name, use_videos=True,
        streaming_encoding=True,
    )  # fmt: skip
    events = {"exit_early": False, "rerecord_episode": False, "stop_recording": False}
    teleop = GripperOvershoot(GripperOvershootConfig(id="overshoot", calibration_dir=tmp_path / "tcal"))
    # LeRobot's own loop, as lerobot-record runs it: it stores what the teleoperator commanded.
    record_loop(robot, events, CONTROL_FPS, *make_default_processors(), dataset=dataset, teleop=teleop,
                control_time_s=1.2, single_task="play")  # fmt: skip
    dataset.save_episode()
    dataset.finalize()
    recorded = LeRobotDataset("test/recorded", root=root)
    actions = np.stack([recorded[i]["action"].numpy() for i in range(len(recorded))])
    assert actions[:, 4].max() == pytest.approx(1.005) and actions[:, 0].min() == pytest.approx(-1.3)  # the command
    assert overflowed_image_keys(stats_of(root), [image_key(c) for c in CAMERA_NAMES])  # LeRobot 0.4.4's numbers

    store = EpisodeStore(root, "test/recorded", CONTROL_FPS, features, robot.name, resume=True)  # adopts it
    try:
        assert root.is_symlink() and store.episodes_saved == 1
        adopted = LeRobotDataset("test/recorded", root=root.resolve())
        actions = np.stack([adopted[i]["action"].numpy() for i in range(len(adopted))])
        np.testing.assert_array_equal(actions, np.clip(actions, -1, 1))
        assert actions[:, 4].max() == 1.0 and actions[:, 0].min() == -1.0
        stats = stats_of(root)
        assert max(stats["action"]["max"]) == 1.0 and min(stats["action"]["min"]) == -1.0
        assert overflowed_image_keys(stats, [image_key(c) for c in CAMERA_NAMES]) == []
        episode_meta = pq.read_table(root / "meta" / "episodes" / "chunk-000" / "file-000.parquet").to_pydict()
        assert np.asarray(episode_meta[f"stats/{STATIC}/std"][0]).min() > 0.05
        assert np.asarray(episode_meta["stats/action/max"][0]).max() == 1.0
        # robolang goes on recording into it (applied actions from here on).
        store.begin_episode()
        obs = robot.get_observation()
        for _ in range(10):
            applied = robot.send_action(dict(OVERSHOOT))
            store.add_frame(make_frame(obs, applied, task="play"))
            obs = robot.get_observation()
        store.end_episode()
        assert store.episodes_saved == 2
    finally:
        store.close()
    assert len(LeRobotDataset("test/recorded", root=root.resolve())) == len(adopted) + 10


def test_older_datasets_are_repaired_and_act_refuses_them_until_then(tmp_path, unfixed_lerobot, monkeypatch):
    root = tmp_path / "play"
    synthetic.record(synthetic.store(root), episodes=2, frames=12)  # recorded before the fix
    keys = [image_key(c) for c in CAMERA_NAMES]
    assert overflowed_image_keys(stats_of(root), keys) == keys
    with pytest.raises(ValueError, match="overflowed.*python -m robolang.recording.adoption"):
        train_act(root, tmp_path / "act", steps=1)
    monkeypatch.undo()  # LeRobot as robolang runs it
    before = root.resolve()
    assert sorted(repair_image_stats(root)) == sorted(keys)
    assert root.resolve() != before and not before.exists()  # a new snapshot, swapped in
    for cam in CAMERA_NAMES:
        std = np.asarray(stats_of(root)[image_key(cam)]["std"]).ravel()
        decoded = [f for e in range(2) for f in episode_frames(root, e, image_key(cam))]
        np.testing.assert_allclose(std, pixel_std(decoded), rtol=1e-6)
    assert repair_image_stats(root) == []
    assert len(LeRobotDataset("test/play", root=root.resolve())) == 24
