"""LeRobot's ACT baseline trained through LeRobot's API on an export."""

import csv
import math

import numpy as np
import pytest
from helpers import synthetic

from robolang import cli
from robolang.captioning import annotations
from robolang.captioning.export import export_windows
from robolang.features import STATE_NAMES
from robolang.policy import load_policy
from robolang.policy.act_baseline import LOSS_LOG, PRETRAINED_DIR, ActRunner, build_act, train_act

TINY_ACT = {"dim_model": 32, "n_heads": 2, "dim_feedforward": 64, "n_encoder_layers": 1, "n_vae_encoder_layers": 1}
CHUNK = 4


def window(episode, start, end, text):
    return {
        "episode_index": episode, "start_frame": start, "end_frame": end, "task_id": "lift", "args": "red_cube",
        "instruction": text, "source": "oracle", "split": "train", "captioner_version": "test-1",
    }  # fmt: skip


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """Two labelled 12-frame windows of 32x32 synthetic play, exported as a LeRobotDataset."""
    tmp = tmp_path_factory.mktemp("act")
    root = tmp / "play"
    synthetic.record(synthetic.store(root), episodes=2, frames=12)
    rows = [window(0, 0, 12, "lift the red block"), window(1, 0, 12, "raise the red cube")]
    annotations.save(root, annotations.rows_from(rows))
    export_windows(root, tmp / "labelled")
    return tmp / "labelled"


def observation(rng, size=32):
    obs = {cam: rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for cam in ("static", "wrist")}
    return {**obs, "state": rng.normal(size=12).astype(np.float32)}


def test_act_trains_logs_saves_and_loads_alone(export, tmp_path):
    out = tmp_path / "act"
    path = train_act(export, out, steps=3, batch_size=2, chunk_size=CHUNK, log_every=1, act=TINY_ACT)
    assert path == out / PRETRAINED_DIR
    with (out / LOSS_LOG).open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert all(math.isfinite(float(r["loss"])) and math.isfinite(float(r["l1_loss"])) for r in rows)
    assert {"config.json", "model.safetensors", "policy_preprocessor.json"} <= {p.name for p in path.iterdir()}

    runner = ActRunner.load(out)  # the folder alone: config, weights, normalization statistics
    _loads_through_the_policy_api(out)
    rng = np.random.default_rng(0)
    chunk = runner.predict(observation(rng), "lift the red block")
    assert chunk.shape == (CHUNK, 5) and np.isfinite(chunk).all()
    # Language-blind by design: the instruction changes nothing.
    obs = observation(rng)
    np.testing.assert_array_equal(runner.predict(obs, "open the drawer"), runner.predict(obs, "press the button"))


def test_act_refuses_an_observation_of_the_wrong_shape():
    runner = build_act(image_size=32, chunk_size=CHUNK, **TINY_ACT)
    with pytest.raises(ValueError, match="shape"):
        runner.predict(observation(np.random.default_rng(0), size=64))
    with pytest.raises(KeyError, match="observation.images.wrist"):
        runner.predict({"static": np.zeros((32, 32, 3), np.uint8), "state": np.zeros(12)})


def test_training_needs_an_exported_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match="--export"):
        train_act(tmp_path / "missing", tmp_path / "out", steps=1)


def test_baseline_act_command_trains_from_hydra_overrides(export, tmp_path):
    out = tmp_path / "cli_act"
    tiny = ["act.dim_model=32", "act.n_heads=2", "act.dim_feedforward=64", "act.n_encoder_layers=1"]
    args = [f"dataset={export}", f"out={out}", "steps=1", "batch_size=2", "chunk_size=4", "num_workers=0", *tiny]
    assert cli.main(["baseline", "act", *args, "+act.n_vae_encoder_layers=1"]) == 0
    assert ActRunner.load(out / PRETRAINED_DIR).chunk_size == 4
    assert cli.main(["baseline", "act", *args]) == 2  # out exists: refused, nothing overwritten


def _loads_through_the_policy_api(out):
    """ACT comes back from ``robolang.policy.load_policy`` behind the same members as our policies."""
    policy = load_policy(out)
    assert policy.name == "act" and policy.language_blind and policy.chunk_size == CHUNK and policy.n_obs_steps == 1
    assert policy.image_shapes == {"static": (32, 32, 3), "wrist": (32, 32, 3)}
    assert policy.action_features == {"action": (5,)}
    rng = np.random.default_rng(3)
    cameras = {cam: rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for cam in ("static", "wrist")}
    obs = {**cameras, **dict.fromkeys(STATE_NAMES, 0.1)}  # a robot's observation: proprioception by name
    assert policy.predict(obs, "lift the red block").shape == (CHUNK, 5)
    assert policy.select_action(obs, "lift the red block").shape == (5,)
    policy.check_robot({"static": (32, 32, 3), "wrist": (32, 32, 3), **dict.fromkeys(STATE_NAMES, float)})


@pytest.mark.parametrize("bad, said", [("steps=0", "steps=0 is not allowed"), ("batch_size=abc", "batch_size='abc'")])
def test_baseline_act_refuses_bad_values_before_work(tmp_path, capsys, bad, said):
    out = tmp_path / "act"
    assert cli.main(["baseline", "act", f"dataset={tmp_path}", f"out={out}", bad]) == 2
    assert said in capsys.readouterr().err and not out.exists()
