"""Loading hydra configs from ``configs/`` for the command-line entry points.

Only entry points use this module: library classes take plain arguments (STYLE.md rule 3).
"""

from __future__ import annotations

import os
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from robolang.errors import RobolangError


class ConfigError(RobolangError, ValueError):
    """A config that cannot be loaded, with the reason and where to look."""


def config_dir() -> Path:
    """``$ROBOLANG_CONFIG_DIR``, else the repository's ``configs/`` folder."""
    env = os.environ.get("ROBOLANG_CONFIG_DIR")
    path = Path(env) if env else Path(__file__).resolve().parent.parent / "configs"
    if not path.is_dir():
        raise ConfigError(f"config folder {path} not found; set ROBOLANG_CONFIG_DIR to the repository's configs/")
    return path


def world_config(path: Path) -> dict:
    """A ``configs/world/*.yaml`` file as a plain dict, with its ``defaults`` (other worlds of the
    same folder, e.g. ``sim2real`` extends ``heldout``) merged under it, as hydra composes it."""
    own = OmegaConf.to_container(OmegaConf.load(path), resolve=True) or {}
    merged: dict = {}
    for name in own.pop("defaults", []):
        merged |= own if name == "_self_" else world_config(path.parent / f"{name}.yaml")
    return merged | own


def load_config(name: str, overrides: list[str] | None = None) -> DictConfig:
    """Compose ``configs/<name>.yaml`` with hydra overrides such as ``world=randomized``."""
    folder = config_dir()
    try:
        with initialize_config_dir(version_base=None, config_dir=str(folder)):
            cfg = compose(config_name=name, overrides=list(overrides or []))
        OmegaConf.resolve(cfg)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(
            f"cannot load config '{name}' from {folder} with overrides {overrides}: {_one_line(exc)}"
        ) from exc
    return cfg


def _one_line(exc: Exception) -> str:
    """Hydra's message on one line, without its config search path."""
    lines = [line.strip() for line in str(exc).split("Config search path")[0].splitlines() if line.strip()]
    return "; ".join(lines).replace(":; ", ": ")


def checked(cfg: DictConfig, key: str, kind: type, *, low=None, high=None, choices=None, optional: bool = False):
    """``cfg[key]`` (a dotted key) as ``kind``, or a ``ConfigError`` naming the key, the value and what is allowed.

    Bad values are caught where the config is read, before any work starts:
    ``checked(cfg, "train.steps", int, low=1)``, ``checked(cfg, "execution", str, choices=("chunk", "ensemble"))``.
    ``low``/``high`` are inclusive bounds; ``optional`` lets ``null`` through as None.
    """
    value = OmegaConf.select(cfg, key, default=None)
    if value is None and optional:
        return None
    allowed = _allowed(kind, low, high, choices)
    ok = (isinstance(value, kind) and not (kind is int and isinstance(value, bool))) or (
        kind is float and isinstance(value, int) and not isinstance(value, bool)
    )
    if ok:
        value = kind(value)
        ok = (low is None or value >= low) and (high is None or value <= high) and (choices is None or value in choices)
    if not ok:
        raise ConfigError(f"{key}={value!r} is not allowed: {key} must be {allowed}")
    return value


def _allowed(kind: type, low, high, choices) -> str:
    if choices is not None:
        return "one of " + ", ".join(map(str, choices))
    name = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(kind, kind.__name__)
    if low is not None and high is not None:
        return f"{name} from {low} to {high}"
    if low is not None:
        return f"{name} >= {low}"
    if high is not None:
        return f"{name} <= {high}"
    return name
