"""A small non-transformer language-conditioned baseline, in the spirit of MCIL (Lynch & Sermanet 2021).

The pooled sentence embedding conditions a convolutional image encoder (FiLM) per camera; the
globally pooled image features, proprioception and the embedding are concatenated and an MLP
predicts the action chunk. No attention anywhere: it measures what the transformer adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from robolang.policy import batch as B
from robolang.policy.model import chunk_l1_loss
from robolang.policy.protocol import PolicyBase, PolicyConfigBase
from robolang.policy.vision import FiLMImageEncoder, encode_cameras


@dataclass
class MCILPolicyConfig(PolicyConfigBase):
    """Sizes of the MLP baseline; the image encoder matches the transformer's for a fair comparison."""

    n_obs_steps: int = 1
    chunk_size: int = 10
    cameras: tuple[str, ...] = B.IMAGE_KEYS
    image_size: int = 128
    state_dim: int = B.STATE_DIM
    action_dim: int = B.ACTION_DIM
    lang_dim: int = 384
    conv_channels: tuple[int, ...] = (32, 64, 128)
    feature_dim: int = 128  # per camera and step, after global average pooling
    hidden_dim: int = 512
    n_hidden: int = 2
    dropout: float = 0.1


class MCILPolicy(PolicyBase):
    """Pooled instruction embedding + FiLM conv features + proprioception -> MLP -> action chunk."""

    name = "mcil"
    config_class = MCILPolicyConfig

    def __init__(self, config: MCILPolicyConfig):
        super().__init__(config)
        c = config
        self.image_encoders = nn.ModuleList(
            FiLMImageEncoder(c.conv_channels, c.feature_dim, 1, c.lang_dim) for _ in c.cameras
        )
        width = c.n_obs_steps * (len(c.cameras) * c.feature_dim + c.state_dim) + c.lang_dim
        layers: list[nn.Module] = []
        for _ in range(c.n_hidden):
            layers += [nn.Linear(width, c.hidden_dim), nn.GELU(), nn.Dropout(c.dropout)]
            width = c.hidden_dim
        layers.append(nn.Linear(width, c.chunk_size * c.action_dim))
        self.mlp = nn.Sequential(*layers)

    def forward(self, batch: dict) -> torch.Tensor:
        c = self.config
        lang = batch[B.LANG_POOLED]  # (B, D_lang)
        per_camera = encode_cameras(batch, c.cameras, self.image_encoders, c.image_size)  # C x (B, T, 1, F)
        features = [f.flatten(1) for f in per_camera]  # C x (B, T*F)
        x = torch.cat([*features, batch[B.STATE].flatten(1), lang], dim=-1)
        return self.mlp(x).view(-1, c.chunk_size, c.action_dim)  # (B, K, A)

    def compute_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        """``loss`` (= ``l1``, L1 over the chunk) and ``gripper_l1``."""
        return chunk_l1_loss(self(self.normalize(batch)), batch)
