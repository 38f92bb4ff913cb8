"""The transformer policy's variants: vision front ends and the auxiliary target head, chosen by name."""

import numpy as np
import pytest
import torch
from helpers.policy_batches import TINY_TRANSFORMER, RandomBatches
from test_policy_train import trainer

from robolang.policy import batch as B
from robolang.policy.checkpoint import load_checkpoint
from robolang.policy.model import TransformerPolicy, TransformerPolicyConfig
from robolang.policy.vision import SpatialSoftmax

KEYPOINTS = {"type": "keypoints", "channels": [8, 16, 16]}
TARGET = {"type": "target", "weight": 0.5}


def test_a_keypoint_is_where_its_channel_peaks():
    points = SpatialSoftmax(c_in=2, keypoints=2, d_model=8)
    with torch.no_grad():
        points.select.weight.copy_(torch.eye(2).view(2, 2, 1, 1) * 50)  # keypoint k reads channel k, sharply
        points.select.bias.zero_()
    maps = torch.zeros(1, 2, 8, 8)
    maps[0, 0, 1, 6] = 1  # channel 0 peaks at row 1, column 6
    maps[0, 1, 7, 0] = 1  # channel 1 at the bottom-left corner
    xy = points.points(maps)[0]
    columns = torch.linspace(-1, 1, 8)
    torch.testing.assert_close(xy[0], torch.stack([columns[6], columns[1]]), atol=1e-3, rtol=0)
    torch.testing.assert_close(xy[1], torch.tensor([-1.0, 1.0]), atol=1e-3, rtol=0)


def test_keypoint_tokens_join_each_cameras_grid_tokens():
    cfg = TransformerPolicyConfig(**{**TINY_TRANSFORMER, "vision": {**KEYPOINTS, "keypoints": 3}})
    policy = TransformerPolicy(cfg)
    batch = RandomBatches().sample(2, np.random.default_rng(0))
    assert policy.image_tokens(batch).shape == (2, 2 * (2**2 + 3), 32)  # two cameras, 2x2 grid + 3 keypoints
    assert policy(batch).shape == (2, cfg.chunk_size, 5)
    with pytest.raises(ValueError, match=r"takes \['channels', 'keypoints'\]"):  # a front end takes its own settings
        TransformerPolicyConfig(**{**TINY_TRANSFORMER, "vision": {**KEYPOINTS, "keypoints": 3, "weights": "r18.pth"}})


def test_a_keypoint_policy_trains_and_reloads_with_its_keypoints(tmp_path):
    run = trainer(tmp_path, steps=3, settings={**TINY_TRANSFORMER, "vision": {**KEYPOINTS, "keypoints": 4}})
    run.fit()
    loaded = load_checkpoint(tmp_path).policy
    assert loaded.config.vision == {**KEYPOINTS, "keypoints": 4}
    batch = RandomBatches().sample(2, np.random.default_rng(1))
    run.policy.eval(), loaded.eval()
    torch.testing.assert_close(loaded(batch), run.policy(batch))


def test_the_target_head_adds_its_masked_loss_and_leaves_inference_alone():
    policy = TransformerPolicy(TransformerPolicyConfig(**TINY_TRANSFORMER, aux=TARGET)).eval()
    assert policy.training_features == (B.TARGET, B.TARGET_VALID)
    batch = RandomBatches(targets=True).sample(8, np.random.default_rng(0))
    logs = policy.compute_loss(batch)
    assert logs["target_l1"] > 0
    assert logs["loss"].item() == pytest.approx(logs["l1"].item() + 0.5 * logs["target_l1"].item(), rel=1e-5)
    assert policy(batch).shape == (8, TINY_TRANSFORMER["chunk_size"], 5)
    unlabelled = batch | {B.TARGET_VALID: torch.zeros(8, dtype=torch.bool)}
    logs = policy.compute_loss(unlabelled)
    assert logs["target_l1"] == 0 and logs["loss"].item() == pytest.approx(logs["l1"].item())
    with pytest.raises(KeyError, match="target_offsets"):  # the data pipeline must serve the target
        policy.compute_loss({k: v for k, v in batch.items() if k not in (B.TARGET, B.TARGET_VALID)})


def test_training_teaches_the_target_head(tmp_path):
    data = RandomBatches(targets=True)
    settings = {**TINY_TRANSFORMER, "aux": {"type": "target", "weight": 1.0}}
    records = trainer(tmp_path, steps=60, lr=3e-3, data=data, val=data, settings=settings).fit()
    early, late = (np.mean([r["target_l1"] for r in part]) for part in (records[:10], records[-10:]))
    assert late < 0.6 * early
    assert "target_l1" in (tmp_path / "metrics.csv").read_text().splitlines()[0]
