"""Vision front ends of the transformer policy, chosen by name (``configs/policy/vision/*.yaml``).

Each front end turns one camera's frames (N, 3, H, W) in [0, 1] and the pooled instruction
(N, D_lang) into tokens (N, n_tokens, d_model):

| name | what | tokens per camera and step |
|---|---|---|
| ``conv`` | a small conv net trained here, every block FiLM-modulated by the instruction | grid^2 |
| ``keypoints`` | ``conv`` plus spatial-softmax keypoint tokens (Levine et al. 2016; MCIL's vision) | grid^2 + keypoints |
| ``resnet18`` | a pretrained ResNet-18 trunk from a local weights file, FiLM on its output | grid^2 |

Adding a front end is one builder in ``FRONT_ENDS`` and one ``configs/policy/vision/<name>.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from robolang.policy import batch as B


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
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(
            f"policy.vision.weights {file} does not exist (a local ResNet-18 state dict is expected)"
        )
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(file)
    return torch.load(file, map_location="cpu", weights_only=True)


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


def _conv(s: dict, d_model: int, grid: int, lang_dim: int) -> nn.Module:
    return FiLMImageEncoder(tuple(s["channels"]), d_model, grid, lang_dim)


def _keypoints(s: dict, d_model: int, grid: int, lang_dim: int) -> nn.Module:
    return FiLMImageEncoder(tuple(s["channels"]), d_model, grid, lang_dim, int(s["keypoints"]))


def _resnet18(s: dict, d_model: int, grid: int, lang_dim: int) -> nn.Module:
    return ResNetImageEncoder(s["weights"], d_model, grid, lang_dim)


# name -> (the settings it takes besides ``type``, builder(settings, d_model, grid, lang_dim)).
FRONT_ENDS = {
    "conv": ({"channels"}, _conv),
    "keypoints": ({"channels", "keypoints"}, _keypoints),
    "resnet18": ({"weights"}, _resnet18),
}


def check_vision(settings: dict) -> None:
    """Refuse an unknown front end or settings it does not take (at config time, before building)."""
    kind = settings.get("type")
    if kind not in FRONT_ENDS:
        raise ValueError(f"policy.vision.type={kind!r}; front ends: {sorted(FRONT_ENDS)} (configs/policy/vision/)")
    takes = FRONT_ENDS[kind][0]
    if set(settings) - {"type"} != takes:
        raise ValueError(f"vision {kind!r} takes {sorted(takes)}, got {sorted(set(settings) - {'type'})}")
    if kind == "keypoints" and not (isinstance(settings["keypoints"], int) and settings["keypoints"] >= 1):
        raise ValueError(
            f"policy.vision.keypoints={settings['keypoints']!r} is not allowed: it must be an integer >= 1"
        )
    if kind in ("conv", "keypoints") and not (
        isinstance(settings["channels"], list | tuple)
        and all(isinstance(c, int) and c >= 8 and c % 8 == 0 for c in settings["channels"])
    ):
        raise ValueError(
            f"policy.vision.channels={settings['channels']!r} is not allowed: a list of positive multiples of 8 (GroupNorm(8))"
        )
    if kind == "resnet18" and not isinstance(settings["weights"], str):
        raise ValueError("vision resnet18 needs weights: the path of a local ResNet-18 state dict (never downloaded)")


def build_vision(settings: dict, d_model: int, grid: int, lang_dim: int) -> nn.Module:
    """One camera's front end, with ``n_tokens`` (tokens per frame) set."""
    check_vision(settings)
    encoder = FRONT_ENDS[settings["type"]][1](settings, d_model, grid, lang_dim)
    encoder.n_tokens = grid**2 + (int(settings["keypoints"]) if settings["type"] == "keypoints" else 0)
    return encoder
