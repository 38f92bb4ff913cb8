"""Training samples/s of the data pipeline beside LeRobotDataset's own loading.

Target (DESIGN.md): at least 5,000 samples/s on 2 cores (batch 64, chunk 10, augmentation on,
frame cache warm). The reference, measured in the same run on the same dataset, is
``LeRobotDataset.__getitem__`` at random indices, which decodes video per sample (63 samples/s
measured here before). Both rates are given per wall-clock second and per CPU second of this
process: the machine's 2 cores are shared, and CPU seconds are what another process's load
cannot inflate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from robolang.bench import checks
from robolang.bench.report import Load, heading, table, verdict
from robolang.config import ConfigError, checked

TARGET_SAMPLES_PER_S = 5000
DESIGN_REFERENCE = 63  # LeRobotDataset random __getitem__ with video decode (DESIGN.md)
BACKENDS = ("pyav", "torchcodec", "video_reader")  # LeRobot's video backends


@dataclass
class Rate:
    """A measured loading rate."""

    name: str
    samples: int
    wall_s: float
    cpu_s: float

    @property
    def per_s(self) -> float:
        return self.samples / self.wall_s

    @property
    def per_cpu_s(self) -> float:
        return self.samples / max(self.cpu_s, 1e-9)


@dataclass
class DataFigures:
    """Everything the section reports: the rates and how the frame cache and dataset were built."""

    root: Path
    cache: object  # the FrameCache: frames, cameras, build time, arrays
    reuse_s: float  # reopening the cache when the dataset is unchanged
    construct_s: float  # the first PolicyDataset construction
    ours: list[Rate]
    references: list[Rate]
    backend: str  # LeRobot's default video backend here

    @property
    def rates(self) -> list[Rate]:
        return self.ours + self.references


def _timed(name: str, step, samples_per_step: int, seconds: float) -> Rate:
    """Run ``step`` repeatedly for about ``seconds``."""
    wall, cpu, n = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - wall < seconds:
        step()
        n += 1
    return Rate(name, n * samples_per_step, time.perf_counter() - wall, time.process_time() - cpu)


def pipeline_rates(cfg: DictConfig, root: Path, instructions) -> tuple[list[Rate], float]:
    """Our sampler per ``n_obs_steps``; also the construction time of the first dataset."""
    import numpy as np

    from robolang.policy.data import PolicyDataset

    rates, construct_s = [], 0.0
    for n_obs in cfg.n_obs_steps:
        t0 = time.perf_counter()
        ds = PolicyDataset(
            root, instructions, n_obs_steps=n_obs, chunk_size=cfg.chunk_size, cache_dir=cfg.cache_dir, threads=cfg.threads
        )  # fmt: skip
        construct_s = construct_s or time.perf_counter() - t0
        rng = np.random.default_rng(0)
        for _ in range(5):  # warm-up: thread pool, allocator
            ds.sample(cfg.batch_size, rng)
        name = f"robolang PolicyDataset, n_obs_steps {n_obs}, {cfg.threads} thread(s)"
        rates.append(_timed(name, lambda ds=ds, rng=rng: ds.sample(cfg.batch_size, rng), cfg.batch_size, cfg.seconds))
    return rates, construct_s


def reference_rates(cfg: DictConfig, root: Path) -> tuple[list[Rate], str]:
    """LeRobotDataset at random indices: as DESIGN.md measured it, and with our action chunk."""
    import numpy as np
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    rates, default_backend = [], None
    chunk = {"action": [k / 10 for k in range(cfg.chunk_size)]}  # 10 Hz
    variants = [("plain", None, None), (f"+ {cfg.chunk_size}-step action chunk", chunk, None)]
    variants += [(f"+ {cfg.chunk_size}-step action chunk", chunk, b) for b in cfg.reference_backends]
    for label, delta, backend in variants:
        ds = LeRobotDataset("robolang/play", root=root, delta_timestamps=delta, video_backend=backend)
        default_backend = default_backend or ds.video_backend
        if backend == default_backend:
            continue  # the default already measured
        rng = np.random.default_rng(0)
        ds[int(rng.integers(len(ds)))]  # warm-up: opens the decoders
        idx = iter(rng.integers(0, len(ds), 10**6))
        name = f"LeRobotDataset `__getitem__` ({ds.video_backend}), random index, {label}"
        rates.append(_timed(name, lambda ds=ds, idx=idx: ds[int(next(idx))], 1, cfg.reference_seconds))
    return rates, default_backend


def check(cfg: DictConfig) -> None:
    from robolang.captioning import annotations

    root = checked(cfg, "dataset", str)
    hint = f"record and caption one: `robolang collect hours=1 workers=2 out={root}`, `robolang caption {root}`"
    if annotations.load(checks.dataset(cfg, hint=hint)).empty:
        raise ConfigError(f"dataset={root} has no annotations; run `robolang caption {root}` first")
    for key in ("batch_size", "chunk_size", "threads"):
        checked(cfg, key, int, low=1)
    checks.whole_list(cfg, "n_obs_steps")
    checked(cfg, "seconds", float, low=0.1)
    checked(cfg, "reference_seconds", float, low=0.1)
    checked(cfg, "rebuild_cache", bool)
    checked(cfg, "cache_dir", str, optional=True)
    if cfg.reference_backends:
        checks.listed(cfg, "reference_backends", BACKENDS)


def run(cfg: DictConfig) -> DataFigures:
    """Build (or reuse) the frame cache, then time our sampler and LeRobotDataset's loading."""
    from robolang.policy.frame_cache import FrameCache
    from robolang.policy.language import InstructionCache, SentenceEncoder

    root = Path(cfg.dataset)
    cache = FrameCache.open(root, cfg.cache_dir, progress=True, rebuild=cfg.rebuild_cache)
    t0 = time.perf_counter()
    FrameCache.open(root, cfg.cache_dir, progress=False)
    reuse_s = time.perf_counter() - t0
    ours, construct_s = pipeline_rates(cfg, root, InstructionCache(SentenceEncoder()))
    refs, backend = reference_rates(cfg, root)
    return DataFigures(root, cache, reuse_s, construct_s, ours, refs, backend)


def _cache_line(f: DataFigures) -> str:
    cache, frames = f.cache, len(f.cache)
    size_gb = sum(a.nbytes for a in cache.padded.values()) / 1e9
    built = (
        f"Frame cache: built (decoding both cameras' videos once) in {cache.build_s:.1f} s "
        f"({frames * len(cache.images) / cache.build_s:,.0f} frames/s)"
        if cache.build_s
        else "Frame cache: reused (not rebuilt in this run)"
    )
    return (
        built + f", {size_gb:.2f} GB on disk; reopened in {f.reuse_s * 1e3:.0f} ms when the dataset is unchanged. "
        "First dataset construction (segments, phrasing pools encoded by the sentence encoder, page prefault): "
        f"{f.construct_s:.1f} s."
    )


def section(cfg: DictConfig, f: DataFigures, load: Load) -> str:
    best, cpu_best = min(r.per_s for r in f.ours), min(r.per_cpu_s for r in f.ours)
    ref = f.references[0].per_s
    rows = [[r.name, f"{r.per_s:,.0f}", f"{r.per_cpu_s:,.0f}", f"{r.per_s / ref:,.0f}x"] for r in f.rates]
    return "\n".join(
        [
            *heading("Data pipeline (`robolang bench data`)", load),
            f"Dataset `{f.root}`: {len(f.cache)} frames, {len(f.cache.images)} cameras at "
            f"{f.cache.images['static'].shape[-1]} px; batch {cfg.batch_size}, chunk {cfg.chunk_size}, augmentation "
            "on (shift 4 px, brightness/contrast 0.2), instruction tokens gathered from pre-encoded pools.",
            "",
            *table(["loader", "samples/s", "samples per CPU-second", "vs LeRobot"], rows, align="lrrr"),
            "",
            _cache_line(f),
            "",
            f"Target >= {TARGET_SAMPLES_PER_S:,} samples/s on 2 cores: {verdict(best, '>=', TARGET_SAMPLES_PER_S)} "
            f"wall-clock in this run (slowest configuration {best:,.0f}/s); per CPU-second of this process, which "
            f"other processes' load does not inflate, the slowest configuration gives {cpu_best:,.0f}/s. "
            f"Reference: LeRobotDataset with its default `{f.backend}` video backend, same dataset, same run "
            f"({ref:,.0f}/s; DESIGN.md's figure: {DESIGN_REFERENCE}/s).",
        ]
    )


def summary(f: DataFigures) -> list[str]:
    return [f"{r.name}: {r.per_s:,.0f} samples/s ({r.per_cpu_s:,.0f} per CPU-second)" for r in f.rates]
