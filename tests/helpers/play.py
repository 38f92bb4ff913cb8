"""Real scripted play for tests: the collector itself, at 32 px cameras and one worker."""

from __future__ import annotations

from pathlib import Path

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]


def record_play(out: Path, seconds: float, episode_seconds: float, seed: int = 4) -> Path:
    """``seconds`` of scripted play in episodes of ``episode_seconds``, recorded into ``out``."""
    from robolang import collect
    from robolang.config import load_config

    overrides = [f"out={out}", "workers=1", f"hours={seconds / 3600}", f"episode_seconds={episode_seconds}"]
    collect.run(load_config("collect", [*overrides, f"seed={seed}", *SMALL]))
    return out
