"""The export of labelled windows that points into the recording's own video (nothing re-encoded):
LeRobot loads it and decodes the right frames, robolang's readers read it, its statistics are the
exported data's, and each episode keeps the source (and annotator) of its label."""

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import synthetic
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from robolang.captioning import annotations
from robolang.captioning.export import export_log, export_windows
from robolang.dataset_tools import episode_frames, episode_table, load_info, verify
from robolang.features import CAMERA_NAMES, image_key
from robolang.recording.stats import QUANTILES, load_episode_meta, video_stats

FRAMES = 20


def row(episode, start, end, text, source="oracle", task="lift", args="red_cube", split="train", annotator=""):
    return {
        "episode_index": episode, "start_frame": start, "end_frame": end, "task_id": task, "args": args,
        "instruction": text, "source": source, "split": split, "captioner_version": "test-1", "annotator": annotator,
    }  # fmt: skip


ROWS = [  # overlapping windows, both episodes, every kind of source, one frame long and whole episodes
    row(0, 0, FRAMES, "lift the red block"),
    row(0, 3, 11, "raise the red cube", source="vision"),
    row(0, 8, 9, "tap it", source="human", task="", args="", annotator="ana"),
    row(1, 5, 17, "open the drawer", source="expert", task="open_drawer", args=""),
    row(1, 0, FRAMES, "wave over the table", source="human", task="", args="", annotator="bo"),
    row(1, 2, 6, "held-out words", split="heldout_phrasing"),
]
TRAIN = [r for r in ROWS if r["split"] == "train"]
ORDER = sorted(range(len(TRAIN)), key=lambda i: (TRAIN[i]["episode_index"], TRAIN[i]["start_frame"]))  # export order


@pytest.fixture(scope="module")
def play(tmp_path_factory):
    root = tmp_path_factory.mktemp("export") / "play"
    synthetic.record(synthetic.store(root), episodes=2, frames=FRAMES)
    annotations.save(root, annotations.rows_from(ROWS))
    return root


@pytest.fixture(scope="module")
def linked(play, tmp_path_factory):
    out = tmp_path_factory.mktemp("linked") / "labelled"
    assert export_windows(play, out) == len(TRAIN)
    return out


def windows():
    return [TRAIN[i] for i in ORDER]


def test_lerobot_decodes_every_exported_frame_as_the_recording_has_it(play, linked):
    ds, src = LeRobotDataset("robolang/play_labelled", root=linked), LeRobotDataset("test/play", root=play.resolve())
    assert ds.num_episodes == len(TRAIN) and len(ds) == sum(w["end_frame"] - w["start_frame"] for w in windows())
    for e, w in enumerate(windows()):
        first = int(ds.meta.episodes[e]["dataset_from_index"])
        for k in range(w["end_frame"] - w["start_frame"]):
            mine, theirs = ds[first + k], src[w["episode_index"] * FRAMES + w["start_frame"] + k]
            assert mine["task"] == w["instruction"] and int(mine["frame_index"]) == k
            for key in ("observation.state", "action", *map(image_key, CAMERA_NAMES)):
                assert (mine[key] == theirs[key]).all(), (e, k, key)
    assert "debug.intent" not in ds.features


def test_nothing_is_encoded_and_the_video_files_are_the_recordings(play, linked):
    info = load_info(linked)
    recorded = sorted(p.relative_to(play) for p in (play / "videos").rglob("*.mp4"))
    assert sorted(p.relative_to(linked) for p in (linked / "videos").rglob("*.mp4")) == recorded
    for rel in recorded:
        assert os.path.samefile(play / rel, linked / rel)  # a hard link of a read-only file
    assert info["features"][image_key("static")]["info"]["video.codec"]  # described as the files are


def test_robolangs_readers_read_the_export(play, linked):
    assert verify(linked).ok
    for e, w in enumerate(windows()):
        frames = episode_frames(linked, e, image_key("wrist"))
        recorded = episode_frames(play, w["episode_index"], image_key("wrist"))[w["start_frame"] : w["end_frame"]]
        np.testing.assert_array_equal(np.stack(frames), np.stack(recorded))
        table = episode_table(linked, e)
        assert table["frame_index"].tolist() == list(range(w["end_frame"] - w["start_frame"]))


def test_each_episode_keeps_the_source_and_annotator_of_its_label(linked):
    log = export_log(linked)
    assert [r["episode_index"] for r in log] == list(range(len(TRAIN)))
    assert [(r["annotation_source"], r["annotator"], r["instruction"]) for r in log] == [
        (w["source"], w["annotator"], w["instruction"]) for w in windows()
    ]
    assert [(r["source_episode"], r["start_frame"], r["end_frame"]) for r in log] == [
        (w["episode_index"], w["start_frame"], w["end_frame"]) for w in windows()
    ]


def test_statistics_are_those_of_the_exported_frames(play, linked):
    episodes = pa.concat_tables(pq.read_table(p) for p in sorted((linked / "meta" / "episodes").rglob("*.parquet")))

    def stored(e, name):
        return np.asarray(episodes.column(f"stats/{image_key('static')}/{name}")[e].as_py(), np.float64).ravel()

    for e, w in enumerate(windows()):
        recorded = np.stack(episode_frames(play, w["episode_index"], image_key("static")))
        pixels = recorded[w["start_frame"] : w["end_frame"]].reshape(-1, 3).astype(np.float64)
        stats = {name: stored(e, name) for name in ("mean", "std", "min", "max", *QUANTILES)}
        np.testing.assert_allclose(stats["mean"], pixels.mean(0) / 255, rtol=1e-12)
        np.testing.assert_allclose(stats["std"], pixels.std(0) / 255, rtol=1e-9)
        np.testing.assert_array_equal(stats["min"], pixels.min(0) / 255)
        np.testing.assert_array_equal(stats["max"], pixels.max(0) / 255)
        for name, q in QUANTILES.items():  # exact: the smallest value with at least q of the pixels at or below it
            np.testing.assert_array_equal(stats[name], np.quantile(pixels, q, axis=0, method="inverted_cdf") / 255)
    data = LeRobotDataset("robolang/play_labelled", root=linked).hf_dataset.with_format("numpy")
    overall = json.loads((linked / "meta" / "stats.json").read_text())
    np.testing.assert_allclose(overall["action"]["mean"], np.stack(data["action"]).mean(0), rtol=1e-5)
    np.testing.assert_allclose(overall["action"]["std"], np.stack(data["action"]).std(0), rtol=1e-4)
    # video_stats reads the export's overlapping spans as its own per-episode statistics
    measured = video_stats(linked, load_info(linked), image_key("static"))
    for e in range(len(TRAIN)):
        np.testing.assert_allclose(measured[e]["std"].ravel(), stored(e, "std"), rtol=1e-12)


def test_a_writable_video_file_is_copied_not_linked(tmp_path):
    root, out = tmp_path / "play", tmp_path / "labelled"
    synthetic.record(synthetic.store(root), episodes=1, frames=12)
    annotations.save(root, annotations.rows_from([row(0, 2, 9, "lift the red block")]))
    source = next((root / "videos" / image_key("static")).rglob("*.mp4"))
    source.chmod(0o644)  # a file its writer may still change: the export must not share it
    export_windows(root, out, workers=1)
    exported = out / source.relative_to(root)
    assert exported.read_bytes() == source.read_bytes() and not os.path.samefile(source, exported)
    assert len(LeRobotDataset("robolang/play_labelled", root=out)) == 7


def test_the_re_encoding_way_remains(play, tmp_path):
    out = tmp_path / "encoded"
    assert export_windows(play, out, video="encode", max_windows=2) == 2
    ds = LeRobotDataset("robolang/play_labelled", root=out)
    assert ds.num_episodes == 2 and ds[0]["task"] == windows()[0]["instruction"]
    assert [r["annotation_source"] for r in export_log(out)] == [w["source"] for w in windows()[:2]]
    assert len(load_episode_meta(out)) == 2


def test_an_unknown_video_way_is_refused(play, tmp_path):
    with pytest.raises(ValueError, match="video='copy': choose one of link, encode"):
        export_windows(play, tmp_path / "x", video="copy")
    assert not (tmp_path / "x").exists()
