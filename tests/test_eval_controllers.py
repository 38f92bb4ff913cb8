"""`robolang eval` compares any number of named controllers: `controllers: {name: checkpoint}`,
the `checkpoint=` short form, a policy defined only in this test module, and the reference rows."""

import json

import numpy as np
import pytest

from robolang import cli
from robolang.config import load_config
from robolang.evaluation.settings import EvalConfigError, controller_specs, read_settings
from robolang.features import CAMERA_NAMES, STATE_NAMES

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]
QUICK = [*SMALL, "worlds=[default]", "tasks=[open_drawer]", "splits=[train]", "episodes=1", "chains=1",
         "chain_length=2", "chain_splits=[train]", "max_steps=6", "workers=1", "videos=1"]  # fmt: skip


class RisingPolicy:
    """A policy known only to this module: lifts the gripper, half a chunk at a time. It keeps
    what it was shown so the test can tell it really ran."""

    seen: list[tuple[frozenset, str]] = []

    def __init__(self, chunk: int = 3):
        self.chunk = chunk

    def reset(self) -> None:
        pass

    def predict(self, observation: dict, instruction: str) -> np.ndarray:
        RisingPolicy.seen.append((frozenset(observation), instruction))
        return np.tile(np.array([0.0, 0.0, 0.5, 0.0, -1.0], np.float32), (self.chunk, 1))


def target(chunk: int = 3) -> str:
    return f"{{_target_:{RisingPolicy.__module__}.RisingPolicy,chunk:{chunk}}}"


def test_a_policy_defined_in_a_test_module_is_evaluated_by_name(tmp_path, capsys):
    RisingPolicy.seen.clear()
    out = tmp_path / "eval"
    controllers = f"controllers={{riser:{target()},slow:{target(1)}}}"
    assert cli.main(["eval", controllers, *QUICK, f"out={out}"]) == 0
    results = json.loads((out / "results.json").read_text())
    names = ["riser", "slow", "scripted", "zero"]
    assert results["summary"]["controllers"] == names
    assert [c["name"] for c in results["config"]["controller_specs"]] == names
    assert {r["controller"] for r in results["episodes"]} == set(names)
    assert results["summary"]["by_split"]["riser"]["train"]["n"] == 1
    # it saw the robot's cameras and proprioception (and the packed state), and the instruction
    keys, instruction = RisingPolicy.seen[0]
    assert keys == {*CAMERA_NAMES, *STATE_NAMES, "state"} and instruction
    # riser asks once per 3 steps, slow every step: 6 steps each on the single episode, plus the chain
    singles = [r for r in results["episodes"] if r["kind"] == "single"]
    assert all(r["steps"] == 6 for r in singles if r["controller"] in ("riser", "slow"))
    printed = capsys.readouterr().out
    assert all(name in printed for name in names)
    html = (out / "report.html").read_text()
    assert "riser" in html and "RisingPolicy" in html
    assert any(v.name.startswith("riser_") for v in (out / "videos").glob("*.mp4"))


def test_checkpoint_is_the_short_form_of_one_named_policy(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    short = read_settings(load_config("eval", [f"checkpoint={run}"]))["controllers"]
    named = read_settings(load_config("eval", [f"controllers={{ours:{run}}}"]))["controllers"]
    assert short == named
    assert [c["name"] for c in short] == ["ours", "scripted", "zero"]
    both = read_settings(load_config("eval", [f"checkpoint={run}", f"+controllers.act={run}"]))["controllers"]
    assert [c["name"] for c in both] == ["ours", "act", "scripted", "zero"]
    bounds_only = read_settings(load_config("eval"))["controllers"]
    assert [c["name"] for c in bounds_only] == ["scripted", "zero"]


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["checkpoint=/a", "controllers={ours:/b}"], "both name 'ours'"),
        (["controllers={scripted:/a}"], "controllers.scripted"),
        (["controllers=[runs/policy]"], "expected a map of names to checkpoints"),
        (["controllers={x:{chunk:3}}"], "needs _target_"),
    ],
)
def test_a_bad_controllers_map_is_refused_with_what_is_allowed(overrides, said):
    with pytest.raises(EvalConfigError, match=said.replace(".", r"\.")):
        read_settings(load_config("eval", overrides))


def test_a_controller_name_must_be_usable_as_a_file_name():
    with pytest.raises(EvalConfigError, match="controllers.bad name: a name is letters"):
        controller_specs({"bad name": "/a"})


def test_evaluation_reaches_policies_only_through_the_public_loading_api():
    """STYLE rule 6: the evaluator never imports the policy package's internals; one function
    (``evaluation.policies.load_policy``) calls ``robolang.policy.load_policy``."""
    import ast
    from pathlib import Path

    import robolang.evaluation

    found = []
    for path in sorted(Path(robolang.evaluation.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("robolang.policy"):
                found.append((path.name, node.module, tuple(a.name for a in node.names)))
            elif isinstance(node, ast.Import):
                found += [(path.name, a.name, ()) for a in node.names if a.name.startswith("robolang.policy")]
    assert found == [("policies.py", "robolang.policy", ("load_policy",))]


def test_references_chooses_the_reference_rows(tmp_path):
    out = tmp_path / "eval"
    assert cli.main(["eval", f"controllers={{riser:{target()}}}", "references=[]", *QUICK, f"out={out}"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["summary"]["controllers"] == ["riser"]
    assert {r["controller"] for r in results["episodes"]} == {"riser"}
    assert "riser" in (out / "report.html").read_text()
    names = [s["name"] for s in controller_specs({"riser": {"_target_": "m.C"}}, references=["zero"])]
    assert names == ["riser", "zero"]


@pytest.mark.parametrize("bad", ["references=[expert]", "references=[zero,zero]", "references=zero"])
def test_unknown_or_repeated_references_are_refused(bad):
    with pytest.raises(EvalConfigError, match="references="):
        read_settings(load_config("eval", [f"controllers={{riser:{target()}}}", bad]))


def test_no_policy_and_no_reference_is_refused():
    with pytest.raises(EvalConfigError, match="nothing to evaluate"):
        read_settings(load_config("eval", ["references=[]"]))
