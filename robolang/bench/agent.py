"""Scripted play behaviour success per skill level.

Success is the play agent's independent check on the scene states before and after each
behaviour (for the scripted agent: ``sim/play/checks.py``), never its own belief. No
cameras are rendered: only ``send_action`` steps the world.
"""

from __future__ import annotations

from collections import Counter

from omegaconf import DictConfig

from robolang.bench import checks
from robolang.bench.report import Load, heading, table
from robolang.config import ConfigError, checked

TARGET_EXPERT_RATE = 0.80  # at the top skill level every behaviour succeeds >= 80%
SKILLS = ("expert", "good", "sloppy")  # the scripted agent's named levels; a float in [0, 1] also works


def measure(cfg: DictConfig, skill) -> tuple[Counter, Counter]:
    """(attempted, succeeded) per behaviour over ``cfg.seeds`` episodes of ``cfg.steps`` steps."""
    from hydra.utils import instantiate
    from tqdm import tqdm

    from robolang.recording.worker import episode_seed

    attempted, succeeded = Counter(), Counter()
    robot = instantiate(cfg.robot, _convert_="all")
    robot.connect()
    try:
        for s in tqdm(range(cfg.seeds), desc=f"skill {skill}", leave=False):
            seed = episode_seed(cfg.seed, 0, 0, s)
            robot.reset(seed)
            agent = instantiate(cfg.agent, robot=robot, seed=seed, skill=skill)
            for _ in range(cfg.steps):
                robot.send_action(agent.act())
            for record in agent.history:
                attempted[record.behaviour] += 1
                succeeded[record.behaviour] += int(record.success)
    finally:
        robot.disconnect()
    return attempted, succeeded


def _skill(value) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return value in SKILLS or (number and 0.0 <= value <= 1.0)


def check(cfg: DictConfig) -> None:
    skills = checks.listed(cfg, "skills")
    bad = [s for s in skills if not _skill(s)]
    if bad:
        raise ConfigError(
            f"skills={skills} is not allowed: each skill must be one of {', '.join(SKILLS)} or a number "
            f"from 0 to 1 ({', '.join(map(str, bad))} is not)"
        )
    checked(cfg, "seeds", int, low=1)
    checked(cfg, "steps", int, low=1)
    checked(cfg, "seed", int, low=0)


def run(cfg: DictConfig) -> dict[str, tuple[Counter, Counter]]:
    """skill -> (attempted, succeeded) per behaviour."""
    return {str(skill): measure(cfg, skill) for skill in cfg.skills}


def section(cfg: DictConfig, results: dict, load: Load) -> str:
    skills = list(results)
    behaviours = sorted({b for attempted, _ in results.values() for b in attempted})
    rows = [[b, *cells] for b, cells in zip(behaviours, _rows(results, behaviours, skills), strict=True)]
    rows.append(["**all**", *(_cell(sum(s.values()), sum(a.values())) for a, s in results.values())])
    attempted0, succeeded0 = results[skills[0]]
    below = [
        f"{b} ({succeeded0[b] / attempted0[b]:.0%})"
        for b in behaviours
        if attempted0[b] and succeeded0[b] / attempted0[b] < TARGET_EXPERT_RATE
    ]
    verdict = "every behaviour meets it" if not below else "below it: " + ", ".join(below)
    return "\n".join(
        [
            *heading("Scripted play agent: behaviour success per skill level (`robolang bench agent`)", load),
            f"{cfg.seeds} episodes x {cfg.steps} steps ({cfg.seeds * cfg.steps / 10 / 60:.0f} simulated minutes) per "
            f"skill level, world `{cfg.world.name}`. Success = the independent check on the scene states before "
            "and after each behaviour. Cells: succeeded / attempted (rate).",
            "",
            *table(["behaviour", *skills], rows, align="l" + "r" * len(skills)),
            "",
            f"Target at `{skills[0]}`: every behaviour >= {TARGET_EXPERT_RATE:.0%}; {verdict}.",
        ]
    )


def _cell(succeeded: int, attempted: int) -> str:
    return f"{succeeded}/{attempted} ({succeeded / max(attempted, 1):.0%})"


def _rows(results: dict, behaviours: list[str], skills: list[str]) -> list[list[str]]:
    rows = []
    for b in behaviours:
        cells = []
        for skill in skills:
            attempted, succeeded = results[skill]
            cells.append(_cell(succeeded[b], attempted[b]) if attempted[b] else "-")
        rows.append(cells)
    return rows


def summary(results: dict) -> list[str]:
    return [f"{skill}: {sum(s.values())}/{sum(a.values())} behaviours succeeded" for skill, (a, s) in results.items()]
