"""Measure how often each behaviour of the scripted play agent succeeds, per skill level.

``python -m sim.play.measure --steps 3000 --seeds 0 1 2`` prints the table. Nothing is
rendered: the agent reads the scene state, so only physics runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Mapping

from robolang.robot import EEDeltaLimits
from sim.cameras import CameraSpec
from sim.play.agent import ScriptedPlayAgent
from sim.play.vocab import BEHAVIOURS, BehaviourRecord
from sim.scene import PlayTableScene, SceneConfig

# Cameras are never rendered here; tiny ones keep the per-world backdrop render cheap.
MEASURE_SCENE = SceneConfig(static_camera=CameraSpec(16, 16), wrist_camera=CameraSpec(16, 16), table_backdrop=False)

Tally = dict[str, tuple[int, int]]


def tally(history: Iterable[BehaviourRecord]) -> Tally:
    """behaviour -> (attempted, succeeded), in vocabulary order."""
    counts: dict[str, list[int]] = {}
    for record in history:
        entry = counts.setdefault(record.behaviour, [0, 0])
        entry[0] += 1
        entry[1] += int(record.success)
    return {b: tuple(counts[b]) for b in BEHAVIOURS if b in counts}


def run_agent(skill: str | float, steps: int, seed: int, scene_config: SceneConfig | None = None) -> ScriptedPlayAgent:
    """Play ``steps`` control steps on a fresh scene reset with ``seed``; return the agent."""
    scene = PlayTableScene(scene_config or MEASURE_SCENE)
    try:
        scene.reset(seed)
        agent = ScriptedPlayAgent(scene, skill, seed)
        limits = EEDeltaLimits()
        for _ in range(steps):
            scene.step(limits.scale(agent.act()))
    finally:
        scene.close()
    agent.scene = None  # the scene is closed; keep the history
    return agent


def measure_success(skill: str | float, steps: int, seed: int, scene_config: SceneConfig | None = None) -> Tally:
    """Run the agent for ``steps`` on a fresh scene and count finished behaviours per type:
    ``{behaviour: (attempted, succeeded)}`` (success by ``sim.play.checks``)."""
    return tally(run_agent(skill, steps, seed, scene_config).history)


def merge(tallies: Iterable[Tally]) -> Tally:
    total: dict[str, list[int]] = {}
    for t in tallies:
        for b, (a, s) in t.items():
            entry = total.setdefault(b, [0, 0])
            entry[0] += a
            entry[1] += s
    return {b: tuple(total[b]) for b in BEHAVIOURS if b in total}


def format_success_table(results: Mapping[str, Tally]) -> str:
    """One row per behaviour, one column per skill level: ``succeeded/attempted (rate)``."""
    levels = list(results)
    rows = [b for b in BEHAVIOURS if any(b in results[level] for level in levels)]
    width = max([len("behaviour"), *(len(r) for r in rows)])
    lines = [f"{'behaviour':<{width}}" + "".join(f" | {level:>16}" for level in levels)]
    lines.append("-" * len(lines[0]))
    for b in [*rows, "all"]:
        cells = []
        for level in levels:
            t = results[level]
            a, s = (sum(v[0] for v in t.values()), sum(v[1] for v in t.values())) if b == "all" else t.get(b, (0, 0))
            cells.append(f"{s:>4}/{a:<4} ({100 * s / a:3.0f}%)" if a else f"{'-':>16}")
        lines.append(f"{b:<{width}}" + "".join(f" | {c:>16}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", nargs="+", default=["expert", "good", "sloppy"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args(argv)
    results = {}
    for skill in args.skills:
        start = time.perf_counter()
        results[skill] = merge(measure_success(_skill(skill), args.steps, s) for s in args.seeds)
        print(f"{skill}: {len(args.seeds)} seeds x {args.steps} steps in {time.perf_counter() - start:.0f} s")
    print(format_success_table(results))


def _skill(text: str) -> str | float:
    try:
        return float(text)
    except ValueError:
        return text


if __name__ == "__main__":
    main()
