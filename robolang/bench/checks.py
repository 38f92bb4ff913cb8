"""Checks of benchmark and demo config values that ``robolang.config.checked`` does not cover:
lists and dataset folders. Each names the key, the value and what is allowed (``ConfigError``).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import ListConfig, OmegaConf

from robolang.config import ConfigError


def listed(cfg, key: str, allowed=None) -> list:
    """``cfg.key`` as a non-empty list, every item in ``allowed`` when given."""
    value = OmegaConf.select(cfg, key, default=None)
    if not isinstance(value, list | tuple | ListConfig) or len(value) == 0:
        raise ConfigError(f"{key}={value!r} is not allowed: {key} must be a non-empty list, e.g. [a,b]")
    items = list(value)
    unknown = [v for v in items if allowed is not None and v not in allowed]
    if unknown:
        raise ConfigError(
            f"{key}={items} is not allowed: {key} must list items from {', '.join(map(str, allowed))} "
            f"({', '.join(map(str, unknown))} unknown)"
        )
    return items


def whole_list(cfg, key: str, low: int = 1) -> list[int]:
    """``cfg.key`` as a non-empty list of integers >= ``low``."""
    items = listed(cfg, key)
    if any(isinstance(v, bool) or not isinstance(v, int) or v < low for v in items):
        raise ConfigError(f"{key}={items} is not allowed: {key} must be a non-empty list of integers >= {low}")
    return items


def dataset(cfg, key: str = "dataset", hint: str = "") -> Path:
    """``cfg.key`` as the folder of a recorded LeRobotDataset."""
    root = Path(str(OmegaConf.select(cfg, key, default=None)))
    if not (root / "meta" / "info.json").exists():
        raise ConfigError(f"{key}={root}: no dataset there (no meta/info.json){'; ' + hint if hint else ''}")
    return root
