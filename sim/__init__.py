"""sim: the PyBullet play table behind the robolang robot contract.

Importing ``sim`` registers the gymnasium environment ``robolang/PlayTable-v0``.
"""

import gymnasium

ENV_ID = "robolang/PlayTable-v0"
# 500 control steps = 50 s at 10 Hz: long enough for a few chained play tasks.
MAX_EPISODE_STEPS = 500

if ENV_ID not in gymnasium.registry:  # importlib.reload(sim) must not re-register (gymnasium warns)
    gymnasium.register(id=ENV_ID, entry_point="sim.gym_env:PlayTableEnv", max_episode_steps=MAX_EPISODE_STEPS)


def __getattr__(name: str):
    # LeRobot's factory (make_robot_from_config -> make_device_from_device_class) looks for the
    # device class ``PlayTableRobot`` in the config's parent package, i.e. here. Imported lazily
    # so that ``import sim`` does not pull in lerobot.
    if name in ("PlayTableRobot", "PlayTableRobotConfig"):
        from sim import robot

        return getattr(robot, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
