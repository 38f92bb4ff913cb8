"""The hydra entry points of ``robolang estimator render|train|eval`` (``configs/estimator_<action>.yaml``).

Only this module reads configs (STYLE.md 3): it checks every value before work starts, builds
the simulated robot and the scripted agent through hydra (``_target_``: the core never imports
``sim``) and hands plain objects to ``frames``, ``train`` and ``evaluate``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from robolang.config import ConfigError, checked, config_dir
from robolang.config import world_config as load_world
from robolang.errors import RobolangError
from robolang.perception.frames import (
    MATRIX_PREFIX,
    SURFACE_PREFIX,
    DrawPlan,
    concat_frames,
    data_meta,
    draw_frames,
    load_frames,
    missing_shards,
    render_dataset,
    render_shards,
)

# train.<key> -> (type, low, high), bounds inclusive; None: unbounded.
TRAIN_KEYS = {
    "steps": (int, 1, None), "batch_size": (int, 1, None), "warmup_steps": (int, 0, None), "log_every": (int, 1, None),
    "checkpoint_every": (int, 1, None), "keep_checkpoints": (int, 1, None), "seed": (int, 0, None),
    "lr": (float, 1e-12, None), "weight_decay": (float, 0, None), "grad_clip": (float, 1e-12, None),
    "min_lr_ratio": (float, 0, 1), "val_fraction": (float, 0, 0.9),
    "brightness": (float, 0, 1), "contrast": (float, 0, 1), "saturation": (float, 0, 1),
    "white_balance": (float, 0, 1), "repaint": (float, 0, 1),
}  # fmt: skip
RECORDED_SUFFIX = "+codec"  # a world's frames measured again through the recordings' video codec
SIZE_KEYS = {"static": ("static_height", "static_width"), "wrist": ("wrist_height", "wrist_width")}


def world_config(name: str) -> dict:
    """``configs/world/<name>.yaml`` as a plain dict."""
    path = config_dir() / "world" / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"world {name!r}: no {path}; worlds are {', '.join(known)}")
    return load_world(path)


def build_robot(cfg: DictConfig, world: dict | None = None, cameras: dict | None = None):
    """The configured simulator (not connected), optionally in another world and with given camera shapes."""
    from hydra.utils import instantiate

    from robolang.robot import is_simulator

    conf = OmegaConf.to_container(cfg.robot, resolve=True)
    if world is not None:
        conf["config"]["world"] = world
    for cam, shape in (cameras or {}).items():
        h_key, w_key = SIZE_KEYS[cam]
        conf["config"][h_key], conf["config"][w_key] = int(shape[0]), int(shape[1])
    robot = instantiate(conf, _convert_="all")
    if not is_simulator(robot):
        raise ConfigError(
            f"robot={type(robot).__name__} is not a simulator: the estimator's labels are its scene state"
        )
    return robot


def _agent_factory(cfg: DictConfig, robot):
    from hydra.utils import instantiate

    return lambda seed: instantiate(cfg.agent, robot=robot, seed=seed)


def pixel_labels(cfg: DictConfig):
    """robot -> the frame's pixel labels (``frames.capture``) from ``camera_labels`` (a hydra partial:
    robot -> camera -> (4, 4)) and ``surface_labels`` (robot -> camera -> (H, W) uint8); None when both are null."""
    from hydra.utils import instantiate

    parts = [(prefix, instantiate(cfg[key])) for key, prefix in (("camera_labels", MATRIX_PREFIX),
             ("surface_labels", SURFACE_PREFIX)) if cfg.get(key) is not None]  # fmt: skip
    if not parts:
        return None
    dtypes = {MATRIX_PREFIX: np.float32, SURFACE_PREFIX: np.uint8}
    return lambda robot: {
        prefix + cam: np.asarray(value, dtypes[prefix])
        for prefix, label in parts
        for cam, value in label(robot).items()
    }


def _meta(cfg: DictConfig, robot, world: dict, plan: DrawPlan, seed: int, shard: int) -> dict:
    return data_meta(robot, world, plan, seed, shard, pixel_labels=cfg.get("camera_labels") is not None,
                     surface_labels=cfg.get("surface_labels") is not None)  # fmt: skip


def _plan(cfg: DictConfig) -> DrawPlan:
    checked(cfg, "draw.frames_per_reset", int, low=1)
    checked(cfg, "draw.warmup_steps", int, low=0)
    low, high = checked(cfg, "draw.min_steps", int, low=0), checked(cfg, "draw.max_steps", int, low=0)
    if low > high:
        raise ConfigError(f"draw.min_steps={low} > draw.max_steps={high}: the range must not be empty")
    return DrawPlan(cfg.draw.frames_per_reset, cfg.draw.warmup_steps, low, high)


def run_render(cfg: DictConfig) -> Path:
    """``robolang estimator render``: frames with scene-state labels into ``out``."""
    frames, shard = checked(cfg, "frames", int, low=1), checked(cfg, "shard_frames", int, low=1)
    seed, resume, out = checked(cfg, "seed", int), checked(cfg, "resume", bool), Path(checked(cfg, "out", str))
    workers = checked(cfg, "workers", int, low=1)
    plan = _plan(cfg)
    world = OmegaConf.to_container(cfg.world, resolve=True)
    robot = build_robot(cfg)
    labels = pixel_labels(cfg)
    robot.connect()
    try:
        meta = _meta(cfg, robot, world, plan, seed, shard)
        if workers == 1:
            written = render_dataset(robot, _agent_factory(cfg, robot), out, frames, meta, resume, labels)
    except KeyboardInterrupt:
        print(_stopped(out))
        raise
    finally:
        robot.disconnect()
    if workers > 1:
        written = _render_in_processes(cfg, out, frames, meta, resume, workers)
    print(
        f"{out}: {frames} frames of world {world.get('name')!r} ({written} shards rendered now), cameras {meta['cameras']}"
    )
    return out


def _render_in_processes(cfg: DictConfig, out: Path, frames: int, meta: dict, resume: bool, workers: int) -> int:
    """The missing shards dealt round-robin to ``workers`` processes (each its own simulator); the shards are
    the same whoever renders them. Ctrl-C stops them all and keeps every whole shard."""
    from tqdm import tqdm

    from robolang.parallel import run_jobs

    todo = missing_shards(out, frames, meta, resume)
    plain = OmegaConf.to_container(cfg, resolve=True)
    jobs = [(plain, str(out), meta, todo[w::workers]) for w in range(min(workers, len(todo)))]
    with tqdm(total=frames, initial=frames - sum(n for _, n in todo), unit="frame", desc="render") as bar:
        try:
            run_jobs(_render_job, jobs, bar.update)
        except KeyboardInterrupt:
            print(_stopped(out))
            raise
    return len(todo)


def _stopped(out: Path) -> str:
    return f"stopped: whole shards are kept; `robolang estimator render out={out} resume=true` adds the rest"


def _render_job(plain: dict, out: str, meta: dict, shards: list, report) -> None:
    """One render worker (a spawned process): its own robot renders its share of the shards."""
    cfg = OmegaConf.create(plain)
    robot = build_robot(cfg)
    labels = pixel_labels(cfg)
    robot.connect()
    try:
        render_shards(robot, _agent_factory(cfg, robot), Path(out), meta, shards, report, labels)
    finally:
        robot.disconnect()


def video_codec(cfg: DictConfig):
    """``cfg.codec`` checked, as a ``VideoCodec``."""
    from robolang.perception.codec import VideoCodec

    checked(cfg, "codec.vcodec", str)
    checked(cfg, "codec.pix_fmt", str)
    checked(cfg, "codec.crf", int, low=0)
    checked(cfg, "codec.gop", int, low=1)
    checked(cfg, "codec.preset", int, optional=True)
    import av

    try:
        av.codec.Codec(cfg.codec.vcodec, "w")
    except Exception:  # av's unknown-codec error type differs between versions
        raise ConfigError(
            f"codec.vcodec={cfg.codec.vcodec!r}: this FFmpeg has no such encoder (libsvtav1, libx264, ...)"
        ) from None
    return VideoCodec(**OmegaConf.to_container(cfg.codec, resolve=True))


def run_recode(cfg: DictConfig) -> Path:
    """``robolang estimator recode``: ``data``'s frames through the recordings' video codec into ``out``."""
    from robolang.perception.codec import recode_folder

    data, out = Path(checked(cfg, "data", str)), Path(checked(cfg, "out", str))
    codec = video_codec(cfg)
    written = recode_folder(data, out, codec)
    print(
        f"{out}: the frames of {data} through {codec.vcodec} (crf {codec.crf}, {codec.pix_fmt}); {written} shards now"
    )
    return out


def check_train_config(cfg: DictConfig) -> list[str]:
    """Every training value checked before anything is loaded; returns the data folders."""
    data = OmegaConf.to_container(cfg.data, resolve=True) if OmegaConf.is_list(cfg.data) else [cfg.data]
    if not data or not all(isinstance(d, str) for d in data):
        raise ConfigError(f"data={cfg.data!r} is not allowed: data must be a frames folder or a list of them")
    checked(cfg, "out", str)
    checked(cfg, "resume", bool)
    checked(cfg, "threads", int, low=1, optional=True)
    checked(cfg, "torch_device", str, choices=("auto", "cpu", "cuda"))
    for key, (kind, low, high) in TRAIN_KEYS.items():
        checked(cfg, f"train.{key}", kind, low=low, high=high)
    return data


def run_train(cfg: DictConfig) -> dict:
    """``robolang estimator train``: fit an estimator on rendered frames into the run folder ``out``."""
    from robolang.parallel import GracefulStop, cpu_threads
    from robolang.perception.train import EstimatorTrainer, EstimatorTrainingError

    data = check_train_config(cfg)
    cpu_threads(cfg.threads)
    run = Path(cfg.out)
    started = (run / "checkpoints" / "last").exists()
    if started and not cfg.resume:
        raise EstimatorTrainingError(
            f"{run} already holds a training run; add resume=true to continue it, or another out="
        )
    parts = [load_frames(d) for d in data]
    frames = parts[0] if len(parts) == 1 else concat_frames(parts)
    model, train_cfg = _build_model(cfg, frames)
    if started:
        _check_resumable(run, model.config)
    extra = {"data": [str(Path(d).absolute()) for d in data], "worlds": frames.meta["world"]}
    trainer = EstimatorTrainer(model, frames, run, train_cfg, extra, _device(cfg.torch_device))
    if started:
        trainer.resume()
    with GracefulStop("\nstopping: saving a checkpoint (Ctrl-C again to stop at once)") as stop:
        trainer.fit(stop)
    errors = trainer.validation_errors()
    print(f"state estimator: {run / 'checkpoints' / 'last'} at step {trainer.step}; validation median "
          + ", ".join(f"{k} {v:.2f} cm" for k, v in errors.items()))  # fmt: skip
    if trainer.step < train_cfg.steps:
        print(f"stopped by Ctrl-C; `{resume_command(run, data)}` continues (with the same model. and train. settings)")
    return {"step": trainer.step, "validation_cm": errors}


def resume_command(run: Path, data: list[str]) -> str:
    """The command that continues the run: its frames named (they are not read back from the run),
    quoted for a POSIX shell where a path needs it (a space, a quote)."""
    import shlex

    frames = data[0] if len(data) == 1 else "[" + ",".join(data) + "]"
    return f"robolang estimator train {shlex.quote(f'data={frames}')} {shlex.quote(f'out={run}')} resume=true"


def _device(name: str) -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def _build_model(cfg: DictConfig, frames):
    """The model for these frames (cameras, fields, statistics of the training split) and the training settings."""
    import torch

    from robolang.perception.estimator import EstimatorConfig, StateEstimator
    from robolang.perception.layout import EstimatorLayout, EstimatorStats, object_shapes
    from robolang.perception.train import EstimatorTrainConfig, split

    meta = frames.meta
    try:
        settings = EstimatorConfig(
            cameras=meta["cameras"], scene_fields=meta["scene_fields"], state_names=meta["state_names"],
            shapes=object_shapes(meta.get("scene_description")), **OmegaConf.to_container(cfg.model, resolve=True),
        )  # fmt: skip
        train_cfg = EstimatorTrainConfig(**OmegaConf.to_container(cfg.train, resolve=True))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"estimator settings: {e}") from None
    torch.manual_seed(train_cfg.seed)  # the initial weights depend on the seed alone
    layout = EstimatorLayout.from_fields(settings.scene_fields, settings.shapes)
    train_idx, _ = split(len(frames), train_cfg.val_fraction)
    stats = EstimatorStats.from_arrays(layout, frames.scene[train_idx], frames.proprio[train_idx])
    return StateEstimator(settings, stats), train_cfg


def _check_resumable(run: Path, settings) -> None:
    from robolang.perception.checkpoint import read_config, resolve
    from robolang.perception.train import EstimatorTrainingError

    saved = read_config(resolve(run))["model"]
    changed = [k for k, v in settings.to_dict().items() if saved.get(k) != v]
    if changed:
        raise EstimatorTrainingError(
            f"{run} was trained with other {', '.join(changed)}; resume needs the same data and model"
        )


def run_eval(cfg: DictConfig) -> dict:
    """``robolang estimator eval``: render fresh frames per world, measure, print the table and the verdict."""
    from robolang.perception.checkpoint import load_estimator
    from robolang.perception.evaluate import evaluate, table

    checked(cfg, "checkpoint", str)
    checked(cfg, "frames", int, low=1)
    checked(cfg, "seed", int)
    checked(cfg, "out", str, optional=True)
    if not (OmegaConf.is_list(cfg.worlds) and len(cfg.worlds) and all(isinstance(w, str) for w in cfg.worlds)):
        raise ConfigError(f"worlds={cfg.worlds!r} is not allowed: worlds must be a list of configs/world names")
    targets = OmegaConf.to_container(cfg.targets, resolve=True) if cfg.targets is not None else {}
    worlds = {w: world_config(w) for w in cfg.worlds}
    plan = _plan(cfg)
    model = load_estimator(cfg.checkpoint)
    recorded = checked(cfg, "recorded", bool)
    codec = video_codec(cfg) if recorded else None
    frames_by_world = {}
    for i, (name, world) in enumerate(worlds.items()):
        frames_by_world[name] = _render_world(cfg, model, name, world, i, plan)
        if recorded:
            from robolang.perception.codec import recode_frames

            frames_by_world[f"{name}{RECORDED_SUFFIX}"] = recode_frames(frames_by_world[name], codec)
    report = evaluate(model, frames_by_world, targets)
    for line in table(report):
        print(line)
    if cfg.out:
        out = Path(cfg.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "estimator_eval.json").write_text(json.dumps({**report, "checkpoint": str(cfg.checkpoint)}, indent=1))
        print(f"written to {out / 'estimator_eval.json'}")
    return report


def _render_world(cfg: DictConfig, model, name: str, world: dict, index: int, plan: DrawPlan) -> dict:
    """``cfg.frames`` fresh frames of one world at the checkpoint's camera sizes, drawn from (seed, index)."""
    from tqdm import tqdm

    from robolang.perception.checkpoint import check_cameras

    robot = build_robot(cfg, world, {c: s for c, s in model.config.cameras.items() if c in SIZE_KEYS})
    check_cameras(model.config.cameras, robot.observation_features)
    _check_fields(model, robot)
    robot.connect()
    try:
        with tqdm(total=cfg.frames, unit="frame", desc=f"render {name}") as bar:
            rng = np.random.default_rng([cfg.seed, index])
            return draw_frames(robot, _agent_factory(cfg, robot), cfg.frames, rng, plan, bar.update)
    finally:
        robot.disconnect()


def _check_fields(model, robot) -> None:
    if tuple(robot.scene_fields) != tuple(model.config.scene_fields):
        raise RobolangError(
            "this state estimator was trained on another scene (its scene fields differ from the simulator's): "
            f"{len(model.config.scene_fields)} trained, {len(robot.scene_fields)} now"
        )


def run_compose(cfg: DictConfig) -> Path:
    """``robolang estimator compose``: the estimator and a state policy as one deployable policy folder."""
    from robolang.policy.estimated_state import compose

    for key in ("estimator", "state_policy", "out"):
        checked(cfg, key, str)
    held = checked(cfg, "held_from_gripper", bool)
    out = compose(cfg.estimator, cfg.state_policy, cfg.out, held_from_gripper=held)
    print(f"deployable policy (state estimator + state policy): {out}")
    return out
