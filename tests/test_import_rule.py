"""The design's import rule: nothing under ``robolang/`` imports ``sim`` or ``hardware``.

The core reaches a backend only through configuration (hydra ``_target_``, DESIGN.md
"Layout"), so the same collect / deploy code runs on the sim or on a real arm. Checked twice:
statically over every source file (imports that never run, e.g. in a function, count too)
and dynamically by importing every core module in a fresh interpreter.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "robolang"
FORBIDDEN = ("sim", "hardware")
DYNAMIC_IMPORTERS = {"import_module", "__import__"}  # importlib.import_module("sim"), __import__("sim")


def _forbidden(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in FORBIDDEN


def _package_of(path: Path) -> list[str]:
    """Package of a source file as name parts: robolang/testing/x.py -> ["robolang", "testing"]."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return parts[:-1]  # a module's package, and for __init__.py the package itself


def forbidden_imports(source: str, package: list[str]) -> list[str]:
    """``line: statement`` for every import of a forbidden top-level package in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            bad = [a.name for a in node.names if _forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            bad = [node.module] if _forbidden(node.module) else []
        elif isinstance(node, ast.ImportFrom):
            # A relative import resolves inside the file's package; one that climbs above the
            # top-level package would name a sibling such as `sim` (and fails at run time).
            base = package[: len(package) - node.level + 1] if node.level <= len(package) else []
            target = ".".join([*base, node.module] if node.module else base)
            bad = [f"{'.' * node.level}{node.module or ''} (-> {target or '?'})"] if not base else []
        elif isinstance(node, ast.Call) and _call_name(node) in DYNAMIC_IMPORTERS and node.args:
            arg = node.args[0]
            bad = (
                [arg.value]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _forbidden(arg.value)
                else []
            )
        else:
            continue
        found += [f"{node.lineno}: {name}" for name in bad]
    return found


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


# ---- the checker itself, table-driven --------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "package", "violations"),
    [
        ("import sim", ["robolang"], 1),
        ("import sim.robot as r", ["robolang"], 1),
        ("import os, hardware", ["robolang"], 1),
        ("from sim import scene", ["robolang"], 1),
        ("from hardware.so101 import Driver", ["robolang"], 1),
        ("def f():\n    from sim.robot import PlayTableRobot", ["robolang"], 1),
        ("if TYPE_CHECKING:\n    import hardware", ["robolang"], 1),
        ("import importlib\nimportlib.import_module('sim.robot')", ["robolang"], 1),
        ("__import__('hardware')", ["robolang"], 1),
        ("from .. import sim", ["robolang"], 1),  # climbs above robolang
        ("from ... import sim", ["robolang", "testing"], 1),
        ("from . import sim", ["robolang"], 0),  # that is robolang.sim, not the simulator
        ("from .. import features", ["robolang", "testing"], 0),
        ("import simple, simulation, hardware_utils", ["robolang"], 0),
        ("from simpy import sim", ["robolang"], 0),
        ("import numpy as np\nfrom robolang.robot import EEDeltaRobot", ["robolang"], 0),
        ("TARGET = 'sim.robot.PlayTableRobot'  # a hydra _target_ string is fine", ["robolang"], 0),
        ("importlib.import_module(name)", ["robolang"], 0),
    ],
)
def test_checker(source, package, violations):
    assert len(forbidden_imports(source, package)) == violations, forbidden_imports(source, package)


def test_package_of():
    assert _package_of(CORE / "__init__.py") == ["robolang"]
    assert _package_of(CORE / "robot.py") == ["robolang"]
    assert _package_of(CORE / "testing" / "conformance.py") == ["robolang", "testing"]
    assert _package_of(CORE / "testing" / "__init__.py") == ["robolang", "testing"]


# ---- the rule ----------------------------------------------------------------------------------
def test_core_sources_never_import_sim_or_hardware():
    files = sorted(CORE.rglob("*.py"))
    assert CORE / "robot.py" in files and CORE / "testing" / "conformance.py" in files
    violations = [f"{f.relative_to(REPO)}:{v}" for f in files for v in forbidden_imports(f.read_text(), _package_of(f))]
    assert not violations, "robolang/ must not import sim or hardware (DESIGN.md):\n" + "\n".join(violations)


IMPORT_EVERY_CORE_MODULE = """
import importlib, json, pkgutil, sys
import robolang
errors, names = {}, ["robolang"]
def onerror(name):
    errors[name] = repr(sys.exc_info()[1])
for info in pkgutil.walk_packages(robolang.__path__, "robolang.", onerror=onerror):
    try:
        importlib.import_module(info.name)
        names.append(info.name)
    except Exception as exc:
        errors[info.name] = repr(exc)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sim", "hardware"))
print(json.dumps({"imported": names, "errors": errors, "loaded": loaded}))
"""


def test_importing_every_core_module_loads_no_backend():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_CORE_MODULE], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert not report["errors"], f"core modules failed to import: {report['errors']}"
    for module in ("robolang.robot", "robolang.safety", "robolang.health", "robolang.testing.conformance"):
        assert module in report["imported"]
    assert not report["loaded"], f"importing robolang loaded backend modules: {report['loaded']}"


def test_import_hardware_works():
    hardware = importlib.import_module("hardware")
    assert hardware.__doc__
    # Every driver module must import without its vendor SDK (SDKs are imported lazily).
    for info in pkgutil.walk_packages(hardware.__path__, "hardware."):
        importlib.import_module(info.name)
