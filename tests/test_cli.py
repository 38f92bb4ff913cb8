"""The command line: one module per verb, cheap to list, one line for user errors, tracebacks for bugs."""

import argparse
import json
import subprocess
import sys
import types

import pytest

from robolang import cli
from robolang.commands import COMMANDS
from robolang.errors import RobolangError

VERBS = {"play", "collect", "teleop", "dataset", "view", "caption", "annotate", "dagger", "train", "ensemble", "eval", "estimator", "ask", "deploy", "demo", "bench", "baseline", "config"}  # fmt: skip


def test_help_lists_every_verb_with_examples(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert all(f"    {verb}" in text for verb in VERBS)
    assert "world=randomized" in text and "examples:" in text


def test_every_command_module_follows_the_protocol():
    assert set(COMMANDS) == VERBS
    for module in cli._modules():
        assert module.NAME in VERBS and module.HELP and module.__doc__
        assert callable(module.add_arguments) and callable(module.run)


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_each_verb_has_its_own_help(verb, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([verb, "--help"])
    assert stop.value.code == 0
    assert "usage: robolang " + verb in capsys.readouterr().out


LIST_COMMANDS = """
import json, sys
from robolang import cli
cli._parser(cli._modules())
heavy = ("torch", "lerobot", "pybullet", "hydra", "transformers", "cv2", "av", "sim")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def test_listing_commands_imports_nothing_heavy():
    """`robolang --help` must be instant: building every parser loads no torch, LeRobot, PyBullet or hydra."""
    result = subprocess.run([sys.executable, "-c", LIST_COMMANDS], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def _with_verb(monkeypatch, run):
    """Register a verb defined here, as a new command module would be."""
    module = types.ModuleType("robolang.commands.probe", "probe: a verb defined in a test")
    module.NAME, module.HELP = "probe", "a verb defined in a test"
    module.add_arguments = lambda parser: parser.add_argument("value")
    module.run = run
    monkeypatch.setitem(sys.modules, "robolang.commands.probe", module)
    monkeypatch.setattr(cli, "COMMANDS", (*COMMANDS, "probe"))


def test_a_new_verb_is_one_module(monkeypatch):
    seen = []
    _with_verb(monkeypatch, lambda args: seen.append(args.value) or 7)
    assert cli.main(["probe", "x"]) == 7 and seen == ["x"]


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys):
    def run(args: argparse.Namespace) -> int:
        if args.value == "user":
            raise RobolangError("train.steps=0 is not allowed")
        if args.value == "disk":
            raise OSError(28, "No space left on device", "runs/x")
        if args.value == "stop":
            raise KeyboardInterrupt
        raise ValueError("a bug")

    _with_verb(monkeypatch, run)
    assert cli.main(["probe", "user"]) == 2
    assert capsys.readouterr().err == "robolang probe: error: train.steps=0 is not allowed\n"
    assert cli.main(["probe", "disk"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert cli.main(["probe", "stop"]) == 130
    assert "interrupted" in capsys.readouterr().err
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["probe", "bug"])


def test_unknown_arguments_are_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["view", "data/x", "--frobnicate"])
    assert stop.value.code == 2 and "unrecognized arguments: --frobnicate" in capsys.readouterr().err
