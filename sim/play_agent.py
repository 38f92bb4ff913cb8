"""Hydra entry point for the scripted play agent: build it for a robot (see ``sim/play``)."""

from __future__ import annotations


def scripted_agent(robot, seed: int, skill: str | float = "expert"):
    """A ``ScriptedPlayAgent`` playing on a connected ``PlayTableRobot``'s scene."""
    from sim.play import ScriptedPlayAgent

    return ScriptedPlayAgent(robot.scene, skill=skill, seed=seed)
