"""The one way a privileged policy is run: ``PrivilegedController`` adds the simulator's scene state.

Every other controller sees only ``rollout.policy_view(observation)`` (cameras and
proprioception). A policy that reads the scene state (``policy.privileged``, e.g. the privileged
state policy, an upper bound that can never be deployed) fails on that view; evaluation picks
this controller for it instead (``worker.build_controller``, from what the checkpoint holds) and
labels its row privileged (``policies.describe``). Before its first step on a robot it compares
the robot's scene-state entry names with the ones the policy was trained on, and refuses a
difference, naming it.
"""

from __future__ import annotations

import numpy as np

from robolang.evaluation.policies import ControllerError
from robolang.evaluation.rollout import PolicyController
from robolang.features import KEY_SCENE_STATE


class PrivilegedController(PolicyController):
    """A loaded privileged policy: ``select_action`` on the observation plus ``robot.scene_vector()``.

    ``begin_task`` (called by ``rollout.run_instruction`` before each instruction) tells it the
    robot; only a simulator has the scene state."""

    privileged = True

    def __init__(self, policy):
        super().__init__(policy)
        self.robot = None
        self._checked: set[int] = set()

    def begin_task(self, robot, task_id, args, seed) -> None:
        if id(robot) not in self._checked:
            fields = getattr(robot, "scene_fields", None)
            if fields is None or not hasattr(robot, "scene_vector"):
                raise ControllerError(
                    f"{self.policy.name} is a privileged policy: it reads the simulator's scene state, and "
                    f"{type(robot).__name__} has none (a real robot?)"
                )
            self.policy.check_scene(fields)
            self._checked.add(id(robot))
        self.robot = robot

    def act(self, observation: dict, instruction: str) -> np.ndarray:
        if self.robot is None:
            raise ControllerError("PrivilegedController.act before begin_task: it does not know the robot")
        scene = np.asarray(self.robot.scene_vector(), np.float32)
        return self.policy.select_action({**observation, KEY_SCENE_STATE: scene}, instruction)
