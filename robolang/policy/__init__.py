"""The language-conditioned policy: sentence encoder, policies, data pipeline, training.

Nothing here imports ``sim`` (DESIGN.md layout rule): the policy only sees observations,
instructions and the dataset on disk.

The public loading API (imported lazily, so ``import robolang.policy`` stays cheap)::

    from robolang.policy import load_policy, CheckpointError
    policy = load_policy("runs/policy")            # a checkpoint, a run folder, or an ACT folder
    chunk = policy.predict(observation, "open the drawer")   # (chunk_size, 5) in [-1, 1]

A new policy is a class satisfying ``robolang.policy.protocol.Policy`` named by ``_target_`` in
``configs/policy/<name>.yaml``; see ``robolang.policy.registry``.
"""

from __future__ import annotations

_LAZY = {
    "load_policy": "robolang.policy.inference",
    "LanguagePolicy": "robolang.policy.inference",
    "CheckpointError": "robolang.policy.checkpoint",
    "load_checkpoint": "robolang.policy.checkpoint",
    "LoadedPolicy": "robolang.policy.protocol",
    "Policy": "robolang.policy.protocol",
    "PolicyBase": "robolang.policy.protocol",
    "build_policy": "robolang.policy.registry",
    "policy_class": "robolang.policy.registry",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'robolang.policy' has no attribute {name!r}")
