"""Policy checkpoints: a directory that loads alone, written atomically.

Layout of one checkpoint (``<run>/checkpoints/step_000500/``)::

    config.json          policy type and sizes, encoder reference, observation spec, step
    model.safetensors    weights (the EMA weights when EMA is on)
    stats.json           normalization statistics of the training data
    training/            optimizer, scheduler and every rank's RNG state (only to resume)

A checkpoint is built in a hidden temporary folder and renamed into place; ``last`` is a
symlink swapped atomically, so a crash at any moment leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from robolang.features import ACTION_NAMES, STATE_NAMES
from robolang.policy.mcil import MCILPolicy, MCILPolicyConfig
from robolang.policy.model import TransformerPolicy, TransformerPolicyConfig

POLICIES: dict[str, tuple[type, type]] = {
    "transformer": (TransformerPolicyConfig, TransformerPolicy),
    "mcil": (MCILPolicyConfig, MCILPolicy),
}
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that is missing, incomplete, or does not fit the robot; says which and why."""


def build_policy(policy_type: str, settings: dict) -> nn.Module:
    """A fresh policy of a registered type from plain settings (unknown keys are refused)."""
    if policy_type not in POLICIES:
        raise CheckpointError(f"unknown policy type {policy_type!r}; known: {sorted(POLICIES)}")
    config_cls, policy_cls = POLICIES[policy_type]
    return policy_cls(config_cls.from_dict(settings))


@dataclass
class PolicyBundle:
    """What a checkpoint holds: the policy, its statistics and the encoder reference."""

    policy: nn.Module
    policy_type: str
    stats: dict
    encoder: str
    observation_spec: dict
    step: int
    path: Path | None = None


def observation_spec(image_shapes: dict[str, tuple[int, ...]]) -> dict:
    """What the policy reads and writes, by name and shape (images HWC); compared against a robot at load time."""
    return {
        "images": {k: list(shape) for k, shape in image_shapes.items()},
        "state_names": list(STATE_NAMES),
        "action_names": list(ACTION_NAMES),
    }


def save_checkpoint(directory: str | Path, bundle: PolicyBundle, training: dict[str, dict] | None = None) -> Path:
    """Write ``bundle`` (and optional per-file training state) to ``directory`` atomically."""
    directory = Path(directory)
    tmp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = {
        "format_version": FORMAT_VERSION,
        "policy_type": bundle.policy_type,
        "policy": bundle.policy.config.to_dict(),
        "encoder": bundle.encoder,
        "observation_spec": bundle.observation_spec,
        "step": bundle.step,
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    (tmp / "stats.json").write_text(json.dumps(bundle.stats, indent=2))
    state = {k: v.detach().cpu().contiguous() for k, v in bundle.policy.state_dict().items()}
    save_file(state, tmp / "model.safetensors")
    if training:
        (tmp / "training").mkdir()
        for name, payload in training.items():
            torch.save(payload, tmp / "training" / f"{name}.pt")
    _fsync_tree(tmp)
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(tmp, directory)
    return directory


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def point_last(checkpoints: Path, target: Path) -> None:
    """Swap the ``last`` symlink to ``target`` atomically."""
    tmp = checkpoints / ".last.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target.name)
    os.replace(tmp, checkpoints / "last")


def load_checkpoint(directory: str | Path, device: str = "cpu") -> PolicyBundle:
    """Load a policy checkpoint directory (``<run>`` or ``<run>/checkpoints/last`` also work)."""
    directory = _resolve(Path(directory))
    try:
        config = json.loads((directory / "config.json").read_text())
        stats = json.loads((directory / "stats.json").read_text())
        weights = load_file(directory / "model.safetensors", device=device)
    except FileNotFoundError as e:
        raise CheckpointError(f"{directory} is not a complete robolang checkpoint: {e.filename} is missing") from e
    except (json.JSONDecodeError, OSError) as e:
        raise CheckpointError(f"{directory} is damaged: {e}") from e
    policy = build_policy(config["policy_type"], config["policy"]).to(device)
    policy.load_state_dict(weights)
    policy.eval()
    return PolicyBundle(
        policy, config["policy_type"], stats, config["encoder"], config["observation_spec"], config["step"], directory
    )


def _resolve(path: Path) -> Path:
    if (path / "config.json").exists():
        return path
    for candidate in (path / "checkpoints" / "last", path / "last"):
        if (candidate / "config.json").exists():
            return candidate.resolve()
    raise CheckpointError(
        f"no checkpoint at {path}: expected config.json there, or a training run folder with checkpoints/last"
    )


def check_observation_spec(spec: dict, observation_features: dict) -> None:
    """Refuse a robot whose cameras, proprioception or actions differ from what the policy was trained on."""
    problems = []
    for key, shape in spec["images"].items():
        camera = key.removeprefix("observation.images.")
        have = observation_features.get(camera, observation_features.get(key))
        if have is None:
            problems.append(f"the robot has no camera {camera!r}")
        elif tuple(have) != tuple(shape):
            problems.append(f"camera {camera!r} gives {tuple(have)}, the policy was trained on {tuple(shape)}")
    missing = [n for n in spec["state_names"] if n not in observation_features]
    if missing:
        problems.append(f"the robot lacks proprioception {missing}")
    if problems:
        raise CheckpointError("this policy does not fit the robot: " + "; ".join(problems))
