"""The policy plugin surface: a policy defined only here is trained by the real loop and loaded
back; every loss it returns is logged; checkpoints of the old format still load; damaged ones
are refused naming the file."""

import csv
import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from helpers.policy_batches import TINY_TRANSFORMER, RandomBatches
from safetensors.torch import load_file, save_file
from test_policy_train import SPEC, Stop, stop_at, trainer
from torch import nn

from robolang.errors import RobolangError
from robolang.policy import CheckpointError, load_policy
from robolang.policy import batch as B
from robolang.policy.checkpoint import load_checkpoint, observation_spec
from robolang.policy.protocol import LOSS, Policy, PolicyConfigBase
from robolang.policy.registry import PolicyClassError, build_policy, class_path
from robolang.policy.train import TrainConfig, Trainer


@dataclass
class MeanPolicyConfig(PolicyConfigBase):
    n_obs_steps: int = 1
    chunk_size: int = 4
    state_dim: int = B.STATE_DIM
    action_dim: int = B.ACTION_DIM
    lang_dim: int = 8


class MeanPolicy(nn.Module):
    """The protocol implemented from scratch (no PolicyBase): proprioception + instruction -> chunk."""

    name = "mean"
    config_class = MeanPolicyConfig

    def __init__(self, config: MeanPolicyConfig):
        super().__init__()
        self.config = c = config
        self.n_obs_steps, self.chunk_size = c.n_obs_steps, c.chunk_size
        self.observation_features = {B.STATE: (c.state_dim,)}
        self.action_features = {B.ACTION: (c.action_dim,)}
        self.training_features = ()
        self.register_buffer("mean", torch.zeros(c.state_dim))
        self.register_buffer("std", torch.ones(c.state_dim))
        self.net = nn.Linear(c.state_dim + c.lang_dim, c.chunk_size * c.action_dim)

    def set_normalization(self, stats: dict) -> None:
        self.mean.copy_(torch.tensor(stats[B.STATE]["mean"]))
        self.std.copy_(torch.tensor(stats[B.STATE]["std"]))

    def predict(self, batch: dict) -> torch.Tensor:
        state = (batch[B.STATE][:, -1] - self.mean) / self.std  # (B, STATE_DIM)
        x = torch.cat([state, batch[B.LANG_POOLED]], dim=-1)
        return self.net(x).view(-1, self.chunk_size, self.config.action_dim)

    def compute_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        error = (self.predict(batch) - batch[B.ACTION]).abs()
        first = error[:, 0].mean()
        return {LOSS: error.mean(), "first_step_l1": first.detach(), "zero": torch.zeros(())}


def mean_trainer(out, steps=4, **kw):
    cfg = TrainConfig(steps=steps, batch_size=4, warmup_steps=1, log_every=1, val_every=2, val_batches=1,
                      checkpoint_every=2, **kw)  # fmt: skip
    data = RandomBatches()
    stats = {B.STATE: {"mean": [0.5] * B.STATE_DIM, "std": [2.0] * B.STATE_DIM}}
    return Trainer(cfg, class_path(MeanPolicy), {"lang_dim": 8}, data, data, out, "test-encoder", SPEC, stats)


def test_a_policy_defined_only_in_a_test_module_trains_and_loads_back(tmp_path):
    run = mean_trainer(tmp_path)
    records = run.fit()
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    bundle = load_checkpoint(tmp_path)
    assert isinstance(bundle.policy, MeanPolicy) and isinstance(bundle.policy, Policy)
    assert bundle.policy_type == "mean" and bundle.step == 4
    assert json.loads((bundle.path / "config.json").read_text())["_target_"] == class_path(MeanPolicy)
    assert bundle.policy.std[0].item() == 2.0  # the statistics travel in the weights
    batch = RandomBatches().sample(3, np.random.default_rng(5))
    run.policy.eval()
    torch.testing.assert_close(bundle.policy.predict(batch), run.policy.predict(batch))
    loaded = load_policy(tmp_path, instructions=_Instructions())
    assert loaded.name == "mean" and loaded.chunk_size == 4 and loaded.n_obs_steps == 1
    assert loaded.observation_features == {B.STATE: (B.STATE_DIM,)} and loaded.image_shapes == {}
    chunk = loaded.predict({B.STATE: np.zeros(B.STATE_DIM, np.float32)}, "open the drawer")
    assert chunk.shape == (4, B.ACTION_DIM) and np.abs(chunk).max() <= 1


class _Instructions:
    """An 8-wide stand-in for the instruction cache (no sentence encoder needed)."""

    def encode(self, texts):
        from robolang.policy.language import EncodedText

        n = len(texts)
        return EncodedText(torch.zeros(n, 2, 8), torch.zeros(n, 2, dtype=torch.bool), torch.ones(n, 8) / 8**0.5)


def test_every_loss_the_policy_returns_is_logged(tmp_path):
    mean_trainer(tmp_path).fit()
    rows = list(csv.DictReader((tmp_path / "metrics.csv").read_text().splitlines()))
    assert list(rows[0])[:5] == ["step", "loss", "val_loss", "lr", "grad_norm"]
    assert {"first_step_l1", "zero"} <= set(rows[0]) and all(float(r["first_step_l1"]) > 0 for r in rows)


def test_a_kill_then_resume_leaves_each_step_once_in_metrics(tmp_path):
    first = trainer(tmp_path, steps=6)  # checkpoints at steps 3 and 6
    with pytest.raises(Stop):
        first.fit(on_step=stop_at(5))  # killed at step 5: rows 4 and 5 were logged after the checkpoint
    resumed = trainer(tmp_path, steps=6)
    resumed.resume()
    resumed.fit()
    steps = [int(r["step"]) for r in csv.DictReader((tmp_path / "metrics.csv").read_text().splitlines())]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_a_checkpoint_of_the_first_format_still_loads_with_the_same_meaning(tmp_path):
    settings = {**{k: v for k, v in TINY_TRANSFORMER.items() if k != "vision"}, "conv_channels": [8, 16, 16],
                "keypoints": 2, "target_loss_weight": 0.5}  # fmt: skip
    data = RandomBatches(targets=True)
    run = trainer(tmp_path, steps=2, settings=settings, data=data, val=data)
    run.fit()
    folder = (tmp_path / "checkpoints" / "last").resolve()
    _rewrite_as_format_1(folder, settings, stats={B.STATE: {"mean": [1.0] * B.STATE_DIM, "std": [3.0] * B.STATE_DIM}})
    bundle = load_checkpoint(tmp_path)
    assert bundle.policy_type == "transformer"
    assert bundle.policy.config.vision == {"type": "keypoints", "channels": [8, 16, 16], "keypoints": 2}
    assert bundle.policy.config.aux == {"type": "target", "weight": 0.5}
    assert bundle.policy.normalizer.std[0].item() == 3.0  # from stats.json, as format 1 meant
    batch = RandomBatches().sample(2, np.random.default_rng(1))
    run.policy.set_normalization(bundle.stats)
    run.policy.eval()
    torch.testing.assert_close(bundle.policy.predict(batch), run.policy.predict(batch))


def _rewrite_as_format_1(folder, settings, stats):
    config = json.loads((folder / "config.json").read_text())
    del config["_target_"]
    config.update(format_version=1, policy_type="transformer", policy={**settings, "lang_dim": 8})
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "stats.json").write_text(json.dumps(stats))
    weights = load_file(folder / "model.safetensors")
    save_file({k: v for k, v in weights.items() if not k.startswith("normalizer.")}, folder / "model.safetensors")


@pytest.fixture
def saved(tmp_path):
    trainer(tmp_path, steps=3).fit()
    return (tmp_path / "checkpoints" / "last").resolve()


@pytest.mark.parametrize(
    "damage, said",
    [
        (lambda f: _truncate(f / "model.safetensors"), "model.safetensors is damaged or truncated"),
        (lambda f: (f / "model.safetensors").write_bytes(b""), "model.safetensors is damaged or truncated"),
        (lambda f: (f / "model.safetensors").unlink(), "model.safetensors is missing"),
        (lambda f: _truncate(f / "config.json"), "config.json is damaged or truncated"),
        (lambda f: _edit(f, _target_="nowhere.Policy"), "cannot import nowhere"),
        (lambda f: _edit(f, format_version=99), "format_version 99; this robolang reads up to 2"),
        (lambda f: _edit(f, policy={**TINY_TRANSFORMER, "lang_dim": 8, "d_model": 64}), "does not fit its config"),
    ],
)
def test_a_damaged_checkpoint_is_refused_naming_the_file(saved, damage, said):
    damage(saved)
    with pytest.raises(CheckpointError, match=said) as refused:
        load_policy(saved)
    assert isinstance(refused.value, RobolangError) and str(saved) in str(refused.value)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _edit(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


def test_a_target_that_is_no_policy_is_refused_by_name():
    with pytest.raises(PolicyClassError, match="lacks"):
        build_policy("collections.OrderedDict", {})
    with pytest.raises(PolicyClassError, match="not a class path"):
        build_policy("nonsense", {})
    with pytest.raises(PolicyClassError, match="has no fields"):
        build_policy(class_path(MeanPolicy), {"width": 3})


def test_a_policy_defined_only_in_a_test_module_is_compared_by_robolang_eval(tmp_path, capsys):
    """The whole surface: trained by the real loop, saved, then evaluated by name beside the references."""
    from test_eval_controllers import QUICK

    from robolang import cli
    from robolang.policy.language import SentenceEncoder

    encoder = SentenceEncoder()
    cfg = TrainConfig(
        steps=2, batch_size=4, warmup_steps=1, log_every=1, val_every=2, val_batches=1, checkpoint_every=2
    )
    data = RandomBatches(lang_dim=encoder.dim)
    stats = {B.STATE: {"mean": [0.0] * B.STATE_DIM, "std": [1.0] * B.STATE_DIM}}
    settings = {"lang_dim": encoder.dim}
    spec = observation_spec({"static": (32, 32, 3), "wrist": (32, 32, 3)})  # the cameras of QUICK's robot
    Trainer(cfg, class_path(MeanPolicy), settings, data, data, tmp_path / "run", encoder.reference, spec, stats).fit()
    out = tmp_path / "eval"
    assert cli.main(["eval", f"controllers={{mean:{tmp_path / 'run'}}}", *QUICK, f"out={out}"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["summary"]["controllers"] == ["mean", "scripted", "zero"]
    assert results["summary"]["by_split"]["mean"]["train"]["n"] == 1
