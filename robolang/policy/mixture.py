"""Training on several datasets at once: play plus, e.g., DAgger's relabelled rollouts.

``DatasetMixture`` draws each batch from its parts: how many samples come from each is a
multinomial draw with the parts' weights, then every part samples its share with the same
rng, in order, so a batch is still fully determined by the rng. Default weights are the parts'
labelled frames (``num_frames``): the aggregate of DAgger (Ross et al. 2011), every labelled
frame as likely as any other. ``extra_weight`` instead fixes the fraction of every batch that
the extra parts (all but the first) give together, shared among them by their frames.
"""

from __future__ import annotations

import numpy as np
import torch


class DatasetMixture:
    """Batches from ``parts`` (``PolicyDataset``-like: ``sample``, ``num_frames``); the first part
    is the main one (its ``stats`` and ``frames`` are the mixture's)."""

    def __init__(self, parts: list, extra_weight: float | None = None):
        if not parts:
            raise ValueError("a dataset mixture needs at least one dataset")
        if extra_weight is not None and not 0.0 <= extra_weight <= 1.0:
            raise ValueError(f"data.extra_weight={extra_weight!r} is not allowed: it must be in [0, 1] or null")
        self.parts = list(parts)
        frames = np.array([p.num_frames for p in self.parts], np.float64)
        if extra_weight is None or len(self.parts) == 1:
            weights = frames
        else:
            extra = frames[1:] / frames[1:].sum()
            weights = np.concatenate([[1.0 - extra_weight], extra_weight * extra])
        self.weights = weights / weights.sum()

    @property
    def stats(self):
        return self.parts[0].stats

    @property
    def frames(self):
        return self.parts[0].frames

    @property
    def num_frames(self) -> int:
        return int(sum(p.num_frames for p in self.parts))

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """A batch with each part's share, concatenated in part order."""
        counts = rng.multinomial(batch_size, self.weights)
        batches = [part.sample(int(n), rng) for part, n in zip(self.parts, counts, strict=True) if n]
        if len(batches) == 1:
            return batches[0]
        keys = batches[0].keys()
        missing = [k for b in batches for k in keys if k not in b]
        if missing or any(len(b) != len(keys) for b in batches):
            raise ValueError(f"the datasets give batches with different keys ({sorted(set(missing))})")
        return {k: torch.cat([b[k] for b in batches]) for k in keys}
