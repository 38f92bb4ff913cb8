"""Training the state estimator on rendered frames: one loop, exact resume, Ctrl-C saves.

Plain arguments only (the hydra entry point is ``entry``). Frames stay in memory as uint8; a
batch is drawn with the run's own numpy RNG, so a resumed run draws exactly what the uninterrupted
one would have. The last ``val_fraction`` of the frames (whole resets, mostly: a shard's frames
come in resets of ``frames_per_reset``) are held out for the validation error in centimetres.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from robolang.errors import RobolangError
from robolang.features import CAMERA_NAMES
from robolang.perception.checkpoint import resolve, save_step
from robolang.perception.estimator import StateEstimator, to_chw
from robolang.perception.frames import Frames
from robolang.perception.layout import EstimatorLayout
from robolang.perception.pixels import project
from robolang.perception.repaint import repaint

REPAINT_STREAM = 7  # the repaint's random stream beside the run's own


class EstimatorTrainingError(RobolangError, RuntimeError):
    """A run that cannot start or continue (an existing run without resume, a run for other data)."""


@dataclass
class EstimatorTrainConfig:
    """Optimisation settings; the defaults are the 1-core CPU recipe (64 px, tens of steps/s)."""

    steps: int = 2000
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05  # cosine decay to this fraction of lr
    grad_clip: float = 1.0
    seed: int = 0
    val_fraction: float = 0.1
    # Photometric augmentation per sample (factors drawn uniformly in [1 - a, 1 + a]): the held-out
    # world's dim light and cool table lie outside the randomized world's ranges. Hue is left
    # alone: the objects are told apart by colour.
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3
    # Per-channel gains in [1 - a, 1 + a] (a camera's white balance, a tinted light): a warm table turns
    # grey-blue while a red cube stays red. 0: off (and nothing drawn, so older runs resume exactly).
    white_balance: float = 0.0
    # Share of the samples whose table and cabinets are painted in random colours (``repaint``; frames
    # rendered with surface labels). 0: off (and nothing drawn, so older runs resume exactly).
    repaint: float = 0.0
    log_every: int = 50
    checkpoint_every: int = 500
    keep_checkpoints: int = 2


class FrameBatches:
    """Frames as tensors, drawn as training batches: images camera -> (B, 3, H, W), proprio (B, P), targets."""

    def __init__(self, frames: Frames, layout: EstimatorLayout, index: np.ndarray):
        self.index = np.asarray(index)
        self.images = {cam: frames.images[cam][self.index] for cam in CAMERA_NAMES}  # (N, H, W, 3) uint8
        self.proprio = frames.proprio[self.index]  # (N, P)
        self.targets = {k: torch.from_numpy(v) for k, v in layout.targets(frames.scene[self.index]).items()}
        self.surfaces = {cam: s[self.index] for cam, s in (frames.surfaces or {}).items()}  # (N, H, W) uint8
        self.pixels, self.visible = {}, {}  # camera -> (N, O, 2) image positions, (N, O) inside the image
        for cam, matrices in (frames.matrices or {}).items():
            uv, visible = project(matrices[self.index], self.targets["position"].numpy())
            self.pixels[cam], self.visible[cam] = torch.from_numpy(uv), torch.from_numpy(visible)

    def __len__(self) -> int:
        return len(self.index)

    def batch(self, rows: np.ndarray) -> dict:
        """The batch of ``rows`` (positions into this split)."""
        batch = {
            "images": {cam: to_chw(imgs[rows]) for cam, imgs in self.images.items()},
            "proprio": torch.from_numpy(self.proprio[rows]),
            **{k: v[rows] for k, v in self.targets.items()},
        }
        if self.surfaces:
            batch["surfaces"] = {cam: torch.from_numpy(s[rows]) for cam, s in self.surfaces.items()}
        if self.pixels:
            batch["pixels"] = {cam: uv[rows] for cam, uv in self.pixels.items()}
            batch["visible"] = {cam: v[rows] for cam, v in self.visible.items()}
        return batch


def photometric(images: torch.Tensor, rng: np.random.Generator, cfg: EstimatorTrainConfig) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> white balance, saturation, contrast and brightness jittered per sample, in [0, 1]."""
    b = images.shape[0]

    def factor(a: float, channels: int = 1) -> torch.Tensor:  # (B, C, 1, 1) drawn from the run's RNG (exact resume)
        drawn = rng.uniform(1 - a, 1 + a, size=(b, channels, 1, 1)).astype(np.float32)
        return torch.from_numpy(drawn).to(images.device)

    if cfg.white_balance > 0:
        images = (images * factor(cfg.white_balance, channels=3)).clamp(0, 1)
    grey = images.mean(1, keepdim=True)  # (B, 1, H, W)
    images = grey + (images - grey) * factor(cfg.saturation)
    mean = images.mean((1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    images = mean + (images - mean) * factor(cfg.contrast)
    return (images * factor(cfg.brightness)).clamp(0, 1)


def split(n: int, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) frame indices: the last ``val_fraction`` of the frames held out (at least one each)."""
    n_val = min(max(int(round(n * val_fraction)), 1 if val_fraction > 0 else 0), n - 1)
    return np.arange(n - n_val), np.arange(n - n_val, n)


def lr_factor(cfg: EstimatorTrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio``."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def update(model: StateEstimator, optimizer, scheduler, batch: dict, grad_clip: float) -> dict[str, float]:
    """One optimisation step; the loss parts as floats."""
    model.train()
    parts = model.compute_loss(batch)
    optimizer.zero_grad(set_to_none=True)
    parts["loss"].backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    scheduler.step()
    return {k: float(v.detach()) for k, v in parts.items()}


class EstimatorTrainer:
    """Trains a ``StateEstimator`` on frames into ``run`` (``checkpoints/step_*``, ``metrics.jsonl``)."""

    def __init__(
        self, model: StateEstimator, frames: Frames, run: Path, cfg: EstimatorTrainConfig, extra: dict,
        device: str = "cpu",
    ):  # fmt: skip
        self.model, self.cfg, self.run, self.extra = model.to(device), cfg, Path(run), extra
        self.device = torch.device(device)
        torch.manual_seed(cfg.seed)
        if cfg.repaint > 0 and not frames.surfaces:
            raise EstimatorTrainingError(
                f"train.repaint={cfg.repaint} needs frames rendered with surface labels (`robolang estimator render` "
                "with surface_labels set, the default); these frames have none: train.repaint=0"
            )
        train_idx, val_idx = split(len(frames), cfg.val_fraction)
        self.train_data = FrameBatches(frames, model.layout, train_idx)
        self.val_data = FrameBatches(frames, model.layout, val_idx) if len(val_idx) else None
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(cfg, s))
        self.rng = np.random.default_rng(cfg.seed)
        self.step = 0

    def save(self) -> Path:
        """Checkpoint the current step (weights, optimizer, scheduler, RNGs)."""
        training = {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "numpy_rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
        }
        extra = {**self.extra, "train": asdict(self.cfg)}
        return save_step(self.run, self.model, self.step, extra, training, self.cfg.keep_checkpoints)

    def resume(self) -> None:
        """Continue from ``<run>/checkpoints/last`` exactly where it stopped."""
        path = resolve(self.run)
        state = torch.load(path / "training.pt", weights_only=False)
        from safetensors.torch import load_file

        self.model.load_state_dict(load_file(path / "model.safetensors", device=str(self.device)))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        self.step = int(state["step"])
        self._forget_metrics_after(self.step)

    def _forget_metrics_after(self, step: int) -> None:
        """Rows logged after the checkpoint resumed from are drawn again: drop them so each step appears once."""
        path = self.run / "metrics.jsonl"
        if path.exists():
            rows = [r for r in path.read_text().splitlines() if r.strip() and json.loads(r)["step"] <= step]
            path.write_text("".join(r + "\n" for r in rows))

    def fit(self, stop=None) -> list[dict]:
        """Train to ``cfg.steps`` (or until ``stop()``); checkpoints as configured and at the end."""
        cfg, records = self.cfg, []
        self.run.mkdir(parents=True, exist_ok=True)
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train estimator", unit="step")
        try:
            while self.step < cfg.steps and not (stop is not None and stop()):
                rows = self.rng.integers(len(self.train_data), size=cfg.batch_size)
                batch = _to(self.train_data.batch(rows), self.device)  # augmented where training runs (GPU)
                surfaces = batch.pop("surfaces", None)
                if self.cfg.repaint > 0:  # its own draws, from (seed, step): the batches are those of repaint=0
                    paint_rng = np.random.default_rng([cfg.seed, REPAINT_STREAM, self.step])
                    batch["images"] = repaint(batch["images"], surfaces, paint_rng, cfg.repaint)
                batch["images"] = {cam: photometric(x, self.rng, cfg) for cam, x in batch["images"].items()}
                record = update(self.model, self.optimizer, self.scheduler, batch, cfg.grad_clip)
                self.step += 1
                record["step"] = self.step
                records.append(record)
                bar.update()
                bar.set_postfix(loss=f"{record['loss']:.3f}", pos_cm=f"{record['position_cm']:.2f}")
                if self.step % cfg.log_every == 0:
                    self._log(record)
                if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                    self.save()
        finally:
            bar.close()
        self.save()
        return records

    def _log(self, record: dict) -> None:
        with open(self.run / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    def validation_errors(self, max_frames: int = 512) -> dict[str, float]:
        """Median object-position error (cm) on the held-out frames, per camera set."""
        if self.val_data is None:
            return {}
        rows = np.arange(min(len(self.val_data), max_frames))
        images = {cam: imgs[rows] for cam, imgs in self.val_data.images.items()}
        truth = self.val_data.targets["position"][rows].numpy()  # (N, O, 3)
        self.model.eval()
        out = {}
        for name, cams in camera_sets(self.model.camera_names).items():
            pred = self.model.predict(images, self.val_data.proprio[rows], cameras=cams)["position"]
            out[name] = float(np.median(np.linalg.norm(pred - truth, axis=-1)) * 100)
        return out


def _to(batch, device: torch.device):
    """A batch (nested dicts of tensors) on ``device``."""
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    return batch.to(device)


def camera_sets(cameras: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The camera sets measured: the static camera only, and every camera ("both")."""
    return {"static": ("static",), "both": tuple(cameras)}
