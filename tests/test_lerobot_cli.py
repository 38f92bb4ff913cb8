"""LeRobot's own command-line tools on robolang robots and data, run as a LeRobot user runs them.

Headless, offline, with 32 px cameras and a few frames. The robot plugin is found the way an
installed one is, by its distribution name (a dist-info on ``PYTHONPATH``: what
``pip install -e ./lerobot_robot_robolang`` leaves); the scripted teleoperator
(``tests/helpers/lerobot_teleoperator_scripted``) through ``--teleop.discover_packages_path``.
Each command spends 10-15 s importing LeRobot before it does anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import synthetic
from safetensors.numpy import load_file

from robolang.captioning import annotations
from robolang.captioning.export import export_windows
from robolang.features import ACTION_NAMES, CAMERA_NAMES, CONTROL_FPS, STATE_NAMES, image_key
from robolang.recording.features import dataset_features
from robolang.recording.stats import overflowed_image_keys
from robolang.recording.store import EpisodeStore

HELPERS = Path(__file__).resolve().parent / "helpers"
SMALL_ROBOT = [f"--robot.{side}_{dim}=32" for side in ("static", "wrist") for dim in ("width", "height")]
SCRIPTED_TELEOP = [
    "--teleop.discover_packages_path=lerobot_teleoperator_scripted",
    "--teleop.type=robolang_scripted_keyboard_ee",
]


@pytest.fixture(scope="module")
def lerobot(tmp_path_factory):
    """Runs a LeRobot console script with the plugin installed (as far as LeRobot can tell)."""
    tmp = tmp_path_factory.mktemp("lerobot_cli")
    dist = tmp / "site" / "lerobot_robot_robolang-0.1.0.dist-info"
    dist.mkdir(parents=True)
    dist.joinpath("METADATA").write_text("Metadata-Version: 2.1\nName: lerobot_robot_robolang\nVersion: 0.1.0\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(tmp / "site"), str(HELPERS), env.get("PYTHONPATH", "")]),
        HF_HUB_OFFLINE="1",
        HF_LEROBOT_HOME=str(tmp / "home"),  # calibration and cache folders stay in the test's tmp
        WANDB_MODE="disabled",
        SVT_LOG="1",
    )

    def run(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        command = [str(Path(sys.executable).with_name(script)), *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp)

    return run


def _tail(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stderr[-3000:]}"


def _teleoperate_args(calls: Path) -> list[str]:
    return [
        "--robot.type=robolang_play_table", *SMALL_ROBOT, *SCRIPTED_TELEOP,
        "--teleop.delta_x=1", "--teleop.gripper=0", f"--teleop.log={calls}", "--teleop_time_s=1.0",
    ]  # fmt: skip


def test_lerobot_teleoperate_drives_the_sim(lerobot, tmp_path):
    result = lerobot("lerobot-teleoperate", *_teleoperate_args(tmp_path / "calls"), f"--fps={CONTROL_FPS}")
    assert result.returncode == 0, _tail(result)
    assert 8 <= int((tmp_path / "calls").read_text()) <= 12, "about 1 s of actions at 10 fps"


def test_lerobot_teleoperate_at_its_default_fps_is_refused(lerobot, tmp_path):
    # LeRobot's default 60 fps would run the 10 Hz robot 6x too fast: stopped, with the fix named.
    result = lerobot("lerobot-teleoperate", *_teleoperate_args(tmp_path / "calls"))
    assert result.returncode != 0
    assert "ControlRateError" in result.stderr and f"Pass --fps={CONTROL_FPS}" in result.stderr, _tail(result)
    assert int((tmp_path / "calls").read_text()) <= 10, "stopped within a few actions"


def test_lerobot_record_writes_robolang_data_that_robolang_adopts(lerobot, tmp_path):
    root = tmp_path / "recorded"
    result = lerobot(
        "lerobot-record", "--robot.type=robolang_play_table", *SMALL_ROBOT, *SCRIPTED_TELEOP,
        # keyboard_ee's Left held (delta_x = +1: its left is our +y) at a quarter of full scale,
        # Left Ctrl pressed (close); 1.5 s at the robot's 10 Hz.
        "--teleop.delta_x=1", "--teleop.gripper=0", "--teleop.scale=0.25",
        "--dataset.repo_id=test/recorded", f"--dataset.root={root}", "--dataset.single_task=play",
        f"--dataset.fps={CONTROL_FPS}", "--dataset.num_episodes=1", "--dataset.episode_time_s=1.5",
        "--dataset.reset_time_s=0", "--dataset.push_to_hub=false", "--dataset.streaming_encoding=true",
        "--play_sounds=false",
    )  # fmt: skip
    assert result.returncode == 0, _tail(result)
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["fps"] == CONTROL_FPS and info["robot_type"] == "robolang_play_table"
    assert info["features"]["action"]["names"] == list(ACTION_NAMES)
    assert info["features"]["observation.state"]["names"] == list(STATE_NAMES)
    data = pd.concat(pd.read_parquet(p) for p in sorted((root / "data").rglob("*.parquet")))
    assert len(data) >= 10
    actions = np.stack(data["action"].to_numpy())
    np.testing.assert_allclose(actions, np.tile([0.0, 0.25, 0.0, 0.0, 1.0], (len(data), 1)), atol=1e-6)
    states = np.stack(data["observation.state"].to_numpy())
    assert states[-1, 1] - states[0, 1] > 0.03, "the arm moved ~0.5 cm per step toward +y"
    stats = json.loads((root / "meta" / "stats.json").read_text())
    assert overflowed_image_keys(stats, [image_key(c) for c in CAMERA_NAMES]) == []
    assert min(np.ravel(stats[image_key(CAMERA_NAMES[0])]["std"])) > 0.02

    shapes = {cam: tuple(info["features"][image_key(cam)]["shape"]) for cam in CAMERA_NAMES}
    store = EpisodeStore(root, "test/recorded", CONTROL_FPS, dataset_features(shapes), resume=True)
    try:  # robolang's recorders resume it: adopted into the crash-safe layout
        assert root.is_symlink() and store.episodes_saved == 1
    finally:
        store.close()


def test_lerobot_train_trains_act_on_an_export(lerobot, tmp_path):
    root, labelled, out = tmp_path / "play", tmp_path / "labelled", tmp_path / "act"
    synthetic.record(synthetic.store(root), episodes=2, frames=12)
    rows = [
        {"episode_index": e, "start_frame": 0, "end_frame": 12, "task_id": "lift", "args": "red_cube",
         "instruction": text, "source": "oracle", "split": "train", "captioner_version": "test-1"}
        for e, text in enumerate(("lift the red block", "raise the red cube"))
    ]  # fmt: skip
    annotations.save(root, annotations.rows_from(rows))
    export_windows(root, labelled)
    result = lerobot(
        "lerobot-train", "--dataset.repo_id=robolang/labelled", f"--dataset.root={labelled}",
        "--dataset.use_imagenet_stats=false",  # as robolang's ACT baseline: the export's own statistics
        "--policy.type=act", "--policy.device=cpu", "--policy.push_to_hub=false",
        "--policy.pretrained_backbone_weights=null",  # nothing is downloaded
        "--policy.chunk_size=4", "--policy.n_action_steps=4", "--policy.dim_model=32", "--policy.n_heads=2",
        "--policy.dim_feedforward=64", "--policy.n_encoder_layers=1", "--policy.n_decoder_layers=1",
        "--policy.n_vae_encoder_layers=1", "--steps=3", "--batch_size=2", "--num_workers=0", "--log_freq=1",
        "--save_freq=3", "--eval_freq=0", "--wandb.enable=false", f"--output_dir={out}",
    )  # fmt: skip
    assert result.returncode == 0, _tail(result)
    model = out / "checkpoints" / "last" / "pretrained_model"
    assert {"config.json", "model.safetensors", "policy_preprocessor.json"} <= {p.name for p in model.iterdir()}
    # ACT normalises the cameras with the export's (correct, non-overflowed) statistics.
    (normalizer,) = model.glob("policy_preprocessor_step_*_normalizer_processor.safetensors")
    saved = load_file(normalizer)
    stats = json.loads((labelled / "meta" / "stats.json").read_text())
    for cam in CAMERA_NAMES:
        std = saved[f"{image_key(cam)}.std"].ravel()
        np.testing.assert_allclose(std, np.ravel(stats[image_key(cam)]["std"]), rtol=1e-5)
        assert std.min() > 0.05
    assert "loss:" in result.stderr
