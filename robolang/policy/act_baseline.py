"""Baseline: LeRobot's ACT, trained through LeRobot's own API on our exported labelled windows.

ACT (Zhao et al. 2023, "Learning Fine-Grained Bimanual Manipulation with Low-Cost Hardware")
sees the two cameras and the proprioception, never the instruction: it is **language-blind by
design**. Trained on the same labelled windows as our policy (``robolang caption ... --export``),
the gap between the two is what language buys.

Everything that matters comes from LeRobot 0.4.4 unchanged: ``ACTConfig`` and ``ACTPolicy``,
``TrainPipelineConfig`` + ``make_dataset`` (a ``LeRobotDataset`` whose ``delta_timestamps``
deliver the future action chunk and its ``action_is_pad`` mask), ``make_pre_post_processors``
(mean/std normalization from the dataset's statistics), the policy's AdamW preset through
``make_optimizer_and_scheduler``, and one optimisation step is ``lerobot_train.update_policy``.
The result is saved with ``save_pretrained`` next to its processors, in LeRobot's own checkpoint
layout, so ``ActRunner.load`` (or LeRobot's tools) need nothing else.

The ResNet-18 backbone is trained from scratch (``pretrained_backbone_weights=None``) because
nothing may be downloaded at run time (DESIGN.md); for the same reason image normalization uses
the dataset's own statistics instead of ImageNet's.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from robolang.features import ACTION_DIM, CAMERA_NAMES, KEY_STATE, STATE_DIM, STATE_NAMES, image_key
from robolang.policy.execution import ChunkExecution
from robolang.policy.language import check_instruction

# Saved inside ``out_dir`` like LeRobot's ``checkpoints/<step>/pretrained_model``.
PRETRAINED_DIR = "pretrained_model"
LOSS_LOG = "loss.csv"
LOSS_COLUMNS = ("step", "epoch", "loss", "l1_loss", "kld_loss", "grad_norm", "lr", "update_s", "data_s")
# ACT's default chunk is 100 steps at ALOHA's 50 Hz, i.e. 2 s of motion; 2 s at our 10 Hz is 20.
DEFAULT_CHUNK_SIZE = 20


def act_config(device: str = "cpu", **overrides):
    """LeRobot's ``ACTConfig`` with its own defaults except ``pretrained_backbone_weights=None``
    (trained from scratch: nothing may be downloaded). A given ``chunk_size`` is executed whole
    (``n_action_steps`` follows it) unless ``n_action_steps`` is given too."""
    from lerobot.policies.act.configuration_act import ACTConfig

    if "chunk_size" in overrides:
        overrides.setdefault("n_action_steps", overrides["chunk_size"])
    return ACTConfig(device=device, push_to_hub=False, **{"pretrained_backbone_weights": None, **overrides})


def train_act(
    dataset_root: str | Path,
    out_dir: str | Path,
    steps: int,
    batch_size: int = 8,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    device: str = "cpu",
    seed: int = 0,
    log_every: int = 10,
    num_workers: int = 0,
    threads: int | None = None,
    act: dict | None = None,
) -> Path:
    """Train LeRobot's ACT on an exported labelled dataset; returns the saved policy folder.

    ``act`` overrides any other ``ACTConfig`` field (e.g. ``{"dim_model": 256}``); ``threads``
    sets torch's intra-op threads (None keeps torch's default, one per core). The loss of
    every ``log_every``-th step (and the last) goes to ``out_dir/loss.csv``; the policy, its config,
    LeRobot's train config and the processors (with the normalization statistics) go to
    ``out_dir/pretrained_model``.
    """
    from accelerate import Accelerator
    from lerobot.configs.default import DatasetConfig
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.datasets.factory import make_dataset
    from lerobot.datasets.utils import cycle
    from lerobot.optim.factory import make_optimizer_and_scheduler
    from lerobot.policies.factory import make_policy, make_pre_post_processors
    from lerobot.utils.logging_utils import AverageMeter, MetricsTracker
    from lerobot.utils.random_utils import set_seed

    root, out = Path(dataset_root), Path(out_dir)
    if not (root / "meta" / "info.json").exists():
        raise FileNotFoundError(
            f"no LeRobotDataset at {root}; export labelled windows first: robolang caption <play> --export {root}"
        )
    if (out / PRETRAINED_DIR).exists():
        raise FileExistsError(f"{out / PRETRAINED_DIR} exists; choose a new out folder")
    _check_image_stats(root)
    policy_cfg = act_config(device, **{"chunk_size": chunk_size, **(act or {})})
    cfg = TrainPipelineConfig(
        dataset=DatasetConfig(repo_id=f"robolang/{root.name}", root=str(root), use_imagenet_stats=False),
        policy=policy_cfg,
        output_dir=out,
        seed=seed,
        num_workers=num_workers,
        batch_size=batch_size,
        steps=steps,
        optimizer=policy_cfg.get_optimizer_preset(),  # ACT's AdamW preset (lr 1e-5, wd 1e-4)
        scheduler=policy_cfg.get_scheduler_preset(),  # none for ACT
    )
    if threads:
        torch.set_num_threads(threads)
    accelerator = Accelerator(cpu=device == "cpu")
    set_seed(seed, accelerator=accelerator)
    dataset = make_dataset(cfg)  # delta_timestamps from ACT's action_delta_indices: the chunk
    policy = make_policy(cfg.policy, ds_meta=dataset.meta)
    pre, post = make_pre_post_processors(cfg.policy, dataset_stats=dataset.meta.stats)
    optimizer, scheduler = make_optimizer_and_scheduler(cfg, policy)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        pin_memory=device.startswith("cuda"),
        drop_last=False,
        prefetch_factor=2 if num_workers > 0 else None,
    )
    meters = {k: AverageMeter(k, ":.3f") for k in ("loss", "grad_norm", "lr", "update_s", "dataloading_s")}
    tracker = MetricsTracker(batch_size, dataset.num_frames, dataset.num_episodes, meters, accelerator=accelerator)
    out.mkdir(parents=True, exist_ok=True)
    with (out / LOSS_LOG).open("w", newline="") as log:
        csv.DictWriter(log, LOSS_COLUMNS).writeheader()
        _train_loop(policy, pre, cycle(loader), optimizer, scheduler, cfg, accelerator, tracker, log, log_every)
    return save(out / PRETRAINED_DIR, policy, pre, post, cfg)


def _check_image_stats(root: Path) -> None:
    """ACT normalises images with the dataset's statistics (``use_imagenet_stats=False``):
    refuse the std ~0 that LeRobot 0.4.4 wrote before robolang corrected it (``recording/stats.py``)."""
    from robolang.recording.stats import image_keys, overflowed_image_keys

    stats_path = root / "meta" / "stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    bad = overflowed_image_keys(stats, image_keys(json.loads((root / "meta" / "info.json").read_text())))
    if bad:
        raise ValueError(
            f"{stats_path}: the image statistics of {', '.join(bad)} overflowed (LeRobot 0.4.4 squared uint8 pixels: "
            f"std ~0) and ACT divides images by them; recompute them with `python -m robolang.recording.adoption {root}` "
            "or export the windows again"
        )


def _train_loop(policy, pre, batches, optimizer, scheduler, cfg, accelerator, tracker, log, log_every) -> None:
    """LeRobot's loop body: preprocess a batch, ``update_policy`` (forward, backward, clip, AdamW)."""
    from lerobot.scripts.lerobot_train import update_policy

    writer = csv.DictWriter(log, LOSS_COLUMNS)
    with tqdm(total=cfg.steps, desc="train ACT", unit="step") as bar:
        for step in range(1, cfg.steps + 1):
            started = time.perf_counter()
            batch = pre(next(batches))
            tracker.dataloading_s = data_s = time.perf_counter() - started
            tracker, losses = update_policy(
                tracker, policy, batch, optimizer, cfg.optimizer.grad_clip_norm, accelerator, scheduler
            )
            loss = tracker.loss.val
            if not math.isfinite(loss):
                raise FloatingPointError(f"ACT loss is {loss} at step {step}; nothing was saved")
            tracker.step()
            bar.update()
            bar.set_postfix(loss=f"{loss:.3f}")
            if step % log_every == 0 or step == cfg.steps:
                row = {"step": step, "epoch": tracker.epochs, "loss": loss, "data_s": data_s, **losses}
                row.update({k: tracker.metrics[k].val for k in ("grad_norm", "lr", "update_s")})
                writer.writerow({k: row.get(k, "") for k in LOSS_COLUMNS})
                log.flush()  # readable while training runs


def save(folder: Path, policy, pre, post, cfg=None) -> Path:
    """LeRobot's checkpoint layout: config.json + model.safetensors (``save_pretrained``), the
    processors with their statistics, and LeRobot's train_config.json when a run made it."""
    folder = Path(folder)
    policy.save_pretrained(folder)
    pre.save_pretrained(folder)
    post.save_pretrained(folder)
    if cfg is not None:
        cfg.save_pretrained(folder)
    return folder


@dataclass
class ActRunner:
    """A trained (or freshly built) LeRobot ACT behind robolang's ``predict(observation, instruction)``.

    Language-blind: ``instruction`` is accepted for the common interface and ignored by the model
    (it is passed on as LeRobot's ``task``, which ACT's processors and model never read).
    """

    policy: object  # lerobot ACTPolicy
    preprocessor: object
    postprocessor: object
    device: str = "cpu"

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> ActRunner:
        """Load a folder written by ``train_act`` (``out_dir`` or its ``pretrained_model``)."""
        from lerobot.policies.act.modeling_act import ACTPolicy
        from lerobot.policies.factory import make_pre_post_processors

        folder = Path(path)
        if (folder / PRETRAINED_DIR).is_dir():
            folder = folder / PRETRAINED_DIR
        if not (folder / "config.json").exists():
            raise FileNotFoundError(
                f"{folder} holds no ACT policy (no config.json); train one with `robolang baseline act`"
            )
        policy = ACTPolicy.from_pretrained(folder, local_files_only=True)
        policy.config.device = device
        policy.to(device).eval()
        pre, post = make_pre_post_processors(
            policy.config, pretrained_path=str(folder), preprocessor_overrides={"device_processor": {"device": device}}
        )
        return cls(policy, pre, post, device)

    @property
    def chunk_size(self) -> int:
        return self.policy.config.chunk_size

    def predict(self, observation: dict, instruction: str = "") -> np.ndarray:
        """One action chunk, (chunk_size, 5), from uint8 HWC images and the (12,) state.

        Keys may be the dataset's (``observation.images.static``, ``observation.state``) or the
        robot's short names (``static``, ``wrist``, ``state``). Actions come back in the robot's
        normalized units, unclipped (the robot contract clips and reports).
        """
        from lerobot.policies.utils import prepare_observation_for_inference

        obs = self._dataset_keys(observation)
        with torch.inference_mode():
            batch = self.preprocessor(prepare_observation_for_inference(obs, torch.device(self.device), instruction))
            chunk = self.postprocessor(self.policy.predict_action_chunk(batch))  # (1, K, ACTION_DIM)
        return chunk[0].cpu().numpy()

    def _dataset_keys(self, observation: dict) -> dict[str, np.ndarray]:
        names = {KEY_STATE: "state", **{image_key(c): c for c in CAMERA_NAMES}}
        obs = {}
        for key, feature in self.policy.config.input_features.items():
            value = observation.get(key, observation.get(names.get(key, key)))
            if value is None:
                raise KeyError(f"ACT needs observation '{key}'; got {sorted(observation)}")
            value = np.asarray(value)
            expected = feature.shape if key == KEY_STATE else (feature.shape[1], feature.shape[2], feature.shape[0])
            if value.shape != tuple(expected):
                raise ValueError(f"observation '{key}' has shape {value.shape}; this ACT was built for {expected}")
            obs[key] = value.astype(np.float32) if key == KEY_STATE else value
        return obs


def build_act(image_size: int = 128, device: str = "cpu", **overrides) -> ActRunner:
    """A randomly initialised ACT for our observation shapes (two cameras, (12,) state, 5-D
    action) with placeholder normalization statistics: for timing and tests, not for control.

    Without ``overrides`` this is ACT's default config (chunk 100, ResNet-18, 4+1 layers of 512)."""
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors

    cfg = act_config(device, **overrides)
    image = (3, image_size, image_size)
    cfg.input_features = {
        **{image_key(c): PolicyFeature(FeatureType.VISUAL, image) for c in CAMERA_NAMES},
        KEY_STATE: PolicyFeature(FeatureType.STATE, (STATE_DIM,)),
    }
    cfg.output_features = {"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))}
    stats = {image_key(c): _stats((3, 1, 1), 0.5, 0.25) for c in CAMERA_NAMES}
    stats |= {KEY_STATE: _stats((STATE_DIM,), 0.0, 1.0), "action": _stats((ACTION_DIM,), 0.0, 0.5)}
    policy = ACTPolicy(cfg).to(device).eval()
    pre, post = make_pre_post_processors(cfg, dataset_stats=stats)
    return ActRunner(policy, pre, post, device)


def _stats(shape: tuple[int, ...], mean: float, std: float) -> dict[str, torch.Tensor]:
    return {"mean": torch.full(shape, mean), "std": torch.full(shape, std)}


def count_parameters(runner: ActRunner) -> int:
    return sum(p.numel() for p in runner.policy.parameters())


def is_act_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by ``train_act`` (or its ``pretrained_model``)."""
    folder = Path(path)
    folder = folder / PRETRAINED_DIR if (folder / PRETRAINED_DIR).is_dir() else folder
    try:
        return json.loads((folder / "config.json").read_text()).get("type") == "act"
    except (OSError, ValueError, AttributeError):
        return False


class ActLanguagePolicy(ChunkExecution):
    """ACT behind the loading API of our policies (``robolang.policy.load_policy``).

    Language-blind: the instruction is checked like ours and otherwise ignored. Its observation
    is the robot's (camera name -> uint8 HWC, proprioception name -> float) or dataset keys."""

    name = "act"
    language_blind = True
    n_obs_steps = 1
    step = None

    def __init__(self, runner: ActRunner, path: Path | None = None, execution: str = "chunk",
                 actions_per_chunk: int | None = None, ensemble_decay: float = 0.01):  # fmt: skip
        self.runner, self.path = runner, path
        self.chunk_size = runner.chunk_size
        self.set_execution(execution, actions_per_chunk, ensemble_decay)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", **kw) -> ActLanguagePolicy:
        try:
            runner = ActRunner.load(path, device=device)
        except Exception as e:  # LeRobot raises several kinds on a damaged folder
            from robolang.policy.checkpoint import CheckpointError

            raise CheckpointError(f"{path}: cannot load the ACT policy ({e})") from e
        return cls(runner, Path(path), **kw)

    @property
    def observation_features(self) -> dict[str, tuple[int, ...]]:
        """Images (H, W, C) and the proprioception vector, as the robot gives them."""
        out = {}
        for key, feature in self.runner.policy.config.input_features.items():
            shape = tuple(feature.shape)
            out[key] = shape if key == KEY_STATE else (shape[1], shape[2], shape[0])
        return out

    @property
    def action_features(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(f.shape) for k, f in self.runner.policy.config.output_features.items()}

    @property
    def image_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            k.removeprefix("observation.images."): v for k, v in self.observation_features.items() if k != KEY_STATE
        }

    def check_robot(self, observation_features: dict) -> None:
        """Raise ``CheckpointError`` when the robot's cameras or proprioception differ from training."""
        from robolang.policy.checkpoint import check_observation_spec, observation_spec

        images = {k: v for k, v in self.observation_features.items() if k != KEY_STATE}
        check_observation_spec(observation_spec(images), observation_features)

    def reset(self) -> None:
        self._reset_actions()

    def predict(self, observation: dict, instruction: str) -> np.ndarray:
        """One action chunk (chunk_size, 5), clipped to [-1, 1]."""
        obs = dict(observation)
        if KEY_STATE not in obs and "state" not in obs:
            obs["state"] = np.array([observation[n] for n in STATE_NAMES], np.float32)
        return np.clip(self.runner.predict(obs, check_instruction(instruction)), -1.0, 1.0)
