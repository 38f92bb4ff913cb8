"""``robolang bench collect``: end-to-end collection frames/s vs the bare simulation step rate.

Collection includes the play agent, simulation with both cameras, video encoding and writing
the crash-safe dataset. The bare rate is the same robot stepped by the same agent with
nothing recorded, measured in the same run. Target (issue 3): recording costs at most 30%.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from tqdm import trange

from robolang import collect
from robolang.benchmarks import provenance, write_section

MAX_RECORDING_COST = 0.30


@dataclass
class Rate:
    name: str
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


def bare_rate(cfg: DictConfig, steps: int) -> Rate:
    """Agent + simulation + both cameras, nothing recorded."""
    robot = instantiate(cfg.robot, _convert_="all")
    robot.connect()
    try:
        robot.reset(cfg.seed)
        agent = instantiate(cfg.agent, robot=robot, seed=cfg.seed)
        start = time.perf_counter()
        for _ in trange(steps, desc="bare sim", leave=False):
            robot.send_action(agent.act())
            robot.get_observation()
            robot.scene_vector()
        return Rate("bare simulation (agent + physics + 2 cameras), 1 process", steps, time.perf_counter() - start)
    finally:
        robot.disconnect()


def collect_rate(cfg: DictConfig, workers: int, frames_per_worker: int, folder: Path) -> Rate:
    """Wall-clock frames/s of ``robolang collect`` with ``workers`` processes, start to finish."""
    run_cfg = OmegaConf.merge(
        cfg,
        {
            "out": str(folder / f"bench_{workers}"),
            "workers": workers,
            "hours": workers * frames_per_worker / 10 / 3600,
            "episode_seconds": frames_per_worker / 10 / cfg.episodes_per_worker,
            "resume": False,
        },
    )
    start = time.perf_counter()
    stats = collect.run(run_cfg)
    return Rate(
        f"robolang collect, {workers} worker{'s' if workers > 1 else ''} (recording included)",
        stats.frames,
        time.perf_counter() - start,
    )


def run(cfg: DictConfig) -> list[Rate]:
    folder = Path(tempfile.mkdtemp(prefix="robolang_bench_collect_"))
    try:
        rates = [bare_rate(cfg, cfg.bare_steps)]
        rates += [collect_rate(cfg, w, cfg.frames_per_worker, folder) for w in cfg.worker_counts]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    write_section(cfg.bench_out, "collect", report(cfg, rates))
    return rates


def report(cfg: DictConfig, rates: list[Rate]) -> str:
    bare = rates[0]
    lines = [
        "## Collection: recorded frames per second (`robolang bench collect`)",
        "",
        provenance(),
        f"Scripted play agent (skill `{cfg.agent.skill}`), static {cfg.robot.config.static_width}x{cfg.robot.config.static_height} "
        f"+ wrist {cfg.robot.config.wrist_width}x{cfg.robot.config.wrist_height}, video codec `{cfg.vcodec}`; "
        f"{cfg.frames_per_worker} frames per worker in {cfg.episodes_per_worker} episodes, wall clock from start "
        "to a finalized, merged dataset (process start-up and merging included).",
        "",
        "| what | frames | seconds | frames/s | vs bare step rate |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rates:
        lines.append(f"| {r.name} | {r.frames} | {r.seconds:.1f} | {r.fps:.1f} | {r.fps / bare.fps:.2f}x |")
    one = rates[1]
    cost = 1 - one.fps / bare.fps
    verdict = "meets" if cost <= MAX_RECORDING_COST else "MISSES"
    lines += [
        "",
        f"Recording cost with one worker: {cost:.0%} of the bare step rate (target <= {MAX_RECORDING_COST:.0%}: {verdict}).",
        "What limits it: the video encoder threads (one per camera) share the machine's 2 cores with the "
        "simulation, and TinyRenderer's frame time rises while they run; two workers use both cores for "
        "simulation and encoding, which is why their total is higher but each is slower.",
    ]
    return "\n".join(lines)
