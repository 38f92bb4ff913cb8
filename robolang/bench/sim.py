"""Control steps/s with both cameras on one core, beside the stock-mesh reference.

A control step is ``send_action`` (IK + physics substeps) followed by ``get_observation``
(proprioception + both cameras). The two are timed separately, so the table shows physics
vs render time per step. The reference is the same scene with the stock-mesh Panda and the
table drawn every frame, measured in the same run.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

from omegaconf import DictConfig

from robolang.bench.report import Load, heading, table, verdict
from robolang.config import checked

TARGET_STEPS_PER_S = 100.0  # DESIGN.md performance target


@dataclass
class SimTiming:
    name: str
    steps: int
    physics_ms: float  # mean send_action time per step
    render_ms: float  # mean get_observation time per step

    @property
    def step_ms(self) -> float:
        return self.physics_ms + self.render_ms

    @property
    def steps_per_s(self) -> float:
        return 1000.0 / self.step_ms


@dataclass
class SimFigures:
    timings: list[SimTiming]  # ours first, then the reference
    core: int | None  # the core the process was pinned to


def pin_to_one_core() -> int | None:
    """Restrict this process to one CPU (the first it may use); return it, or None if unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def _first_observation(robot, seed: int) -> dict:
    from robolang.robot import is_simulator

    return robot.reset(seed) if is_simulator(robot) else robot.get_observation()


def time_robot(name: str, robot_cfg: DictConfig, steps: int, warmup: int, seed: int) -> SimTiming:
    """Time ``steps`` control steps of a robot built from ``robot_cfg`` (after ``warmup``)."""
    from hydra.utils import instantiate
    from tqdm import trange

    from robolang.waypoint_motion import RandomWaypointMotion

    robot = instantiate(robot_cfg, _convert_="all")
    robot.connect()
    try:
        obs = _first_observation(robot, seed)
        motion = RandomWaypointMotion(low=(0.33, -0.25, 0.02), high=(0.65, 0.25, 0.25), seed=seed)
        physics, render = [], []
        for i in trange(warmup + steps, desc=f"bench sim: {name}", leave=False):
            t0 = time.perf_counter()
            robot.send_action(motion(obs))
            t1 = time.perf_counter()
            obs = robot.get_observation()
            t2 = time.perf_counter()
            if i >= warmup:
                physics.append(t1 - t0)
                render.append(t2 - t1)
    finally:
        robot.disconnect()
    return SimTiming(name, steps, 1000 * statistics.fmean(physics), 1000 * statistics.fmean(render))


def check(cfg: DictConfig) -> None:
    checked(cfg, "steps", int, low=1)
    checked(cfg, "warmup", int, low=0)
    checked(cfg, "seed", int, low=0)
    checked(cfg, "single_core", bool)


def run(cfg: DictConfig) -> SimFigures:
    """Time the play table and the stock-mesh reference, ``cfg.steps`` steps each."""
    from omegaconf import OmegaConf

    core = pin_to_one_core() if cfg.single_core else None
    reference_cfg = OmegaConf.merge(cfg.robot, {"config": cfg.reference})
    ours = time_robot("robolang play table (fast default)", cfg.robot, cfg.steps, cfg.warmup, cfg.seed)
    reference = time_robot(
        "reference: stock-mesh Panda, table drawn each frame", reference_cfg, cfg.steps, cfg.warmup, cfg.seed
    )
    return SimFigures([ours, reference], core)


def section(cfg: DictConfig, figures: SimFigures, load: Load) -> str:
    rc, core = cfg.robot.config, figures.core
    rows = [
        [r.name, f"{r.steps_per_s:.1f}", f"{r.step_ms:.2f}", f"{r.physics_ms:.2f}", f"{r.render_ms:.2f}"]
        for r in figures.timings
    ]
    fast, ref = figures.timings
    return "\n".join(
        [
            *heading("Simulation: control steps per second (`robolang bench sim`)", load),
            f"One process pinned to {'core ' + str(core) if core is not None else 'no particular core'}; "
            f"static {rc.static_width}x{rc.static_height} + wrist {rc.wrist_width}x{rc.wrist_height} cameras, "
            f"{240 // 10} physics substeps per 10 Hz control step, {cfg.steps} timed steps after {cfg.warmup} "
            f"warm-up, world `{cfg.world.name}`.",
            "",
            *table(["variant", "steps/s", "step ms", "physics + IK ms", "render ms (2 cameras)"], rows, align="lrrrr"),
            "",
            f"Speed-up over the reference: {fast.steps_per_s / ref.steps_per_s:.1f}x. "
            f"Target >= {TARGET_STEPS_PER_S:.0f} steps/s: {verdict(fast.steps_per_s, '>=', TARGET_STEPS_PER_S)} "
            f"({fast.steps_per_s:.1f}).",
        ]
    )


def summary(figures: SimFigures) -> list[str]:
    return [
        f"{r.name}: {r.steps_per_s:.1f} steps/s (physics {r.physics_ms:.2f} ms, render {r.render_ms:.2f} ms)"
        for r in figures.timings
    ]
