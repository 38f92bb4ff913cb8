"""`robolang bench ask` on a two-task matcher: its timings, its instruction sets and its section."""

import pytest

from robolang import bench, cli
from robolang.bench import report
from robolang.config import load_config

QUICK = ["match_tasks=[open_drawer,turn_on_light]", "~sets.outside"]  # a two-task matcher, the dev set only


@pytest.mark.slow  # ~60 s (two cold `robolang ask` subprocesses); run by .ci/run explicitly
def test_bench_ask_times_the_matcher_and_the_first_step_and_scores_the_sets(tmp_path):
    out = tmp_path / "B.md"
    figures = bench.refresh("ask", load_config("bench_ask", [*QUICK, f"bench_out={out}"]))
    seconds = figures["seconds"]
    cold = next(s for name, s in seconds.items() if name.startswith("matcher, cold"))
    warm = next(s for name, s in seconds.items() if name.startswith("matcher, warm"))
    assert warm < cold  # read back, not embedded again
    assert {"cold", "warm"} < set(figures["first_step"]) and all(s > 0 for s in figures["first_step"].values())
    dev = figures["sets"]["dev"]
    assert len(dev) == 68 and sum(o.verdict == "right" for o in dev if o.task == "open_drawer") == 3
    text = report.read_section(out, "ask")
    assert text.startswith("## Asking: time to act") and text.splitlines()[2].startswith("Measured ")
    assert "| step | seconds |" in text and "`robolang ask` to the first step, warm" in text
    assert "Instruction set `dev`" in text and "| open_drawer | 3 | 0 | 0 |" in text


def test_bench_ask_refuses_a_missing_instruction_file_before_measuring(tmp_path, capsys):
    args = ["bench", "ask", "sets.dev=nowhere.jsonl", f"bench_out={tmp_path / 'B.md'}"]
    assert cli.main(args) == 2
    assert "sets.dev=nowhere.jsonl: no such instruction file" in capsys.readouterr().err
    assert not (tmp_path / "B.md").exists()
