"""Benchmarks: the shared section writer, and every benchmark on a tiny config written to a temporary
BENCHMARKS.md, with the same section format (heading, machine and load lines, table headers) as the
project's BENCHMARKS.md."""

import re
import subprocess
import sys

import pytest
from helpers.bench_format import ROOT, assert_same_format
from helpers.play import record_play

from robolang import bench, cli
from robolang.bench import report
from robolang.config import ConfigError, load_config

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]


# ---- the shared module -------------------------------------------------------------------------


def test_write_section_replaces_in_place_and_keeps_the_rest(tmp_path):
    path = tmp_path / "B.md"
    report.write_section(path, "a", "first")
    report.write_section(path, "b", "second")
    path.write_text(path.read_text() + "\nhand-written notes\n")
    report.write_section(path, "a", "third")
    text = path.read_text()
    assert text.startswith(report.HEADER)
    assert "third" in text and "second" in text and "first" not in text and "hand-written notes" in text
    assert text.index("third") < text.index("second")  # replaced where it was, not appended
    assert report.read_section(path, "a") == "third" and report.read_section(path, "c") is None


def test_tables_verdicts_and_the_load_line():
    assert report.table(["a", "b"], [["1", "2"]], align="lr") == ["| a | b |", "|---|---:|", "| 1 | 2 |"]
    assert report.table(["a", "b"], [])[1] == "|---|---|"
    with pytest.raises(ValueError, match="align"):
        report.table(["a", "b"], [], align="l")
    assert report.verdict(100.0, ">=", 100) == "meets" and report.verdict(99.9, ">=", 100) == "MISSES"
    assert report.verdict(60.0, "<", 60) == "MISSES" and report.verdict(10.0, "<=", 10) == "meets"
    with report.Load() as load:
        pass
    assert load.end is not None and re.match(
        r"^1-minute load average [\d.]+ at the start, [\d.]+ at the end", load.line()
    )
    title, _, machine, load_line = report.heading("T", load)
    assert title == "## T" and "commit `" in machine and load_line == load.line()


def test_an_unwritable_benchmarks_file_is_refused_before_measuring(tmp_path):
    with pytest.raises(report.BenchmarkFileError, match="is a folder"):
        report.check_writable(tmp_path)
    with pytest.raises(report.BenchmarkFileError, match="does not exist"):
        report.check_writable(tmp_path / "missing" / "B.md")


def test_benchmarks_are_listed_from_the_package_without_importing_them():
    assert bench.names() == [
        "agent",
        "ask",
        "caption",
        "cli",
        "collect",
        "data",
        "deploy",
        "eval",
        "export",
        "fit",
        "ladder",
        "latency",
        "sim",
    ]
    assert all((ROOT / "configs" / f"bench_{n}.yaml").exists() for n in bench.names())  # one config each
    code = (
        "import sys; from robolang import bench; [bench.describe(n) for n in bench.names()]; "
        "print(sorted(m for m in sys.modules if m.startswith(('torch', 'lerobot', 'pybullet', 'robolang.bench.'))))"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"
    assert bench.describe("sim").startswith("control steps/s")


def test_one_output_key_everywhere():
    for config in sorted((ROOT / "configs").glob("bench_*.yaml")):
        cfg = load_config(config.stem)
        assert cfg.bench_out == "BENCHMARKS.md", config
    text = "\n".join(p.read_text() for p in (ROOT / "configs").rglob("*.yaml"))
    assert not re.search(r"^out: +BENCHMARKS", text, re.M)  # the old spelling of bench_sim's key


@pytest.mark.parametrize(
    ("target", "override", "key"),
    [
        ("sim", "steps=abc", "steps="),
        ("sim", "single_core=maybe", "single_core="),
        ("agent", "skills=[expert,lazy]", "skills="),
        ("collect", "worker_counts=[0]", "worker_counts="),
        ("latency", "subjects=[nope]", "subjects="),
        ("latency", "n_runs=0", "n_runs="),
        ("caption", "dataset=/nonexistent", "dataset="),
        ("data", "dataset=/nonexistent", "dataset="),
        ("export", "dataset=/nonexistent", "dataset="),
        ("eval", "reference_steps=-1", "reference_steps="),
        ("sim", "bench_out=null", "bench_out="),
        ("cli", "repeats=0", "repeats="),
        ("cli", "repeats=abc", "repeats="),
        ("ladder", "controllers=null", "controllers="),
    ],
)
def test_bad_values_are_refused_with_the_key_before_any_work(target, override, key, tmp_path, capsys):
    out = tmp_path / "B.md"
    overrides = [f"bench_out={out}", override] if not override.startswith("bench_out") else [override]
    assert cli.main(["bench", target, *overrides]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"robolang bench: error: {key}") and err[-1] == "\n" and err.count("\n") == 1
    assert not out.exists()


def test_a_bad_value_raises_a_config_error_in_code_too():
    with pytest.raises(ConfigError, match="steps=0"):
        bench.refresh("sim", load_config("bench_sim", ["steps=0"]))


# ---- every benchmark on a tiny config ----------------------------------------------------------


def test_bench_sim_measures_both_variants_and_rewrites_its_section(tmp_path, capsys):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n<!-- bench:other -->\nkeep me\n<!-- /bench:other -->\n")
    args = ["bench", "sim", "steps=3", "warmup=1", "single_core=false", f"bench_out={out}", *SMALL]
    assert cli.main(args) == 0
    assert "steps/s (physics" in capsys.readouterr().out
    text = assert_same_format(out, "sim")
    assert "reference: stock-mesh Panda" in text and "3 timed steps after 1 warm-up" in text
    assert cli.main(args) == 0  # a rerun replaces the section
    assert out.read_text().count("<!-- bench:sim -->") == 1 and "keep me" in out.read_text()


def test_bench_agent_reports_success_per_skill(tmp_path):
    out = tmp_path / "B.md"
    cfg = load_config("bench_agent", ["seeds=1", "steps=60", f"bench_out={out}"])
    results = bench.refresh("agent", cfg)
    assert set(results) == {"expert", "good", "sloppy"}
    text = assert_same_format(out, "agent")
    assert "| **all** |" in text and "Target at `expert`: every behaviour >= 80%" in text


def test_bench_collect_records_the_recording_cost(tmp_path):
    out = tmp_path / "B.md"
    overrides = ["bare_steps=5", "frames_per_worker=20", "worker_counts=[1]", f"bench_out={out}", *SMALL]
    rates = bench.refresh("collect", load_config("bench_collect", overrides))
    assert [r.frames for r in rates] == [5, 20]
    text = assert_same_format(out, "collect")
    assert re.search(
        r"Recording cost with one worker: -?\d+% of the bare step rate \(target <= 30%: (meets|MISSES)\)", text
    )


def test_bench_collect_verdict():
    from robolang.bench.collect import Rate, section

    cfg = load_config("bench_collect")
    rates = [Rate("bare", 100, 1.0), Rate("collect 1", 80, 1.0), Rate("collect 2", 150, 1.0)]
    with report.Load() as load:
        text = section(cfg, rates, load)
    assert "Recording cost with one worker: 20% of the bare step rate (target <= 30%: meets)" in text


@pytest.fixture(scope="module")
def play(tmp_path_factory):
    """A minute of scripted play (two episodes) at 32 px, recorded by the real collector."""
    return record_play(tmp_path_factory.mktemp("bench") / "play", seconds=60, episode_seconds=30)


def test_bench_caption_records_timing_and_quality(play, tmp_path):
    from robolang.captioning import annotations

    out = tmp_path / "B.md"
    cfg = load_config("bench_caption", [f"dataset={play}", f"bench_out={out}", "single_core=false"])
    result = bench.refresh("caption", cfg)
    assert result["timing"]["frames"] == 600
    text = assert_same_format(out, "caption")
    assert "Target < 60 s per hour on one core: meets" in text and "recall" in text
    assert annotations.load(play).empty  # measured, not stored


def test_bench_data_times_our_sampler_beside_lerobot(play, tmp_path):
    from robolang.captioning.command import caption_dataset

    caption_dataset(play)
    out = tmp_path / "B.md"
    overrides = [f"dataset={play}", f"bench_out={out}", f"cache_dir={tmp_path / 'cache'}", "n_obs_steps=[1]",
                 "batch_size=4", "seconds=0.2", "reference_seconds=0.2", "reference_backends=[]"]  # fmt: skip
    figures = bench.refresh("data", load_config("bench_data", overrides))
    assert figures.ours[0].samples > 0 and figures.references[0].samples > 0
    text = assert_same_format(out, "data")
    assert "Frame cache: built" in text and "Target >= 5,000 samples/s on 2 cores" in text


def test_bench_export_times_the_linked_export_beside_re_encoding(play, tmp_path):
    from robolang.captioning.command import caption_dataset

    caption_dataset(play)
    out = tmp_path / "B.md"
    overrides = [f"dataset={play}", f"bench_out={out}", "encode_windows=2", "workers=1"]
    assert cli.main(["bench", "export", "ways=[copy]", f"bench_out={out}", f"dataset={play}"]) == 2  # checked first
    figures = bench.refresh("export", load_config("bench_export", overrides))
    link, encode = figures["timings"]
    assert link.way == "link" and link.windows == link.all_windows > 2 and encode.windows == 2
    assert not list(play.parent.glob("bench-export-*"))  # the exports were removed
    if report.read_section(ROOT / "BENCHMARKS.md", "export") is not None:
        text = assert_same_format(out, "export")
    else:  # until the project's BENCHMARKS.md has the section: the shared opening lines
        text = report.read_section(out, "export")
        assert text.splitlines()[0] == "## Export of labelled windows (`robolang bench export`)"
        assert re.match(r"^1-minute load average \d+\.\d at the start", text.splitlines()[3])
    assert "| way | windows | frames | seconds | windows/s | seconds per hour of play |" in text
    assert re.search(r"Target <= 60 s per hour of play on \d+ cores: (meets|MISSES)", text)


def test_bench_latency_times_act_beside_ours(tmp_path, monkeypatch):
    from robolang.bench import latency
    from robolang.policy.act_baseline import build_act

    tiny = {"dim_model": 32, "n_heads": 2, "dim_feedforward": 64, "n_encoder_layers": 1, "n_vae_encoder_layers": 1}

    def tiny_act(checkpoint, image_size):
        runner = build_act(image_size=image_size, chunk_size=4, **tiny)
        return latency.Subject("tiny ACT", 1, 4, latency.act_paths(runner, image_size))

    monkeypatch.setitem(latency.LATENCY_SUBJECTS, "act", tiny_act)
    out = tmp_path / "BENCHMARKS.md"
    assert cli.main(["bench", "latency", "image_size=32", "n_warmup=1", "n_runs=2", f"bench_out={out}"]) == 0
    text = assert_same_format(out, "latency")
    assert "tiny ACT" in text and "predict_action_chunk only" in text
    assert re.search(r"Ours: [\d.]+ ms p50, (meets|MISSES) the target; [\d.]+x faster than ACT", text)


def test_latency_helper_reports_percentiles_and_takes_turns():
    from robolang.bench.latency import measure_interleaved, measure_latency

    calls = []
    result = measure_latency(lambda obs: calls.append(obs), lambda: {"x": 1}, n_warmup=2, n_runs=10)
    assert len(calls) == 12
    assert 0 <= result["p50_ms"] <= result["p90_ms"] and result["mean_ms"] >= 0 and result["runs"] == 10
    order = []
    turns = {name: (order.append, lambda name=name: name) for name in ("a", "b")}
    assert set(measure_interleaved(turns, n_warmup=1, n_runs=3)) == {"a", "b"}
    assert order == ["a", "b"] + ["a", "b"] * 3


def test_bench_eval_runs_a_small_evaluation_of_the_two_bounds(tmp_path):
    out = tmp_path / "B.md"
    # Fixture tasks only: object tasks add a closest-approach column that the shipped section predates.
    overrides = [f"bench_out={out}", f"out={tmp_path / 'eval'}", "tasks=[open_drawer,turn_on_light]", "worlds=[default]", "episodes=1",
                 "chains=1", "chain_length=2", "max_steps=5", "workers=1", "videos=0", "reference_steps=5"]  # fmt: skip
    figures = bench.refresh("eval", load_config("bench_eval", overrides))
    assert figures["rollouts"] > 0 and figures["reference_steps_per_s"] > 0
    text = assert_same_format(out, "eval")
    assert "| scripted |" in text and "| zero |" in text and "Scripted expert (upper bound) per task" in text
    assert bench.refresh("eval", load_config("bench_eval", overrides))  # its own eval folder: replaced on a rerun


def test_bench_cli_times_every_help_beside_its_references(tmp_path, monkeypatch):
    from robolang.bench import cli as bench_cli

    monkeypatch.setattr(bench_cli, "REFERENCES", {"bare Python start": "pass"})  # torch's import takes seconds
    out = tmp_path / "B.md"
    assert cli.main(["bench", "cli", "repeats=1", f"bench_out={out}"]) == 0
    text = out.read_text()
    for verb in ("--help", "play --help", "train --help", "eval --help"):
        assert f"| robolang {verb} |" in text
    assert "| bare Python start |" in text and "Target < 1 s for every help:" in text
