"""Recording frames/s of `robolang collect` (1 and 2 workers) beside the bare step rate.

Collection includes the play agent, simulation with both cameras, video encoding and writing
the crash-safe dataset. The bare rate is the same robot stepped by the same agent with
nothing recorded, measured in the same run. Target: recording costs at most 30%.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from robolang.bench import checks
from robolang.bench.report import Load, heading, table, verdict
from robolang.config import checked

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
    from hydra.utils import instantiate
    from tqdm import trange

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
    from omegaconf import OmegaConf

    from robolang import collect

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


def check(cfg: DictConfig) -> None:
    for key in ("bare_steps", "frames_per_worker", "episodes_per_worker"):
        checked(cfg, key, int, low=1)
    checks.whole_list(cfg, "worker_counts")
    checked(cfg, "seed", int, low=0)


def run(cfg: DictConfig) -> list[Rate]:
    """The bare rate, then one collection per ``cfg.worker_counts`` into a scratch folder (removed)."""
    folder = Path(tempfile.mkdtemp(prefix="robolang_bench_collect_"))
    try:
        rates = [bare_rate(cfg, cfg.bare_steps)]
        rates += [collect_rate(cfg, w, cfg.frames_per_worker, folder) for w in cfg.worker_counts]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rates


def section(cfg: DictConfig, rates: list[Rate], load: Load) -> str:
    bare, one = rates[0], rates[1]
    rc = cfg.robot.config
    rows = [[r.name, str(r.frames), f"{r.seconds:.1f}", f"{r.fps:.1f}", f"{r.fps / bare.fps:.2f}x"] for r in rates]
    cost = 1 - one.fps / bare.fps
    first = cfg.worker_counts[0]
    return "\n".join(
        [
            *heading("Collection: recorded frames per second (`robolang bench collect`)", load),
            f"Scripted play agent (skill `{cfg.agent.skill}`), static {rc.static_width}x{rc.static_height} "
            f"+ wrist {rc.wrist_width}x{rc.wrist_height}, video codec `{cfg.vcodec}`; "
            f"{cfg.frames_per_worker} frames per worker in {cfg.episodes_per_worker} episodes, wall clock from start "
            "to a finalized, merged dataset (process start-up and merging included).",
            "",
            *table(["what", "frames", "seconds", "frames/s", "vs bare step rate"], rows, align="lrrrr"),
            "",
            f"Recording cost with {'one worker' if first == 1 else f'{first} workers'}: {cost:.0%} of the bare step rate (target <= {MAX_RECORDING_COST:.0%}: "
            f"{verdict(cost, '<=', MAX_RECORDING_COST)}).",
            "What limits it: the video encoder threads (one per camera) share the machine's 2 cores with the "
            "simulation, and TinyRenderer's frame time rises while they run; two workers use both cores for "
            "simulation and encoding, which is why their total is higher but each is slower.",
        ]
    )


def summary(rates: list[Rate]) -> list[str]:
    return [f"{r.name}: {r.fps:.1f} frames/s" for r in rates]
