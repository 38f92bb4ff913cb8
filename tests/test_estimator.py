"""The state estimator (robolang/perception): rendered frames, training, checkpoints, refusals, evaluation.

One simulated robot at 32 px renders a handful of frames once (module fixture); everything else
reuses them, so the file runs in well under a minute on one core.
"""

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from robolang import cli
from robolang.config import load_config
from robolang.features import STATE_NAMES
from robolang.perception import entry
from robolang.perception.checkpoint import CameraMismatchError, load_estimator, save_estimator
from robolang.perception.estimator import EstimatorConfig, StateEstimator
from robolang.perception.evaluate import evaluate, table
from robolang.perception.frames import (
    DATA_FILE,
    DrawPlan,
    capture,
    data_meta,
    load_frames,
    render_dataset,
    shard_path,
)
from robolang.perception.layout import EstimatorDataError, EstimatorLayout, EstimatorStats, object_shapes
from robolang.perception.pixels import heatmap_target, project
from robolang.perception.train import EstimatorTrainConfig, EstimatorTrainer, FrameBatches, photometric, update

SIZE = 32
FRAMES = 40
SHARD = 16
PLAN = DrawPlan(frames_per_reset=10, warmup_steps=10, min_steps=0, max_steps=15)


@pytest.fixture(scope="module")
def render_cfg():
    return load_config("estimator_render", [f"image_size={SIZE}", "world=randomized"])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, render_cfg):
    """A frames folder of FRAMES frames at 32 px in the randomized world, and the robot's description."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("est") / "frames"
    robot = entry.build_robot(render_cfg)
    robot.connect()
    try:
        labels = entry.pixel_labels(render_cfg)
        meta = data_meta(robot, OmegaConf.to_container(render_cfg.world), PLAN, 0, SHARD, pixel_labels=True,
                         surface_labels=True)  # fmt: skip
        agent = entry._agent_factory(render_cfg, robot)
        written = render_dataset(robot, agent, out, FRAMES, meta, labels=labels)
        with pytest.raises(EstimatorDataError, match="resume=true"):
            render_dataset(robot, agent, out, FRAMES, meta, labels=labels)
        shard_path(out, 1).unlink()  # as if the run had died before shard 1 was renamed into place
        rewritten = render_dataset(robot, agent, out, FRAMES, meta, resume=True, labels=labels)
    finally:
        robot.disconnect()
    return out, written, rewritten


def _model(frames, **settings) -> StateEstimator:
    meta = frames.meta
    config = EstimatorConfig(meta["cameras"], meta["scene_fields"], meta["state_names"],
                             object_shapes(meta["scene_description"]), **settings)  # fmt: skip
    layout = EstimatorLayout.from_fields(config.scene_fields, config.shapes)
    torch.manual_seed(0)
    return StateEstimator(config, EstimatorStats.from_arrays(layout, frames.scene, frames.proprio))


def test_render_writes_whole_labelled_shards_and_resume_adds_only_the_missing(rendered):
    out, written, rewritten = rendered
    assert written == 3 and rewritten == 1  # 16 + 16 + 8 frames; only the removed shard is drawn again
    assert not list(out.glob(".*tmp"))  # no temporary file left behind
    frames = load_frames(out)
    meta = json.loads((out / DATA_FILE).read_text())
    assert len(frames) == FRAMES and meta["world"] == "randomized" and meta["frames"] == FRAMES
    assert meta["cameras"] == {"static": [SIZE, SIZE, 3], "wrist": [SIZE, SIZE, 3]}
    assert frames.images["static"].shape == (FRAMES, SIZE, SIZE, 3) and frames.images["static"].dtype == np.uint8
    assert frames.proprio.shape == (FRAMES, len(STATE_NAMES))
    assert meta["pixel_labels"] and frames.matrices["wrist"].shape == (FRAMES, 4, 4)
    assert meta["surface_labels"] and frames.surfaces["static"].shape == (FRAMES, SIZE, SIZE)
    assert frames.surfaces["static"].dtype == np.uint8 and set(np.unique(frames.surfaces["static"])) == {0, 1, 2}
    fields = meta["scene_fields"]
    assert frames.scene.shape == (FRAMES, len(fields)) and "red_cube.x" in fields and "light.on" in fields
    # Varied: several sampled worlds (layouts), the arm moved between captures.
    assert len(np.unique(frames.scene[:, fields.index("red_cube.x")].round(3))) >= 4
    assert frames.proprio[:, 0].std() > 0.01
    # The proprioception and the scene state were read at the same instant (same end-effector position).
    ee = [fields.index(k) for k in ("ee.x", "ee.y", "ee.z")]
    np.testing.assert_allclose(frames.scene[:, ee], frames.proprio[:, :3], atol=1e-5)


def test_render_workers_draw_the_same_shards_as_one_process(tmp_path):
    args = ["estimator", "render", f"image_size={SIZE}", "frames=24", "shard_frames=8", "draw.warmup_steps=5",
            "draw.max_steps=5", "camera_labels=null"]  # fmt: skip
    assert cli.main([*args, f"out={tmp_path / 'one'}"]) == 0
    assert cli.main([*args, f"out={tmp_path / 'one'}", "workers=2"]) == 2  # frames there, no resume=true: refused
    for bad in ("workers=0", "workers=two"):
        assert cli.main([*args, f"out={tmp_path / 'bad'}", bad]) == 2
    assert not (tmp_path / "bad").exists()
    assert cli.main([*args, f"out={tmp_path / 'two' / 'frames'}", "workers=2"]) == 0
    one, two = load_frames(tmp_path / "one"), load_frames(tmp_path / "two" / "frames")
    assert len(two) == 24 and sorted(p.name for p in (tmp_path / "two" / "frames").glob("shard_*")) == [
        "shard_00000.npz", "shard_00001.npz", "shard_00002.npz"]  # fmt: skip
    np.testing.assert_array_equal(one.scene, two.scene)
    for cam in one.images:
        np.testing.assert_array_equal(one.images[cam], two.images[cam])


def test_layout_predicts_objects_fixtures_and_the_light_with_yaw_by_symmetry(rendered):
    frames = load_frames(rendered[0])
    layout = EstimatorLayout.from_fields(frames.meta["scene_fields"], object_shapes(frames.meta["scene_description"]))
    assert layout.objects == ("red_cube", "green_cube", "blue_bar", "yellow_cylinder", "plate")
    assert dict(zip(layout.objects, layout.yaw_multiple.tolist(), strict=True)) == {
        "red_cube": 4, "green_cube": 4, "blue_bar": 2, "yellow_cylinder": 0, "plate": 0,
    }  # fmt: skip
    assert layout.fixtures == ("drawer", "slider", "button") and layout.switches == ("light",)
    targets = layout.targets(frames.scene)
    assert targets["position"].shape == (FRAMES, 5, 3) and targets["switch"].shape == (FRAMES, 1)


def test_pixel_labels_land_on_the_objects_in_both_cameras(render_cfg):
    """In the stock world, each cube's and the bar's projected pixel shows that object's colour."""
    robot = entry.build_robot(render_cfg, entry.world_config("default"), {"static": (96, 96, 3), "wrist": (96, 96, 3)})
    robot.connect()
    try:
        robot.reset(3)
        frame = capture(robot, entry.pixel_labels(render_cfg))
    finally:
        robot.disconnect()
    layout = EstimatorLayout.from_fields(robot.scene_fields)
    points = layout.targets(frame["scene"][None])["position"]  # (1, O, 3)
    channel = {"red_cube": 0, "green_cube": 1, "blue_bar": 2}
    seen = 0
    for cam in ("static", "wrist"):
        uv, visible = project(frame["camera." + cam][None], points)
        image = frame[cam].astype(int)
        for name, c in channel.items():
            o = layout.objects.index(name)
            if not visible[0, o]:
                continue
            x, y = ((uv[0, o] + 1) / 2 * 95).round().astype(int)
            window = image[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].reshape(-1, 3)
            others = np.delete(window, c, axis=1).max(1)
            assert (window[:, c] > others + 40).any(), (cam, name, window)
            seen += 1
    assert seen >= 3  # every one in the static view at least


def test_heatmap_target_is_centred_on_the_label_between_cells():
    uv = torch.tensor([[[0.13, -0.42], [-0.71, 0.05]]])  # (1, 2, 2)
    target = heatmap_target(uv, 32, 32)  # (1, 2, 1024)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    centre = torch.stack([target @ xs.flatten(), target @ ys.flatten()], dim=-1)
    assert torch.allclose(centre, uv, atol=1e-3) and torch.allclose(target.sum(-1), torch.ones(1, 2))


def test_a_tiny_model_overfits_a_fixed_batch(rendered):
    frames = load_frames(rendered[0])
    model = _model(frames, channels=(8, 16), strides=(1, 2), hidden=32, wrist_dropout=0.0)
    batch = FrameBatches(frames, model.layout, np.arange(8)).batch(np.arange(8))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    first = update(model, optimizer, scheduler, batch, grad_clip=1.0)
    for _ in range(60):
        last = update(model, optimizer, scheduler, batch, grad_clip=1.0)
    assert last["loss"] < 0.4 * first["loss"], (first, last)
    assert last["position_cm"] < 0.5 * first["position_cm"]
    assert 0 < last["heatmap"] < first["heatmap"]  # the pixel labels are used


def test_checkpoint_round_trip_gives_identical_predictions(rendered, tmp_path):
    frames = load_frames(rendered[0])
    model = _model(frames, channels=(8, 16), strides=(1, 2), hidden=32).eval()
    save_estimator(tmp_path / "ckpt", model, step=7)
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["kind"] == "state_estimator" and config["step"] == 7
    assert config["model"]["cameras"]["wrist"] == [SIZE, SIZE, 3] and "red_cube.x" in config["model"]["scene_fields"]
    assert len(config["stats"]["position_mean"]) == 5
    loaded = load_estimator(tmp_path / "ckpt")
    for cameras in (("static",), ("static", "wrist")):
        a = model.predict(frames.images, frames.proprio, cameras=cameras)
        b = loaded.predict(frames.images, frames.proprio, cameras=cameras)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    # Dropping the wrist camera changes the answer: the "static only" set is a different input.
    both = model.predict(frames.images, frames.proprio)["position"]
    static = model.predict(frames.images, frames.proprio, cameras=("static",))["position"]
    assert not np.allclose(both, static)


def test_a_robot_with_other_camera_sizes_is_refused_naming_both(rendered, tmp_path, render_cfg):
    frames = load_frames(rendered[0])
    save_estimator(tmp_path / "ckpt", _model(frames, channels=(8, 16), strides=(1, 2), hidden=32), step=1)
    robot = entry.build_robot(render_cfg, cameras={"static": (64, 64, 3)})  # not connected: only its features
    with pytest.raises(CameraMismatchError) as refused:
        load_estimator(tmp_path / "ckpt", robot.observation_features)
    message = str(refused.value)
    assert "'static'" in message and "(64, 64, 3)" in message and f"({SIZE}, {SIZE}, 3)" in message
    assert "wrist" not in message and "\n" not in message  # only the difference, on one line
    same = entry.build_robot(render_cfg)
    assert load_estimator(tmp_path / "ckpt", same.observation_features).step == 1


def test_data_without_scene_state_is_refused_naming_what_is_missing(rendered, tmp_path, capsys):
    meta = json.loads((rendered[0] / DATA_FILE).read_text())
    no_fields = tmp_path / "no_fields"
    no_fields.mkdir()
    (no_fields / DATA_FILE).write_text(json.dumps({**meta, "scene_fields": []}))
    with pytest.raises(EstimatorDataError, match="no scene state"):
        load_frames(no_fields)
    no_column = tmp_path / "no_column"
    no_column.mkdir()
    (no_column / DATA_FILE).write_text(json.dumps(meta))
    with np.load(shard_path(rendered[0], 0)) as z:
        np.savez(shard_path(no_column, 0), **{k: z[k] for k in z.files if k != "scene"})
    with pytest.raises(EstimatorDataError, match=r"lacks \['scene'\]"):
        load_frames(no_column)
    lerobot_like = tmp_path / "play"
    (lerobot_like / "meta").mkdir(parents=True)
    with pytest.raises(EstimatorDataError, match=DATA_FILE):
        load_frames(lerobot_like)
    with pytest.raises(EstimatorDataError, match="no object position"):
        EstimatorLayout.from_fields(("ee.x", "ee.y", "ee.z", "gripper.width"))
    # On the command line: one line, exit 2, before anything is trained.
    assert cli.main(["estimator", "train", f"data={no_fields}", f"out={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no scene state" in err and not (tmp_path / "run").exists()


def test_white_balance_tints_each_channel_apart_and_keeps_a_red_cube_red():
    warm_table, red_cube = [0.7, 0.6, 0.5], [0.7, 0.1, 0.1]  # no channel reaches the clip at 1
    images = torch.tensor([warm_table, red_cube]).T.reshape(1, 3, 1, 2).repeat(64, 1, 1, 1)  # (64, 3, 1, 2)
    only_tint = EstimatorTrainConfig(brightness=0.0, contrast=0.0, saturation=0.0, white_balance=0.3)
    out = photometric(images, np.random.default_rng(0), only_tint)
    gains = out[:, :, 0, 0] / images[:, :, 0, 0]  # (64, 3): the table pixel's gain per channel
    assert torch.allclose(out[:, :, 0, 1] / images[:, :, 0, 1], gains, atol=1e-5)  # one tint per image
    assert gains.min() >= 0.7 - 1e-6 and gains.max() <= 1.3 + 1e-6
    assert (gains[:, 0] - gains[:, 2]).abs().max() > 0.2  # channels drawn apart: hue, not only brightness
    assert (out[:, 2, 0, 0] > out[:, 0, 0, 0]).any()  # some warm tables turn blue-ish
    assert (out[:, 0, 0, 1] > 2 * out[:, 1:, 0, 1].amax(1)).all()  # the cube stays red in every image
    off = photometric(images, np.random.default_rng(0), EstimatorTrainConfig(brightness=0, contrast=0, saturation=0))
    assert torch.allclose(off, images, atol=1e-6)  # every factor 1: the image as it was


@pytest.mark.parametrize("bad", ["train.white_balance=1.5", "train.white_balance=-0.1", "train.white_balance=x"])
def test_a_bad_white_balance_is_refused_naming_the_key(rendered, tmp_path, capsys, bad):
    assert cli.main(["estimator", "train", f"data={rendered[0]}", f"out={tmp_path / 'run'}", bad]) == 2
    assert "train.white_balance=" in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_training_resumes_exactly_and_a_stop_saves(rendered, tmp_path):
    frames = load_frames(rendered[0])
    settings = {"channels": (8, 16), "strides": (1, 2), "hidden": 32}
    cfg = EstimatorTrainConfig(steps=6, batch_size=4, warmup_steps=2, checkpoint_every=100, log_every=1)
    straight = EstimatorTrainer(_model(frames, **settings), frames, tmp_path / "a", cfg, {})
    straight.fit()
    stopped = EstimatorTrainer(_model(frames, **settings), frames, tmp_path / "b", cfg, {})
    stopped.fit(stop=lambda: stopped.step >= 3)  # as Ctrl-C: stop at the next step and save
    assert (tmp_path / "b" / "checkpoints" / "last").resolve().name == "step_0000003"
    resumed = EstimatorTrainer(_model(frames, **settings), frames, tmp_path / "b", cfg, {})
    torch.manual_seed(123)  # whatever the RNGs are now, resume restores them
    resumed.resume()
    assert resumed.step == 3
    resumed.fit()
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert len((tmp_path / "b" / "metrics.jsonl").read_text().splitlines()) == 6


def test_train_command_trains_refuses_a_second_run_and_resumes(rendered, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["estimator", "train", f"data={rendered[0]}", f"out={run}", "threads=1", "torch_device=cpu",
            "train.batch_size=4", "train.warmup_steps=1", "model.channels=[8,16]", "model.strides=[1,2]",
            "model.hidden=32"]  # fmt: skip
    assert cli.main([*args, "train.steps=3"]) == 0
    config = json.loads((run / "checkpoints" / "last" / "config.json").read_text())
    assert config["step"] == 3 and config["worlds"] == "randomized" and config["train"]["steps"] == 3
    assert "validation median static" in capsys.readouterr().out
    assert cli.main([*args, "train.steps=5"]) == 2
    assert "resume=true" in capsys.readouterr().err
    assert cli.main([*args, "train.steps=5", "model.hidden=64", "resume=true"]) == 2  # another model: refused
    assert "hidden" in capsys.readouterr().err
    assert cli.main([*args, "train.steps=5", "resume=true"]) == 0
    assert load_estimator(run).step == 5


def test_the_resume_command_printed_after_a_stop_names_the_frames(rendered, tmp_path):
    from robolang.perception.entry import resume_command

    run = tmp_path / "run"
    settings = ["threads=1", "torch_device=cpu", "train.batch_size=4", "train.warmup_steps=1",
                "model.channels=[8,16]", "model.strides=[1,2]", "model.hidden=32"]  # fmt: skip
    assert cli.main(["estimator", "train", f"data={rendered[0]}", f"out={run}", "train.steps=2", *settings]) == 0
    said = shlex.split(resume_command(run, [str(rendered[0])]))
    assert said[:3] == ["robolang", "estimator", "train"] and f"data={rendered[0]}" in said
    assert cli.main([*said[1:], "train.steps=3", *settings]) == 0  # as printed, from any folder
    assert load_estimator(run).step == 3
    assert resume_command(run, ["a", "b"]).startswith("robolang estimator train 'data=[a,b]' ")
    spaced = shlex.split(resume_command(Path("my runs/est"), ["my frames/a"]))
    assert spaced[3:5] == ["data=my frames/a", "out=my runs/est"]  # one argument each, as the shell passes them


def test_eval_table_has_every_object_world_and_camera_set(rendered):
    frames = load_frames(rendered[0])
    model = _model(frames, channels=(8, 16), strides=(1, 2), hidden=32).eval()
    arrays = {**frames.images, "proprio": frames.proprio, "scene": frames.scene}
    halves = {w: {k: v[i::2] for k, v in arrays.items()} for i, w in enumerate(("default", "heldout"))}
    report = evaluate(model, halves)
    assert set(report["results"]) == {"default", "heldout"}
    for sets in report["results"].values():
        assert set(sets) == {"static", "both"}
        assert set(sets["both"]["objects_cm"]) == set(model.layout.objects)
        assert set(sets["both"]["yaw_deg"]) == {"red_cube", "green_cube", "blue_bar"}
        assert sets["both"]["frames"] == FRAMES // 2
    truth = model.layout.targets(halves["default"]["scene"])["position"]
    pred = model.predict({c: halves["default"][c] for c in ("static", "wrist")}, halves["default"]["proprio"])
    expected = np.median(np.linalg.norm(pred["position"] - truth, axis=-1)) * 100
    assert report["results"]["default"]["both"]["all_objects_cm"] == pytest.approx(expected)
    assert report["verdict"]["default"]["target_cm"] == 1.0 and report["verdict"]["heldout"]["target_cm"] == 1.5
    assert report["verdict"]["default"]["met"] is False  # an untrained model is centimetres off
    text = "\n".join(table(report))
    for name in (*model.layout.objects, "drawer", "slider", "button", "light", "default/static", "heldout/both"):
        assert name in text
    assert "verdict default" in text and "NOT MET" in text


def test_eval_command_renders_each_world_at_the_checkpoint_sizes(rendered, tmp_path, capsys):
    frames = load_frames(rendered[0])
    save_estimator(tmp_path / "ckpt", _model(frames, channels=(8, 16), strides=(1, 2), hidden=32), step=1)
    args = ["estimator", "eval", f"checkpoint={tmp_path / 'ckpt'}", "frames=4", "draw.frames_per_reset=4",
            "worlds=[default,heldout]", f"out={tmp_path / 'eval'}"]  # fmt: skip
    assert cli.main(args) == 0
    saved = json.loads((tmp_path / "eval" / "estimator_eval.json").read_text())
    assert set(saved["results"]) == {"default", "heldout"} and saved["results"]["heldout"]["both"]["frames"] == 4
    assert "verdict heldout" in capsys.readouterr().out


def test_the_command_lists_its_actions(capsys):
    with pytest.raises(SystemExit):
        cli.main(["estimator", "--help"])
    text = capsys.readouterr().out
    assert all(action in text for action in ("render", "train", "eval"))
