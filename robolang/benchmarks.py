"""Recording benchmark figures in ``BENCHMARKS.md`` with machine, date and commit.

Each benchmark owns one section between ``<!-- bench:NAME -->`` markers; rerunning a
benchmark replaces its section and leaves the others alone.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

HEADER = "# Benchmarks\n\nWritten by `robolang bench ...`; every figure sits beside its reference from the same run.\n"


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
    cwd = repo or Path(__file__).resolve().parent.parent
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
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Measured {now} on {machine_summary()}; commit `{git_commit()}`."


def write_section(path: str | os.PathLike, name: str, body: str) -> Path:
    """Replace (or append) the ``name`` section of a benchmarks file, atomically."""
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
