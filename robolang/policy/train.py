"""Training: one loop for every policy, exact resume, metrics, and `accelerate` for many devices.

The loop calls ``policy.compute_loss(batch)`` and nothing else model-specific; one optimisation
step is its own function (``update``, as lerobot's ``update_policy``). The trainer owns the
sampler's numpy RNG and torch's RNG, and checkpoints both with the model, optimizer and
scheduler, so N straight steps and N/2 + kill + resume give the same losses on CPU.

Run it as ``robolang train`` (one process) or ``accelerate launch [...] -m robolang.cli train``
(several processes or GPUs; each rank samples its own batches from its own RNG stream).
"""

from __future__ import annotations

import csv
import math
import os
import shutil
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch import nn
from tqdm import tqdm

from robolang.errors import RobolangError
from robolang.policy.checkpoint import PolicyBundle, point_last, save_checkpoint
from robolang.policy.protocol import LOSS
from robolang.policy.registry import build_policy


class TrainingError(RobolangError, RuntimeError):
    """Training stopped for a reason a person must act on (NaN loss, out of memory, bad resume)."""


@dataclass
class TrainConfig:
    """Optimisation settings. Defaults follow ACT / diffusion_policy practice for small policies."""

    steps: int = 20_000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_steps: int = 500  # linear warm-up, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    ema_decay: float = 0.0  # 0 turns EMA off; 0.999 is typical for long runs
    mixed_precision: str = "bf16"  # used on GPU only; CPU trains in fp32
    seed: int = 0
    log_every: int = 25
    val_every: int = 500
    val_batches: int = 8
    checkpoint_every: int = 500
    keep_checkpoints: int = 3


class LossModule(nn.Module):
    """Wraps a policy so that ``forward`` returns its loss: DDP syncs gradients only through forward."""

    def __init__(self, policy: nn.Module):
        super().__init__()
        self.policy = policy

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        losses = self.policy.compute_loss(batch)
        if not isinstance(losses, dict) or LOSS not in losses:
            raise TypeError(
                f"{type(self.policy).__name__}.compute_loss must return a dict of named losses with the total "
                f"under {LOSS!r} (robolang.policy.protocol.Policy), got {type(losses).__name__}"
            )
        return losses


def lr_lambda(cfg: TrainConfig):
    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def update(model: nn.Module, optimizer, scheduler, batch: dict, accelerator: Accelerator, grad_clip: float) -> dict:
    """One optimisation step; returns every named loss and diagnostics. Refuses a non-finite loss."""
    model.train()
    with accelerator.autocast():
        losses = model(batch)
    loss = losses[LOSS]
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {loss.item()}")
    optimizer.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    grad_norm = accelerator.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    scheduler.step()
    named = {k: float(v) for k, v in losses.items() if k != LOSS}
    return {"loss": loss.item(), "grad_norm": float(grad_norm), "lr": scheduler.get_last_lr()[0], **named}


class EMA:
    """Exponential moving average of the weights (kept in fp32 on the training device)."""

    def __init__(self, policy: nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in policy.state_dict().items()}

    @torch.no_grad()
    def update(self, policy: nn.Module) -> None:
        for k, v in policy.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(self.decay).add_(v.float(), alpha=1 - self.decay)
            else:
                self.shadow[k].copy_(v)


class Trainer:
    """Trains one policy on a sampler; see the module docstring for the guarantees."""

    def __init__(self, cfg: TrainConfig, policy_class: str | type, policy_settings: dict, train_data, val_data,
                 out: Path, encoder: str, observation_spec: dict, stats: dict,
                 accelerator: Accelerator | None = None):  # fmt: skip
        """``policy_class``: a class path (``_target_``), a class, or a format-1 type ("transformer", "mcil");
        ``stats``: the training data's statistics, stored in the policy's normalisation buffers."""
        self.cfg, self.out, self.stats = cfg, Path(out), stats
        self.encoder, self.observation_spec = encoder, observation_spec
        self.train_data, self.val_data = train_data, val_data
        self.accelerator = accelerator or Accelerator(cpu=not torch.cuda.is_available())
        acc = self.accelerator
        torch.manual_seed(cfg.seed)  # same initial weights on every rank
        self.policy = build_policy(policy_class, policy_settings)
        self.policy.set_normalization(stats)
        optimizer = torch.optim.AdamW(
            self.policy.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))
        self.model, self.optimizer = acc.prepare(LossModule(self.policy), optimizer)
        self.scheduler = scheduler
        self.ema = EMA(self.policy, cfg.ema_decay) if cfg.ema_decay > 0 else None
        # Each rank draws its own batches: one numpy stream per rank, seeded from (seed, rank).
        self.rng = np.random.default_rng([cfg.seed, acc.process_index])
        torch.manual_seed(cfg.seed * 1000 + acc.process_index + 1)  # dropout differs per rank
        self.step = 0
        self.checkpoints = self.out / "checkpoints"
        self.last_good: Path | None = None

    # ---- state -----------------------------------------------------------------------
    def _rank_state(self) -> dict:
        return {"numpy_rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state()}

    def save(self) -> Path:
        """Checkpoint the current step on the main process; every rank contributes its RNG state."""
        acc = self.accelerator
        rank_states = _gather_objects(acc, self._rank_state())
        target = self.checkpoints / f"step_{self.step:07d}"
        if acc.is_main_process:
            policy = self._policy_for_export()
            training = {
                "trainer": {
                    "step": self.step,
                    "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(),
                    "policy": {k: v.detach().cpu() for k, v in self.policy.state_dict().items()},  # raw, not EMA
                    "ema": self.ema.shadow if self.ema else None,
                    "world_size": acc.num_processes,
                    "config": self.cfg.__dict__,
                },
                **{f"rank{r}": s for r, s in enumerate(rank_states)},
            }
            bundle = PolicyBundle(policy, self.policy.name, self.stats, self.encoder,
                                  self.observation_spec, self.step)  # fmt: skip
            save_checkpoint(target, bundle, training)
            point_last(self.checkpoints, target)
            self._prune()
        acc.wait_for_everyone()
        self.last_good = target
        return target

    def _policy_for_export(self) -> nn.Module:
        if self.ema is None:
            return self.policy
        copy = deepcopy(self.policy)  # not a fresh build: initialising would draw from torch's RNG
        copy.load_state_dict(self.ema.shadow)
        return copy

    def _prune(self) -> None:
        kept = sorted(self.checkpoints.glob("step_*"))
        for old in kept[: -self.cfg.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)

    def resume(self, checkpoint: str | Path | None = None) -> None:
        """Continue from ``checkpoint`` (default: this run's ``last``), restoring every state."""
        path = Path(checkpoint) if checkpoint else self.checkpoints / "last"
        if not (path / "training" / "trainer.pt").exists():
            raise TrainingError(f"cannot resume: {path} has no training state (is it a finished export?)")
        trainer = torch.load(path / "training" / "trainer.pt", weights_only=False)
        acc = self.accelerator
        if trainer["world_size"] != acc.num_processes:
            raise TrainingError(
                f"{path} was written by {trainer['world_size']} processes, this run has {acc.num_processes}; "
                "resume with the same number so every rank gets its own sampler state back"
            )
        self.policy.load_state_dict(trainer["policy"])  # the raw weights (the exported ones may be the EMA)
        self.optimizer.load_state_dict(trainer["optimizer"])
        self.scheduler.load_state_dict(trainer["scheduler"])
        if self.ema is not None:
            self.ema.shadow = trainer["ema"]
        rank = torch.load(path / "training" / f"rank{acc.process_index}.pt", weights_only=False)
        self.rng.bit_generator.state = rank["numpy_rng"]
        torch.set_rng_state(rank["torch_rng"])
        self.step = trainer["step"]
        self.last_good = path.resolve()

    # ---- loop ------------------------------------------------------------------------
    def validate(self) -> float:
        """Mean loss over fixed held-out batches (a fixed seed, so the number is comparable over time)."""
        if self.val_data is None:
            return float("nan")
        rng = np.random.default_rng([self.cfg.seed, 10_000])
        self.model.eval()
        losses = []
        with torch.no_grad():
            for _ in range(self.cfg.val_batches):
                batch = _to(self.val_data.sample(self.cfg.batch_size, rng), self.accelerator.device)
                losses.append(self.model(batch)[LOSS].item())
        return float(np.mean(losses))

    def fit(self, on_step=None) -> list[dict]:
        """Train to ``cfg.steps``; returns the per-step records of this call."""
        cfg, acc = self.cfg, self.accelerator
        log = MetricsLog(self.out, enabled=acc.is_main_process, start_step=self.step)
        records = []
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train", unit="step", disable=not acc.is_main_process)
        try:
            while self.step < cfg.steps:
                batch = _to(self.train_data.sample(cfg.batch_size, self.rng), acc.device)
                record = self._guarded_update(batch)
                self.step += 1
                if self.ema is not None:
                    self.ema.update(self.policy)
                record["step"] = self.step
                if self.step % cfg.val_every == 0 or self.step == cfg.steps:
                    record["val_loss"] = self.validate()
                records.append(record)
                log.write(record, every=cfg.log_every)
                bar.update()
                bar.set_postfix(loss=f"{record['loss']:.4f}")
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                    self.save()
                if on_step is not None:
                    on_step(self)
        finally:
            bar.close()
            log.close()
        return records

    def close(self) -> None:
        """End a distributed run cleanly: every rank reaches here before any tears its process group down.

        Without the barrier a rank that finished first could close its connections while the other still
        used them; gloo then aborts the late rank at exit (seen once in CI: ``terminate called without an
        active exception`` after the last checkpoint). One process: nothing to do."""
        acc = self.accelerator
        if acc.num_processes > 1:
            acc.wait_for_everyone()
            acc.end_training()

    def _guarded_update(self, batch: dict) -> dict:
        try:
            return update(self.model, self.optimizer, self.scheduler, batch, self.accelerator, self.cfg.grad_clip)
        except FloatingPointError as e:
            raise TrainingError(
                f"{e} at step {self.step + 1}; stopped without saving. The last good checkpoint is "
                f"{self.last_good or 'none yet'}. Lower the learning rate or check the data for NaN."
            ) from None
        except torch.OutOfMemoryError:
            raise TrainingError(
                f"out of memory at step {self.step + 1} with batch_size={self.cfg.batch_size}; the last good "
                f"checkpoint is {self.last_good or 'none yet'}. Lower batch_size (and resume)."
            ) from None


def _to(batch: dict, device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def _gather_objects(accelerator: Accelerator, obj) -> list:
    if accelerator.num_processes == 1:
        return [obj]
    from accelerate.utils import gather_object

    return gather_object([obj])


class MetricsLog:
    """Rows to ``metrics.csv`` (every step with a validation loss, else every ``every`` steps) and TensorBoard.

    Every loss the policy returns gets a column (after ``BASE``). Opened at ``start_step`` (the
    step training continues from), rows and TensorBoard events of later steps, written by a run
    that was killed after its last checkpoint, are dropped: each step appears once."""

    BASE = ("step", "loss", "val_loss", "lr", "grad_norm")

    def __init__(self, out: Path, enabled: bool = True, start_step: int = 0):
        self.enabled, self.file, self.csv = enabled, None, None
        if not enabled:
            return
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "metrics.csv"
        self.fields, self.rows = _read_metrics(self.path)
        kept = [r for r in self.rows if _step_of(r) is not None and _step_of(r) <= start_step]
        if len(kept) != len(self.rows):
            _write_metrics(self.path, self.fields, kept)
        self.rows = kept
        from torch.utils.tensorboard import SummaryWriter

        self.tb = SummaryWriter(out / "tensorboard", purge_step=start_step + 1)

    def _open(self, record: dict) -> None:
        fields = list(self.fields or self.BASE)
        fields += [k for k in record if k not in fields]
        if fields != list(self.fields or ()):  # a new file, or a loss the old header lacks
            _write_metrics(self.path, fields, self.rows)
        self.fields = fields
        self.file = open(self.path, "a", newline="")  # noqa: SIM115 (kept open for the run)
        self.csv = csv.DictWriter(self.file, fields, extrasaction="ignore")

    def write(self, record: dict, every: int) -> None:
        if not self.enabled or (record["step"] % every and "val_loss" not in record):
            return
        if self.csv is None or any(k not in self.fields for k in record):
            self.close_file()
            self._open(record)
        self.csv.writerow(record)
        self.file.flush()
        for k in self.fields[1:]:
            if k in record and np.isfinite(record[k]):
                self.tb.add_scalar(f"train/{k}" if k != "val_loss" else "val/loss", record[k], record["step"])

    def close_file(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = self.csv = None
            self.rows = _read_metrics(self.path)[1]

    def close(self) -> None:
        if self.enabled:
            self.close_file()
            self.tb.close()


def _step_of(row: dict) -> int | None:
    try:
        return int(row.get("step") or "")
    except ValueError:
        return None


def _read_metrics(path: Path) -> tuple[list[str], list[dict]]:
    """(header, rows) of an existing ``metrics.csv``; ([], []) when there is none."""
    if not path.exists():
        return [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _write_metrics(path: Path, fields: list[str], rows: list[dict]) -> None:
    """Replace ``metrics.csv`` atomically (a kill mid-write leaves the old file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
