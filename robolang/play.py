"""``robolang play``: run a robot with scripted random motion and write a video of its cameras."""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig
from tqdm import tqdm, trange

from robolang.config import checked
from robolang.features import CAMERA_NAMES, CONTROL_FPS
from robolang.robot import is_simulator
from robolang.video import VideoWriter, tile_cameras


def run(cfg: DictConfig) -> Path:
    """Drive the configured robot for ``cfg.steps`` control steps; return the video path.

    Ctrl-C stops early and still writes a playable video of what was recorded.
    """
    checked(cfg, "steps", int, low=1)
    checked(cfg, "upscale", int, low=1)
    robot = instantiate(cfg.robot, _convert_="all")
    motion = instantiate(cfg.motion, _convert_="all")
    writer = VideoWriter(cfg.out, fps=CONTROL_FPS)
    robot.connect()
    try:
        simulated = is_simulator(robot)
        obs = robot.reset(cfg.seed) if simulated else robot.get_observation()
        # Robots with a privileged scene state (the sim) are health-checked every step.
        monitor = robot.health_monitor() if simulated else None
        reported: set[tuple[str, str]] = set()
        try:
            for step in trange(cfg.steps, desc="play", unit="step"):
                writer.write(tile_cameras([obs[c] for c in CAMERA_NAMES], cfg.upscale))
                robot.send_action(motion(obs))
                obs = robot.get_observation()
                for issue in monitor.check(robot.scene_state()) if monitor else []:
                    if (issue.kind, issue.entity) not in reported:
                        reported.add((issue.kind, issue.entity))
                        tqdm.write(f"health, step {step}: {issue.message}")
        except KeyboardInterrupt:
            print(f"\ninterrupted: keeping the {writer.frames} frames recorded so far")
        path = writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        robot.disconnect()
    return path
