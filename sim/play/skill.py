"""Skill levels of the scripted play agent, from expert to sloppy.

A skill is a number in [0, 1] (1 = expert) or a named level. Lower skill scales up every kind
of imperfection a human player shows in play data: jittery motion, hesitation, grasps that
close off-centre, imprecise placing, detours, slower and uneven speed, giving up.
"""

from __future__ import annotations

from dataclasses import dataclass

SKILL_LEVELS: dict[str, float] = {"expert": 1.0, "good": 0.6, "sloppy": 0.2}


@dataclass(frozen=True)
class SkillProfile:
    """How imperfect the agent is. Distances in m, angles in rad, noise in normalized action units."""

    skill: float
    action_noise: float  # std of Gaussian noise on (dx, dy, dz, dyaw), normalized units
    hesitate_per_step: float  # chance per moving step to stop for a few steps
    hesitate_at_phase: float  # chance to stop for a moment when a phase begins
    grasp_offset_m: float  # std of the grasp point's error (misses when >~ 1.5 cm)
    grasp_yaw_rad: float  # std of the gripper yaw's error at a grasp
    place_offset_m: float  # std of the put-down point's error
    drop_height_m: float  # up to this much extra height when letting go
    detour_probability: float  # chance a transit goes via a random waypoint
    speed: tuple[float, float]  # range of the fraction of full speed used per behaviour
    give_up_probability: float  # chance per behaviour to stop half way
    max_retries: int  # retries of a failed grasp before abandoning the behaviour


def skill_profile(skill: str | float) -> SkillProfile:
    """The profile of a named level (``SKILL_LEVELS``) or of a number in [0, 1]."""
    if isinstance(skill, str):
        if skill not in SKILL_LEVELS:
            raise ValueError(f"unknown skill level {skill!r}; choose from {sorted(SKILL_LEVELS)} or a number in [0, 1]")
        skill = SKILL_LEVELS[skill]
    skill = float(skill)
    if not 0.0 <= skill <= 1.0:
        raise ValueError(f"skill must be in [0, 1] (1 = expert), got {skill}")
    u = 1.0 - skill  # sloppiness
    return SkillProfile(
        skill=skill,
        action_noise=0.4 * u,
        hesitate_per_step=0.015 * u,
        hesitate_at_phase=0.4 * u,
        grasp_offset_m=0.02 * u,
        grasp_yaw_rad=0.25 * u,
        place_offset_m=0.015 * u,
        drop_height_m=0.03 * u,
        detour_probability=0.1 + 0.5 * u,
        speed=(0.7 - 0.3 * u, 1.0 - 0.3 * u),
        give_up_probability=0.08 * u,
        max_retries=2,
    )
