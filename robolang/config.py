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


class ConfigError(ValueError):
    """A config that cannot be loaded, with the reason and where to look."""


def config_dir() -> Path:
    """``$ROBOLANG_CONFIG_DIR``, else the repository's ``configs/`` folder."""
    env = os.environ.get("ROBOLANG_CONFIG_DIR")
    path = Path(env) if env else Path(__file__).resolve().parent.parent / "configs"
    if not path.is_dir():
        raise ConfigError(f"config folder {path} not found; set ROBOLANG_CONFIG_DIR to the repository's configs/")
    return path


def load_config(name: str, overrides: list[str] | None = None) -> DictConfig:
    """Compose ``configs/<name>.yaml`` with hydra overrides such as ``world=randomized``."""
    folder = config_dir()
    try:
        with initialize_config_dir(version_base=None, config_dir=str(folder)):
            cfg = compose(config_name=name, overrides=list(overrides or []))
        OmegaConf.resolve(cfg)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(f"cannot load config '{name}' from {folder} with overrides {overrides}: {exc}") from exc
    return cfg
