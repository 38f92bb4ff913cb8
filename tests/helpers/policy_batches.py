"""A tiny stand-in for the data pipeline: batches in the contract's shapes drawn from the given rng."""

from __future__ import annotations

import numpy as np
import torch

from robolang.policy import batch as B

TINY_TRANSFORMER = {
    "n_obs_steps": 1, "chunk_size": 4, "image_size": 16, "lang_dim": 8, "max_lang_tokens": 8, "d_model": 32,
    "n_layers": 1, "n_heads": 2, "vision": {"type": "conv", "channels": [8, 16, 16]}, "token_grid": 2,
}  # fmt: skip
TINY_MCIL = {
    "n_obs_steps": 1, "chunk_size": 4, "image_size": 16, "lang_dim": 8, "conv_channels": [8, 16, 16],
    "feature_dim": 8, "hidden_dim": 32, "n_hidden": 1,
}  # fmt: skip


class RandomBatches:
    """Deterministic in the rng it is given, like the real sampler; the target depends on the inputs
    (action = mean brightness of the static image, scaled) so that the loss can fall."""

    def __init__(
        self, side: int = 16, n_obs_steps: int = 1, chunk: int = 4, lang_dim: int = 8, poison: bool = False,
        targets: bool = False,
    ):  # fmt: skip
        self.side, self.t, self.k, self.d = side, n_obs_steps, chunk, lang_dim
        self.poison, self.targets = poison, targets

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict:
        def f(*shape):
            return torch.from_numpy(rng.random(shape, dtype=np.float32))

        batch = {k: f(batch_size, self.t, 3, self.side, self.side) for k in B.IMAGE_KEYS}
        batch[B.STATE] = f(batch_size, self.t, B.STATE_DIM)
        batch[B.LANG_TOKENS] = f(batch_size, 5, self.d)
        batch[B.LANG_PAD] = torch.from_numpy(rng.random((batch_size, 5)) < 0.3)
        batch[B.LANG_POOLED] = f(batch_size, self.d)
        level = batch[B.IMAGE_KEYS[0]].mean(dim=(1, 2, 3, 4))[:, None, None] * 4 - 2
        batch[B.ACTION] = level.expand(batch_size, self.k, B.ACTION_DIM).clone()
        batch[B.ACTION_PAD] = torch.from_numpy(rng.random((batch_size, self.k)) < 0.2)
        if self.targets:  # the target head's label: the wrist image's brightness; a third of samples unlabelled
            wrist = batch[B.IMAGE_KEYS[1]].mean(dim=(1, 2, 3, 4))[:, None] * 4 - 2
            batch[B.TARGET] = wrist.expand(batch_size, 3).clone()
            batch[B.TARGET_VALID] = torch.from_numpy(rng.random(batch_size) > 0.33)
        if self.poison:
            batch[B.STATE][:] = float("nan")
        return batch

    def stats_dict(self) -> dict:
        return {"observation.state": {"mean": [0.0] * B.STATE_DIM, "std": [1.0] * B.STATE_DIM}}
