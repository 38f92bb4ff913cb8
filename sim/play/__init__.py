"""The scripted play agent: long, continuous, unlabelled play on the play table.

``ScriptedPlayAgent(scene, skill, seed).act()`` gives one normalized action per control step;
``agent.intent`` / ``agent.intent_code()`` log what it meant (for evaluating captioners only);
``agent.history`` lists finished behaviours judged by ``sim.play.checks``.
``measure_success`` counts successes per behaviour type.
"""

from sim.play.agent import ScriptedPlayAgent
from sim.play.measure import format_success_table, measure_success
from sim.play.skill import SKILL_LEVELS, SkillProfile, skill_profile
from sim.play.vocab import BEHAVIOURS, DIRECTIONS, PHASES, TARGETS, BehaviourRecord, Intent, decode_intent

__all__ = [
    "BEHAVIOURS",
    "DIRECTIONS",
    "PHASES",
    "SKILL_LEVELS",
    "TARGETS",
    "BehaviourRecord",
    "Intent",
    "ScriptedPlayAgent",
    "SkillProfile",
    "decode_intent",
    "format_success_table",
    "measure_success",
    "skill_profile",
]
