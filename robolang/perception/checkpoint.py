"""State-estimator checkpoints: a folder that loads alone, written atomically; refused on a robot it does not fit.

Layout (``<run>/checkpoints/step_0002000/``, ``<run>/checkpoints/last`` a symlink to the newest)::

    config.json          kind "state_estimator", the model's settings (cameras and image sizes,
                         scene-field and proprioception names, object shapes), the training
                         data's statistics, the worlds it was trained on, the step
    model.safetensors    weights (the statistics are also buffers in it)
    training.pt          optimizer state and RNGs (only to resume)

As policy checkpoints, a step is built in a hidden folder and renamed into place, then ``last``
is swapped atomically, so a crash at any moment leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from robolang.errors import RobolangError
from robolang.perception.estimator import EstimatorConfig, StateEstimator
from robolang.perception.layout import EstimatorStats
from robolang.policy.checkpoint import point_last, written_atomically

KIND = StateEstimator.kind
FORMAT_VERSION = 1


class EstimatorCheckpointError(RobolangError, ValueError):
    """A state-estimator checkpoint that is missing, damaged or of another kind."""


class CameraMismatchError(RobolangError, ValueError):
    """A robot whose cameras or image sizes differ from the ones the estimator was trained on (both named)."""


def save_estimator(directory: Path, model: StateEstimator, step: int, extra: dict | None = None,
                   training: dict | None = None) -> Path:  # fmt: skip
    """Write ``model`` (and the optional training state) to ``directory`` atomically."""
    with written_atomically(directory) as tmp:
        _write(tmp, model, step, extra, training)
    return Path(directory)


def _write(tmp: Path, model: StateEstimator, step: int, extra: dict | None, training: dict | None) -> None:
    config = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "model": model.config.to_dict(),
        "stats": model.stats.to_dict(),
        "step": step,
        **(extra or {}),
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=1))
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp / "model.safetensors")
    if training is not None:
        torch.save(training, tmp / "training.pt")


def save_step(run: Path, model: StateEstimator, step: int, extra: dict, training: dict, keep: int = 2) -> Path:
    """``<run>/checkpoints/step_<step>``, pointed at by ``last``; older steps beyond ``keep`` removed."""
    checkpoints = Path(run) / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    target = save_estimator(checkpoints / f"step_{step:07d}", model, step, extra, training)
    point_last(checkpoints, target)
    for old in sorted(checkpoints.glob("step_*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def resolve(path: Path | str) -> Path:
    """A checkpoint folder from itself, a run folder (``checkpoints/last``) or ``<run>/checkpoints``."""
    path = Path(path)
    for candidate in (path, path / "checkpoints" / "last", path / "last"):
        if (candidate / "config.json").exists():
            return candidate.resolve()
    raise EstimatorCheckpointError(
        f"no state-estimator checkpoint at {path}: expected config.json there or a run folder with checkpoints/last"
    )


def read_config(path: Path) -> dict:
    """A checkpoint's config.json, refused unless it is a state estimator's."""
    file = path / "config.json"
    try:
        config = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise EstimatorCheckpointError(f"{file} is damaged ({e}); use another checkpoint or retrain") from e
    if not isinstance(config, dict) or config.get("kind") != KIND:
        kind = config.get("kind", config.get("policy_type")) if isinstance(config, dict) else None
        raise EstimatorCheckpointError(f"{path} is not a state-estimator checkpoint (kind {kind!r}, not {KIND!r})")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise EstimatorCheckpointError(f"{file} has format_version {config['format_version']}; update robolang")
    return config


def load_estimator(path: Path | str, observation_features: dict | None = None, device: str = "cpu") -> StateEstimator:
    """Load a checkpoint (needs nothing else); with ``observation_features``, refuse a robot it does not fit."""
    path = resolve(path)
    config = read_config(path)
    model = StateEstimator(EstimatorConfig(**config["model"]), EstimatorStats.from_dict(config["stats"]))
    if observation_features is not None:
        check_cameras(model.config.cameras, observation_features)
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise EstimatorCheckpointError(f"{path} is not complete: model.safetensors is missing")
    try:
        model.load_state_dict(load_file(weights, device=device))
    except Exception as e:  # safetensors' own error on a damaged file; RuntimeError on shapes
        raise EstimatorCheckpointError(f"{weights} does not load ({str(e).splitlines()[0]}); retrain") from e
    model.step = int(config.get("step", 0))
    model.checkpoint_config = config
    return model.to(device).eval()


def camera_difference(trained: dict, observation_features: dict) -> list[str]:
    """How a robot's cameras differ from the trained ones, in words (empty: they fit)."""
    problems = []
    for camera, shape in trained.items():
        have = observation_features.get(camera)
        if have is None:
            problems.append(f"the robot has no camera {camera!r}")
        elif tuple(have) != tuple(shape):
            problems.append(f"camera {camera!r} gives {tuple(have)}, the estimator was trained on {tuple(shape)}")
    return problems


def check_cameras(trained: dict, observation_features: dict) -> None:
    """Refuse (``CameraMismatchError``, one line naming both sizes) a robot whose cameras differ."""
    problems = camera_difference(trained, observation_features)
    if problems:
        raise CameraMismatchError("this state estimator does not fit the robot: " + "; ".join(problems))
