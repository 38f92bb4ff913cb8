"""What a policy must provide to be trained by the one loop and loaded by ``load_policy``.

A policy is a ``torch.nn.Module`` that satisfies ``Policy`` below; it is named in
``configs/policy/<name>.yaml`` by ``_target_: package.module.Class`` (resolved in one place,
``robolang.policy.registry``), and nothing else in robolang has to know it exists. ``PolicyBase``
gives the common parts (normalisation buffers, features, ``predict``); a policy may also
implement the protocol from scratch.

The batch a policy reads is the contract of ``robolang.policy.batch``, with the proprioception
**raw**: normalisation lives inside the policy, in buffers saved with its weights, so a
checkpoint needs no statistics file and training and inference normalise in the same code.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

from robolang.policy import batch as B

LOSS = "loss"  # the key of the total loss in ``compute_loss``'s dict; the optimiser minimises it

# What ``Policy`` names, checked when a policy class is built (``registry.build_policy``).
MEMBERS = ("name", "config_class", "config", "n_obs_steps", "chunk_size", "observation_features",
           "action_features", "training_features", "set_normalization", "compute_loss", "predict")  # fmt: skip


@runtime_checkable
class Policy(Protocol):
    """The plugin surface. ``cls(config)`` builds one from ``cls.config_class.from_dict(settings)``."""

    name: ClassVar[str]  # short kind for people and logs: "transformer", "mcil"
    config_class: ClassVar[type]  # a dataclass with ``from_dict`` / ``to_dict`` (``PolicyConfigBase``)
    config: Any
    n_obs_steps: int  # frames of history per sample (T)
    chunk_size: int  # future actions predicted per call (K)
    observation_features: dict[str, tuple[int, ...]]  # batch key -> per-step shape, e.g. (3, H, W)
    action_features: dict[str, tuple[int, ...]]  # {"action": (ACTION_DIM,)}
    training_features: tuple[str, ...]  # extra batch keys ``compute_loss`` needs (e.g. batch.TARGET)

    def set_normalization(self, stats: dict[str, dict[str, list[float]]]) -> None:
        """Store the training data's statistics (``{"observation.state": {"mean", "std"}}``) in buffers."""

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named losses of a training batch; the total under ``LOSS``, the others for the log."""

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The action chunk (B, K, ACTION_DIM) in [-1, 1] for a batch with raw proprioception."""


class PolicyConfigBase:
    """to_dict / from_dict for policy config dataclasses (JSON has lists where they hold tuples)."""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict):
        """The config of plain settings; unknown keys, values of the wrong type and sizes < 1 are
        refused naming the key (``policy.<key>=<value>``). Integer fields are sizes (>= 1)."""
        tuples = {f.name for f in fields(cls) if isinstance(f.default, tuple)}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"{cls.__name__} has no fields {unknown}; it has {sorted(known)}")
        for f in fields(cls):
            if f.name in d:
                _check_type(f.name, d[f.name], f.default)
        return cls(**{k: tuple(v) if k in tuples else v for k, v in d.items()})


def _check_type(key: str, value, default) -> None:
    """Refuse ``value`` unless it has the type of ``default`` (ints are sizes: >= 1)."""
    if isinstance(default, bool):
        ok, allowed = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, allowed = isinstance(value, int) and not isinstance(value, bool) and value >= 1, "an integer >= 1"
    elif isinstance(default, float):
        ok, allowed = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    elif isinstance(default, tuple):
        ok, allowed = isinstance(value, list | tuple), "a list"
    else:
        return
    if not ok:
        raise ValueError(f"policy.{key}={value!r} is not allowed: it must be {allowed}")


class StateNormalizer(nn.Module):
    """(x - mean) / std with the statistics in buffers (saved in ``model.safetensors``).

    Starts as the identity; ``set`` stores a dataset's statistics. The one place robolang
    normalises proprioception (training batches and inference observations alike)."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def set(self, mean, std) -> None:
        mean, std = torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(std, dtype=torch.float32)
        if mean.shape != self.mean.shape or std.shape != self.std.shape:
            raise ValueError(f"statistics of shape {tuple(mean.shape)} for a {self.mean.shape[0]}-wide feature")
        if not bool((std > 0).all()):
            raise ValueError("statistics with a std <= 0")
        self.mean.copy_(mean)
        self.std.copy_(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class PolicyBase(nn.Module):
    """The common parts of a policy: config-derived features, state normalisation, ``predict``.

    Subclasses set ``name`` and ``config_class``, build their layers in ``__init__`` after
    ``super().__init__(config)``, implement ``forward(batch)`` on a *normalised* batch and
    ``compute_loss(batch)`` (call ``self.normalize(batch)`` first). The config needs
    ``n_obs_steps``, ``chunk_size``, ``cameras``, ``image_size``, ``state_dim`` and ``action_dim``.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type] = type(None)

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.normalizer = StateNormalizer(config.state_dim)

    @property
    def n_obs_steps(self) -> int:
        return self.config.n_obs_steps

    @property
    def chunk_size(self) -> int:
        return self.config.chunk_size

    @property
    def observation_features(self) -> dict[str, tuple[int, ...]]:
        c = self.config
        return {**{key: (3, c.image_size, c.image_size) for key in c.cameras}, B.STATE: (c.state_dim,)}

    @property
    def action_features(self) -> dict[str, tuple[int, ...]]:
        return {B.ACTION: (self.config.action_dim,)}

    @property
    def training_features(self) -> tuple[str, ...]:
        return ()

    def set_normalization(self, stats: dict) -> None:
        self.normalizer.set(stats[B.STATE]["mean"], stats[B.STATE]["std"])

    def normalization(self) -> dict[str, dict[str, list[float]]]:
        """The statistics held in the buffers, in the form ``set_normalization`` takes."""
        return {B.STATE: {"mean": self.normalizer.mean.tolist(), "std": self.normalizer.std.tolist()}}

    def normalize(self, batch: dict) -> dict:
        """A shallow copy of ``batch`` with the proprioception normalised."""
        return {**batch, B.STATE: self.normalizer(batch[B.STATE])}

    def predict(self, batch: dict) -> torch.Tensor:
        return self(self.normalize(batch))


def missing_members(policy) -> list[str]:
    """The ``Policy`` members ``policy`` lacks (empty when it satisfies the protocol)."""
    return [m for m in MEMBERS if not hasattr(policy, m)]


@runtime_checkable
class LoadedPolicy(Protocol):
    """What ``robolang.policy.load_policy`` returns, for every kind (ours, MCIL, ACT, plugins)."""

    name: str
    language_blind: bool
    n_obs_steps: int
    chunk_size: int
    observation_features: dict[str, tuple[int, ...]]  # images (H, W, C) as the robot gives them
    action_features: dict[str, tuple[int, ...]]
    image_shapes: dict[str, tuple[int, ...]]  # camera name -> (H, W, C) trained on

    def predict(self, observation: dict, instruction: str) -> Any:
        """The action chunk (chunk_size, action_dim), float32 in [-1, 1]."""

    def select_action(self, observation: dict, instruction: str) -> Any:
        """One action (action_dim,) for this control step."""

    def reset(self) -> None:
        """A new episode."""

    def check_robot(self, observation_features: dict) -> None:
        """Raise ``CheckpointError`` when the robot does not fit."""
