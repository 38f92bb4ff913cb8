"""``robolang collect``: scripted play collection on N local processes or a Ray cluster.

Each worker records into its own crash-safe dataset; at the end they are merged into ``out``
(itself crash-safe: a new snapshot swapped in atomically). With one worker it records
straight into ``out``. Ctrl-C saves the episodes in progress and merges what was recorded.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from robolang.features import CONTROL_FPS
from robolang.parallel import run_jobs
from robolang.recording.store import DatasetStoreError, check_writable, merge_into, recover
from robolang.recording.worker import WorkerStats, record_episodes


def plan(cfg: DictConfig) -> tuple[int, int, list[int]]:
    """(episode_steps, total episodes, episodes per worker) from hours / episode length / workers."""
    if cfg.workers < 1:
        raise ValueError(f"workers must be >= 1, got {cfg.workers}")
    if cfg.hours <= 0 or cfg.episode_seconds <= 0:
        raise ValueError(f"hours and episode_seconds must be positive, got {cfg.hours} and {cfg.episode_seconds}")
    episode_steps = int(round(cfg.episode_seconds * CONTROL_FPS))
    total = max(1, math.ceil(cfg.hours * 3600 * CONTROL_FPS / episode_steps))
    per_worker = [total // cfg.workers + (1 if i < total % cfg.workers else 0) for i in range(cfg.workers)]
    return episode_steps, total, [n for n in per_worker if n > 0]


def run(cfg: DictConfig) -> WorkerStats:
    """Collect play as configured (``configs/collect.yaml``) and print a summary."""
    out = Path(cfg.out).absolute()
    episode_steps, total, per_worker = plan(cfg)
    check_writable(out.parent)
    existing = _existing_episodes(out)
    if existing and not cfg.resume:
        raise DatasetStoreError(
            f"{out} already holds {existing} episodes; add resume=true to append, or choose another out="
        )
    _merge_leftovers(cfg, out)
    plain = OmegaConf.to_container(cfg, resolve=True)
    bar = tqdm(total=total * episode_steps, unit="frame", desc="collect", smoothing=0.05)
    started = time.perf_counter()
    try:
        if len(per_worker) == 1 and not cfg.ray_address:
            stats = record_episodes(
                plain, str(out), 0, per_worker[0], episode_steps, existing, cfg.resume, _progress(bar, started)
            )
        else:
            stats = _run_parallel(cfg, plain, out, per_worker, episode_steps, existing, bar, started)
    finally:
        bar.close()
    print(summary(stats, time.perf_counter() - started, out))
    return stats


def _existing_episodes(out: Path) -> int:
    import json

    current = recover(out)
    if current is None:
        return 0
    return int(json.loads((current / "meta" / "info.json").read_text())["total_episodes"])


def _workers_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.workers"


def _merge_leftovers(cfg: DictConfig, out: Path) -> None:
    """Worker datasets left by an interrupted parallel run are merged before new work starts."""
    folder = _workers_dir(out)
    if not folder.is_dir():
        return
    done = [p for p in sorted(folder.glob("w*")) if not p.name.endswith(".versions") and recover(p) is not None]
    if done and cfg.resume:
        print(f"merging {len(done)} worker datasets left by an interrupted run into {out}")
        merge_into(out, cfg.repo_id, done)
    elif done:
        raise DatasetStoreError(f"{folder} holds worker datasets of an interrupted run; add resume=true to merge them")
    shutil.rmtree(folder, ignore_errors=True)


def _progress(bar: tqdm, started: float):
    def update(frames: int) -> None:
        bar.update(frames)
        sim_hours = bar.n / CONTROL_FPS / 3600
        bar.set_postfix(sim_h=f"{sim_hours:.3f}", fps=f"{bar.n / max(time.perf_counter() - started, 1e-9):.0f}")

    return update


def _run_parallel(cfg, plain, out: Path, per_worker, episode_steps, existing, bar, started) -> WorkerStats:
    folder = _workers_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    outs = [str(folder / f"w{i}") for i in range(len(per_worker))]
    jobs = [(plain, outs[i], i, n, episode_steps, existing) for i, n in enumerate(per_worker)]
    stats = WorkerStats()
    try:
        for s in run_jobs(_process_job, jobs, _progress(bar, started), cfg.ray_address):
            stats.merge(s)
    finally:
        recorded = [Path(o) for o in outs if recover(Path(o)) is not None]
        if recorded:
            bar.set_description("merging")
            merge_into(out, cfg.repo_id, recorded)
        shutil.rmtree(folder, ignore_errors=True)
    return stats


def _process_job(plain, out, worker, episodes, episode_steps, existing, report) -> WorkerStats:
    return record_episodes(plain, out, worker, episodes, episode_steps, existing, False, report)


def summary(stats: WorkerStats, seconds: float, out: Path) -> str:
    hours = stats.frames / CONTROL_FPS / 3600
    lines = [
        f"dataset: {out}",
        f"recorded {stats.episodes} episodes, {stats.frames} frames, {hours:.3f} simulated hours "
        f"in {seconds:.0f} s ({stats.frames / max(seconds, 1e-9):.0f} frames/s)"
        + (" (interrupted)" if stats.interrupted else ""),
    ]
    if stats.attempted:
        lines += ["", f"{'behaviour':<18} {'attempted':>9} {'succeeded':>9} {'rate':>6}"]
        for name in sorted(stats.attempted):
            a, s = stats.attempted[name], stats.succeeded[name]
            lines.append(f"{name:<18} {a:>9} {s:>9} {s / a:>6.0%}")
    if stats.health_issues:
        lines += ["", f"health issues ({len(stats.health_issues)}):", *("  " + m for m in stats.health_issues[:20])]
    return "\n".join(lines)
