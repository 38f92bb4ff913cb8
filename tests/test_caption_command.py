"""`robolang caption` as a user meets it: the thresholds of configs/caption/default.yaml
(hydra overrides), bad values refused where the config is read, a read-only dataset refused
before any work, a snapshot folder given instead of the dataset link, bad splits and exports."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import synthetic

from robolang import cli
from robolang.captioning import annotations
from robolang.captioning.captioner import HindsightCaptioner
from robolang.captioning.config import CaptionConfig
from robolang.testing.scene_states import EE_HOME, PLAY_TABLE, StateScript

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "caption" / "default.yaml"


def lift_episode() -> StateScript:
    """The hand comes to the red cube, grips it and lifts it 8 cm."""
    s = StateScript(70)
    s.ee_path(EE_HOME, (0.40, -0.12, 0.02), 5, 20).grip("red_cube", 0.04, 21, 70)
    for i in range(10):
        s.pose("red_cube", (0.40, -0.12, 0.02 + 0.008 * (i + 1)), start=25 + i, stop=26 + i)
    s.touch("red_cube", "table", False, 25, 70).pose("red_cube", (0.40, -0.12, 0.10), start=35)
    return s.ee((0.40, -0.12, 0.10), 35)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("caption_cmd")
    synthetic.record_states(folder / "play", [lift_episode()], PLAY_TABLE)
    return folder


@pytest.fixture
def play(recorded, tmp_path) -> Path:
    """A fresh copy of the recorded dataset (its link and its snapshots folder)."""
    shutil.copytree(recorded, tmp_path / "data", symlinks=True)
    return tmp_path / "data" / "play"


@pytest.fixture
def seen(monkeypatch) -> list:
    """The config each captioner run was given (the run itself labels nothing)."""
    configs = []

    def caption(self, root, progress=False):
        configs.append(self.cfg)
        return annotations.empty(), {"frames": 0, "segment_s": 0.0, "phrase_s": 0.0, "total_s": 0.0}

    monkeypatch.setattr(HindsightCaptioner, "caption", caption)
    return configs


def test_caption_reads_configs_caption_default_yaml_with_overrides(play, seen, tmp_path, monkeypatch):
    assert cli.main(["caption", str(play), "--dry-run"]) == 0
    assert cli.main(["caption", str(play), "--dry-run", "tasks.move_min_m=0.08", "segment.stay_frames=7"]) == 0
    assert seen[0] == CaptionConfig.from_yaml(CONFIG)
    assert (seen[1].tasks.move_min_m, seen[1].segment.stay_frames) == (0.08, 7)
    configs = tmp_path / "configs" / "caption"  # the file itself is read: change it, the captioner follows
    configs.mkdir(parents=True)
    (configs / "default.yaml").write_text(CONFIG.read_text().replace("move_min_m: 0.05 ", "move_min_m: 0.06 "))
    monkeypatch.setenv("ROBOLANG_CONFIG_DIR", str(tmp_path / "configs"))
    assert cli.main(["caption", str(play), "--dry-run"]) == 0
    assert seen[2].tasks.move_min_m == 0.06


@pytest.mark.parametrize(
    "override, message",
    [
        ("tasks.move_min_m=abc", "tasks.move_min_m='abc' is not allowed: tasks.move_min_m must be a number > 0"),
        ("segment.stay_frames=0", "segment.stay_frames=0 is not allowed: segment.stay_frames must be an integer >= 1"),
        ("tasks.press_fraction=1.5", "tasks.press_fraction=1.5 is not allowed: tasks.press_fraction must be a number > 0 and <= 1"),
        ("segment.min_frames=500", "segment.min_frames=500 with segment.max_frames=200 is not allowed"),
        ("tasks.drawer_inside=[1,2]", "tasks.drawer_inside=[1, 2] is not allowed: tasks.drawer_inside must be a box"),
        ("+tasks.move_min=1", "unknown TaskThresholds keys ['move_min']"),
        ("+seed=1", "unknown caption config sections ['seed']"),
        ("vision.agreement=1.5", "vision.agreement=1.5 is not allowed: vision.agreement must be a number > 0 and <= 1"),
        ("vision.draws=-1", "vision.draws=-1 is not allowed: vision.draws must be an integer >= 0"),
        ("vision.draws=1.5", "vision.draws=1.5 is not allowed: vision.draws must be an integer >= 0"),
        ("vision.sigma_m=-0.01", "vision.sigma_m=-0.01 is not allowed: vision.sigma_m must be a number >= 0"),
        ("vision.agreement=0", "vision.agreement=0 is not allowed: vision.agreement must be a number > 0 and <= 1"),
        ("vision.seed=-1", "vision.seed=-1 is not allowed: vision.seed must be an integer >= 0"),
        ("+vision.draw=4", "unknown VisionConfig keys ['draw']"),
    ],
)  # fmt: skip
def test_a_bad_caption_config_value_is_refused_before_any_work(play, seen, capsys, override, message):
    assert cli.main(["caption", str(play), override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("robolang caption: error: ") and message in err and err.count("\n") == 1
    assert seen == [] and annotations.load(play).empty


def _without_root_override() -> None:
    """In the child: drop CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH from the bounding set, so even
    root obeys folder permissions after exec (as a user on a read-only dataset would)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _caption_as_user(*args: str) -> subprocess.CompletedProcess:
    drop = _without_root_override if os.geteuid() == 0 else None
    probe = [sys.executable, "-c", f"open({str(args[0])!r} + '/../probe', 'w')"]
    if subprocess.run(probe, preexec_fn=drop, capture_output=True).returncode == 0:
        pytest.fail("could not make the dataset's folder read-only for the test")
    command = [sys.executable, "-m", "robolang.cli", "caption", *args]
    return subprocess.run(command, preexec_fn=drop, capture_output=True, text=True, timeout=600)


def test_a_read_only_dataset_is_refused_before_captioning(play):
    folders = [play.parent, play.parent / ".play.versions"]
    for folder in folders:
        folder.chmod(0o555)
    try:
        done = _caption_as_user(str(play))
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "robolang caption: error: cannot store labels in" in done.stderr and "--dry-run" in done.stderr
    assert "segments," not in done.stdout, "it captioned first and failed only when storing"
    assert annotations.load(play).empty


def _dangling(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_symlink() and not p.exists()]


def test_caption_given_the_snapshot_folder_captions_the_dataset_and_leaves_no_dangling_link(play, capsys):
    snapshot = play.resolve()
    assert cli.main(["caption", str(snapshot)]) == 0
    out = capsys.readouterr().out
    first = annotations.load(play)
    assert cli.main(["caption", str(play)]) == 0  # and captioning the dataset again works as ever
    assert _dangling(play.parent) == [] and play.resolve().parent == play.parent / ".play.versions"
    assert not [p for p in (play.parent / ".play.versions").iterdir() if p.name.endswith(".versions")]
    assert f"captioning {play}" in out and not snapshot.exists()  # stored through the link
    assert (first["task_id"] == "lift").any() and annotations.load(play).equals(first)


def test_an_older_snapshot_is_refused_with_the_dataset_to_use(play, capsys):
    old = play.resolve()
    assert cli.main(["caption", str(play)]) == 0  # the dataset moves on to a new snapshot
    capsys.readouterr()
    old.mkdir()
    (old / "meta").mkdir()
    (old / "meta" / "info.json").write_text("{}")  # as if an older snapshot were still there
    assert cli.main(["caption", str(old)]) == 2
    err = capsys.readouterr().err
    assert f"{old} is a stored snapshot, not the dataset: caption the dataset {play} instead" in err
    assert _dangling(play.parent) == []


def test_bad_splits_and_an_existing_export_are_refused_before_captioning(play, seen, capsys, tmp_path):
    assert cli.main(["caption", str(play), "--export", str(tmp_path / "out"), "--splits", "train,heldout"]) == 2
    assert "--splits 'train,heldout' is not allowed: splits are train, heldout_phrasing" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    assert cli.main(["caption", str(play), "--export", str(tmp_path / "taken")]) == 2
    assert f"--export {tmp_path / 'taken'} exists" in capsys.readouterr().err
    assert cli.main(["caption", str(play.parent / "nothing")]) == 2
    assert "is not a LeRobot dataset" in capsys.readouterr().err
    assert seen == [] and annotations.load(play).empty
