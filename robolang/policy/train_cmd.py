"""``robolang train``: the hydra entry point. Builds the pieces from the config and runs the loop.

Everything below this file takes plain arguments (STYLE.md 3); only this function reads hydra.
Launch on several processes or GPUs with ``accelerate launch [...] -m robolang.cli train ...``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator
from omegaconf import DictConfig, OmegaConf

from robolang.features import KEY_IMAGE_PREFIX, KEY_STATE
from robolang.policy.batch import IMAGE_KEYS
from robolang.policy.checkpoint import observation_spec
from robolang.policy.data import Augment, NormStats, PolicyDataset
from robolang.policy.language import InstructionCache, SentenceEncoder
from robolang.policy.train import TrainConfig, Trainer, TrainingError


def checkpoint_stats(stats: NormStats) -> dict:
    """The statistics a checkpoint stores (what inference needs to normalise proprioception)."""
    return {KEY_STATE: {"mean": list(stats.state_mean), "std": list(stats.state_std)}}


def build_trainer(cfg: DictConfig, accelerator: Accelerator | None = None) -> Trainer:
    """Encoder, data, policy and optimiser from a composed ``configs/train.yaml``."""
    accelerator = accelerator or Accelerator(
        cpu=cfg.device == "cpu" or not torch.cuda.is_available(),
        mixed_precision=cfg.train.mixed_precision if torch.cuda.is_available() and cfg.device != "cpu" else "no",
    )
    settings = OmegaConf.to_container(cfg.policy, resolve=True)
    policy_type = settings.pop("type")
    out = Path(cfg.out)
    encoder = SentenceEncoder(cfg.encoder, max_length=settings.get("max_lang_tokens", 32))
    instructions = InstructionCache(encoder, out / "instruction_cache.pt")
    settings["lang_dim"] = encoder.dim
    data = dict(
        n_obs_steps=settings["n_obs_steps"],
        chunk_size=settings["chunk_size"],
        val_fraction=cfg.data.val_fraction,
        seed=cfg.train.seed,
        cache_dir=cfg.cache_dir,
        max_lang_tokens=settings.get("max_lang_tokens", 32),
        phrasings_per_task=cfg.data.phrasings_per_task,
        task_balance=cfg.data.task_balance,
        tasks=tuple(cfg.data.tasks) if cfg.data.tasks else None,
        target_offsets=bool(settings.get("target_loss_weight")),
        progress=accelerator.is_main_process,
    )
    with accelerator.main_process_first():  # the main process builds the frame cache, the others reuse it
        train = PolicyDataset(cfg.dataset, instructions, subset="train", augment=Augment(**cfg.data.augment), **data)
    val = (
        PolicyDataset(cfg.dataset, instructions, subset="val", stats=train.stats, **data)
        if cfg.data.val_fraction
        else None
    )
    if accelerator.is_main_process:
        instructions.save()
    cameras = settings.get("cameras", IMAGE_KEYS)
    chw = {key: train.frames.images[key.removeprefix(KEY_IMAGE_PREFIX)].shape[1:] for key in cameras}
    spec = observation_spec({key: (h, w, c) for key, (c, h, w) in chw.items()})
    train_cfg = TrainConfig(**{**OmegaConf.to_container(cfg.train, resolve=True), "betas": tuple(cfg.train.betas)})
    return Trainer(train_cfg, policy_type, settings, train, val, out, cfg.encoder, spec, checkpoint_stats(train.stats),
                   accelerator)  # fmt: skip


def run(cfg: DictConfig) -> Path:
    """Train (or resume) and return the final checkpoint's folder."""
    trainer = build_trainer(cfg)
    if cfg.resume:
        trainer.resume()
    elif (trainer.checkpoints / "last").exists():
        raise TrainingError(
            f"{cfg.out} already holds a training run; pass resume=true to continue it or choose a new out="
        )
    if trainer.accelerator.is_main_process:
        trainer.out.mkdir(parents=True, exist_ok=True)
        (trainer.out / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    trainer.fit()
    return (trainer.checkpoints / "last").resolve()
