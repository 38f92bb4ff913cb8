"""The design's import rules: which part of the project may import which.

The core reaches a backend only through configuration (hydra ``_target_``, DESIGN.md
"Layout"), so the same collect / deploy code runs on the sim or on a real arm; tasks and
methods do not know each other (STYLE.md rule 6). Checked statically over every source file
(imports that never run, e.g. in a function, count too) and, for the backend rule,
dynamically by importing every core module in a fresh interpreter.
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
# (source folder, modules it must never import). A prefix forbids the package and everything in it.
RULES = (
    ("robolang", ("sim", "hardware")),  # the core reaches a backend only through configuration
    ("sim", ("robolang.policy",)),  # the world never knows the policy
    ("hardware", ("robolang.policy",)),
    ("robolang/captioning", ("robolang.policy",)),  # the captioner never knows the policy
    ("robolang/policy", ("sim",)),  # the policy never knows the world
)


def _forbidden(module: str | None, forbidden: tuple[str, ...] = FORBIDDEN) -> bool:
    return module is not None and any(module == f or module.startswith(f + ".") for f in forbidden)


def _package_of(path: Path) -> list[str]:
    """Package of a source file as name parts: robolang/testing/x.py -> ["robolang", "testing"]."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return parts[:-1]  # a module's package, and for __init__.py the package itself


def _from_targets(node: ast.ImportFrom, package: list[str]) -> tuple[list[str], bool]:
    """Modules a ``from X import a, b`` may load (X, X.a, X.b), and whether a relative import climbed out."""
    if node.level == 0:
        base = [node.module] if node.module else []
    else:
        # A relative import resolves inside the file's package; one that climbs above the
        # top-level package would name a sibling such as `sim` (and fails at run time).
        parts = package[: len(package) - node.level + 1] if node.level <= len(package) else []
        if not parts:
            return [], True
        base = [".".join([*parts, node.module] if node.module else parts)]
    return [*base, *(f"{base[0]}.{a.name}" for a in node.names if base)], False


def forbidden_imports(source: str, package: list[str], forbidden: tuple[str, ...] = FORBIDDEN) -> list[str]:
    """``line: statement`` for every import of a forbidden module in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            bad = [a.name for a in node.names if _forbidden(a.name, forbidden)]
        elif isinstance(node, ast.ImportFrom):
            targets, climbed = _from_targets(node, package)
            bad = [t for t in targets if _forbidden(t, forbidden)][:1]
            if climbed:
                bad = [f"{'.' * node.level}{node.module or ''} (-> ?)"]
        elif isinstance(node, ast.Call) and _call_name(node) in DYNAMIC_IMPORTERS and node.args:
            arg = node.args[0]
            literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            bad = [arg.value] if literal and _forbidden(arg.value, forbidden) else []
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


def violations_of(root: Path, folder: str, forbidden: tuple[str, ...]) -> list[str]:
    """Every forbidden import under ``root/folder``, as ``path:line: module``."""
    files = sorted((root / folder).rglob("*.py"))
    return [
        f"{f.relative_to(root)}:{v}"
        for f in files
        for v in forbidden_imports(f.read_text(), list(f.relative_to(root).with_suffix("").parts)[:-1], forbidden)
    ]


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


@pytest.mark.parametrize(
    ("source", "package", "violations"),
    [
        ("import robolang.policy", ["sim"], 1),
        ("from robolang.policy.model import TransformerPolicy", ["sim", "play"], 1),
        ("from robolang import policy", ["sim"], 1),
        ("from robolang import features, policy", ["sim"], 1),
        ("from .. import policy", ["robolang", "captioning"], 1),
        ("from ..policy import checkpoint", ["robolang", "captioning"], 1),
        ("def f():\n    import robolang.policy.language", ["hardware"], 1),
        ("importlib.import_module('robolang.policy.mcil')", ["sim"], 1),
        ("from robolang import features", ["sim"], 0),
        ("import robolang.policy_notes", ["sim"], 0),
        ("from . import policy", ["robolang", "captioning"], 0),  # robolang.captioning.policy
    ],
)
def test_checker_on_module_prefixes(source, package, violations):
    found = forbidden_imports(source, package, ("robolang.policy",))
    assert len(found) == violations, found


@pytest.mark.parametrize(("folder", "forbidden"), RULES)
def test_rule_holds(folder, forbidden):
    bad = violations_of(REPO, folder, forbidden)
    assert not bad, f"{folder}/ must not import {', '.join(forbidden)}:\n" + "\n".join(bad)


def test_a_deliberate_violation_is_caught(tmp_path):
    """Each rule fails on a tree that breaks it: a copy of the rule's folder plus one bad file."""
    for folder, forbidden in RULES:
        bad_file = tmp_path / folder / "deliberate_violation.py"
        bad_file.parent.mkdir(parents=True, exist_ok=True)
        bad_file.write_text(f"def later():\n    import {forbidden[0]}\n")
        found = violations_of(tmp_path, folder, forbidden)
        assert any("deliberate_violation.py:2" in v for v in found), (folder, found)


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
