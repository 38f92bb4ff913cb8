"""Rendered training frames for the state estimator: camera images, proprioception and the scene state.

A frames folder (``robolang estimator render``)::

    estimator_data.json   kind, world, camera shapes, proprioception and scene-field names, the
                          robot's scene description, and how the frames were drawn
    shard_00000.npz       compressed: static (n, H, W, 3) uint8, wrist (n, H', W', 3) uint8,
                          proprio (n, P) float32, scene (n, D) float32, and with pixel labels
                          camera.static, camera.wrist (n, 4, 4) float32: world -> clip space,
                          and with surface labels surface.static, surface.wrist (n, H, W) uint8:
                          1 the table, 2 the cabinets, 0 anything else (the pixels training repaints)
    ...

Frames are drawn for variety, not as episodes: the world is reset from a seed (a new sampled
world: colours, lights, camera pose, layout), the scripted play agent plays a random number of
steps between captures, so objects are sometimes in the hand, in the drawer or stacked. A shard
is written to a temporary file and renamed into place, so a crash leaves only whole shards; shard
``i`` is drawn from seed ``(seed, i)`` alone, so ``resume=true`` renders exactly the missing ones.
The robot and the agent arrive as objects (built from hydra by ``entry``): nothing here imports ``sim``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robolang.features import CAMERA_NAMES, STATE_NAMES
from robolang.perception.layout import EstimatorDataError

DATA_FILE = "estimator_data.json"
DATA_KIND = "estimator_frames"
FORMAT_VERSION = 1
ARRAYS = (*CAMERA_NAMES, "proprio", "scene")
MATRIX_PREFIX = "camera."  # optional arrays: each camera's world -> clip matrix per frame (pixel labels)
SURFACE_PREFIX = "surface."  # optional arrays: per pixel, 1 the table, 2 the cabinets, 0 the rest


@dataclass(frozen=True)
class DrawPlan:
    """How frames are drawn: captures per reset and scripted-agent steps between two captures."""

    # Captures per reset. Few: a layout (and a sampled world) seen in many frames lets a model
    # memorise "this table colour -> these positions" instead of localising (measured: 16 per reset
    # over 2,400 frames gave 5 cm on training frames and the mean's 14 cm on held-out ones).
    frames_per_reset: int = 8
    warmup_steps: int = 60  # play before the first capture, uniform in [0, warmup]: objects get moved, held, stacked
    min_steps: int = 0  # then between captures, uniform in [min, max]; 0: a frame may repeat the last state
    max_steps: int = 20  # 20 steps = 2 s of play: the hand moves ~10-40 cm

    def __post_init__(self):
        if self.frames_per_reset < 1 or self.warmup_steps < 0 or not 0 <= self.min_steps <= self.max_steps:
            raise ValueError(f"bad draw plan {self}: frames_per_reset >= 1, warmup_steps >= 0, 0 <= min <= max steps")


@dataclass
class Frames:
    """Frames in memory: images per camera (N, H, W, 3) uint8, proprio (N, P), scene (N, D), and the metadata."""

    images: dict[str, np.ndarray]
    proprio: np.ndarray
    scene: np.ndarray
    meta: dict
    matrices: dict[str, np.ndarray] | None = None  # camera -> (N, 4, 4) world -> clip, where rendered with them
    surfaces: dict[str, np.ndarray] | None = None  # camera -> (N, H, W) uint8 surface labels, where rendered with them

    def __len__(self) -> int:
        return len(self.proprio)


def capture(robot, labels: Callable | None = None) -> dict[str, np.ndarray]:
    """One labelled frame of a connected simulator: its cameras, proprioception and scene vector, and
    with ``labels(robot)`` its pixel labels (name -> array: ``MATRIX_PREFIX`` + camera -> (4, 4) world ->
    clip matrix, ``SURFACE_PREFIX`` + camera -> (H, W) surface labels; ``entry.pixel_labels``)."""
    obs = robot.get_observation()
    frame = {cam: np.asarray(obs[cam], np.uint8) for cam in CAMERA_NAMES}
    frame["proprio"] = np.asarray([obs[k] for k in STATE_NAMES], np.float32)  # (P,)
    frame["scene"] = np.asarray(robot.scene_vector(), np.float32)  # (D,)
    frame.update(labels(robot) if labels else {})
    return frame


def draw_frames(
    robot, make_agent: Callable, n: int, rng: np.random.Generator, plan: DrawPlan, progress: Callable | None = None,
    labels: Callable | None = None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """``n`` labelled frames from resets seeded by ``rng`` with the agent ``make_agent(seed)`` playing
    between captures; a dict of stacked arrays (``ARRAYS``, and the pixel labels with ``labels``)."""
    rows: list[dict] = []
    while len(rows) < n:
        seed = int(rng.integers(2**31 - 1))
        robot.reset(seed)
        agent = make_agent(seed)
        for i in range(min(plan.frames_per_reset, n - len(rows))):
            low, high = (0, plan.warmup_steps) if i == 0 else (plan.min_steps, plan.max_steps)
            for _ in range(int(rng.integers(low, high + 1))):
                robot.send_action(agent.act())
            rows.append(capture(robot, labels))
            if progress is not None:
                progress(1)
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def data_meta(
    robot, world: dict, plan: DrawPlan, seed: int, shard_frames: int, pixel_labels: bool = False,
    surface_labels: bool = False,
) -> dict:  # fmt: skip
    """What a frames folder says about itself (``estimator_data.json``)."""
    meta = {
        "kind": DATA_KIND,
        "format_version": FORMAT_VERSION,
        "world": world.get("name", "custom"),
        "world_config": world,
        "cameras": {cam: list(robot.observation_features[cam]) for cam in CAMERA_NAMES},
        "state_names": list(STATE_NAMES),
        "scene_fields": list(robot.scene_fields),
        "scene_description": robot.scene_description(),
        "seed": seed,
        "shard_frames": shard_frames,
        "draw": asdict(plan),
        "pixel_labels": pixel_labels,  # shards hold each camera's matrix per frame
    }
    if surface_labels:  # absent, not false, when off: folders rendered before it still resume
        meta["surface_labels"] = True  # shards hold each camera's surface labels per frame
    return meta


def shard_path(root: Path, index: int) -> Path:
    """The file of shard ``index``."""
    return root / f"shard_{index:05d}.npz"


def write_atomic(path: Path, write: Callable) -> None:
    """``write(file)`` into a temporary file beside ``path``, synced, then renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def render_dataset(
    robot,
    make_agent: Callable,
    out: Path,
    frames: int,
    meta: dict,
    resume: bool = False,
    labels: Callable | None = None,
) -> int:
    """Render ``frames`` frames into ``out`` in shards of ``meta['shard_frames']``; returns the shards written now.

    An ``out`` that already holds frames is refused unless ``resume`` (then it must have been
    rendered with the same settings, and only the missing shards are drawn)."""
    todo = missing_shards(out, frames, meta, resume)
    with tqdm(total=frames, initial=frames - sum(n for _, n in todo), unit="frame", desc="render") as bar:
        render_shards(robot, make_agent, out, meta, todo, bar.update, labels)
    return len(todo)


def missing_shards(out: Path, frames: int, meta: dict, resume: bool) -> list[tuple[int, int]]:
    """(index, frames) of every shard ``out`` still lacks, after checking (and writing) its settings."""
    out, meta = Path(out), {**meta, "frames": frames}
    _prepare_out(out, meta, resume)
    size = meta["shard_frames"]
    shards = [(i, min(size, frames - i * size)) for i in range(-(-frames // size))]
    return [(i, n) for i, n in shards if not shard_path(out, i).exists()]


def render_shards(
    robot, make_agent: Callable, out: Path, meta: dict, shards: list[tuple[int, int]], progress: Callable,
    labels: Callable | None = None,
) -> None:  # fmt: skip
    """Draw and write each (index, frames) shard; shard i depends on (seed, i) alone, whoever renders it."""
    plan = DrawPlan(**meta["draw"])
    for index, n in shards:
        rng = np.random.default_rng([meta["seed"], index])
        arrays = draw_frames(robot, make_agent, n, rng, plan, progress, labels)
        write_atomic(shard_path(Path(out), index), lambda f, a=arrays: np.savez_compressed(f, **a))


def _prepare_out(out: Path, meta: dict, resume: bool) -> None:
    if out.exists() and not out.is_dir():
        raise EstimatorDataError(f"out={out} is a file; out must be a new folder (or a frames folder with resume=true)")
    existing = out / DATA_FILE
    if existing.exists():
        if not resume:
            raise EstimatorDataError(f"{out} already holds rendered frames; add resume=true to add the missing shards")
        old = json.loads(existing.read_text())
        changed = [k for k in meta if k != "frames" and old.get(k) != meta[k]]
        if changed:
            raise EstimatorDataError(f"{out} was rendered with other settings ({', '.join(changed)}); use a new out=")
    elif out.is_dir() and any(out.iterdir()):
        raise EstimatorDataError(f"out={out} is a folder that holds no rendered frames ({DATA_FILE}); use a new out=")
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(existing, lambda f: f.write(json.dumps(meta, indent=1).encode()))


def read_meta(root: Path) -> dict:
    """A frames folder's ``estimator_data.json``; refused, naming what is missing, without scene state."""
    root = Path(root)
    if not root.is_dir():
        raise EstimatorDataError(
            f"data={root} does not exist; render frames with `robolang estimator render out={root}`"
        )
    path = root / DATA_FILE
    if not path.exists():
        hint = " (a LeRobotDataset: the estimator trains on rendered frames)" if (root / "meta").is_dir() else ""
        raise EstimatorDataError(
            f"data={root} has no {DATA_FILE}{hint}: not a rendered frames folder; "
            f"render one with `robolang estimator render out=DIR`"
        )
    meta = json.loads(path.read_text())
    if not meta.get("scene_fields"):
        raise EstimatorDataError(
            f"data={root} has no scene state ({DATA_FILE} names no scene_fields; a real-robot recording has none): "
            "the estimator is supervised by the simulator's scene state"
        )
    return meta


def load_frames(root: Path | str) -> Frames:
    """Every shard of a frames folder in memory; refused (``EstimatorDataError``) naming what is missing."""
    root = Path(root)
    meta = read_meta(root)
    shards = sorted(root.glob("shard_*.npz"))
    if not shards:
        raise EstimatorDataError(f"data={root} holds no shards yet; `robolang estimator render out={root} resume=true`")
    parts = []
    for path in shards:
        with np.load(path) as z:
            missing = [k for k in ARRAYS if k not in z.files]
            if missing:
                raise EstimatorDataError(f"{path} lacks {missing} (the scene state is 'scene'); re-render it")
            parts.append({k: z[k] for k in z.files})
    keys = [k for k in parts[0] if all(k in p for p in parts)]
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    if arrays["scene"].shape[1] != len(meta["scene_fields"]):
        raise EstimatorDataError(
            f"{root}: scene vectors of {arrays['scene'].shape[1]} entries, {DATA_FILE} names {len(meta['scene_fields'])}"
        )
    images = {cam: arrays[cam] for cam in CAMERA_NAMES}
    matrices = {cam: arrays[MATRIX_PREFIX + cam] for cam in CAMERA_NAMES if MATRIX_PREFIX + cam in arrays}
    surfaces = {cam: arrays[SURFACE_PREFIX + cam] for cam in CAMERA_NAMES if SURFACE_PREFIX + cam in arrays}
    return Frames(images, arrays["proprio"], arrays["scene"], meta, matrices or None, surfaces or None)


def concat_frames(parts: list[Frames]) -> Frames:
    """Frames of several folders as one; refused unless cameras and scene fields agree."""
    first = parts[0].meta
    for p in parts[1:]:
        for key in ("cameras", "scene_fields", "state_names"):
            if p.meta[key] != first[key]:
                raise EstimatorDataError(f"the data folders differ in {key}: {first[key]} vs {p.meta[key]}")
    meta = {**first, "world": sorted({p.meta["world"] for p in parts})}
    with_matrices = all(p.matrices for p in parts)
    surfaces = None  # a folder rendered without surface labels has nothing to repaint: all 0
    if any(p.surfaces for p in parts):
        surfaces = {
            cam: np.concatenate([p.surfaces[cam] if p.surfaces else np.zeros(p.images[cam].shape[:3], np.uint8)
                                 for p in parts])
            for cam in CAMERA_NAMES
        }  # fmt: skip
    return Frames(
        {cam: np.concatenate([p.images[cam] for p in parts]) for cam in CAMERA_NAMES},
        np.concatenate([p.proprio for p in parts]),
        np.concatenate([p.scene for p in parts]),
        meta,
        {cam: np.concatenate([p.matrices[cam] for p in parts]) for cam in parts[0].matrices} if with_matrices else None,
        surfaces,
    )
