"""The format of a BENCHMARKS.md section, compared with the project's own BENCHMARKS.md."""

import re
from pathlib import Path

from robolang.bench import report

ROOT = Path(__file__).resolve().parents[2]
RULE = re.compile(r"^\|(---:?\|)+$")


def shape(body: str) -> tuple[str, list[tuple[str, str]]]:
    """A section's heading and every table's header and alignment rows: what stays the same when the
    figures change."""
    lines = body.strip("\n").splitlines()
    tables = [(lines[i - 1], line) for i, line in enumerate(lines) if i and RULE.match(line)]
    return lines[0], tables


def assert_same_format(out: Path, name: str) -> str:
    """The ``name`` section of ``out`` has the project's format: same heading and tables as today's
    BENCHMARKS.md, then the machine and load lines."""
    new, shipped = report.read_section(out, name), report.read_section(ROOT / "BENCHMARKS.md", name)
    assert new is not None and shipped is not None
    assert shape(new) == shape(shipped)
    lines = new.splitlines()
    assert re.match(r"^Measured \d{4}-\d\d-\d\d \d\d:\d\d UTC on .+, \d+ cores, .+; commit `[^`]+`\.$", lines[2])
    assert re.match(r"^1-minute load average \d+\.\d at the start, \d+\.\d at the end, on \d+ cores", lines[3])
    return new
