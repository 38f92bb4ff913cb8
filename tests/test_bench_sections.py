"""Benchmark sections in BENCHMARKS.md: each bench writes its own section, with provenance."""

from robolang import bench_sim
from robolang.benchmarks import write_section
from robolang.config import load_config

SMALL = [
    "robot.config.static_width=64",
    "robot.config.static_height=64",
    "robot.config.wrist_width=64",
    "robot.config.wrist_height=48",
]


def test_bench_sim_records_both_variants_with_provenance(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n<!-- bench:other -->\nkeep me\n<!-- /bench:other -->\n")
    cfg = load_config("bench_sim", ["steps=3", "warmup=1", "single_core=false", f"out={out}", *SMALL])
    results = bench_sim.run(cfg)
    assert [r.steps for r in results] == [3, 3]
    assert all(r.physics_ms > 0 and r.render_ms > 0 for r in results)
    text = out.read_text()
    assert "keep me" in text and "reference: stock-mesh Panda" in text and "commit `" in text
    bench_sim.run(cfg)  # rerun replaces the section instead of appending another
    assert out.read_text().count("<!-- bench:sim -->") == 1


def test_write_section_appends_new_sections(tmp_path):
    path = tmp_path / "B.md"
    write_section(path, "a", "first")
    write_section(path, "b", "second")
    write_section(path, "a", "third")
    text = path.read_text()
    assert "third" in text and "second" in text and "first" not in text


def test_bench_agent_reports_success_per_skill(tmp_path):
    from robolang import bench_agent

    out = tmp_path / "B.md"
    cfg = load_config("bench_agent", ["seeds=1", "steps=150", "skills=[expert,sloppy]", f"bench_out={out}"])
    results = bench_agent.run(cfg)
    assert set(results) == {"expert", "sloppy"}
    text = out.read_text()
    assert "| behaviour | expert | sloppy |" in text and "Target at `expert`" in text


def test_bench_collect_report_states_the_recording_cost():
    from robolang.bench_collect import Rate, report

    cfg = load_config("bench_collect")
    text = report(cfg, [Rate("bare", 100, 1.0), Rate("collect 1", 80, 1.0), Rate("collect 2", 150, 1.0)])
    assert "Recording cost with one worker: 20%" in text and "meets" in text
