"""``robolang train``: the hydra entry point. Checks the config and the output, builds, trains.

Everything below this file takes plain arguments (STYLE.md 3); only this module reads hydra.
Order matters (issue: nothing lost, nothing cryptic): every value is checked where the config
is read, then the output folder (a file? someone else's run? writable?), then one run per
output folder is enforced by a lock, and only then is anything written (the instruction cache,
``config.yaml``, checkpoints). Launch on several processes or GPUs with
``accelerate launch [...] -m robolang.cli train ...``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import torch
from accelerate import Accelerator
from omegaconf import DictConfig, OmegaConf

from robolang.config import ConfigError, checked
from robolang.features import KEY_IMAGE_PREFIX
from robolang.parallel import cpu_threads
from robolang.policy import batch as B
from robolang.policy.checkpoint import observation_spec
from robolang.policy.data import Augment, NormStats, PolicyDataset
from robolang.policy.frame_cache import DatasetMissingError
from robolang.policy.language import InstructionCache, SentenceEncoder
from robolang.policy.mixture import DatasetMixture
from robolang.policy.registry import PolicyClassError, build_policy, split_target
from robolang.policy.scene_layout import field_difference
from robolang.policy.state_data import SceneStateDataset, scene_fields_of
from robolang.policy.train import TrainConfig, Trainer, TrainingError

LOCK = ".train.lock"
# train.<key> -> (type, low, high); bounds inclusive, None: unbounded.
TRAIN_KEYS = {
    "steps": (int, 1, None), "batch_size": (int, 1, None), "lr": (float, 1e-12, None),
    "weight_decay": (float, 0, None), "warmup_steps": (int, 0, None), "min_lr_ratio": (float, 0, 1),
    "grad_clip": (float, 1e-12, None), "ema_decay": (float, 0, 0.999999), "seed": (int, 0, None),
    "log_every": (int, 1, None), "val_every": (int, 1, None), "val_batches": (int, 1, None),
    "checkpoint_every": (int, 1, None), "keep_checkpoints": (int, 1, None),
}  # fmt: skip
DATA_KEYS = {
    "data.val_fraction": (float, 0, 0.9), "data.phrasings_per_task": (int, 1, None),
    "data.task_balance": (float, 0, None), "data.augment.shift": (float, 0, 0.25),
    "data.augment.brightness": (float, 0, 1), "data.augment.contrast": (float, 0, 1),
    "data.skip_still": (bool, None, None), "data.scene_noise_m": (float, 0, 0.1),
    "data.positional_phrasings": (int, 0, 256),
}  # fmt: skip


def checkpoint_stats(stats: NormStats) -> dict:
    """The statistics a checkpoint stores (what the policy's normalisation buffers hold)."""
    return stats.checkpoint()


def check_config(cfg: DictConfig) -> dict:
    """Every value ``train`` reads, checked before anything is created: a ``ConfigError`` names
    the key, the value and what is allowed. Returns the policy settings (``_target_`` included)."""
    for key, (kind, low, high) in TRAIN_KEYS.items():
        checked(cfg, f"train.{key}", kind, low=low, high=high)
    checked(cfg, "train.mixed_precision", str, choices=("no", "fp16", "bf16"))
    betas = OmegaConf.select(cfg, "train.betas")
    if not (OmegaConf.is_list(betas) and len(betas) == 2 and all(_number(b) and 0 <= b < 1 for b in betas)):
        raise ConfigError(f"train.betas={betas!r} is not allowed: train.betas must be two numbers in [0, 1)")
    for key, (kind, low, high) in DATA_KEYS.items():
        checked(cfg, key, kind, low=low, high=high)
    tasks = OmegaConf.select(cfg, "data.tasks")
    if tasks is not None and not (OmegaConf.is_list(tasks) and tasks and all(isinstance(t, str) for t in tasks)):
        raise ConfigError(f"data.tasks={tasks!r} is not allowed: data.tasks must be null or a list of task ids")
    sources = OmegaConf.select(cfg, "data.label_sources")
    if sources is not None and not (OmegaConf.is_list(sources) and all(isinstance(s, str) for s in sources)):
        raise ConfigError(
            f"data.label_sources={sources!r} is not allowed: data.label_sources must be null (every source) "
            "or a list of sources, e.g. [oracle,human]"
        )  # which names, and whether any label is left, the data decides with the dataset in hand (data.train_labels)
    for key in ("dataset", "out", "encoder"):
        checked(cfg, key, str)
    extra = OmegaConf.select(cfg, "extra_datasets")
    if extra is not None and not (OmegaConf.is_list(extra) and all(isinstance(p, str) and p for p in extra)):
        raise ConfigError(
            f"extra_datasets={extra!r} is not allowed: it must be a list of dataset folders ([] for none)"
        )
    weight = OmegaConf.select(cfg, "data.extra_weight")
    if weight is not None and not (_number(weight) and 0 <= weight <= 1):
        raise ConfigError(f"data.extra_weight={weight!r} is not allowed: it must be a number in [0, 1] or null")
    checked(cfg, "cache_dir", str, optional=True)
    checked(cfg, "resume", bool)
    checked(cfg, "torch_device", str, choices=("auto", "cpu", "cuda"))
    checked(cfg, "threads", int, low=1, optional=True)
    return check_policy(cfg)


def check_policy(cfg: DictConfig) -> dict:
    """The composed ``policy`` section, refused unless its class accepts every setting."""
    settings = OmegaConf.to_container(cfg.policy, resolve=True)
    try:
        target, rest = split_target(settings)
        build_policy(target, {**rest, "lang_dim": 8})  # a small throwaway build: the class checks its settings
    except PolicyClassError as e:
        raise ConfigError(f"policy: {e}") from e
    return settings


def _label_sources(cfg: DictConfig) -> tuple[str, ...] | None:
    sources = OmegaConf.select(cfg, "data.label_sources")
    return None if sources is None else tuple(sources)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_out(out: Path, resume: bool) -> None:
    """Refuse an output that is a file, holds a run not being resumed, lacks the run to resume,
    or cannot be written; all before any work."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out={out} is a file; choose a folder for the training run")
    has_run = (out / "checkpoints" / "last").exists()
    if has_run and not resume:
        raise TrainingError(f"{out} already holds a training run; pass resume=true to continue it or choose a new out=")
    if resume and not has_run:
        raise TrainingError(f"resume=true but {out} holds no training run (no checkpoints/last); drop resume=true")
    folder = out
    while not folder.exists():
        folder = folder.parent
    for place in (folder, out / "checkpoints"):
        if place.is_dir():
            _probe(place, out)


def _probe(folder: Path, out: Path) -> None:
    """Create and remove a file in ``folder``: the only reliable test (root ignores permission bits)."""
    probe = folder / f".write-test-{os.getpid()}"
    try:
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise TrainingError(f"cannot write the training run out={out}: {folder} is not writable ({e.strerror})") from e


@contextmanager
def output_lock(out: Path, enabled: bool = True):
    """One ``train`` per output folder: an exclusive ``flock`` on ``out/.train.lock`` (released by
    the OS even on SIGKILL). A folder this call created is removed again if training never got to
    its first checkpoint because setting up failed (a dataset error, say)."""
    if not enabled:
        yield
        return
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EAGAIN, errno.EACCES):
            raise TrainingError(
                f"another `robolang train` is writing to {out}; wait for it or choose another out="
            ) from None
        raise
    try:
        yield
    except BaseException:
        if created and not (out / "checkpoints").exists():
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def make_accelerator(cfg: DictConfig) -> Accelerator:
    gpu = cfg.torch_device != "cpu" and torch.cuda.is_available()
    return Accelerator(cpu=not gpu, mixed_precision=cfg.train.mixed_precision if gpu else "no")


def build_trainer(cfg: DictConfig, accelerator: Accelerator | None = None, settings: dict | None = None) -> Trainer:
    """Encoder, data, policy and optimiser from a composed ``configs/train.yaml``."""
    accelerator = accelerator or make_accelerator(cfg)
    target, settings = split_target(settings or check_config(cfg))
    out = Path(cfg.out)
    encoder = SentenceEncoder(cfg.encoder, max_length=settings.get("max_lang_tokens", 32))
    instructions = InstructionCache(encoder, out / "instruction_cache.pt")
    settings["lang_dim"] = encoder.dim
    probe = build_policy(target, settings)  # what the data must serve: windows, cameras, extra keys
    privileged = B.SCENE_STATE in probe.observation_features
    extra = [str(p) for p in (OmegaConf.select(cfg, "extra_datasets") or [])]
    if privileged:  # it is told the recorded scene's entry names (a dataset without any is refused here)
        settings["scene_fields"] = list(scene_fields_of(cfg.dataset))
        for path in extra:
            if list(scene_fields_of(path)) != settings["scene_fields"]:
                raise ConfigError(
                    f"extra_datasets: {path} records another scene state than dataset={cfg.dataset} "
                    f"({field_difference(tuple(settings['scene_fields']), scene_fields_of(path))})"
                )
        probe = build_policy(target, settings)
    dataset_class = SceneStateDataset if privileged else PolicyDataset  # the scene state: no video decoded
    data = dict(
        n_obs_steps=probe.n_obs_steps,
        chunk_size=probe.chunk_size,
        val_fraction=cfg.data.val_fraction,
        seed=cfg.train.seed,
        cache_dir=cfg.cache_dir,
        max_lang_tokens=settings.get("max_lang_tokens", 32),
        phrasings_per_task=cfg.data.phrasings_per_task,
        task_balance=cfg.data.task_balance,
        skip_still=cfg.data.skip_still,
        positional_phrasings=int(cfg.data.get("positional_phrasings", 0)),
        tasks=tuple(cfg.data.tasks) if cfg.data.tasks else None,
        label_sources=_label_sources(cfg),
        target_offsets=bool(probe.training_features),
        progress=accelerator.is_main_process,
    )
    if noise := float(cfg.data.get("scene_noise_m", 0.0)):
        if not privileged:
            raise ConfigError(
                f"data.scene_noise_m={noise} perturbs the recorded scene state, which only the privileged state "
                f"policy reads; policy {target} reads cameras: set data.scene_noise_m=0"
            )
        data["scene_noise_m"] = noise
    with accelerator.main_process_first():  # the main process builds the frame cache, the others reuse it
        train = dataset_class(cfg.dataset, instructions, subset="train", augment=Augment(**cfg.data.augment), **data)
        # Extra datasets (e.g. `robolang dagger`'s) train whole, normalised as the main one; validation stays the main's.
        parts = [
            dataset_class(
                path,
                instructions,
                subset="train",
                augment=Augment(**cfg.data.augment),
                stats=train.stats,
                **{**data, "val_fraction": 0.0},
            )
            for path in extra
        ]
    val = (
        dataset_class(cfg.dataset, instructions, subset="val", stats=train.stats, **data)
        if cfg.data.val_fraction
        else None
    )
    if accelerator.is_main_process:
        instructions.save()
    cameras = [k for k in probe.observation_features if k.startswith(KEY_IMAGE_PREFIX)]
    chw = {key: train.frames.images[key.removeprefix(KEY_IMAGE_PREFIX)].shape[1:] for key in cameras}
    spec = observation_spec({key: (h, w, c) for key, (c, h, w) in chw.items()})
    train_cfg = TrainConfig(**{**OmegaConf.to_container(cfg.train, resolve=True), "betas": tuple(cfg.train.betas)})
    if parts:
        train = DatasetMixture([train, *parts], OmegaConf.select(cfg, "data.extra_weight"))
        shares = ", ".join(f"{w:.0%}" for w in train.weights)
        if accelerator.is_main_process:
            print(f"training on {1 + len(parts)} datasets ({cfg.dataset}, {', '.join(extra)}): batch shares {shares}")
    return Trainer(train_cfg, target, settings, train, val, out, cfg.encoder, spec, checkpoint_stats(train.stats),
                   accelerator)  # fmt: skip


def run(cfg: DictConfig) -> Path:
    """Train (or resume) and return the final checkpoint's folder."""
    settings = check_config(cfg)
    out = Path(cfg.out)
    for dataset in [Path(cfg.dataset), *map(Path, OmegaConf.select(cfg, "extra_datasets") or [])]:
        if not (dataset / "meta" / "info.json").exists():
            raise DatasetMissingError(f"no dataset at {dataset}; record one with `robolang collect out={dataset}`")
    accelerator = make_accelerator(cfg)
    main = accelerator.is_main_process
    if main:
        check_out(out, cfg.resume)
        if accelerator.device.type == "cpu":
            cpu_threads(OmegaConf.select(cfg, "threads"))
    with output_lock(out, enabled=main):
        trainer = build_trainer(cfg, accelerator, settings)
        if cfg.resume:
            trainer.resume()
        if main:
            (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
        trainer.fit()
    trainer.close()
    return (trainer.checkpoints / "last").resolve()
