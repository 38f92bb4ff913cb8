"""The multimodal transformer policy: language tokens, FiLM-conditioned image tokens, proprioception.

One sequence per sample, read by a pre-norm transformer encoder::

    [ language tokens (L) | proprio (T) | camera c, step t, grid cell g (T * C * G^2) | action queries (K) ]

The image tokens come from a vision front end chosen by name (``policy/vision``: by default a
small convolutional net trained here; robolang/policy/vision.py); each is modulated by the
pooled instruction embedding (FiLM, Perez et al. 2018; as in RT-1's FiLM-EfficientNet), so
what the camera tokens carry already depends on what was asked. An auxiliary head is chosen the
same way (``policy/aux``). The outputs at the K action
query positions are read out as the action chunk (as ACT's decoder queries, here in one
encoder stack because the sequence is short). Loss is L1 over the chunk, masked past the
segment's end (ACT, Zhao et al. 2023).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from robolang.policy import batch as B
from robolang.policy.protocol import LOSS, PolicyBase, PolicyConfigBase
from robolang.policy.vision import build_vision, check_vision, encode_cameras

# The flat switches of format-1 checkpoints, now the ``vision`` and ``aux`` groups (``_upgrade``).
LEGACY_KEYS = ("conv_channels", "keypoints", "backbone_weights", "target_loss_weight")
AUX_HEADS = {"none": set(), "target": {"weight"}}  # name -> the settings it takes besides ``type``


@dataclass
class TransformerPolicyConfig(PolicyConfigBase):
    """Sizes of the transformer policy. Defaults keep one chunk under 10 ms on 2 CPU cores."""

    n_obs_steps: int = 1  # frames of history; the DESIGN's fixed vocabulary
    chunk_size: int = 10  # future actions predicted per call (1 s at 10 Hz)
    cameras: tuple[str, ...] = B.IMAGE_KEYS
    image_size: int = 128  # square input side; images are resized to it when they differ
    state_dim: int = B.STATE_DIM
    action_dim: int = B.ACTION_DIM
    lang_dim: int = 384  # all-MiniLM-L6-v2's width
    max_lang_tokens: int = 32
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.1
    token_grid: int = 6  # image tokens per camera and step = token_grid^2 (adaptive pooling of the feature map)
    # The vision front end (robolang/policy/vision.py; configs/policy/vision/): conv | keypoints | resnet18.
    # conv: a stem (stride 4) then two stride-2 blocks, every block FiLM-modulated by the instruction.
    vision: dict = field(default_factory=lambda: {"type": "conv", "channels": [32, 64, 128]})
    # Auxiliary head (configs/policy/aux/): none | target. target (training signal only): one more
    # query token whose output predicts where the instruction's object is relative to the gripper
    # (batch.TARGET, from the recorded scene state), L1 loss at ``weight``. It makes the vision find
    # the named object, which the action loss alone teaches slowly.
    aux: dict = field(default_factory=lambda: {"type": "none"})

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"policy.d_model={self.d_model} must be a multiple of n_heads={self.n_heads}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"policy.dropout={self.dropout} is not allowed: it must be in [0, 1)")
        self.vision, self.aux = dict(self.vision), dict(self.aux)
        check_vision(self.vision)
        kind = self.aux.get("type")
        if kind not in AUX_HEADS or set(self.aux) - {"type"} != AUX_HEADS[kind]:
            raise ValueError(f"policy.aux={self.aux}; heads: none, target (with weight) (configs/policy/aux/)")

    @property
    def target_loss_weight(self) -> float:
        return float(self.aux["weight"]) if self.aux["type"] == "target" else 0.0

    @classmethod
    def from_dict(cls, d: dict):
        return super().from_dict(_upgrade(d))


def _upgrade(d: dict) -> dict:
    """Settings with format 1's flat switches turned into the ``vision`` / ``aux`` groups (same model)."""
    legacy = {k: d[k] for k in LEGACY_KEYS if k in d}
    if not legacy:
        return d
    if "vision" in d or "aux" in d:
        raise ValueError(f"{sorted(legacy)} are the old spellings of policy.vision / policy.aux; use only those")
    d = {k: v for k, v in d.items() if k not in LEGACY_KEYS}
    channels = list(legacy.get("conv_channels", (32, 64, 128)))
    if legacy.get("backbone_weights"):
        if legacy.get("keypoints"):
            raise ValueError("keypoints are read from the conv net's feature map; they do not combine with resnet18")
        d["vision"] = {"type": "resnet18", "weights": legacy["backbone_weights"]}
    elif legacy.get("keypoints"):
        d["vision"] = {"type": "keypoints", "channels": channels, "keypoints": int(legacy["keypoints"])}
    else:
        d["vision"] = {"type": "conv", "channels": channels}
    weight = float(legacy.get("target_loss_weight") or 0)
    d["aux"] = {"type": "target", "weight": weight} if weight else {"type": "none"}
    return d


class TransformerPolicy(PolicyBase):
    """Language-conditioned transformer that predicts a chunk of future actions."""

    name = "transformer"
    config_class = TransformerPolicyConfig

    def __init__(self, config: TransformerPolicyConfig):
        super().__init__(config)
        c = config
        d = c.d_model
        self.lang_proj = nn.Linear(c.lang_dim, d)
        self.state_proj = nn.Linear(c.state_dim, d)
        self.image_encoders = nn.ModuleList(build_vision(c.vision, d, c.token_grid, c.lang_dim) for _ in c.cameras)
        g2 = self.image_encoders[0].n_tokens if c.cameras else 0
        self.lang_pos = nn.Parameter(torch.zeros(1, c.max_lang_tokens, d))
        self.state_pos = nn.Parameter(torch.zeros(1, c.n_obs_steps, d))
        self.image_pos = nn.Parameter(torch.zeros(1, c.n_obs_steps, len(c.cameras), g2, d))
        self.action_queries = nn.Parameter(torch.zeros(1, c.chunk_size, d))
        self.target_query = nn.Parameter(torch.zeros(1, 1, d)) if c.target_loss_weight else None
        self.target_head = nn.Linear(d, 3) if c.target_loss_weight else None
        for p in (self.lang_pos, self.state_pos, self.image_pos, self.action_queries, self.target_query):
            if p is not None:
                nn.init.normal_(p, std=0.02)
        self.transformer = encoder_trunk(c)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, c.action_dim)

    def image_tokens(self, batch: dict) -> torch.Tensor:
        """(B, T*C*G^2, d) camera tokens, each camera through its own FiLM encoder."""
        c = self.config
        per_camera = encode_cameras(batch, c.cameras, self.image_encoders, c.image_size)  # C x (B, T, G^2, d)
        tokens = torch.stack(per_camera, dim=2) + self.image_pos  # (B, T, C, G^2, d)
        return tokens.flatten(1, 3)

    def forward(self, batch: dict) -> torch.Tensor:
        """Predicted action chunk, (B, K, action_dim), in the normalized [-1, 1] action space."""
        return self.head(self._read_queries(batch)[:, -self.config.chunk_size :])  # (B, K, action_dim)

    def _read_queries(self, batch: dict) -> torch.Tensor:
        """The normalized transformer outputs at the query positions, (B, [1 +] K, d): the target
        query first when there is one, then the K action queries."""
        c = self.config
        # Drop the padding columns that no sample in the batch uses: attention cost follows L.
        used = min(int((~batch[B.LANG_PAD]).sum(1).max().clamp(min=1)), c.max_lang_tokens)
        lang_tokens = batch[B.LANG_TOKENS][:, :used]  # (B, L, D_lang)
        lang_pad = batch[B.LANG_PAD][:, :used]  # (B, L)
        n_lang = lang_tokens.shape[1]
        lang = self.lang_proj(lang_tokens) + self.lang_pos[:, :n_lang]
        state = self.state_proj(batch[B.STATE]) + self.state_pos  # (B, T, d)
        images = self.image_tokens(batch)
        b = lang.shape[0]
        queries = self.action_queries.expand(b, -1, -1)
        if self.target_query is not None:
            queries = torch.cat([self.target_query.expand(b, -1, -1), queries], dim=1)
        x = torch.cat([lang, state, images, queries], dim=1)  # (B, S, d)
        pad = torch.zeros(b, x.shape[1], dtype=torch.bool, device=x.device)
        pad[:, :n_lang] = lang_pad
        return self.norm(self.transformer(x, src_key_padding_mask=pad)[:, -queries.shape[1] :])

    @property
    def training_features(self) -> tuple[str, ...]:
        return (B.TARGET, B.TARGET_VALID) if self.target_head is not None else ()

    def compute_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        """``loss`` (L1 over the chunk [+ weight x target L1]), ``l1``, ``gripper_l1`` [, ``target_l1``]."""
        c = self.config
        batch = self.normalize(batch)
        out = self._read_queries(batch)
        losses = chunk_l1_loss(self.head(out[:, -c.chunk_size :]), batch)
        if self.target_head is None:
            return losses
        if B.TARGET not in batch:
            raise KeyError(f"policy.aux=target needs {B.TARGET!r} in the batch (PolicyDataset(target_offsets=True))")
        valid = batch[B.TARGET_VALID].unsqueeze(-1).to(out.dtype)  # (B, 1)
        error = (self.target_head(out[:, 0]) - batch[B.TARGET]).abs() * valid  # (B, 3)
        target = error.sum() / (valid.sum().clamp(min=1) * 3)
        losses[LOSS] = losses[LOSS] + c.target_loss_weight * target
        losses["target_l1"] = target.detach()
        return losses


def encoder_trunk(c) -> nn.TransformerEncoder:
    """The pre-norm GELU transformer encoder every policy of this family shares (``d_model``,
    ``n_heads``, ``ff_mult``, ``dropout``, ``n_layers`` of config ``c``)."""
    layer = nn.TransformerEncoderLayer(
        c.d_model, c.n_heads, c.ff_mult * c.d_model, c.dropout, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)


def chunk_l1_loss(predicted: torch.Tensor, batch: dict) -> dict[str, torch.Tensor]:
    """Mean L1 over valid (non-padded) chunk steps (``loss`` and ``l1``); also the gripper's share."""
    valid = (~batch[B.ACTION_PAD]).unsqueeze(-1).to(predicted.dtype)  # (B, K, 1)
    error = (predicted - batch[B.ACTION]).abs() * valid  # (B, K, A)
    denominator = valid.sum().clamp(min=1) * predicted.shape[-1]
    loss = error.sum() / denominator
    gripper = error[..., -1].sum() / valid.sum().clamp(min=1)
    return {LOSS: loss, "l1": loss.detach(), "gripper_l1": gripper.detach()}


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
