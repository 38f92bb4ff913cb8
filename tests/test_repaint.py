"""Surface labels from the renderer and the estimator's repainting of the table and cabinets."""

from dataclasses import replace

import numpy as np
import pytest
import torch
import yaml
from test_estimator import _model, render_cfg, rendered  # noqa: F401 (module fixtures: frames rendered once)

from robolang import cli
from robolang.config import config_dir, load_config
from robolang.perception import entry
from robolang.perception.frames import Frames, capture, concat_frames, load_frames
from robolang.perception.repaint import HELD_OUT_SURFACE_RGB, chromaticity_box, paint_colours, repaint
from robolang.perception.train import EstimatorTrainConfig, EstimatorTrainer, EstimatorTrainingError


@pytest.fixture(scope="module")
def default_frame():
    """One frame of the stock (untextured) world at 64 px with its surface labels."""
    cfg = load_config("estimator_render", ["image_size=64"])
    robot = entry.build_robot(cfg, entry.world_config("default"))
    robot.connect()
    try:
        robot.reset(3)
        frame = capture(robot, entry.pixel_labels(cfg))
        backdrop = robot.scene.backdrop is not None and robot.scene._backdrop_active()
    finally:
        robot.disconnect()
    return frame, backdrop


def test_the_table_labels_cover_the_table_and_not_the_objects(default_frame):
    frame, backdrop = default_frame
    assert backdrop  # the fast path: the table is not in the frame's own render, the labels draw it
    for cam in ("static", "wrist"):
        labels, image = frame["surface." + cam], frame[cam].astype(int)
        table = image[labels == 1]
        assert len(table) > 0.3 * labels.size  # the table fills much of either view
        # untextured, shaded flat: one colour where the labels say table (bar the edge of a shaded face)
        assert np.mean(np.abs(table - np.median(table, axis=0)).max(1) <= 3) > 0.97, cam
        assert not (np.abs(image[labels == 0] - np.median(table, axis=0)).max(1) <= 3).all()
    assert (frame["surface.static"] == 2).sum() > 100  # the cabinets, seen by the static camera
    for name, channel in (("red", 0), ("green", 1)):  # the cubes' own colour is never labelled a surface
        image = frame["static"].astype(int)
        cube = (image[..., channel] > np.delete(image, channel, axis=2).max(2) + 60) & (image[..., channel] > 100)
        assert cube.sum() > 0 and (frame["surface.static"][cube] == 0).all(), name


def test_the_held_out_box_is_the_held_out_world_s():
    world = yaml.safe_load((config_dir() / "world" / "heldout.yaml").read_text())
    assert (tuple(world["surface_rgb_low"]), tuple(world["surface_rgb_high"])) == HELD_OUT_SURFACE_RGB


def test_no_painted_colour_shares_the_held_out_tables_chromaticity():
    low, high = chromaticity_box()
    held_out = np.random.default_rng(1).uniform(*HELD_OUT_SURFACE_RGB, size=(1000, 3))
    chroma = held_out / held_out.sum(1, keepdims=True)
    assert np.all((chroma >= low - 1e-9) & (chroma <= high + 1e-9))  # the box bounds every held-out table
    colours = paint_colours(np.random.default_rng(0), 20000)
    chroma = colours / colours.sum(1, keepdims=True)
    assert not np.all((chroma >= low) & (chroma <= high), axis=1).any()
    assert colours.min() >= 0.05 and colours.max() <= 1.0 and colours.std(0).min() > 0.2  # and otherwise anything


def _batch(b=64, h=8, w=8):
    """Images with a table (label 1, left half), a cabinet (label 2, one column) and a red cube (label 0)."""
    images = torch.full((b, 3, h, w), 0.6)
    images[:, :, :, : w // 2] = torch.tensor([0.7, 0.6, 0.5])[:, None, None]
    images[:, :, 0, 0] = torch.tensor([0.35, 0.3, 0.25])  # a darker (shaded) pixel of the table
    images[:, :, 2:4, 6] = torch.tensor([0.8, 0.1, 0.1])[:, None]
    labels = torch.zeros((b, h, w), dtype=torch.uint8)
    labels[:, :, : w // 2] = 1
    labels[:, :, 7] = 2
    return images, labels


def test_repaint_paints_only_the_surfaces_keeping_their_shading_and_one_colour_per_sample():
    images, labels = _batch()
    both = {"static": images, "wrist": images.clone()}
    out = repaint(both, {"static": labels, "wrist": labels}, np.random.default_rng(0), 1.0)
    static = out["static"]
    keep = (labels == 0)[:, None].expand_as(images)
    assert torch.equal(static[keep], images[keep])  # objects and the rest untouched, the red cube red
    table = static[:, :, 1:, : images.shape[-1] // 2]
    assert (table - images[:, :, 1:, :4]).abs().amax((1, 2, 3)).min() > 0.02  # every table painted over
    # the shaded pixel keeps its brightness relative to the table (half of it), plain or blended alike
    ratio = static[:, :, 0, 0].mean(1) / table.mean((1, 2, 3))
    assert ratio.median() == pytest.approx(0.52, abs=0.1)
    plain = (table.flatten(2).std(-1) < 1e-4).all(1)  # (B,): some tables plain, some blended
    assert 0 < plain.sum() < len(plain)
    wrist = out["wrist"][:, :, 1:, :4]
    assert torch.allclose(static[plain][:, :, 1:, :4], wrist[plain], atol=1e-6)  # plain: one colour, both cameras
    cabinet, table_colour = static[:, :, :, 7].mean(-1), table.mean((2, 3))
    assert (cabinet - table_colour).abs().amax(1).median() > 0.05  # the cabinets their own colour


def test_repaint_at_zero_or_without_surfaces_leaves_the_images():
    images, labels = _batch()
    out = repaint({"static": images}, {"static": labels}, np.random.default_rng(0), 0.0)
    assert torch.equal(out["static"], images)
    out = repaint({"static": images}, {"static": torch.zeros_like(labels)}, np.random.default_rng(0), 1.0)
    assert torch.equal(out["static"], images)


def test_training_repaints_only_frames_with_surface_labels(rendered, tmp_path):  # noqa: F811
    frames = load_frames(rendered[0])
    settings = {"channels": (8, 16), "strides": (1, 2), "hidden": 32}
    cfg = EstimatorTrainConfig(steps=4, batch_size=4, warmup_steps=1, checkpoint_every=100, repaint=0.5)
    painted = EstimatorTrainer(_model(frames, **settings), frames, tmp_path / "a", cfg, {})
    painted.fit()
    plain = EstimatorTrainer(_model(frames, **settings), frames, tmp_path / "p", replace(cfg, repaint=0.0), {})
    plain.fit()
    assert painted.rng.bit_generator.state == plain.rng.bit_generator.state  # the same batches, repainted or not
    assert any(not torch.equal(a, b) for a, b in zip(painted.model.parameters(), plain.model.parameters(), strict=True))
    stopped = EstimatorTrainer(_model(frames, **settings), frames, tmp_path / "s", cfg, {})
    stopped.fit(stop=lambda: stopped.step >= 2)
    resumed = EstimatorTrainer(_model(frames, **settings), frames, tmp_path / "s", cfg, {})
    resumed.resume()
    resumed.fit()
    for a, b in zip(painted.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)  # a resumed run paints exactly what the straight one did
    bare = Frames(frames.images, frames.proprio, frames.scene, frames.meta, frames.matrices)
    with pytest.raises(EstimatorTrainingError, match="surface labels"):
        EstimatorTrainer(_model(frames, **settings), bare, tmp_path / "b", cfg, {})
    mixed = concat_frames([frames, bare])  # a folder rendered before surface labels: nothing there to paint
    assert len(mixed.surfaces["wrist"]) == 2 * len(frames) and not mixed.surfaces["wrist"][len(frames) :].any()
    assert cli.main(["estimator", "train", f"data={rendered[0]}", f"out={tmp_path / 'c'}", "train.repaint=2"]) == 2
    assert not (tmp_path / "c").exists()
