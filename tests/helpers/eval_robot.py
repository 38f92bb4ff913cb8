"""The simulated robot of ``configs/eval.yaml`` at 32 px cameras, connected for a test module."""

from hydra.utils import instantiate

from robolang.config import load_config

SMALL = [f"robot.config.{k}=32" for k in ("static_width", "static_height", "wrist_width", "wrist_height")]


def connected_robot():
    """Yields the connected robot and disconnects it afterwards (use as a pytest fixture's body)."""
    robot = instantiate(load_config("eval", SMALL).robot, _convert_="all")
    robot.connect()
    yield robot
    robot.disconnect()


def expert_for(robot):
    """The scripted expert of ``configs/eval.yaml`` on ``robot``."""
    return instantiate(load_config("eval").expert, robot=robot)
