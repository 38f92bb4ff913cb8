"""Benchmarks: one module per benchmark, one config ``configs/bench_<name>.yaml`` each.

A benchmark module ``robolang/bench/<name>.py`` (its docstring's first line is its one-line
description in ``robolang bench --help``) provides::

    def check(cfg) -> None          # refuse bad config values (RobolangError), before any work
    def run(cfg) -> figures         # measure; returns the figures (nothing written)
    def section(cfg, figures, load) -> str   # its BENCHMARKS.md section (``report`` helpers)
    def summary(figures) -> list[str]        # lines for the terminal

``refresh(name, cfg)`` does the rest the same way for every benchmark: checks, the load
line, and replacing the section in ``cfg.bench_out``. Adding a benchmark is one module here
and its config; ``names()`` finds it without importing anything heavy. ``report`` and
``checks`` are the shared modules, not benchmarks.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

SHARED = frozenset({"report", "checks"})


def names() -> list[str]:
    """Every benchmark of this package, by module name (nothing is imported)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in SHARED and not m.name.startswith("_"))


def describe(name: str) -> str:
    """The first line of a benchmark module's docstring, read without importing the module."""
    source = (Path(__file__).parent / f"{name}.py").read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    line = doc.strip().splitlines()[0].rstrip(".") if doc.strip() else name
    return line[:1].lower() + line[1:]


def module(name: str):
    """The benchmark module ``name`` (imported now, with its dependencies)."""
    if name not in names():
        raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(names())}")
    return importlib.import_module(f"robolang.bench.{name}")


def refresh(name: str, cfg):
    """Check ``cfg``, run benchmark ``name``, write its section to ``cfg.bench_out``; returns its figures."""
    from robolang.bench import report
    from robolang.config import checked

    bench = module(name)
    bench.check(cfg)
    out = report.check_writable(checked(cfg, "bench_out", str))
    with report.Load() as load:
        figures = bench.run(cfg)
    report.write_section(out, name, bench.section(cfg, figures, load))
    return figures
