"""The state estimator: camera images (+ proprioception) -> object positions and yaws, fixture joints, light.

Spatial structure is kept to the end (Levine et al. 2016; Tobin et al. 2017 regress positions
the same way). Per camera, a small conv net (its own weights: the static and the wrist view
differ) keeps half the image resolution, and a 1x1 conv gives one heatmap per *entity*
(``layout.EstimatorLayout``: every object, fixture and switch). Each heatmap is softmaxed over
the image and read out as its expected image position (u, v in [-1, 1]), how peaked it is, and
the feature vector expected under it (what is there). One small MLP per entity (batched as a
grouped linear) reads that entity's read-out from every camera, the static camera's image
positions of all entities (landmarks: the cabinets move with the camera when its pose is
randomised) and the normalised proprioception (where the wrist camera is), and predicts:

* objects: the position, normalised by the training data's statistics, and sin/cos of ``k * yaw``
  (``layout.YAW_SYMMETRY``: k = 4 for a cube, 2 for a bar, none for a cylinder or the plate);
* fixtures: the joint position, normalised;
* switches (the light): a logit.

Camera sets: the wrist camera is dropped at random while training (``wrist_dropout``: its
read-out zeroed and its presence flag 0), so one model also answers from the static camera only
(``predict(..., cameras=("static",))``); the "static only" rows of the evaluation are that same
model with the wrist input dropped, not a second model.

Loss: smooth L1 on positions and joints in centimetres (beta 1 cm: L1 beyond it), L1 on the yaw's
sin/cos, binary cross-entropy on the light and, where the frames carry camera matrices (pixel
labels, ``pixels``), the cross-entropy of each object's heatmap against a Gaussian around where
the object projects in that camera (``heatmap_weight``): it finds the small objects quickly. At
inference nothing but the images and proprioception is read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from robolang.features import STATIC_CAMERA
from robolang.perception.layout import EstimatorLayout, EstimatorStats
from robolang.perception.pixels import heatmap_target

OUT_DIM = 5  # per entity: x, y, z, sin(k yaw), cos(k yaw); fixtures and switches use the first


@dataclass
class EstimatorConfig:
    """What the estimator reads (cameras, fields) and its sizes; plain values (config.json)."""

    cameras: dict[str, list[int]]  # camera -> [H, W, 3], as the robot's observation_features give it
    scene_fields: tuple[str, ...]  # the simulator's scene-vector names (the labels)
    state_names: tuple[str, ...]  # proprioception names
    shapes: dict[str, str] = field(default_factory=dict)  # object -> shape (yaw symmetry)
    # 3x3 convs; one stride-2 keeps a 32x32 map at 64 px (soft-argmax is sub-pixel there).
    channels: tuple[int, ...] = (16, 32, 32)
    strides: tuple[int, ...] = (1, 2, 1)
    hidden: int = 128
    expected_features: bool = True  # heads also read the features under each heatmap (false: only where it is)
    proprio: bool = True  # false: images alone (the wrist camera's pose is then unknown)
    wrist_dropout: float = 0.25  # chance per sample that the non-static cameras are dropped in training
    yaw_weight: float = 1.0
    fixture_weight: float = 1.0
    switch_weight: float = 1.0
    heatmap_weight: float = 1.0  # pixel-label cross-entropy per camera (used only where frames have matrices)

    def __post_init__(self):
        self.scene_fields, self.state_names = tuple(self.scene_fields), tuple(self.state_names)
        self.channels, self.strides = tuple(self.channels), tuple(self.strides)
        self.cameras = {k: list(v) for k, v in self.cameras.items()}
        if STATIC_CAMERA not in self.cameras:
            raise ValueError(f"the estimator needs the {STATIC_CAMERA!r} camera; got {sorted(self.cameras)}")
        if len(self.channels) != len(self.strides) or not self.channels:
            raise ValueError(f"model.channels {self.channels} and model.strides {self.strides} must pair up")
        if any(c % 8 or c < 8 for c in self.channels) or any(s not in (1, 2) for s in self.strides):
            raise ValueError("model.channels must be multiples of 8 (GroupNorm(8)); model.strides 1 or 2")
        if not 0 <= self.wrist_dropout < 1:
            raise ValueError(f"model.wrist_dropout={self.wrist_dropout} is not allowed: it must be in [0, 1)")

    def to_dict(self) -> dict:
        """Plain JSON."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


class CameraKeypoints(nn.Module):
    """(N, 3, H, W) in [0, 1] -> (N, E, 3 + C): per entity heatmap's expected (u, v), peakedness, features."""

    def __init__(self, channels: tuple[int, ...], strides: tuple[int, ...], entities: int):
        super().__init__()
        layers, c_in = [], 3
        for c, s in zip(channels, strides, strict=True):
            layers += [nn.Conv2d(c_in, c, 3, s, 1), nn.GroupNorm(8, c), nn.ReLU()]
            c_in = c
        self.trunk = nn.Sequential(*layers)
        self.heatmaps = nn.Conv2d(c_in, entities, 1)
        self.log_temperature = nn.Parameter(torch.zeros(entities))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> the read-out (N, E, 3 + C) and the heatmaps' log-probabilities (N, E, h, w)."""
        features = self.trunk(images * 2 - 1)  # (N, C, h, w)
        logits = self.heatmaps(features).flatten(2)  # (N, E, h*w)
        h, w = features.shape[-2:]
        log_weights = torch.log_softmax(logits / self.log_temperature.exp()[:, None], dim=-1)  # (N, E, h*w)
        weights = log_weights.exp()
        ys, xs = torch.meshgrid(
            torch.linspace(-1, 1, h, dtype=images.dtype, device=images.device),
            torch.linspace(-1, 1, w, dtype=images.dtype, device=images.device),
            indexing="ij",
        )
        uv = weights @ torch.stack([xs.flatten(), ys.flatten()], dim=-1)  # (N, E, 2)
        peak = torch.log(weights.amax(-1, keepdim=True) * (h * w)) / math.log(h * w)  # (N, E, 1): 0 flat, 1 one pixel
        expected = weights @ features.flatten(2).transpose(1, 2)  # (N, E, C)
        return torch.cat([uv, peak, expected], dim=-1), log_weights.unflatten(-1, (h, w))


class GroupedLinear(nn.Module):
    """E independent linear layers applied at once: (N, E, in) -> (N, E, out)."""

    def __init__(self, groups: int, d_in: int, d_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(groups, d_in, d_out) / math.sqrt(d_in))
        self.bias = nn.Parameter(torch.zeros(groups, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nei,eio->neo", x, self.weight) + self.bias


class StateEstimator(nn.Module):
    """Cameras (+ proprioception) -> the scene state's object poses, fixture joints and switches."""

    kind = "state_estimator"

    def __init__(self, config: EstimatorConfig, stats: EstimatorStats):
        super().__init__()
        self.config = config
        self.layout = EstimatorLayout.from_fields(config.scene_fields, config.shapes)
        self.camera_names = tuple(config.cameras)
        n_entities, n_obj = len(self.layout.entities), len(self.layout.objects)
        self.cameras = nn.ModuleDict(
            {cam: CameraKeypoints(config.channels, config.strides, n_entities) for cam in self.camera_names}
        )
        self.per_camera = 3 + (config.channels[-1] if config.expected_features else 0)  # u, v, peak [+ features]
        d_in = len(self.camera_names) * (self.per_camera + 1) + 2 * n_entities  # + presence flag; static u, v of all
        d_in += len(config.state_names) if config.proprio else 0
        self.heads = nn.Sequential(
            GroupedLinear(n_entities, d_in, config.hidden), nn.GELU(),
            GroupedLinear(n_entities, config.hidden, config.hidden), nn.GELU(),
            GroupedLinear(n_entities, config.hidden, OUT_DIM),
        )  # fmt: skip
        self.stats = stats
        for name, value in stats.to_dict().items():
            self.register_buffer(name, torch.tensor(value, dtype=torch.float32))
        self.register_buffer("yaw_multiple", torch.tensor(self.layout.yaw_multiple[:n_obj], dtype=torch.float32))

    def forward(
        self, images: dict[str, torch.Tensor], proprio: torch.Tensor, present: torch.Tensor, maps: dict | None = None
    ) -> torch.Tensor:
        """The heads' outputs (N, E, 5) from images camera -> (N, 3, H, W) in [0, 1], raw proprio (N, P) and
        present (N, n_cameras) 0/1 (a camera left out of ``images`` counts as absent). ``maps``, when
        given, receives camera -> the heatmaps' log-probabilities (N, E, h, w)."""
        n, e = proprio.shape[0], len(self.layout.entities)
        parts, static_uv = [], None
        for i, cam in enumerate(self.camera_names):
            mask = present[:, i, None, None]  # (N, 1, 1)
            if cam in images:
                read, log_maps = self.cameras[cam](images[cam])
                read = read[..., : self.per_camera] * mask  # (N, E, 3 [+ C])
                if maps is not None:
                    maps[cam] = log_maps
            else:
                read = proprio.new_zeros(n, e, self.per_camera)
            parts += [read, mask.expand(n, e, 1)]
            if cam == STATIC_CAMERA:
                static_uv = read[..., :2].flatten(1)  # (N, 2E): every entity's place in the static view
        parts.append(static_uv[:, None].expand(n, e, -1))
        if self.config.proprio:
            state = (proprio - self.proprio_mean) / self.proprio_std  # (N, P)
            parts.append(state[:, None].expand(n, e, -1))
        return self.heads(torch.cat(parts, dim=-1))  # (N, E, 5)

    # ---- decoding and loss ----------------------------------------------------------------
    def decode(self, out: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, E, 5) head outputs -> position (N, O, 3) m, yaw_sc (N, O, 2), fixture (N, F) m, switch_logit (N, S)."""
        o, f = len(self.layout.objects), len(self.layout.fixtures)
        return {
            "position": out[:, :o, :3] * self.position_std + self.position_mean,
            "yaw_sc": out[:, :o, 3:5],
            "fixture": out[:, o : o + f, 0] * self.fixture_std + self.fixture_mean,
            "switch_logit": out[:, o + f :, 0],
        }

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The training loss and its parts on a batch of ``train.FrameBatches`` (images, proprio, targets, pixel labels)."""
        present = self.training_presence(batch["proprio"].shape[0], batch["proprio"].device)
        maps: dict[str, torch.Tensor] = {}
        pred = self.decode(self(batch["images"], batch["proprio"], present, maps))
        cm = 100.0
        position = F.smooth_l1_loss(pred["position"] * cm, batch["position"] * cm, beta=1.0)
        fixture = F.smooth_l1_loss(pred["fixture"] * cm, batch["fixture"] * cm, beta=1.0)
        k = self.yaw_multiple  # (O,)
        target_sc = torch.stack([torch.sin(k * batch["yaw"]), torch.cos(k * batch["yaw"])], dim=-1)  # (N, O, 2)
        yaw = ((pred["yaw_sc"] - target_sc).abs().sum(-1) * (k > 0)).sum(-1).mean() / max(int((k > 0).sum()), 1)
        switch = F.binary_cross_entropy_with_logits(pred["switch_logit"], batch["switch"])
        heatmap = self.heatmap_loss(maps, batch.get("pixels"), batch.get("visible"))
        c = self.config
        loss = position + c.yaw_weight * yaw + c.fixture_weight * fixture + c.switch_weight * switch
        loss = loss + c.heatmap_weight * heatmap
        return {"loss": loss, "position_cm": position.detach(), "yaw": yaw.detach(), "fixture_cm": fixture.detach(),
                "switch": switch.detach(), "heatmap": heatmap.detach()}  # fmt: skip

    def heatmap_loss(self, maps: dict, pixels: dict | None, visible: dict | None) -> torch.Tensor:
        """Cross-entropy of each object's heatmap against a Gaussian at its pixel label, over the cameras
        and objects where it is inside the image; 0 without pixel labels."""
        total, count = torch.zeros((), device=self.position_mean.device), 0
        o = len(self.layout.objects)
        for cam, log_maps in maps.items():
            if not pixels or cam not in pixels:
                continue
            h, w = log_maps.shape[-2:]
            target = heatmap_target(pixels[cam], h, w)  # (N, O, h*w)
            ce = -(target * log_maps[:, :o].flatten(2)).sum(-1)  # (N, O)
            mask = visible[cam].float()
            total = total + (ce * mask).sum() / mask.sum().clamp(min=1)
            count += 1
        return total / max(count, 1)

    def training_presence(self, n: int, device) -> torch.Tensor:
        """(N, n_cameras) 1/0: in training every camera but the static one is dropped with ``wrist_dropout``."""
        present = torch.ones(n, len(self.camera_names), device=device)
        if self.training and self.config.wrist_dropout > 0:
            drop = torch.rand(n, device=device) < self.config.wrist_dropout
            for i, cam in enumerate(self.camera_names):
                if cam != STATIC_CAMERA:
                    present[drop, i] = 0.0
        return present

    @torch.no_grad()
    def predict(self, images: dict[str, np.ndarray], proprio: np.ndarray, cameras=None) -> dict[str, np.ndarray]:
        """Numpy in, numpy out: images camera -> (N, H, W, 3) uint8, proprio (N, P) -> position (N, O, 3) m,
        yaw (N, O) rad (of the k-fold symmetric shape, in (-pi/k, pi/k]; NaN where not predicted),
        fixture (N, F) m, switch (N, S) probability. ``cameras``: the set used (default all)."""
        cameras = tuple(cameras or self.camera_names)
        device = next(self.parameters()).device
        tensors = {c: to_chw(images[c]).to(device) for c in cameras}
        proprio_t = torch.as_tensor(np.asarray(proprio, np.float32), device=device)
        present = torch.tensor([[float(c in cameras) for c in self.camera_names]], device=device)
        pred = self.decode(self(tensors, proprio_t, present.expand(len(proprio_t), -1)))
        k = self.yaw_multiple.cpu().numpy()
        sc = pred["yaw_sc"].cpu().numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            yaw = np.where(k > 0, np.arctan2(sc[..., 0], sc[..., 1]) / k, np.nan)
        return {
            "position": pred["position"].cpu().numpy(),
            "yaw": yaw,
            "fixture": pred["fixture"].cpu().numpy(),
            "switch": torch.sigmoid(pred["switch_logit"]).cpu().numpy(),
        }


def to_chw(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
