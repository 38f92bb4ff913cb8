"""`robolang demo`: the stages are the ordinary commands with overrides; end to end is a slow test."""

import json

import pytest
from omegaconf import OmegaConf

from robolang import cli
from robolang.config import load_config
from robolang.demo import overrides_of, write_benchmark
from robolang.evaluation.stats import rate


def test_nested_sections_become_hydra_overrides():
    section = OmegaConf.create({"train": {"steps": 5, "lr": 0.001}, "policy": {"conv_channels": [8, 16]}, "x": None})
    assert overrides_of(section) == ["train.steps=5", "train.lr=0.001", "policy.conv_channels=[8,16]", "x=null"]


@pytest.mark.parametrize("name", ["demo", "experiment/full", "experiment/all_tasks_cpu"])
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


def _cell(k, n):
    return rate([True] * k + [False] * (n - k))


def test_a_run_writes_its_own_benchmarks_section_with_worlds_and_target(tmp_path):
    splits, worlds = ["train", "heldout_phrasing"], ["default", "heldout"]
    per_split = {"ours": {s: _cell(3, 4) for s in splits}, "zero": {s: _cell(0, 4) for s in splits}}
    summary = {
        "controllers": ["ours", "zero"],
        "by_split": per_split,
        "by_world": {c: {"default": per_split[c], "heldout": {s: _cell(0, 2) for s in splits}} for c in per_split},
        "by_task": {"ours": {s: {"lift": _cell(3, 4)} for s in splits}},
        "overall": {"ours": _cell(6, 8), "zero": _cell(0, 8)},
        "chains": {"ours": {"train": {"n": 2, "average": 1.5}}},
    }
    conf = {"splits": splits, "chain_splits": ["train"], "worlds": worlds, "episodes": 2, "chains": 2}
    bench = tmp_path / "BENCHMARKS.md"
    for name in ("demo", "experiment/all_tasks_cpu"):
        cfg = load_config(name, [f"bench_out={bench}"])
        write_benchmark(cfg, {"collect": 100.0, "train": 2000.0}, {"summary": summary, "config": conf})
    text = bench.read_text()
    demo = text.split("<!-- bench:demo -->")[1].split("<!-- /bench:demo -->")[0]
    assert "Target: about 30 min on this machine: MISSES (35.0 min)" in demo  # the demo's own budget
    assert "| ours | heldout | 0% [0%-66%] n=2 | 0% [0%-66%] n=2 |" in demo
    assert "| ours | 75% [30%-95%] n=4 | 75% [30%-95%] n=4 | 75% [41%-93%] n=8 | 1.50 / n=2 |" in demo
    full = text.split("<!-- bench:all_tasks_cpu -->")[1].split("<!-- /bench:all_tasks_cpu -->")[0]
    assert "robolang demo --config-name experiment/all_tasks_cpu" in full and "31 tasks" in full
    assert "Total: 35.0 min." in full
