"""The multimodal transformer policy: language tokens, FiLM-conditioned image tokens, proprioception.

One sequence per sample, read by a pre-norm transformer encoder::

    [ language tokens (L) | proprio (T) | camera c, step t, grid cell g (T * C * G^2) | action queries (K) ]

The image encoder is a small convolutional net trained here; each block is modulated by the
pooled instruction embedding (FiLM, Perez et al. 2018; as in RT-1's FiLM-EfficientNet), so
what the camera tokens carry already depends on what was asked. The outputs at the K action
query positions are read out as the action chunk (as ACT's decoder queries, here in one
encoder stack because the sequence is short). Loss is L1 over the chunk, masked past the
segment's end (ACT, Zhao et al. 2023).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from robolang.policy import batch as B


class PolicyConfigBase:
    """to_dict / from_dict for policy config dataclasses (JSON has lists where they hold tuples)."""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict):
        tuples = {f.name for f in fields(cls) if isinstance(f.default, tuple)}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"{cls.__name__} has no fields {unknown}")
        return cls(**{k: tuple(v) if k in tuples else v for k, v in d.items()})


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
    conv_channels: tuple[int, ...] = (32, 64, 128)  # stem (stride 4) then two stride-2 blocks
    token_grid: int = 6  # image tokens per camera and step = token_grid^2 (adaptive pooling of the 8x8 map)
    # Spatial-softmax keypoints per camera (Levine et al. 2016; MCIL's vision): each of these
    # FiLM-conditioned feature channels of the second-to-last conv map (8x8 at 64 px) becomes
    # one token holding its expected image position, so "where is the thing I was asked
    # about" survives the pooling into token_grid cells. 0: no keypoint tokens.
    keypoints: int = 0
    # Auxiliary target head (training signal only): one more query token whose output predicts
    # where the instruction's object is relative to the gripper (batch.TARGET, from the recorded
    # scene state), L1 loss at this weight. It makes the vision find the named object, which the
    # action loss alone teaches slowly. 0: no head, no extra token.
    target_loss_weight: float = 0.0
    # Optional pretrained vision: a local torchvision ResNet-18 state dict (.pth / .safetensors).
    # None trains the conv net above from scratch; nothing is ever downloaded.
    backbone_weights: str | None = None


class FiLMBlock(nn.Module):
    """conv -> group norm -> FiLM(language) -> GELU."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, lang_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding=(kernel - stride + 1) // 2 if kernel > stride else 0)
        self.norm = nn.GroupNorm(8, c_out)
        self.film = nn.Linear(lang_dim, 2 * c_out)
        nn.init.zeros_(self.film.weight)  # start as identity: gamma = 1, beta = 0
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, lang: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.conv(x))  # (N, C, H, W)
        gamma, beta = self.film(lang).chunk(2, dim=-1)  # (N, C) each
        return nn.functional.gelu(x * (1 + gamma[..., None, None]) + beta[..., None, None])


class SpatialSoftmax(nn.Module):
    """(N, C, H, W) -> (N, K, d) tokens: K learned channels, each softmaxed over the image and
    read out as its expected (x, y) in [-1, 1], embedded, plus a learned identity per keypoint."""

    def __init__(self, c_in: int, keypoints: int, d_model: int):
        super().__init__()
        self.select = nn.Conv2d(c_in, keypoints, 1)
        self.log_temperature = nn.Parameter(torch.zeros(()))
        self.embed = nn.Linear(2, d_model)
        self.identity = nn.Parameter(torch.randn(1, keypoints, d_model) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.points(x)) + self.identity  # (N, K, d)

    def points(self, x: torch.Tensor) -> torch.Tensor:
        """(N, K, 2) expected (x, y) per keypoint channel, image corners at -1 and 1."""
        logits = self.select(x)  # (N, K, H, W)
        h, w = logits.shape[-2:]
        weights = torch.softmax(logits.flatten(2) / self.log_temperature.exp(), dim=-1)  # (N, K, H*W)
        ys, xs = torch.meshgrid(
            torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype),
            torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype),
            indexing="ij",
        )
        grid = torch.stack([xs.flatten(), ys.flatten()], dim=-1)  # (H*W, 2)
        return weights @ grid


class FiLMImageEncoder(nn.Module):
    """(N, 3, H, W) in [0, 1] + pooled language (N, D_lang) -> (N, G*G [+ K], d_model) tokens."""

    def __init__(self, channels: tuple[int, ...], d_model: int, grid: int, lang_dim: int, keypoints: int = 0):
        super().__init__()
        blocks, c_in = [], 3
        for i, c in enumerate(channels):
            # A 4x4/4 patchify stem, then 3x3/2 convs: ~11 M MACs per 128^2 image.
            blocks.append(FiLMBlock(c_in, c, 4 if i == 0 else 3, 4 if i == 0 else 2, lang_dim))
            c_in = c
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.proj = nn.Linear(c_in, d_model)
        # Keypoints read the map before the last stride: twice the resolution of the last one.
        self.keypoint_block = max(len(channels) - 2, 0)
        self.keypoints = SpatialSoftmax(channels[self.keypoint_block], keypoints, d_model) if keypoints else None
        # ImageNet-free normalisation: images are centred to [-1, 1].

    def forward(self, images: torch.Tensor, lang: torch.Tensor) -> torch.Tensor:
        x = images * 2 - 1
        points = None
        for i, block in enumerate(self.blocks):
            x = block(x, lang)
            if i == self.keypoint_block and self.keypoints is not None:
                points = self.keypoints(x)
        x = self.proj(self.pool(x).flatten(2).transpose(1, 2))  # (N, G*G, d)
        return x if points is None else torch.cat([x, points], dim=1)


class ResNetImageEncoder(nn.Module):
    """A pretrained ResNet-18 trunk (to layer3, stride 16) from local weights, FiLM on its output.

    ImageNet normalisation is applied, as the weights expect. The trunk is fine-tuned with the
    rest; FiLM conditions its 256-channel output on the instruction.
    """

    def __init__(self, weights: str, d_model: int, grid: int, lang_dim: int):
        super().__init__()
        import torchvision

        net = torchvision.models.resnet18(weights=None)
        net.load_state_dict(_load_state_dict(weights), strict=False)
        self.trunk = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3)
        self.film = nn.Linear(lang_dim, 2 * 256)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.proj = nn.Linear(256, d_model)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor, lang: torch.Tensor) -> torch.Tensor:
        x = self.trunk((images - self.mean) / self.std)  # (N, 256, H/16, W/16)
        gamma, beta = self.film(lang).chunk(2, dim=-1)
        x = x * (1 + gamma[..., None, None]) + beta[..., None, None]
        return self.proj(self.pool(x).flatten(2).transpose(1, 2))  # (N, G*G, d)


def _load_state_dict(path: str) -> dict:
    from pathlib import Path

    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"backbone_weights {file} does not exist (a local ResNet-18 state dict is expected)")
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(file)
    return torch.load(file, map_location="cpu", weights_only=True)


class TransformerPolicy(nn.Module):
    """Language-conditioned transformer that predicts a chunk of future actions."""

    def __init__(self, config: TransformerPolicyConfig):
        super().__init__()
        self.config = c = config
        if c.keypoints and c.backbone_weights is not None:
            raise ValueError("keypoints are read from the conv net's feature map; set backbone_weights: null")
        d = c.d_model
        self.lang_proj = nn.Linear(c.lang_dim, d)
        self.state_proj = nn.Linear(c.state_dim, d)
        self.image_encoders = nn.ModuleList(
            FiLMImageEncoder(c.conv_channels, d, c.token_grid, c.lang_dim, c.keypoints)
            if c.backbone_weights is None
            else ResNetImageEncoder(c.backbone_weights, d, c.token_grid, c.lang_dim)
            for _ in c.cameras
        )
        g2 = c.token_grid**2 + c.keypoints
        self.lang_pos = nn.Parameter(torch.zeros(1, c.max_lang_tokens, d))
        self.state_pos = nn.Parameter(torch.zeros(1, c.n_obs_steps, d))
        self.image_pos = nn.Parameter(torch.zeros(1, c.n_obs_steps, len(c.cameras), g2, d))
        self.action_queries = nn.Parameter(torch.zeros(1, c.chunk_size, d))
        self.target_query = nn.Parameter(torch.zeros(1, 1, d)) if c.target_loss_weight else None
        self.target_head = nn.Linear(d, 3) if c.target_loss_weight else None
        for p in (self.lang_pos, self.state_pos, self.image_pos, self.action_queries, self.target_query):
            if p is not None:
                nn.init.normal_(p, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d, c.n_heads, c.ff_mult * d, c.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
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

    def compute_loss(self, batch: dict) -> tuple[torch.Tensor, dict]:
        c = self.config
        out = self._read_queries(batch)
        loss, logs = chunk_l1_loss(self.head(out[:, -c.chunk_size :]), batch)
        if self.target_head is None:
            return loss, logs
        if B.TARGET not in batch:
            raise KeyError(
                f"target_loss_weight > 0 needs {B.TARGET!r} in the batch (PolicyDataset(target_offsets=True))"
            )
        valid = batch[B.TARGET_VALID].unsqueeze(-1).to(out.dtype)  # (B, 1)
        error = (self.target_head(out[:, 0]) - batch[B.TARGET]).abs() * valid  # (B, 3)
        target = error.sum() / (valid.sum().clamp(min=1) * 3)
        logs["target_l1"] = target.detach().item()
        return loss + c.target_loss_weight * target, logs


def encode_cameras(batch: dict, cameras, encoders, image_size: int) -> list[torch.Tensor]:
    """Per camera (B, T, N, d) features: frames resized to ``image_size`` when they differ, each
    camera through its own encoder conditioned on the pooled instruction."""
    lang = batch[B.LANG_POOLED]  # (B, D_lang)
    out = []
    for key, encoder in zip(cameras, encoders, strict=True):
        images = batch[key]  # (B, T, 3, H, W)
        b, t = images.shape[:2]
        flat = images.flatten(0, 1)
        if flat.shape[-1] != image_size or flat.shape[-2] != image_size:
            flat = nn.functional.interpolate(flat, size=(image_size, image_size), mode="bilinear")
        features = encoder(flat, lang.repeat_interleave(t, dim=0))  # (B*T, N, d)
        out.append(features.view(b, t, *features.shape[1:]))
    return out


def chunk_l1_loss(predicted: torch.Tensor, batch: dict) -> tuple[torch.Tensor, dict]:
    """Mean L1 over valid (non-padded) chunk steps; also reports the gripper's share."""
    valid = (~batch[B.ACTION_PAD]).unsqueeze(-1).to(predicted.dtype)  # (B, K, 1)
    error = (predicted - batch[B.ACTION]).abs() * valid  # (B, K, A)
    denominator = valid.sum().clamp(min=1) * predicted.shape[-1]
    loss = error.sum() / denominator
    gripper = error[..., -1].sum() / valid.sum().clamp(min=1)
    return loss, {"l1": loss.detach().item(), "gripper_l1": gripper.detach().item()}


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
