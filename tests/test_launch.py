"""The launch/ recipes, run where their hardware is absent, say what is missing and start nothing."""

import subprocess
from pathlib import Path

import pytest

LAUNCH = Path(__file__).resolve().parents[1] / "launch"


@pytest.mark.parametrize(
    "script, args, says",
    [
        ("so101_play.sh", ["/dev/no-follower", "/dev/no-leader", "out"], ["/dev/no-follower", "/dev/no-leader"]),
        ("ur5e_deploy.sh", ["10.255.255.1", "/no/checkpoint", "lift it"], ["/no/checkpoint", "REALSENSE_SERIAL"]),
        ("ur5e_deploy.sh", [], ["ROBOT_IP CHECKPOINT"]),
        ("ray_collect.sh", ["worker"], ["head's address"]),
        ("multi_gpu_train.sh", ["data/play", "runs/x"], ["no CUDA GPU"]),
    ],
)
def test_a_recipe_without_its_hardware_names_what_is_missing(script, args, says, tmp_path):
    done = subprocess.run(["bash", str(LAUNCH / script), *args], capture_output=True, text=True, cwd=tmp_path,
                          stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    for words in says:
        assert words in done.stderr
    assert not any(tmp_path.iterdir())  # nothing was recorded or written
