"""Frames as a recording holds them: the recorder's video codec round trip, `estimator recode` and
`estimator eval recorded=true`."""

import json

import numpy as np
import pytest
from test_estimator import _model, render_cfg, rendered  # noqa: F401 (module fixtures: frames rendered once)

from robolang import cli
from robolang.perception.checkpoint import save_estimator
from robolang.perception.codec import VideoCodec, round_trip
from robolang.perception.frames import load_frames


def test_the_round_trip_keeps_the_frames_shape_and_loses_a_small_objects_colour():
    frames = np.full((6, 64, 64, 3), 128, np.uint8)  # a grey table ...
    frames[:, 31:35, 31:35] = [220, 20, 20]  # ... and a 4-pixel red cube, across the 2 x 2 chroma blocks
    out = round_trip(frames)
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert np.abs(out[:, :20, :20].astype(int) - 128).max() <= 3  # flat areas survive
    red = out[:, 31:35, 31:35].reshape(-1, 3).astype(int)
    assert (red[:, 0] - red[:, 1]).mean() < 0.7 * 200  # 4:2:0 chroma at half size: the red bleeds away (108)


def test_frames_the_codec_would_crash_on_are_refused_before_it_runs():
    with pytest.raises(ValueError, match="28 px"):
        round_trip(np.zeros((2, 16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        round_trip(np.zeros((2, 32, 32, 3), np.float32))
    assert round_trip(np.zeros((0, 32, 32, 3), np.uint8)).shape == (0, 32, 32, 3)


def test_recode_copies_the_labels_and_passes_every_camera_through_the_codec(rendered, tmp_path, capsys):  # noqa: F811
    source, out = rendered[0], tmp_path / "recoded"
    assert cli.main(["estimator", "recode", f"data={source}", f"out={out}"]) == 0
    a, b = load_frames(source), load_frames(out)
    assert np.array_equal(a.scene, b.scene) and np.array_equal(a.proprio, b.proprio)
    assert all(np.array_equal(a.surfaces[c], b.surfaces[c]) for c in a.images)  # surface labels kept as they were
    for camera in a.images:
        assert b.images[camera].shape == a.images[camera].shape
        assert not np.array_equal(b.images[camera], a.images[camera])  # lossy ...
        assert np.abs(b.images[camera].astype(int) - a.images[camera]).mean() < 20  # ... but the same pictures
    meta = json.loads((out / "estimator_data.json").read_text())
    assert meta["recorded_codec"]["vcodec"] == "libsvtav1" and meta["recorded_codec"]["pix_fmt"] == "yuv420p"
    assert VideoCodec().options() == {"g": "2", "crf": "30", "preset": "12"}  # LeRobot's encoder settings
    capsys.readouterr()
    (out / "shard_00001.npz").unlink()  # as if the run had been killed before writing shard 1
    assert cli.main(["estimator", "recode", f"data={source}", f"out={out}"]) == 0
    assert "1 shards now" in capsys.readouterr().out  # a rerun writes only what is missing
    assert np.array_equal(load_frames(out).images["static"], b.images["static"])  # and the same frames
    assert cli.main(["estimator", "recode", f"data={source}", f"out={out}", "codec.crf=40"]) == 2
    assert "another codec" in capsys.readouterr().err
    assert cli.main(["estimator", "recode", f"data={source}", f"out={source}"]) == 2
    assert "data folder itself" in capsys.readouterr().err
    assert cli.main(["estimator", "recode", f"data={source}", f"out={tmp_path / 'x'}", "codec.gop=0"]) == 2
    assert "codec.gop" in capsys.readouterr().err
    assert cli.main(["estimator", "recode", f"data={source}", f"out={tmp_path / 'y'}", "codec.vcodec=nosuch"]) == 2
    assert "no such encoder" in capsys.readouterr().err
    assert cli.main(["estimator", "recode", f"data={source}", f"out={tmp_path / 'z'}", "codec.crf=-1"]) == 2
    assert "codec.crf" in capsys.readouterr().err


def test_eval_recorded_measures_each_world_again_through_the_codec(rendered, tmp_path, capsys):  # noqa: F811
    frames = load_frames(rendered[0])
    save_estimator(tmp_path / "ckpt", _model(frames, channels=(8, 16), strides=(1, 2), hidden=32), step=1)
    args = ["estimator", "eval", f"checkpoint={tmp_path / 'ckpt'}", "frames=4", "draw.frames_per_reset=4",
            "worlds=[default]", "recorded=true", f"out={tmp_path / 'eval'}"]  # fmt: skip
    assert cli.main(args) == 0
    saved = json.loads((tmp_path / "eval" / "estimator_eval.json").read_text())
    assert set(saved["results"]) == {"default", "default+codec"}
    assert set(saved["verdict"]) == {"default"}  # the targets are judged on live frames
    assert "default+codec/both" in capsys.readouterr().out
    assert cli.main([*args[:-2], "recorded=maybe", f"out={tmp_path / 'eval2'}"]) == 2
    assert "recorded" in capsys.readouterr().err
