"""`robolang eval` under faults and bad input (issue 12): nothing lost, nothing cryptic.

The output folder is checked before any rollout and an earlier evaluation is never replaced
silently; every bad value is one line naming the key, the value and what is allowed; Ctrl-C
keeps what finished (partial results, resumable); a policy trained on other camera sizes is
evaluated at its own size; non-ASCII instructions are drawn as written."""

import json

import numpy as np
import pytest
from helpers.eval_policies import tiny_checkpoint

from robolang import cli
from robolang.evaluation import worker
from robolang.evaluation.rollout import annotate
from robolang.features import CAMERA_NAMES

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]
QUICK = [*SMALL, "worlds=[default]", "tasks=[open_drawer,lift]", "splits=[train]", "episodes=1", "chains=0",
         "max_steps=8", "workers=1", "videos=0"]  # fmt: skip


@pytest.fixture
def rollouts(monkeypatch):
    """Counts the episodes run (``Workbench.single`` calls)."""
    calls = []
    real = worker.Workbench.single

    def counted(self, job, frames_for=None):
        calls.append(job)
        return real(self, job, frames_for)

    monkeypatch.setattr(worker.Workbench, "single", counted)
    return calls


def _eval(*overrides) -> int:
    return cli.main(["eval", *QUICK, *overrides])


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("robolang eval:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---- case 3: the output folder -------------------------------------------------------------------
@pytest.mark.parametrize("where", ["file", "under_file"])
def test_an_unwritable_out_is_refused_before_any_rollout(tmp_path, capsys, rollouts, where):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    out = blocker if where == "file" else blocker / "eval"
    assert _eval(f"out={out}") == 2
    assert rollouts == []  # refused before any rollout, not after all of them
    line = _one_line(capsys.readouterr().err)
    assert f"out={out}" in line and ("is a file" in line or "not writable" in line)


def test_an_earlier_evaluation_is_refused_unless_overwrite_clears_it(tmp_path, capsys, rollouts):
    out = tmp_path / "eval"
    assert _eval(f"out={out}", "videos=1") == 0
    first = (out / "results.json").read_bytes()
    assert list((out / "videos").glob("*.mp4"))
    ran = len(rollouts)
    capsys.readouterr()

    assert _eval(f"out={out}", "videos=1") == 2
    line = _one_line(capsys.readouterr().err)
    assert "already holds an evaluation" in line and "overwrite=true" in line and "resume=true" in line
    assert (out / "results.json").read_bytes() == first and len(rollouts) == ran  # nothing replaced, nothing run

    stale = out / "videos" / "stale_from_an_older_run.mp4"
    stale.write_bytes(b"old")
    assert _eval(f"out={out}", "videos=0", "overwrite=true") == 0
    assert not (out / "videos").exists()  # the old videos went with the old results
    assert json.loads((out / "results.json").read_text())["config"]["videos"] == 0
    assert not list(out.glob(".*partial"))


# ---- case 4: bad values ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "allowed"),
    [
        ("episodes=abc", "whole number >= 0"),
        ("episodes=-1", "whole number >= 0"),
        ("workers=-1", "whole number >= 1"),
        ("workers=0", "whole number >= 1"),
        ("max_steps=0", "whole number >= 1"),
        ("chains=1.5", "whole number >= 0"),
        ("videos=true", "whole number >= 0"),
        ("execution=fast", "chunk, ensemble"),
        ("actions_per_chunk=0", "whole number >= 1"),
        ("actions_per_chunk=true", "whole number >= 1"),
        ("overwrite=yes", "true or false"),
        ("worlds=[nowhere]", "known: default"),
        ("tasks=[fly]", "known: "),
        ("splits=[]", "a list of splits"),
        ("controllers=runs", "a map of names to checkpoints"),
    ],
)
def test_a_bad_value_is_one_line_with_key_value_and_what_is_allowed(tmp_path, capsys, rollouts, override, allowed):
    assert _eval(f"out={tmp_path / 'eval'}", override) == 2
    line = _one_line(capsys.readouterr().err)
    key, value = override.split("=", 1)
    assert key in line and value.strip("[]") in line and allowed in line, line
    assert rollouts == [] and not (tmp_path / "eval").exists()  # refused where the config is read


# ---- case 5: Ctrl-C --------------------------------------------------------------------------------
def test_ctrl_c_keeps_what_finished_and_resume_runs_the_rest(tmp_path, capsys, monkeypatch):
    out = tmp_path / "eval"
    real, calls = worker.run_episode, []

    def interrupted_at_the_third(*args, **kwargs):  # 2 jobs x (scripted, zero): Ctrl-C in the second job
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(worker, "run_episode", interrupted_at_the_third)
    try:
        rc = _eval(f"out={out}")
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped robolang eval as a traceback")
    assert rc == 130
    line = _one_line(capsys.readouterr().err)
    assert "1 of 2 jobs" in line and "resume=true" in line and str(out / "results.json") in line
    partial = json.loads((out / "results.json").read_text())  # whole JSON, not a torn file
    assert partial["complete"] is False and partial["jobs"] == {"planned": 2, "finished": 1}
    assert len(partial["episodes"]) == 2 and "Interrupted" in (out / "report.html").read_text()

    monkeypatch.setattr(worker, "run_episode", real)
    assert _eval(f"out={out}") == 2  # not replaced silently
    assert "resume=true" in _one_line(capsys.readouterr().err)
    assert _eval(f"out={out}", "resume=true") == 0
    assert len(calls) == 3  # the first job was not run again
    resumed = json.loads((out / "results.json").read_text())
    assert resumed["complete"] is True
    assert _eval(f"out={tmp_path / 'whole'}") == 0
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    assert resumed["episodes"] == whole["episodes"] and resumed["summary"] == whole["summary"]


def test_resume_refuses_other_settings(tmp_path, capsys, monkeypatch):
    out = tmp_path / "eval"
    monkeypatch.setattr(worker, "run_episode", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert _eval(f"out={out}") == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert _eval(f"out={out}", "resume=true", "max_steps=9") == 2
    line = _one_line(capsys.readouterr().err)
    assert "other settings" in line and "max_steps" in line


# ---- case 6: camera sizes --------------------------------------------------------------------------
def test_a_policy_trained_on_small_cameras_is_evaluated_at_its_size(tmp_path, capsys):
    policy = tiny_checkpoint(tmp_path / "policy", side=32)
    args = ["eval", f"checkpoint={policy}", *QUICK[len(SMALL) :], "tasks=[open_drawer]", "max_steps=4"]
    assert cli.main([*args, f"out={tmp_path / 'eval'}"]) == 0  # the default robot renders 128 px
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["config"]["robot"]["config"]["static_width"] == 32
    assert results["summary"]["by_split"]["ours"]["train"]["n"] == 1
    capsys.readouterr()
    assert cli.main([*args, "match_cameras=false", f"out={tmp_path / 'off'}"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "robot.config.static_width=32" in line and "robot.config.wrist_height=32" in line
    assert "match_cameras=true" in line


# ---- case 7: non-ASCII instructions in videos ------------------------------------------------------
@pytest.mark.parametrize("instruction", ["öffne die Schublade", "ouvre le tiroir déjà", "открой ящик"])
def test_non_ascii_instructions_are_drawn_as_written(instruction):
    observation = {c: np.zeros((32, 32, 3), np.uint8) for c in CAMERA_NAMES}

    def frame(text: str) -> np.ndarray:
        return annotate(observation, text, 1, 10, "ours")

    drawn = frame(instruction)
    assert drawn.shape == frame("x").shape  # the caption band keeps the frame size
    as_ascii = "".join(ch if ch.isascii() else "?" for ch in instruction)
    as_bytes = "".join(ch if ch.isascii() else "??" for ch in instruction)  # cv2 draws each UTF-8 byte
    assert not np.array_equal(drawn, frame(as_ascii)) and not np.array_equal(drawn, frame(as_bytes))
