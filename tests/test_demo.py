"""`robolang demo`: the stages are the ordinary commands with overrides; end to end is a slow test."""

import json

import pytest
from helpers.bench_format import assert_same_format
from omegaconf import OmegaConf

from robolang import cli
from robolang.bench.report import Load
from robolang.config import ConfigError, load_config
from robolang.demo import DemoOutError, check, overrides_of, prepare_out, write_benchmark
from robolang.evaluation.stats import rate
from robolang.ladder import render_labels


def test_nested_sections_become_hydra_overrides():
    section = OmegaConf.create({"train": {"steps": 5, "lr": 0.001}, "policy": {"conv_channels": [8, 16]}, "x": None})
    assert overrides_of(section) == ["train.steps=5", "train.lr=0.001", "policy.conv_channels=[8,16]", "x=null"]


@pytest.mark.parametrize("name", ["experiment/demo_play", "experiment/full_play", "experiment/all_tasks_cpu"])
def test_demo_configs_compose_into_valid_stage_configs(name):
    cfg = load_config(name)
    check(cfg)  # tasks: null -> every task
    train = load_config("train", [*overrides_of(cfg.train), f"data.tasks=[{','.join(cfg.tasks)}]"])
    assert train.train.steps == cfg.train.train.steps
    evaluation = load_config("eval", overrides_of(cfg.eval))
    assert list(evaluation.worlds) == list(cfg.eval.worlds)


@pytest.mark.parametrize("name", ["demo", "experiment/ladder_cpu", "experiment/full"])
def test_ladder_configs_compose_into_valid_stage_configs(name):
    cfg = load_config(name)
    check(cfg)
    assert cfg.pipeline == "ladder" and len(cfg.tasks) == (12 if name == "demo" else 31)
    state = load_config("train", ["policy=privileged_state", *overrides_of(cfg.state)])
    assert state.train.steps == cfg.state.train.steps and state.policy.contacts is False  # compose needs it
    assert state.policy.pointer_scene and state.data.positional_phrasings > 0  # the measured recipe
    render = load_config("estimator_render", [f"image_size={cfg.image_size}", *render_labels(cfg),
                                              *overrides_of(cfg.estimator.render)])  # fmt: skip
    assert render.world.name == "randomized" and render.robot.config.static_width == cfg.image_size
    repaint = OmegaConf.select(cfg, "estimator.train.train.repaint", default=0.0)
    assert (render.surface_labels is not None) == bool(repaint)  # labels only for an estimator painting over
    painted = load_config(name, ["++estimator.train.train.repaint=0.5"])
    assert load_config("estimator_render", render_labels(painted)).surface_labels is not None
    estimator = load_config("estimator_train", overrides_of(cfg.estimator.train))
    assert estimator.train.steps == cfg.estimator.train.train.steps
    parts = ["estimator=e", "state_policy=s", "out=o", *overrides_of(cfg.compose)]
    assert load_config("estimator_compose", parts).held_from_gripper is True  # measured better: 20 gained, 6 lost
    worlds = list(load_config("eval", overrides_of(cfg.eval)).worlds)
    assert worlds == (["default"] if name == "demo" else ["default", "heldout"])


def test_the_demo_covers_object_tasks_beside_the_fixtures():
    cfg = load_config("demo")
    check(cfg)
    assert cfg.pipeline == "ladder" and cfg.side_by_side and cfg.demos.start_pose == "random"
    assert {"lift", "push_left", "push_right", "place_on_plate", "stack", "put_in_drawer"} <= set(cfg.tasks)
    assert {"open_drawer", "slide_door_left", "turn_on_light"} <= set(cfg.tasks) and len(cfg.tasks) >= 12
    assert "heldout_phrasing" in cfg.eval.splits


LADDER_STAGES = {  # ladder_cpu run one stage after the other here (side_by_side=false), the demo side by side
    "experiment/ladder_cpu": ["demonstrations", "train state policy", "render estimator frames", "train estimator",
                              "compose", "evaluate"],
    "demo": ["demonstrations", "train state policy + estimator", "compose", "evaluate"],
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", list(LADDER_STAGES))
def test_the_ladder_runs_end_to_end_at_a_tiny_scale(tmp_path, capsys, name):
    out = tmp_path / "ladder"
    args = ["demo", "--config-name", name, f"out={out}", "demos.hours=0.02",
            "demos.episode_seconds=36", "state.train.steps=3", "+state.train.val_every=3",
            "+state.train.checkpoint_every=3", "+state.data.val_fraction=0.0", "estimator.render.frames=64", "+estimator.render.shard_frames=32",
            "estimator.train.train.steps=3", "tasks=[open_drawer,lift]", "eval.episodes=1", "eval.chains=0",
            "eval.chain_splits=[]", "eval.splits=[train]", "eval.worlds=[default]", "eval.max_steps=5",
            "eval.videos=0"]  # fmt: skip
    if name != "demo":
        args.append("side_by_side=false")  # both ways of running the training stages stay tested
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "deployable" in printed and "privileged" in printed
    results = json.loads((out / "eval" / "results.json").read_text())
    assert results["summary"]["controllers"] == ["deployable", "privileged", "scripted", "zero"]
    kinds = {c["name"]: c["about"] for c in results["config"]["controller_specs"]}
    assert "PRIVILEGED" in kinds["privileged"] and "PRIVILEGED" not in kinds["deployable"]
    timing = json.loads((out / "timing.json").read_text())
    assert list(timing) == LADDER_STAGES[name]
    assert (out / "estimator" / "checkpoints" / "last").exists() and (out / "state_policy" / "checkpoints").is_dir()
    assert cli.main(args) == 0  # a second run reuses every stage's work
    assert "reusing" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_end_to_end_at_a_tiny_scale(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--config-name", "experiment/demo_play", f"out={out}", "collect.hours=0.05",
            "collect.episode_seconds=90", "train.train.steps=4",
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
    for name in ("experiment/demo_play", "experiment/all_tasks_cpu"):
        cfg = load_config(name, [f"bench_out={bench}"])
        check(cfg)
        with Load() as load:
            write_benchmark(cfg, {"collect": 100.0, "train": 2000.0}, {"summary": summary, "config": conf}, load)
    text = bench.read_text()
    demo = text.split("<!-- bench:demo_play -->")[1].split("<!-- /bench:demo_play -->")[0]
    assert "Target: about 30 min on this machine: MISSES (35.0 min)" in demo  # the demo's own budget
    assert "| ours | heldout | 0% [0%-66%] n=2 | 0% [0%-66%] n=2 |" in demo
    assert "| ours | 75% [30%-95%] n=4 | 75% [30%-95%] n=4 | 75% [41%-93%] n=8 | 1.50 / n=2 |" in demo
    full = text.split("<!-- bench:all_tasks_cpu -->")[1].split("<!-- /bench:all_tasks_cpu -->")[0]
    assert "robolang demo --config-name experiment/all_tasks_cpu" in full and "31 tasks" in full
    assert "Total: 35.0 min." in full


@pytest.mark.parametrize(
    ("name", "main", "stages", "reach"),
    [  # the ladder demo names objects: its table has the closest-approach column
        ("demo", "deployable", ["demonstrations", "train state policy + estimator", "compose", "evaluate"], True),
        ("experiment/demo_play", "ours", ["collect", "caption", "train", "train mcil", "evaluate"], False),
    ],
)
def test_the_demo_section_keeps_the_shipped_format(tmp_path, name, main, stages, reach):
    """Heading and tables as in the project's BENCHMARKS.md (the config's splits, one world)."""
    splits = ["train", "heldout_phrasing"]
    cells = {s: _cell(3, 5) for s in splits}
    summary = {"controllers": [main, "scripted"], "by_split": {main: cells, "scripted": cells},
               "by_world": {}, "by_task": {main: {s: {"open_drawer": _cell(1, 5)} for s in splits}},
               "overall": {main: _cell(6, 10), "scripted": _cell(6, 10)},
               "chains": {main: {"heldout_phrasing": {"n": 3, "average": 0.3}}}}  # fmt: skip
    if reach:
        summary["reach"] = {main: {"median_m": 0.03, "within": _cell(4, 5)}}
        summary["estimate"] = {main: {"median_m": 0.015, "n": 5, "near_median_m": 0.016, "near_n": 5,
                                      "lifted_median_m": 0.03, "lifted_n": 2}}  # fmt: skip
    conf = {"splits": splits, "chain_splits": ["heldout_phrasing"], "worlds": ["default"], "episodes": 5, "chains": 3}
    cfg = load_config(name, [f"bench_out={tmp_path / 'B.md'}"])
    check(cfg)
    with Load() as load:
        write_benchmark(cfg, dict.fromkeys(stages, 100.0), {"summary": summary, "config": conf}, load)
    assert_same_format(tmp_path / "B.md", name.split("/")[-1])


def test_bad_demo_values_are_refused_with_the_key(tmp_path, capsys):
    for override, key in (
        ("workers=0", "workers="),
        ("demos.hours=abc", "demos.hours="),
        ("demos.start_pose=far", "demos.start_pose="),
        ("+demos.balance=sometimes", "demos.balance="),
        ("side_by_side=2", "side_by_side="),
        ("compose.held_from_gripper=maybe", "compose.held_from_gripper="),
        ("overwrite=1", "overwrite="),
    ):
        assert cli.main(["demo", f"out={tmp_path / 'd'}", override]) == 2
        assert capsys.readouterr().err.startswith(f"robolang demo: error: {key}")
    assert not (tmp_path / "d").exists()
    assert cli.main(["demo", "--config-name", "experiment/demo_play", f"out={tmp_path / 'p'}", "collect.hours=x"]) == 2
    assert capsys.readouterr().err.startswith("robolang demo: error: collect.hours=")
    assert not (tmp_path / "p").exists()
    for override, key in (("demos.hours=0", "demos.hours="), ("estimator.render.frames=x", "estimator.render.frames=")):
        assert cli.main(["demo", "--config-name", "experiment/ladder_cpu", f"out={tmp_path / 'l'}", override]) == 2
        assert capsys.readouterr().err.startswith(f"robolang demo: error: {key}")
    assert not (tmp_path / "l").exists()


def test_an_out_is_continued_with_the_same_settings_and_refused_with_others(tmp_path, capsys):
    out = tmp_path / "demo"
    cfg = load_config("demo", [f"out={out}"])
    assert prepare_out(cfg) is False  # a new run
    (out / "play").mkdir()
    assert prepare_out(load_config("demo", [f"out={out}", f"bench_out={tmp_path / 'B.md'}"])) is True
    assert "continuing" in capsys.readouterr().out
    with pytest.raises(DemoOutError, match=r"other settings \(demos: .*overwrite=true"):
        prepare_out(load_config("demo", [f"out={out}", "demos.hours=3"]))
    assert (out / "play").exists()  # refused: nothing touched
    assert prepare_out(load_config("demo", [f"out={out}", "demos.hours=3", "overwrite=true"])) is False
    assert not (out / "play").exists() and "hours: 3" in (out / "demo.yaml").read_text()


def test_an_out_that_is_not_a_demo_run_is_never_replaced(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    for overwrite in ("false", "true"):
        with pytest.raises(DemoOutError, match="no demo run"):
            prepare_out(load_config("demo", [f"out={foreign}", f"overwrite={overwrite}"]))
    assert (foreign / "notes.txt").read_text() == "keep"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(DemoOutError, match="is a file"):
        prepare_out(load_config("demo", [f"out={a_file}"]))
    with pytest.raises(ConfigError, match="out="):
        check(load_config("demo", ["out=null"]))
