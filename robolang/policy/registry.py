"""Policy classes by name: the one place a ``_target_`` becomes a class and a class a policy.

``configs/policy/<name>.yaml`` names its class with ``_target_: package.module.Class``; a
checkpoint stores the same path. Resolving it imports the module, so a policy defined anywhere
importable (a plugin package, a test module) is trained and loaded without editing robolang.
Checkpoints written before this surface existed name their class by a short type; those two
names are kept here so that they still load.
"""

from __future__ import annotations

import importlib

from robolang.errors import RobolangError
from robolang.policy.protocol import missing_members

TARGET = "_target_"
# The short types of format-1 checkpoints (config.json "policy_type"); new ones store a class path.
LEGACY_TYPES = {
    "transformer": "robolang.policy.model.TransformerPolicy",
    "mcil": "robolang.policy.mcil.MCILPolicy",
}


class PolicyClassError(RobolangError, ValueError):
    """A ``_target_`` that names no importable policy class, or settings the class refuses."""


def class_path(cls: type) -> str:
    """``package.module.Class``: what configs and checkpoints store to name ``cls``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def policy_class(target: str | type) -> type:
    """The policy class named by ``target`` (a class path, a format-1 type, or the class itself)."""
    if isinstance(target, type):
        return _checked(target, class_path(target))
    path = LEGACY_TYPES.get(target, target)
    module_name, _, attr = str(path).rpartition(".")
    if not module_name:
        raise PolicyClassError(
            f"policy _target_={target!r} is not a class path (package.module.Class); "
            f"configs/policy/*.yaml show the form, e.g. {LEGACY_TYPES['transformer']}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise PolicyClassError(f"policy _target_={target!r}: cannot import {module_name} ({e})") from e
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise PolicyClassError(f"policy _target_={target!r}: {module_name} has no class {attr!r}")
    return _checked(cls, path)


def _checked(cls: type, path: str) -> type:
    lacking = [m for m in ("config_class", "compute_loss", "predict", "set_normalization") if not hasattr(cls, m)]
    if lacking:
        raise PolicyClassError(f"{path} is not a policy: it lacks {lacking} (robolang.policy.protocol.Policy)")
    return cls


def build_policy(target: str | type, settings: dict):
    """A fresh policy of class ``target`` from plain settings (unknown keys are refused)."""
    cls = policy_class(target)
    try:
        config = cls.config_class.from_dict(dict(settings))
    except (TypeError, ValueError) as e:
        raise PolicyClassError(f"policy settings for {class_path(cls)}: {e}") from e
    policy = cls(config)
    lacking = missing_members(policy)
    if lacking:
        raise TypeError(f"{class_path(cls)} does not satisfy robolang.policy.protocol.Policy: it lacks {lacking}")
    return policy


def split_target(settings: dict) -> tuple[str, dict]:
    """(``_target_``, the other settings) of a composed ``policy`` config section."""
    rest = dict(settings)
    target = rest.pop(TARGET, None) or rest.pop("type", None)
    if not target:
        raise PolicyClassError(f"the policy config names no class: add {TARGET}: package.module.Class")
    return target, rest
