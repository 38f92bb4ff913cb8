"""The one place evaluation reaches a policy, through the policy package's public loading API.

Evaluation never imports the policy package's internals (STYLE rule 6). A named controller is
either a folder that ``load_policy`` loads (a robolang checkpoint or training run folder, or a
LeRobot ACT ``pretrained_model`` folder: the kind is read from the folder's contents), or a
``{_target_: ...}`` config whose object has ``predict(observation, instruction) -> (K, 5)``
chunk and ``reset()``. What evaluation uses of a loaded policy (the ``LoadedPolicy`` protocol of
the policy package): ``select_action``, ``reset``, ``check_robot``, ``image_shapes``, ``name``,
``language_blind``, and for a privileged policy (one that reads the simulator's scene state:
``privileged``) ``scene_fields`` and ``check_scene``; such a policy is run only by
``privileged.PrivilegedController`` and its row says so.
"""

from __future__ import annotations

from pathlib import Path

from robolang.errors import RobolangError


class ControllerError(RobolangError, ValueError):
    """A named controller that cannot be loaded or does not fit the robot."""


def load_policy(path: str | Path, device: str = "cpu", execution: str = "chunk", actions_per_chunk: int | None = None):
    """A policy behind the ``LoadedPolicy`` protocol; the only call into ``robolang.policy``
    (its public ``load_policy``, which reads the folder's kind from its contents).
    ``actions_per_chunk`` (chunk execution): actions run per prediction, None for the whole chunk;
    more than the policy's chunk is a ``ControllerError`` naming both."""
    from robolang.policy import load_policy

    policy = load_policy(Path(path), device=device)
    if actions_per_chunk is not None and actions_per_chunk > policy.chunk_size:
        raise ControllerError(
            f"{path}: actions_per_chunk={actions_per_chunk} is more than its chunk of {policy.chunk_size} actions"
        )
    policy.set_execution(execution, actions_per_chunk, policy.ensemble_decay)
    return policy


def is_privileged(policy) -> bool:
    """Whether a loaded policy reads simulator state no robot gives (its checkpoint says so)."""
    return bool(getattr(policy, "privileged", False))


def describe(policy, path) -> str:
    """The report's line for a loaded policy."""
    blind = " (language-blind)" if policy.language_blind else ""
    if is_privileged(policy):
        blind += " (PRIVILEGED: reads the simulator's scene state; an upper bound, never deployable)"
    return f"{policy.name} policy{blind}: {path}"


def build_target(target: dict):
    """A policy from a config map with ``_target_`` (hydra ``instantiate``)."""
    from hydra.utils import instantiate

    return instantiate(target, _convert_="all")
