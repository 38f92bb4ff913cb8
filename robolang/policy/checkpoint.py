"""Policy checkpoints: a directory that loads alone, written atomically.

Layout of one checkpoint (``<run>/checkpoints/step_000500/``)::

    config.json          the policy's class (``_target_``) and settings, encoder reference, observation spec, step
    model.safetensors    weights and normalisation buffers (the EMA weights when EMA is on)
    stats.json           the training data's statistics (for people; format 1 read them from here)
    training/            optimizer, scheduler and every rank's RNG state (only to resume)

A checkpoint is built in a hidden temporary folder and renamed into place; ``last`` is a
symlink swapped atomically, so a crash at any moment leaves the previous checkpoint intact.
Format 1 (before the plugin surface) named the class by a short type and kept the
statistics only in ``stats.json``; it still loads, with the same meaning.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from robolang.errors import RobolangError
from robolang.features import ACTION_NAMES, STATE_NAMES
from robolang.policy.registry import TARGET, PolicyClassError, build_policy, class_path

FORMAT_VERSION = 2
ENSEMBLE_MANIFEST = "ensemble.json"  # a folder of several checkpoints read as one (robolang.policy.ensemble)
__all__ = ["CheckpointError", "PolicyBundle", "build_policy", "load_checkpoint", "save_checkpoint"]


class CheckpointError(RobolangError, ValueError):
    """A checkpoint that is missing, incomplete, or does not fit the robot; says which and why."""


@dataclass
class PolicyBundle:
    """What a checkpoint holds: the policy, its statistics and the encoder reference."""

    policy: nn.Module
    policy_type: str  # the policy's short name ("transformer", "mcil", a plugin's ``name``)
    stats: dict  # the training data's statistics (the policy holds them in its buffers too)
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
    with written_atomically(directory) as tmp:
        _write_bundle(tmp, bundle, training)
    return Path(directory)


@contextmanager
def written_atomically(directory: str | Path) -> Iterator[Path]:
    """A checkpoint folder written whole or not at all: the body fills a temporary sibling, which is
    fsynced and swapped in for ``directory`` on success (a crash leaves the old one, or none)."""
    directory = Path(directory)
    tmp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    yield tmp
    _fsync_tree(tmp)
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(tmp, directory)


def _write_bundle(tmp: Path, bundle: PolicyBundle, training: dict[str, dict] | None) -> None:
    config = {
        "format_version": FORMAT_VERSION,
        TARGET: class_path(type(bundle.policy)),
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
    """Load a policy checkpoint directory (``<run>`` or ``<run>/checkpoints/last`` also work; an ensemble
    folder, ``robolang.policy.ensemble``, loads as one policy).

    Raises ``CheckpointError`` naming the file for a missing, truncated or damaged checkpoint,
    an unknown policy class, weights that do not fit its config, or a newer format."""
    directory = resolve_checkpoint(Path(directory))
    if (directory / ENSEMBLE_MANIFEST).is_file():
        from robolang.policy.ensemble import load_ensemble

        return load_ensemble(directory, device=device)
    config = _read_json(directory / "config.json")
    version = config.get("format_version", 1)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{directory / 'config.json'} has format_version {version!r}; this robolang reads up to "
            f"{FORMAT_VERSION}: update robolang"
        )
    try:
        target, settings = config.get(TARGET) or config["policy_type"], config["policy"]
        encoder, spec, step = config["encoder"], config["observation_spec"], int(config["step"])
        policy = build_policy(target, settings)
    except KeyError as e:
        raise CheckpointError(f"{directory / 'config.json'} lacks the key {e}; it is not a robolang checkpoint") from e
    except PolicyClassError as e:
        raise CheckpointError(f"{directory / 'config.json'}: {e}") from e
    weights = _read_weights(directory / "model.safetensors", device)
    stats = _read_json(directory / "stats.json") if version == 1 else None
    if stats is not None:  # format 1 kept the statistics beside the weights, not in buffers
        policy.set_normalization(stats)
    _load_weights(policy, weights, directory / "model.safetensors", buffers_may_miss=stats is not None)
    policy.to(device).eval()
    stats = stats or getattr(policy, "normalization", dict)()
    return PolicyBundle(policy, getattr(policy, "name", str(target)), stats, encoder, spec, step, directory)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise CheckpointError(f"{path.parent} is not a complete robolang checkpoint: {path.name} is missing") from e
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise CheckpointError(f"{path} is damaged or truncated ({e}); use another checkpoint or retrain") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is damaged: it holds {type(data).__name__}, not an object")
    return data


def _read_weights(path: Path, device: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path.parent} is not a complete robolang checkpoint: {path.name} is missing")
    try:
        return load_file(path, device=device)
    except Exception as e:  # safetensors raises its own SafetensorError (not an OSError) on a bad file
        raise CheckpointError(f"{path} is damaged or truncated ({e}); use another checkpoint or retrain") from e


def _load_weights(policy: nn.Module, weights: dict, path: Path, buffers_may_miss: bool) -> None:
    """Load ``weights`` strictly; format 1 lacks only the normalisation buffers (set from stats.json)."""
    try:
        result = policy.load_state_dict(weights, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise CheckpointError(f"{path} does not fit its config.json: {str(e).splitlines()[0]}") from e
    buffers = {name for name, _ in policy.named_buffers()}
    missing = [k for k in result.missing_keys if not (buffers_may_miss and k in buffers)]
    if missing or result.unexpected_keys:
        raise CheckpointError(
            f"{path} does not fit its config.json: missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}"
        )


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder from itself (or an ensemble folder) or a training run folder (its ``checkpoints/last``)."""
    path = Path(path)
    if (path / "config.json").exists() or (path / ENSEMBLE_MANIFEST).is_file():
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
