"""Training batches from a captioned dataset: segments, train phrasings, windows, augmentation.

``PolicyDataset(root, instructions, ...)`` serves the batch contract (``policy/batch.py``) from
the frame cache (``frame_cache.py``). ``sample(batch_size, rng)`` draws everything from the
``np.random.Generator`` it is given (the trainer owns and checkpoints it, which makes resume
exact), with numpy fancy indexing only: no per-sample Python in the hot path.

What one sample is:
* a labelled **segment**: a (episode, start, end, task, args) that carries a ``train`` label
  of a chosen source (``label_sources``, ``train_labels``: every source the table has by
  default; ``heldout_phrasing`` and ``heldout_composition`` rows never train).
  Segments split into train / val by time blocks (``split_segments``), so validation frames are
  never trained on. Tasks are drawn with probability ~ n_task ** ``task_balance`` and segments
  uniformly within a task: play is skewed (an hour: 282 ``grasp`` segments, 3 ``move_plate``),
  uniform segments (1.0) rarely show the rare skills, uniform tasks (0.0) replay a handful of
  rare segments until they are memorised; 0.5 is the square-root compromise of multilingual
  language-model sampling (XLM, Conneau & Lample 2019: languages drawn ~ size^0.5);
* an instruction: a random ``train`` phrasing of the segment's (task, args) from a pool of up
  to ``phrasings_per_task`` drawn from the grammar (object descriptions without positions,
  which hold anywhere in the segment), pre-encoded once; tasks the grammar cannot phrase (no
  scene file, a hand-made task id) use the table's own train instructions of that (task, args);
  a label without a task id (typed by hand) keeps its own: its segment's instructions only;
* a timestep t uniform in [start, end) (``skip_still=True``: uniform over the segment's frames
  whose action moves the arm or changes the gripper command; see ``still_frames``); observations t - n_obs_steps + 1 .. t, clamped at the
  episode's first frame (repeated, as LeRobot does); actions t .. t + chunk_size - 1 with
  ``action_is_pad`` past the segment's end, where the **last valid action is repeated** (the
  segment's own final command; the frames after it belong to other behaviour);
* optionally (``target_offsets=True``) where the segment's first object is relative to the
  gripper at t, from the recorded privileged scene state (``batch.TARGET``): supervision for an
  auxiliary head only, never a policy input.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
import torch

from robolang.captioning import annotations, grammar
from robolang.captioning.states import SCENE_FILE, EpisodeStates
from robolang.errors import RobolangError
from robolang.features import CAMERA_NAMES
from robolang.policy import batch as B
from robolang.policy.frame_cache import DatasetMissingError, FrameCache, read_columns

if TYPE_CHECKING:
    from robolang.policy.language import InstructionCache

SEGMENT_KEY = ["episode_index", "start_frame", "end_frame", "task_id", "args"]


def retain_batch_memory() -> bool:
    """Ask glibc to keep freed batch-sized blocks instead of handing them back to the kernel.

    By default a freed block over ~32 MB at the top of the heap is returned to the kernel, and the
    next batch's arrays fault their pages back in (1,000-1,500 faults and ~3 ms of kernel time per
    batch of 64, measured here). Process-wide and idempotent: allocations up to 32 MB stay on the
    heap, and up to 256 MB of free heap is kept. A no-op where glibc's ``mallopt`` is absent."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 32 << 20) and libc.mallopt(-1, 256 << 20))  # M_MMAP_, M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        return False


class DataPipelineError(RobolangError, ValueError):
    """A dataset that cannot feed training; the message says what to run."""


@dataclass(frozen=True)
class NormStats:
    """Per-dimension mean and std of ``observation.state`` in the training data.

    Computed here, applied inside the policy (``protocol.StateNormalizer``, from ``checkpoint()``)."""

    state_mean: tuple[float, ...]
    state_std: tuple[float, ...]

    # Floor on std: a joint that never moves in the data must not blow up to 1/0 (1 mm or
    # 1 mrad, below the arm's repeatability, so real variation is never flattened).
    STD_FLOOR = 1e-3

    @classmethod
    def from_states(cls, states: np.ndarray) -> NormStats:
        states = np.asarray(states, np.float64)  # (N, STATE_DIM)
        std = np.maximum(states.std(0), cls.STD_FLOOR)
        return cls(tuple(map(float, states.mean(0))), tuple(map(float, std)))

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> NormStats:
        return cls(tuple(map(float, d["state_mean"])), tuple(map(float, d["state_std"])))

    def checkpoint(self) -> dict[str, dict[str, list[float]]]:
        """The form ``Policy.set_normalization`` takes and checkpoints' ``stats.json`` holds."""
        return {B.STATE: {"mean": list(self.state_mean), "std": list(self.state_std)}}


class AugmentParams(NamedTuple):
    """One camera's augmentation draw for a batch of B samples."""

    dy: np.ndarray  # (B,) int, content shift down in pixels, -pad .. pad
    dx: np.ndarray  # (B,) int, content shift right
    brightness: np.ndarray  # (B,) factor
    contrast: np.ndarray  # (B,) factor


@dataclass(frozen=True)
class Augment:
    """Batched image augmentation: random shift and per-sample brightness/contrast jitter.

    Shift moves the image by up to ``shift`` x its side in each direction, edges replicated: DrQ's
    pad-and-random-crop (Kostrikov et al. 2021: 4 px at 84x84); 4 px at 128x128 by default, which
    is also the frame cache's border (``frame_cache.PAD_FRACTION``), so the shift happens in the
    gather itself. One shift per sample and camera, shared by its ``n_obs_steps`` frames. Jitter
    scales brightness by b and contrast by c, each uniform in [1 - x, 1 + x] (torchvision's
    ColorJitter, fused into one affine map per frame). Parameters come from a ``torch.Generator``
    (``params``); the pixel work (``jitter``) is numpy on the calling thread: torch's intra-op
    thread pool stalled ~8 ms per op here when the 2 cores were busy.
    """

    shift: float = 4 / 128
    brightness: float = 0.2
    contrast: float = 0.2

    def max_shift(self, size: int) -> int:
        return round(self.shift * size)

    def params(self, batch_size: int, size: int, generator: torch.Generator) -> AugmentParams:
        pad = self.max_shift(size)
        dy, dx = (torch.randint(-pad, pad + 1, (batch_size,), generator=generator).numpy() for _ in range(2))
        bright, contrast = (
            1 + x * (2 * torch.rand(batch_size, generator=generator, dtype=torch.float64).numpy() - 1)
            for x in (self.brightness, self.contrast)
        )
        return AugmentParams(dy, dx, bright, contrast)

    @staticmethod
    def jitter(frames: np.ndarray, p: AugmentParams) -> torch.Tensor:
        """uint8 (B, T, 3, H, W) -> float32 [0, 1] (B, T, 3, H, W), brightness and contrast applied."""
        weights = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma, as torchvision
        mean = frames[..., ::8, ::8].mean(axis=(3, 4), dtype=np.float32) @ weights  # (B, T), subsampled
        gain = (p.brightness * p.contrast / 255).astype(np.float32)[:, None, None, None, None]
        offset = p.brightness[:, None] * (1 - p.contrast[:, None]) * mean / 255
        out = frames.astype(np.float32)
        out *= gain
        out += offset.astype(np.float32)[..., None, None, None]
        np.clip(out, 0.0, 1.0, out=out)
        return torch.from_numpy(out)


def to_float(frames: np.ndarray) -> torch.Tensor:
    """uint8 -> float32 in [0, 1], same shape (validation: no augmentation)."""
    out = frames.astype(np.float32)
    out *= np.float32(1 / 255)
    return torch.from_numpy(out)


class Draw(NamedTuple):
    """The integer choices behind one batch (``PolicyDataset.draw``); indices are global frames."""

    segment: np.ndarray  # (B,) into ``PolicyDataset.segments``
    phrasing: np.ndarray  # (B,) into ``PolicyDataset.phrasings``
    t: np.ndarray  # (B,) the current frame
    obs_index: np.ndarray  # (B, T) frames t - T + 1 .. t, clamped at the episode start
    action_index: np.ndarray  # (B, K) frames t .. t + K - 1, clamped at the segment's last frame
    action_is_pad: np.ndarray  # (B, K) bool, True past the segment's end
    augment_seed: int


# An action is still when it moves the arm less than this (normalised units, of 1) and leaves
# the gripper command where the previous frame put it: the scripted play pauses, hesitates and
# holds (17% of an hour's frames, a quarter of object tasks' segment frames).
STILL_ACTION = 0.01


def still_frames(action: np.ndarray, episode_first: np.ndarray) -> np.ndarray:
    """(N,) bool: frames whose action (N, 5) commands nothing new: no translation or rotation
    above ``STILL_ACTION`` and the gripper command unchanged from the frame before (an episode's
    first frame, ``episode_first``, is compared with itself).

    Why skip them as observation times: from the same state play sometimes waits and sometimes
    moves on, and nothing in one frame says which, so a policy cloned on both predicts a blend
    near zero, and waiting is its own fixed point (measured: the privileged policy holding an
    object in the air for 150 steps on "put it down"). Still frames inside an action chunk are
    kept: the wait after closing the gripper is learned as part of the chunk that closes it."""
    action = np.asarray(action)
    previous = np.roll(action[:, 4], 1)
    previous[episode_first] = action[episode_first, 4]
    return (np.abs(action[:, :4]).max(1) < STILL_ACTION) & (np.abs(action[:, 4] - previous) < STILL_ACTION)


def scene_seen_at(index: np.ndarray, episode_first: np.ndarray) -> np.ndarray:
    """Rows of the recorded scene state showing the scene as the observation of frame ``index``
    saw it (any shape of global frame indices; ``episode_first``: (N,) bool).

    The recorder stores a frame's observation from before its action and its scene state from
    after it (``recording/worker.py``: what the captioner judges is the state the action led
    to), so the state a policy saw when it chose action t is row t - 1; an episode's frame 0,
    whose earlier state was not recorded, keeps its own row. Reading row t instead hands the
    policy the outcome of the action it is asked for: trained that way, the privileged policy
    learnt "held and already rising: rise" and, at evaluation (where the scene state comes
    before the action), crept up at 1% of the lift speed (measured)."""
    index = np.asarray(index)
    return np.where(episode_first[index], index, index - 1)


def train_labels(root: Path, tasks=None, sources=None) -> pd.DataFrame:
    """The annotation rows a policy trains on: the ``train`` split, of ``sources`` (None: every
    source the table has) and of ``tasks`` (None: all). The one place that chooses them, for
    every dataset class. An unknown source, or a choice that leaves no label, is refused with
    what the dataset has per source."""
    table = annotations.load(root)
    if table.empty:
        raise DataPipelineError(f"{root} has no annotations; run `robolang caption {root}` first")
    if sources is not None:
        unknown = [s for s in sources if s not in annotations.SOURCES]
        if unknown or not sources:
            raise DataPipelineError(
                f"data.label_sources={list(sources)}: {', '.join(map(repr, unknown)) or 'none given'} "
                f"{'is' if len(unknown) == 1 else 'are'} not a label source ({', '.join(annotations.SOURCES)}); "
                f"{root} has {labels_per_source(table)}"
            )
        chosen = table[table["source"].isin(list(sources))]
        if (chosen["split"] == "train").sum() == 0:
            raise DataPipelineError(
                f"data.label_sources={list(sources)} leaves no train label in {root}: it has {labels_per_source(table)}"
            )
        table = chosen
    if tasks is not None:
        table = table[table["task_id"].isin(list(tasks))]
        if table.empty:
            raise DataPipelineError(f"{root} has no labelled segments of the tasks {list(tasks)}")
    train = table[table["split"] == "train"]
    if train.empty:
        raise DataPipelineError(f"{root} has annotations but none in the train split; run `robolang caption {root}`")
    return train.reset_index(drop=True)


def labels_per_source(table: pd.DataFrame) -> str:
    """What a label table holds per source, e.g. "human: 3 train labels of 3; oracle: 702 train labels of 1,404"."""
    parts = [
        f"{source}: {int((group['split'] == 'train').sum()):,} train labels of {len(group):,}"
        for source, group in table.groupby("source")
    ]
    return "; ".join(parts) or "no labels"


def load_segments(
    root: Path, episode_length: dict[int, int], tasks=None, sources=None, labels: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Distinct segments carrying a chosen ``train`` label (``labels``, or ``train_labels(root,
    tasks, sources)``), checked against the dataset's episodes."""
    train = train_labels(root, tasks, sources) if labels is None else labels
    segments = train.drop_duplicates(SEGMENT_KEY)[SEGMENT_KEY].reset_index(drop=True)
    lengths = segments["episode_index"].map(episode_length)
    if lengths.isna().any() or (segments["end_frame"] > lengths).any():
        raise DataPipelineError(
            f"{root}: annotations name frames the dataset does not have (recorded again since captioning?); "
            f"run `robolang caption {root}` again"
        )
    return segments


def split_segments(
    segments: pd.DataFrame, episode_length: dict[int, int], val_fraction: float, seed: int, block_frames: int
) -> np.ndarray:
    """Per segment "train", "val" or "" (dropped). Episodes are cut into ``block_frames``
    blocks; the ``val_fraction`` of blocks with the lowest stable hash (at least one when the
    fraction is positive) are validation. A segment inside validation blocks only is val, one
    touching none is train, one straddling both is dropped: no frame is in both."""
    episodes = sorted(episode_length)
    n_blocks = [math.ceil(episode_length[e] / block_frames) for e in episodes]
    first_block = dict(zip(episodes, np.cumsum([0, *n_blocks[:-1]]).tolist(), strict=True))
    total = sum(n_blocks)
    scores = [_stable(seed, e, k) for e, n in zip(episodes, n_blocks, strict=True) for k in range(n)]
    n_val = 0 if val_fraction <= 0 else max(1, round(val_fraction * total))
    is_val = np.zeros(total, bool)
    is_val[np.argsort(scores, kind="stable")[:n_val]] = True
    cum = np.concatenate([[0], np.cumsum(is_val)])
    base = segments["episode_index"].map(first_block).to_numpy()
    lo = base + segments["start_frame"].to_numpy() // block_frames
    hi = base + (segments["end_frame"].to_numpy() - 1) // block_frames + 1
    val_blocks = cum[hi] - cum[lo]
    return np.where(val_blocks == 0, "train", np.where(val_blocks == hi - lo, "val", ""))


def _stable(*parts) -> float:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little") / 2**64


@lru_cache(maxsize=4096)
def grammar_pool(task_id: str, args: str, scene_json: str, size: int) -> tuple[str, ...]:
    """Up to ``size`` distinct train phrasings of (task, args), uniform over the grammar's (all
    of them when it has no more), without positional descriptions. Empty if it cannot phrase it."""
    scene = json.loads(scene_json)
    arg_tuple = tuple(args.split(",")) if args else ()
    try:
        n = grammar.count_phrasings(task_id, arg_tuple, scene, pairs=())["train"]
        if n <= size:
            phrasings = grammar.enumerate_phrasings(task_id, arg_tuple, scene, pairs=())
            return tuple(p.text for p in phrasings if p.split == "train")
        texts: dict[str, None] = {}
        for i in range(8 * size):  # duplicates are rare with n > size; bounded anyway
            texts[grammar.choose(task_id, arg_tuple, scene, "train", f"pool-{i}", pairs=()).text] = None
            if len(texts) == size:
                break
        return tuple(texts)
    except ValueError:  # unknown task or objects the scene lacks: not the grammar's
        return ()


def positional_pool(task_id: str, args: str, scene: dict, positions: dict, seeds) -> tuple[str, ...]:
    """Distinct train phrasings of (task, args), one per seed, drawn as the evaluation draws them
    given the objects' ``positions`` (so some name an object by where it is); empty if the
    grammar cannot phrase it."""
    arg_tuple = tuple(args.split(",")) if args else ()
    texts: dict[str, None] = {}
    try:
        for seed in seeds:
            p = grammar.choose(task_id, arg_tuple, scene, "train", seed, positions=positions, pairs=())
            if p is not None:
                texts[p.text] = None
    except ValueError:  # unknown task or objects the scene lacks: not the grammar's
        return ()
    return tuple(texts)


class PolicyDataset:
    """Batches for ``policy.compute_loss`` from a captioned dataset (see the module notes).

    ``subset`` is "train" or "val" (held-out time blocks, no augmentation). ``stats`` defaults
    to the statistics of the whole dataset's states (pass the train set's ``stats`` to val).
    """

    def __init__(
        self,
        root: str | Path,
        instructions: InstructionCache,
        n_obs_steps: int = 1,
        chunk_size: int = 10,
        subset: str = "train",
        val_fraction: float = 0.1,
        seed: int = 0,
        augment: Augment | None = Augment(),
        cache_dir: str | Path | None = None,
        max_lang_tokens: int = 32,
        phrasings_per_task: int = 32,
        task_balance: float = 0.5,
        tasks: tuple[str, ...] | None = None,  # train on these task ids only (None: all)
        label_sources: tuple[str, ...] | None = None,  # labels of these sources only (None: all); train_labels
        val_block_frames: int = 600,  # 1 min at 10 Hz: long against segments (median 3.5 s)
        stats: NormStats | None = None,
        target_offsets: bool = False,  # also serve batch.TARGET / TARGET_VALID
        skip_still: bool = False,  # observation times only where the arm is commanded to do something
        positional_phrasings: int = 0,  # > 0: that many phrasings per segment, positions from its start (see _encode_pools)
        threads: int = 2,  # one per camera; numpy's copies and casts release the GIL
        prefault: bool = True,
        progress: bool = True,
    ):
        if subset not in ("train", "val"):
            raise ValueError(f"subset must be 'train' or 'val', got {subset!r}")
        if n_obs_steps < 1 or chunk_size < 1:
            raise ValueError(f"n_obs_steps and chunk_size must be >= 1, got {n_obs_steps}, {chunk_size}")
        self.root = Path(root)
        if not (self.root / "meta" / "info.json").exists():
            raise DatasetMissingError(f"no dataset at {self.root}; record one with `robolang collect out={self.root}`")
        self.n_obs_steps, self.chunk_size, self.max_lang_tokens = n_obs_steps, chunk_size, max_lang_tokens
        self.augment = augment if subset == "train" else None
        self.labels = train_labels(self.root, tasks, label_sources)  # refused in a second, before any decoding
        self.frames = FrameCache.open(self.root, cache_dir, progress)
        if prefault:
            self.frames.prefault()
        self._image_size = self.frames.images[CAMERA_NAMES[0]].shape[-2]
        if self.augment is not None and self.augment.max_shift(self._image_size) > self.frames.pad:
            raise ValueError(
                f"augment.shift={self.augment.shift} moves images by more than the frame cache's border "
                f"({self.frames.pad} px at {self._image_size} px)"
            )
        retain_batch_memory()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="policy-data") if threads > 1 else None
        self.stats = stats or NormStats.from_states(self.frames.state)
        segments = load_segments(self.root, self.frames.episode_length, labels=self.labels)
        split = split_segments(segments, self.frames.episode_length, val_fraction, seed, val_block_frames)
        self.segments = segments[split == subset].reset_index(drop=True)
        if self.segments.empty:
            raise DataPipelineError(f"{self.root}: no {subset} segments (val_fraction={val_fraction})")
        self._index_segments(task_balance, skip_still)
        self._encode_pools(instructions, phrasings_per_task, positional_phrasings)
        self._scene = self._target_columns = None
        if target_offsets:
            self._index_targets()

    def _index_segments(self, task_balance: float, skip_still: bool = False) -> None:
        s = self.segments
        episode_start = s["episode_index"].map(self.frames.episode_start).to_numpy(np.int64)
        self._episode_start = episode_start  # (S,) global index of each segment's episode's frame 0
        self._start = episode_start + s["start_frame"].to_numpy(np.int64)  # (S,)
        self._end = episode_start + s["end_frame"].to_numpy(np.int64)  # (S,) exclusive
        per_task = s.groupby("task_id")["task_id"].transform("size").to_numpy(np.float64)
        weights = per_task**task_balance / per_task
        self._cdf = np.cumsum(weights / weights.sum())
        self._episode_first = np.zeros(len(self.frames.action), bool)  # (N,) each episode's frame 0
        self._episode_first[list(self.frames.episode_start.values())] = True
        self._moving = None
        if skip_still:  # the frames that move, and how many of them each segment holds
            moving = ~still_frames(self.frames.action, self._episode_first)
            before = np.concatenate([[0], np.cumsum(moving)])  # (N + 1,) moving frames before each index
            self._moving = (np.flatnonzero(moving), before[self._start], before[self._end] - before[self._start])

    def _encode_pools(self, instructions: InstructionCache, size: int, positional: int = 0) -> None:
        """One instruction pool per (task, args), or per segment for labels without a task id:
        a typed label says what its own segment did, nothing about another's.

        The shared pools name objects by what they are ("the red cube"), never by where they are.
        With ``positional`` > 0 (``data.positional_phrasings``) each task segment of a dataset that
        recorded its scene state gets a pool of its own instead: up to that many train phrasings
        drawn as the evaluation draws them, from the objects' positions at the segment's start, so
        references by position ("the cube furthest to the left", "the one nearest the plate")
        are trained with the scene they describe."""
        scene_path = self.root / "meta" / SCENE_FILE
        scene_json = scene_path.read_text() if scene_path.exists() else None
        labels = self.labels
        untasked = labels["task_id"] == ""
        own = {
            ("task", *key): texts
            for key, texts in labels[~untasked].groupby(["task_id", "args"])["instruction"].unique().items()
        }
        own |= {
            ("segment", *key): texts
            for key, texts in labels[untasked].groupby(SEGMENT_KEY)["instruction"].unique().items()
        }
        seg_keys = [
            ("segment", *key) if key[3] == "" else ("task", key[3], key[4])
            for key in self.segments[SEGMENT_KEY].itertuples(index=False, name=None)
        ]
        pools = {}
        for key in dict.fromkeys(seg_keys):
            pool = grammar_pool(*key[1:], scene_json, size) if key[0] == "task" and scene_json else ()
            pools[key] = pool or tuple(sorted(own[key]))[:size]
        per_segment = [pools[k] for k in seg_keys]
        positions = self._start_positions() if positional and scene_json else None
        if positions is not None:
            scene = json.loads(scene_json)
            for i, (key, where) in enumerate(zip(seg_keys, positions, strict=True)):
                if key[0] == "task":
                    seeds = (f"segment-{self._start[i]}-{k}" for k in range(positional))
                    own_pool = positional_pool(key[1], key[2], scene, where, seeds)
                    per_segment[i] = own_pool or per_segment[i]
        # each distinct text encoded once; a pool is one run of ``_pool_entries``, which every
        # segment holding that same pool (a shared one) points at
        index: dict[str, int] = {}
        entries: list[int] = []
        runs: dict[int, tuple[int, int]] = {}  # id(pool) -> (offset, count)
        for pool in per_segment:
            if id(pool) not in runs:
                runs[id(pool)] = (len(entries), len(pool))
                entries += [index.setdefault(text, len(index)) for text in pool]
        offsets, counts = zip(*(runs[id(pool)] for pool in per_segment), strict=True)
        texts = list(index)
        self.phrasings: list[str] = texts
        self._pool_entries = np.array(entries, np.int64)  # (E,) into ``phrasings``
        self._pool_offset = np.array(offsets, np.int64)  # (S,)
        self._pool_count = np.array(counts, np.int64)  # (S,)
        # padded to the longest phrasing only, in float16 (widened per batch): ~10^5 per-segment
        # phrasings would be ~5 GB padded to 32 tokens at float32
        encoded = instructions.encode(texts, dtype=torch.float16)
        width = min(encoded.tokens.shape[1], self.max_lang_tokens)
        # numpy, not torch: sampling must not wait on torch's intra-op threads, which cost ~8 ms
        # per op when the 2 cores are busy (measured); numpy gathers run on the calling thread.
        self._tokens = encoded.tokens[:, :width].numpy()  # (P, l, D) float16
        self._is_pad = encoded.is_pad[:, :width].numpy().copy()  # (P, l)
        self._pooled = encoded.pooled.numpy().copy()  # (P, D)

    def _start_positions(self) -> list[dict[str, tuple[float, float, float]]] | None:
        """Each segment's objects' positions at its first frame (None: no scene state recorded)."""
        info = json.loads((self.root / "meta" / "info.json").read_text())
        fields = tuple(info["features"].get("scene_state", {}).get("names") or ())
        if "ee.x" not in fields:
            return None
        scene = self._scene_rows(info)[self._start]  # (S, D)
        states = EpisodeStates(scene, fields)
        where = {o: states.pos(o) for o in states.objects}
        return [{o: tuple(map(float, p[i])) for o, p in where.items()} for i in range(len(scene))]

    def _scene_rows(self, info: dict) -> np.ndarray:
        """(N, D) the recorded scene state of every frame."""
        return read_columns(self.root, info, {"scene_state": "scene"})["scene"]

    def _index_targets(self) -> None:
        """The scene-state columns of each segment's first object (-1: none) and of the EE."""
        info = json.loads((self.root / "meta" / "info.json").read_text())
        names = {n: i for i, n in enumerate(info["features"].get("scene_state", {}).get("names") or [])}
        if "ee.x" not in names:
            raise DataPipelineError(
                f"{self.root} has no recorded gripper and object positions (scene_state; real-robot data?) to "
                "supervise the target head with; choose policy/aux=none"
            )
        self._scene = read_columns(self.root, info, {"scene_state": "scene"})["scene"]  # (N, F)
        self._ee_column = names["ee.x"]  # ee.x, ee.y, ee.z follow
        first = [a.split(",")[0] if a else "" for a in self.segments["args"]]
        self._target_columns = np.array([names.get(f"{o}.x", -1) for o in first], np.int64)  # (S,)

    @property
    def num_frames(self) -> int:
        """Frames covered by this subset's segments (counted with overlaps)."""
        return int((self._end - self._start).sum())

    def draw(self, batch_size: int, rng: np.random.Generator) -> Draw:
        """The batch's integer choices, all from ``rng`` in a fixed order."""
        seg = np.minimum(np.searchsorted(self._cdf, rng.random(batch_size), side="right"), len(self._cdf) - 1)
        entry = self._pool_offset[seg] + (rng.random(batch_size) * self._pool_count[seg]).astype(np.int64)
        phrasing = self._pool_entries[entry]
        start, end = self._start[seg], self._end[seg]
        u = rng.random(batch_size)
        t = start + (u * (end - start)).astype(np.int64)  # (B,)
        if self._moving is not None:  # the same draw, as a rank among the segment's moving frames
            index, before, count = self._moving
            rank = np.minimum(before[seg] + (u * count[seg]).astype(np.int64), len(index) - 1)
            t = np.where(count[seg] > 0, index[rank], t)  # a segment that never moves: any frame
        obs = np.maximum(t[:, None] - np.arange(self.n_obs_steps - 1, -1, -1), self._episode_start[seg][:, None])
        ahead = t[:, None] + np.arange(self.chunk_size)  # (B, K)
        pad = ahead >= end[:, None]
        action = np.minimum(ahead, end[:, None] - 1)
        return Draw(seg, phrasing, t, obs, action, pad, int(rng.integers(2**63)))

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """A batch in the contract of ``policy/batch.py``, fully determined by ``rng``."""
        return self.collate(self.draw(batch_size, rng))

    def collate(self, d: Draw) -> dict[str, torch.Tensor]:
        """The batch of a draw (a pure function of it: threads cannot change the result)."""
        b = len(d.t)
        params = [None] * len(CAMERA_NAMES)
        if self.augment is not None:  # every random number drawn here, in camera order
            generator = torch.Generator().manual_seed(d.augment_seed)
            params = [self.augment.params(b, self._image_size, generator) for _ in CAMERA_NAMES]
        jobs = [(c, d.obs_index, p) for c, p in zip(CAMERA_NAMES, params, strict=True)]
        images = (self._pool.map if self._pool else map)(self._images, *zip(*jobs, strict=True))
        out = dict(zip(B.IMAGE_KEYS, images, strict=True))  # each (B, T, 3, H, W)
        # raw proprioception: the policy normalises it (its buffers hold ``self.stats``)
        out[B.STATE] = torch.from_numpy(
            self.frames.state[d.obs_index].astype(np.float32, copy=False)
        )  # (B, T, STATE_DIM)
        out |= self.language_and_actions(d)
        if self._target_columns is not None:
            column = self._target_columns[d.segment]  # (B,)
            xyz = np.arange(3)
            seen = scene_seen_at(d.t, self._episode_first)[:, None]  # (B, 1): the scene the images show
            target = self._scene[seen, np.maximum(column, 0)[:, None] + xyz]  # (B, 3)
            offset = (target - self._scene[seen, self._ee_column + xyz]) / B.TARGET_SCALE_M
            valid = column >= 0
            out[B.TARGET] = torch.from_numpy(np.where(valid[:, None], offset, 0).astype(np.float32))
            out[B.TARGET_VALID] = torch.from_numpy(valid)
        return out

    def language_and_actions(self, d: Draw) -> dict[str, torch.Tensor]:
        """The instruction's tokens and the action chunk of a draw (every policy's batch has them)."""
        b = len(d.t)
        n_tok, dim = self._tokens.shape[1:]
        tokens = np.zeros((b, self.max_lang_tokens, dim), np.float32)  # (B, L, D)
        is_pad = np.ones((b, self.max_lang_tokens), bool)  # (B, L)
        tokens[:, :n_tok], is_pad[:, :n_tok] = self._tokens[d.phrasing], self._is_pad[d.phrasing]
        return {
            B.LANG_TOKENS: torch.from_numpy(tokens),
            B.LANG_PAD: torch.from_numpy(is_pad),
            B.LANG_POOLED: torch.from_numpy(self._pooled[d.phrasing]),  # (B, D)
            B.ACTION: torch.from_numpy(self.frames.action[d.action_index]),  # (B, K, ACTION_DIM)
            B.ACTION_PAD: torch.from_numpy(d.action_is_pad),  # (B, K)
        }

    def _images(self, camera: str, obs_index: np.ndarray, params: AugmentParams | None) -> torch.Tensor:
        b, t = obs_index.shape
        if params is None:
            frames = self.frames.gather(camera, obs_index.reshape(-1))  # (B*T, 3, H, W) uint8
            return to_float(frames.reshape(b, t, *frames.shape[1:]))
        dy, dx = np.repeat(params.dy, t), np.repeat(params.dx, t)  # one shift per sample
        frames = self.frames.gather(camera, obs_index.reshape(-1), dy, dx)
        return Augment.jitter(frames.reshape(b, t, *frames.shape[1:]), params)

    def instructions_of(self, d: Draw) -> list[str]:
        """The instruction text of each sample of a draw (for inspection and tests)."""
        return [self.phrasings[i] for i in d.phrasing]
