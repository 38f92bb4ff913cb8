"""Hydra entry point for the scripted play agent, as the recorder uses it (see ``sim/play``).

The recorder stores the agent's intent per frame in the ``debug.intent`` column as indices
into fixed vocabularies, written beside the dataset in ``meta/robolang_intents.json``:
a debug log for evaluating captioners, never a label.
"""

from __future__ import annotations

import numpy as np

from sim.play.agent import ScriptedPlayAgent
from sim.play.vocab import ARGS, BEHAVIOURS, PHASES, TARGETS

INTENT_FIELDS = ("behaviour", "target", "arg", "phase", "attempt", "retry")
VOCABULARIES = {"behaviour": BEHAVIOURS, "target": TARGETS, "arg": ARGS, "phase": PHASES}


class RecordedPlayAgent:
    """A ``ScriptedPlayAgent`` with its intent as a vector of vocabulary indices."""

    intent_fields = INTENT_FIELDS

    def __init__(self, agent: ScriptedPlayAgent):
        self.agent = agent

    def act(self) -> np.ndarray:
        return self.agent.act()

    @property
    def history(self):
        return self.agent.history

    def intent_code(self) -> np.ndarray:
        i = self.agent.intent
        return np.array(
            [
                BEHAVIOURS.index(i.behaviour),
                TARGETS.index(i.target),
                ARGS.index(i.arg),
                PHASES.index(i.phase),
                i.attempt,
                i.retry,
            ],
            dtype=np.int64,
        )

    @staticmethod
    def vocabulary() -> dict:
        """What the ``debug.intent`` indices mean (the sidecar file's content)."""
        return {"fields": list(INTENT_FIELDS), "vocabularies": {k: list(v) for k, v in VOCABULARIES.items()}}


def scripted_agent(robot, seed: int, skill: str | float = "expert") -> RecordedPlayAgent:
    """The scripted play agent on a connected ``PlayTableRobot``'s scene."""
    return RecordedPlayAgent(ScriptedPlayAgent(robot.scene, skill=skill, seed=seed))
