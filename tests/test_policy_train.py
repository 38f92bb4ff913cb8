"""The training loop: losses fall, resume is exact, NaN stops cleanly, checkpoints load alone."""

import json
import os
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.policy_batches import TINY_MCIL, TINY_TRANSFORMER, RandomBatches

from robolang.policy.checkpoint import CheckpointError, check_observation_spec, load_checkpoint
from robolang.policy.train import TrainConfig, Trainer, TrainingError

SPEC = {"images": {"observation.images.static": [16, 16, 3], "observation.images.wrist": [16, 16, 3]},
        "state_names": ["ee.x"], "action_names": ["dx"]}  # fmt: skip
STATS = RandomBatches().stats_dict()


def trainer(out, steps=6, policy="transformer", data=None, settings=None, val=None, **kw):
    cfg = TrainConfig(steps=steps, batch_size=4, warmup_steps=2, log_every=1, val_every=3, val_batches=2,
                      checkpoint_every=3, **kw)  # fmt: skip
    settings = settings or (TINY_TRANSFORMER if policy == "transformer" else TINY_MCIL)
    data = data or RandomBatches()
    return Trainer(cfg, policy, settings, data, val or RandomBatches(), out, "test-encoder", SPEC, STATS)


class Stop(Exception):
    pass


def stop_at(step):
    def hook(t):
        if t.step == step:
            raise Stop

    return hook


@pytest.mark.parametrize("policy", ["transformer", "mcil"])
def test_resume_after_a_kill_gives_the_same_losses(tmp_path, policy):
    straight = [r["loss"] for r in trainer(tmp_path / "a", policy=policy).fit()]
    first = trainer(tmp_path / "b", policy=policy)
    with pytest.raises(Stop):
        first.fit(on_step=stop_at(3))
    resumed = trainer(tmp_path / "b", policy=policy)
    resumed.resume()
    assert resumed.step == 3
    rest = [r["loss"] for r in resumed.fit()]
    assert len(rest) == 3
    np.testing.assert_allclose(rest, straight[3:], rtol=0, atol=1e-6)
    assert not np.allclose(straight[3:], straight[:3])  # the check compares different steps, not constants


def test_resume_with_ema_restores_raw_and_averaged_weights(tmp_path):
    straight = [r["loss"] for r in trainer(tmp_path / "a", ema_decay=0.9).fit()]
    first = trainer(tmp_path / "b", ema_decay=0.9)
    with pytest.raises(Stop):
        first.fit(on_step=stop_at(3))
    resumed = trainer(tmp_path / "b", ema_decay=0.9)
    resumed.resume()
    np.testing.assert_allclose([r["loss"] for r in resumed.fit()], straight[3:], atol=1e-6)
    exported = load_checkpoint(tmp_path / "b").policy.state_dict()
    raw = resumed.policy.state_dict()
    assert any(not torch.equal(exported[k], raw[k]) for k in raw)  # the checkpoint holds the EMA weights


def test_training_reduces_the_loss_and_logs_metrics(tmp_path):
    records = trainer(tmp_path, steps=60, lr=3e-3).fit()
    early, late = np.mean([r["loss"] for r in records[:10]]), np.mean([r["loss"] for r in records[-10:]])
    assert late < 0.7 * early
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("step,loss,val_loss") and len(lines) == 61
    assert list((tmp_path / "tensorboard").iterdir())
    assert any("val_loss" in r and np.isfinite(r["val_loss"]) for r in records)


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path):
    good = trainer(tmp_path, steps=3)
    good.fit()
    saved = (tmp_path / "checkpoints" / "last").resolve()
    weights = load_checkpoint(tmp_path).policy.state_dict()
    bad = trainer(tmp_path, steps=6, data=RandomBatches(poison=True))
    bad.resume()
    with pytest.raises(TrainingError, match=r"loss is nan at step 4.*step_0000003"):
        bad.fit()
    assert (tmp_path / "checkpoints" / "last").resolve() == saved
    again = load_checkpoint(tmp_path).policy.state_dict()
    assert all(torch.equal(weights[k], again[k]) for k in weights)


def test_checkpoint_loads_alone_and_checks_the_robot(tmp_path):
    trainer(tmp_path, steps=3).fit()
    bundle = load_checkpoint(tmp_path)
    assert bundle.policy_type == "transformer" and bundle.step == 3 and bundle.encoder == "test-encoder"
    config = json.loads((bundle.path / "config.json").read_text())
    assert config["policy"]["d_model"] == 32
    check_observation_spec(bundle.observation_spec, {"static": (16, 16, 3), "wrist": (16, 16, 3), "ee.x": float})
    with pytest.raises(CheckpointError, match=r"camera 'wrist' gives \(8, 8, 3\)"):
        check_observation_spec(bundle.observation_spec, {"static": (16, 16, 3), "wrist": (8, 8, 3), "ee.x": float})
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nowhere")


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    trainer(tmp_path, steps=12, keep_checkpoints=2).fit()
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == ["step_0000009", "step_0000012"]


def launch(out, steps, *extra):
    """`accelerate launch` on 2 CPU processes (gloo); torchrun underneath, as on a multi-GPU node."""
    helpers = Path(__file__).parent / "helpers"
    cmd = ["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
           str(helpers / "ddp_train.py"), str(out), str(steps), *extra]  # fmt: skip
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=helpers, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((out / f"rank{r}_{steps}.json").read_text()) for r in (0, 1)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # 46 s on 2 cores: two real processes; the single-process resume tests cover the loop
def test_two_processes_through_accelerate_stay_in_sync_and_resume_exactly(tmp_path):
    straight = launch(tmp_path / "a", 4)
    assert [r["world"] for r in straight] == [2, 2] and straight[0]["backend"] == "gloo"
    assert straight[0]["digest"] == straight[1]["digest"]  # gradients were all-reduced
    assert straight[0]["losses"] != straight[1]["losses"]  # each rank drew its own batches
    launch(tmp_path / "b", 2)
    assert sorted(p.name for p in (tmp_path / "b" / "checkpoints" / "last" / "training").iterdir()) == [
        "rank0.pt", "rank1.pt", "trainer.pt"
    ]  # fmt: skip
    resumed = launch(tmp_path / "b", 4, "resume")
    for rank in (0, 1):
        np.testing.assert_allclose(resumed[rank]["losses"], straight[rank]["losses"][2:], atol=1e-6)
    assert resumed[0]["digest"] == straight[0]["digest"]


def test_a_pretrained_backbone_loads_from_a_local_weights_file(tmp_path):
    import torchvision

    from robolang.policy.model import TransformerPolicy, TransformerPolicyConfig

    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    resnet = {"type": "resnet18", "weights": str(tmp_path / "resnet18.pth")}
    cfg = TransformerPolicyConfig(**{**TINY_TRANSFORMER, "vision": resnet})
    policy = TransformerPolicy(cfg)
    assert torch.equal(policy.image_encoders[0].trunk[0].weight, reference.conv1.weight)
    batch = RandomBatches(side=32).sample(2, np.random.default_rng(0))
    policy.compute_loss(batch)["loss"].backward()
    assert policy.image_encoders[0].trunk[0].weight.grad is not None
    with pytest.raises(FileNotFoundError, match="policy.vision.weights"):
        missing = {"type": "resnet18", "weights": str(tmp_path / "none.pth")}
        TransformerPolicy(TransformerPolicyConfig(**{**TINY_TRANSFORMER, "vision": missing}))
