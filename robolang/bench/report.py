"""What every benchmark writes: its ``BENCHMARKS.md`` section, tables, verdicts, machine and load lines.

Each benchmark owns one section between ``<!-- bench:NAME -->`` markers; rerunning a
benchmark replaces its section in place and leaves the rest of the file alone. A section opens
with its heading, the machine line (date, CPU, cores, commit) and the load line (the
1-minute load average at the start and the end of the run: on a shared machine other work
slows every figure, so a figure is only read beside it).
"""

from __future__ import annotations

import datetime as dt
import operator
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from robolang.errors import RobolangError

HEADER = "# Benchmarks\n\nWritten by `robolang bench ...`; every figure sits beside its reference from the same run.\n"
_BETTER = {">=": operator.ge, "<=": operator.le, "<": operator.lt, ">": operator.gt}


class BenchmarkFileError(RobolangError, OSError):
    """The benchmarks file cannot be written (checked before any measuring starts)."""


def machine_summary() -> str:
    """CPU model, core count, OS and Python version, e.g. for a benchmark table caption."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def git_commit(repo: Path | None = None) -> str:
    """Short commit hash, with ``-dirty`` when the work tree has uncommitted changes."""
    cwd = repo or Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def provenance() -> str:
    """The machine line: ``Measured <date> on <CPU, cores, OS, Python>; commit `<sha>`.``"""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Measured {now} on {machine_summary()}; commit `{git_commit()}`."


@dataclass
class Load:
    """The 1-minute load average at the start and at the end of a run (``with Load() as load:``)."""

    start: float = 0.0
    end: float | None = None

    def __enter__(self) -> Load:
        self.start = os.getloadavg()[0]
        return self

    def __exit__(self, *exc) -> None:
        self.end = os.getloadavg()[0]

    def line(self) -> str:
        """The load line of a section."""
        end = self.end if self.end is not None else os.getloadavg()[0]
        return (
            f"1-minute load average {self.start:.1f} at the start, {end:.1f} at the end, on {os.cpu_count()} cores "
            "(other work on a shared machine slows every figure)."
        )


def heading(title: str, load: Load) -> list[str]:
    """The opening lines of every section: ``## title``, the machine line and the load line."""
    return [f"## {title}", "", provenance(), load.line()]


def table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A markdown table; ``align`` has one letter per column, ``l`` or ``r`` (default: all left)."""
    align = align or "l" * len(header)
    if len(align) != len(header):
        raise ValueError(f"align {align!r} has {len(align)} letters for {len(header)} columns")
    rule = "|" + "".join("---:|" if a == "r" else "---|" for a in align)
    return ["| " + " | ".join(header) + " |", rule, *("| " + " | ".join(r) + " |" for r in rows)]


def verdict(value: float, better: str, target: float) -> str:
    """``meets`` or ``MISSES``: whether ``value <better> target`` holds (``better`` is >=, <=, < or >)."""
    return "meets" if _BETTER[better](value, target) else "MISSES"


def check_writable(path: str | os.PathLike) -> Path:
    """Refuse before measuring when the benchmarks file could not be written afterwards."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise BenchmarkFileError(f"bench_out={path} is a folder; give a markdown file such as BENCHMARKS.md")
    if not folder.is_dir():
        raise BenchmarkFileError(f"bench_out={path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise BenchmarkFileError(f"bench_out={path} is not writable")
    return path


def write_section(path: str | os.PathLike, name: str, body: str) -> Path:
    """Replace (or append) the ``name`` section of a benchmarks file, atomically; keep the rest."""
    path = Path(path)
    text = path.read_text() if path.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def read_section(path: str | os.PathLike, name: str) -> str | None:
    """The body of the ``name`` section of a benchmarks file, or None when it has none."""
    text = Path(path).read_text() if Path(path).exists() else ""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start not in text or end not in text:
        return None
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n")
