"""`robolang demo`: the stages are the ordinary commands with overrides; end to end is a slow test."""

import json

import pytest
from omegaconf import OmegaConf

from robolang import cli
from robolang.config import load_config
from robolang.demo import overrides_of


def test_nested_sections_become_hydra_overrides():
    section = OmegaConf.create({"train": {"steps": 5, "lr": 0.001}, "policy": {"conv_channels": [8, 16]}, "x": None})
    assert overrides_of(section) == ["train.steps=5", "train.lr=0.001", "policy.conv_channels=[8,16]", "x=null"]


@pytest.mark.parametrize("name", ["demo", "experiment/full"])
def test_demo_configs_compose_into_valid_stage_configs(name):
    cfg = load_config(name)
    train = load_config("train", [*overrides_of(cfg.train), f"data.tasks=[{','.join(cfg.tasks)}]"])
    assert train.train.steps == cfg.train.train.steps
    evaluation = load_config("eval", overrides_of(cfg.eval))
    assert list(evaluation.worlds) == list(cfg.eval.worlds)


@pytest.mark.slow
def test_demo_runs_end_to_end_at_a_tiny_scale(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", f"out={out}", "collect.hours=0.05", "collect.episode_seconds=90", "train.train.steps=4",
            "baselines.mcil.train.steps=4", "eval.episodes=1", "eval.chains=1", "eval.max_steps=10"]  # fmt: skip
    assert cli.main(args) == 0
    assert "report:" in capsys.readouterr().out
    assert (out / "eval" / "report.html").exists()
    timing = json.loads((out / "timing.json").read_text())
    assert set(timing) == {"collect", "caption", "train", "train mcil", "evaluate"}
    assert cli.main(args) == 0  # a second run reuses every stage's work
    assert "reusing" in capsys.readouterr().out
