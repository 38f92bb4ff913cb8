"""``robolang collect``: scripted play collection on N local processes or a Ray cluster.

One run per output folder: a lock held for the whole run (``acquire_run_lock``) refuses a second
one before it touches anything. Worker 0 records straight into ``out``; the others record into
their own crash-safe datasets beside it (``.<out>.workers/``), merged into ``out`` at the end
(itself crash-safe: a new snapshot swapped in atomically, carrying the run's id so that a merge
is never done twice). Ctrl-C stops every worker at its next frame, saves the episodes in
progress and merges; a second Ctrl-C stops at once (the episodes in progress are discarded).
After a SIGKILL, ``out`` holds worker 0's saved episodes and ``resume=true`` merges the rest.
"""

from __future__ import annotations

import json
import math
import shutil
import time
import uuid
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from robolang.config import ConfigError, checked
from robolang.features import CONTROL_FPS
from robolang.parallel import GracefulStop, run_jobs, stop_requested
from robolang.recording.merge import merge_into
from robolang.recording.store import (
    DatasetStoreError,
    acquire_lock,
    acquire_run_lock,
    check_writable,
    read_info,
    recover,
    release_lock,
)
from robolang.recording.worker import MIN_EPISODE_FRAMES, WorkerStats, record_episodes

MERGED_RUNS_FILE = "robolang_merged_runs.json"  # meta/ sidecar: ids of the parallel runs merged into the dataset
STOP_NOTICE = "\nstopping: saving the episodes in progress (Ctrl-C again to stop at once and discard them)"


def check_config(cfg: DictConfig) -> None:
    """Every collect setting checked before anything is created (key, value, what is allowed)."""
    checked(cfg, "out", str)
    checked(cfg, "repo_id", str)
    for key in ("hours", "episode_seconds"):
        if checked(cfg, key, float) <= 0:
            raise ConfigError(f"{key}={cfg[key]!r} is not allowed: {key} must be a number > 0")
    if cfg.episode_seconds * CONTROL_FPS < MIN_EPISODE_FRAMES:
        raise ConfigError(
            f"episode_seconds={cfg.episode_seconds!r} is not allowed: episodes shorter than "
            f"{MIN_EPISODE_FRAMES / CONTROL_FPS:g} s ({MIN_EPISODE_FRAMES} frames) are not saved"
        )
    checked(cfg, "workers", int, low=1)
    checked(cfg, "ray_address", str, optional=True)
    checked(cfg, "seed", int)
    checked(cfg, "resume", bool)
    checked(cfg, "vcodec", str)
    checked(cfg, "encoder_threads", int, low=1, optional=True)


def plan(cfg: DictConfig) -> tuple[int, int, list[int]]:
    """(episode_steps, total episodes, episodes per worker) from hours / episode length / workers."""
    check_config(cfg)
    episode_steps = int(round(cfg.episode_seconds * CONTROL_FPS))
    total = max(1, math.ceil(cfg.hours * 3600 * CONTROL_FPS / episode_steps))
    per_worker = [total // cfg.workers + (1 if i < total % cfg.workers else 0) for i in range(cfg.workers)]
    return episode_steps, total, [n for n in per_worker if n > 0]


def run(cfg: DictConfig) -> WorkerStats:
    """Collect play as configured (``configs/collect.yaml``) and print a summary."""
    out = Path(cfg.out).absolute()
    episode_steps, total, per_worker = plan(cfg)
    check_out(out)
    check_writable(out.parent)
    with GracefulStop(STOP_NOTICE) as stop:
        lock = acquire_run_lock(out)
        try:
            stats, seconds = _collect_locked(cfg, out, episode_steps, total, per_worker, stop)
        except KeyboardInterrupt:
            print(f"stopped at once: the episodes saved so far are kept; `resume=true out={out}` continues")
            raise
        finally:
            release_lock(lock)
    print(summary(stats, seconds, out))
    if stop.requested:
        print(f"stopped by Ctrl-C; `robolang collect resume=true out={out}` continues")
    return stats


def check_out(out: Path) -> None:
    """Refuse an ``out`` that cannot hold a dataset, before anything is created."""
    if out.is_symlink() and not out.exists():
        return  # a dataset link whose snapshot was lost: recover() falls back to the newest complete one
    if out.exists() and not out.is_dir():
        raise DatasetStoreError(f"out={out} is a file; out must be a new or empty folder, or a dataset (resume=true)")
    if out.is_dir() and not out.is_symlink() and any(out.iterdir()) and not (out / "meta" / "info.json").exists():
        raise DatasetStoreError(
            f"out={out} is a folder that holds no LeRobotDataset (no meta/info.json); "
            "out must be a new or empty folder, or a dataset (resume=true)"
        )


def _collect_locked(cfg, out: Path, episode_steps: int, total: int, per_worker, stop) -> tuple[WorkerStats, float]:
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        out.rmdir()  # an empty folder is simply used: the dataset link takes its place
    existing = _existing_episodes(out)
    if existing and not cfg.resume:
        raise DatasetStoreError(
            f"{out} already holds {existing} episodes; add resume=true to append, or choose another out="
        )
    merge_leftovers(cfg, out)
    existing = _existing_episodes(out)
    plain = OmegaConf.to_container(cfg, resolve=True)
    bar = tqdm(total=total * episode_steps, unit="frame", desc="collect", smoothing=0.05)
    started = time.perf_counter()
    try:
        if len(per_worker) == 1 and not cfg.ray_address:
            stats = record_episodes(
                plain, str(out), 0, per_worker[0], episode_steps, existing, cfg.resume, _progress(bar, started), stop
            )
        else:
            stats = _run_parallel(cfg, plain, out, per_worker, episode_steps, existing, bar, started, stop)
    finally:
        bar.close()
    return stats, time.perf_counter() - started


def _existing_episodes(out: Path) -> int:
    current = recover(out)
    return 0 if current is None else int(read_info(current)["total_episodes"])


def _workers_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.workers"


def merge_leftovers(cfg: DictConfig, out: Path) -> None:
    """Worker datasets left by an interrupted parallel run are merged before new work starts."""
    folder = _workers_dir(out)
    if not folder.is_dir():
        return
    if _worker_datasets(folder) and not cfg.resume:
        raise DatasetStoreError(f"{folder} holds worker datasets of an interrupted run; add resume=true to merge them")
    merged = merge_workers(out, cfg.repo_id, folder)
    if merged:
        print(f"merged {merged} worker datasets left by an interrupted run into {out}")


def _worker_datasets(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.glob("w*")) if not p.name.endswith(".versions") and recover(p) is not None]


def merge_workers(out: Path, repo_id: str, folder: Path) -> int:
    """Merge the worker datasets in ``folder`` into ``out`` once, then delete ``folder``.

    The merged snapshot records the run's id (``MERGED_RUNS_FILE``), so a merge that completed
    just before a kill is not repeated. Returns how many datasets were merged."""
    locks = [acquire_lock(p) for p in sorted(folder.glob("w*")) if not p.name.endswith(".versions")]
    try:
        if None in locks:
            raise DatasetStoreError(
                f"{folder} is still being recorded by a worker of an earlier run; wait for it to end, then resume=true"
            )
        sources = [p for p in sorted(folder.glob("w*")) if not p.name.endswith(".versions")]
        sources = [p for p in sources if recover(p, locked=True) is not None]
        run_id = _run_id(folder)
        done = _merged_runs(out)
        if sources and run_id not in done:
            record = json.dumps([*done, run_id] if run_id else done).encode()
            merge_into(out, repo_id, sources, meta={MERGED_RUNS_FILE: record})
        else:
            sources = []
    finally:
        for fd in locks:
            release_lock(fd)
    shutil.rmtree(folder, ignore_errors=True)
    return len(sources)


def _run_id(folder: Path) -> str | None:
    path = folder / "run.json"
    return json.loads(path.read_text())["run_id"] if path.exists() else None


def _merged_runs(out: Path) -> list[str]:
    current = recover(out)
    path = current / "meta" / MERGED_RUNS_FILE if current is not None else None
    return json.loads(path.read_text()) if path is not None and path.exists() else []


def _progress(bar: tqdm, started: float):
    def update(frames: int) -> None:
        bar.update(frames)
        sim_hours = bar.n / CONTROL_FPS / 3600
        bar.set_postfix(sim_h=f"{sim_hours:.3f}", fps=f"{bar.n / max(time.perf_counter() - started, 1e-9):.0f}")

    return update


def _run_parallel(cfg, plain, out: Path, per_worker, episode_steps, existing, bar, started, stop) -> WorkerStats:
    folder = _workers_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "run.json.tmp"
    tmp.write_text(json.dumps({"run_id": uuid.uuid4().hex}))
    tmp.replace(folder / "run.json")
    outs = [str(out)] + [str(folder / f"w{i}") for i in range(1, len(per_worker))]
    jobs = [(plain, outs[i], i, n, episode_steps, existing, cfg.resume and i == 0) for i, n in enumerate(per_worker)]
    stats = WorkerStats()
    try:
        for s in run_jobs(_process_job, jobs, _progress(bar, started), cfg.ray_address, stop):
            stats.merge(s if s is not None else WorkerStats(interrupted=True))
    finally:
        bar.set_description("merging")
        merge_workers(out, cfg.repo_id, folder)
    return stats


def _process_job(plain, out, worker, episodes, episode_steps, existing, resume, report) -> WorkerStats:
    return record_episodes(plain, out, worker, episodes, episode_steps, existing, resume, report, stop_requested)


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
