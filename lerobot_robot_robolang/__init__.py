"""LeRobot plugin: robolang's robots (and EE teleoperators) for LeRobot's own scripts.

LeRobot 0.4.4's scripts (``lerobot-teleoperate``, ``lerobot-record``, ``lerobot-replay``, ...)
import every installed *distribution* whose name starts with ``lerobot_robot_``
(``register_third_party_plugins``), and any package named by ``--robot.discover_packages_path``.
Importing this package registers:

* robots: ``robolang_play_table`` (``sim.robot``) and the real-arm drivers in ``hardware/``
  (``ROBOT_MODULES``). Each module is imported on its own and guarded: one whose vendor SDK (or
  anything else) fails to import is logged and skipped and never breaks discovery of the rest;
  one that does not exist yet is skipped silently;
* teleoperators ``robolang_keyboard_ee`` and ``robolang_gamepad``: LeRobot's ``keyboard_ee`` and
  ``gamepad`` emitting robolang actions (``robolang_ee.py``);
* the processor step ``robolang_ee_delta_to_action`` (``robolang.teleop.lerobot_processor``);
* image statistics computed without LeRobot 0.4.4's uint8 overflow, so ``lerobot-record`` with
  a robolang robot writes a usable ``meta/stats.json`` (``robolang.recording.stats``).

``pip install -e .`` (robolang) makes the package importable:
``--robot.discover_packages_path=lerobot_robot_robolang`` finds it. ``pip install -e
./lerobot_robot_robolang --no-deps`` also installs the distribution of that name (this folder's
``pyproject.toml``), which LeRobot finds with no flag.
"""

from __future__ import annotations

import importlib
import logging

from lerobot_robot_robolang.config_robolang_ee import RobolangGamepadTeleopConfig, RobolangKeyboardEETeleopConfig
from lerobot_robot_robolang.robolang_ee import RobolangGamepadTeleop, RobolangKeyboardEETeleop
from robolang.recording.stats import fix_lerobot_image_stats
from robolang.teleop.lerobot_processor import EEDeltaToRobolangStep, RobolangActionTeleop

log = logging.getLogger(__name__)

# Modules whose import registers a robot config with LeRobot (``@RobotConfig.register_subclass``).
ROBOT_MODULES = ("sim.robot", "hardware.ur", "hardware.so101")


def _register(module: str) -> bool:
    """Import ``module``; False (with a log line) instead of an exception when it cannot be."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(f"{exc.name}.")):
            log.debug("robolang: %s does not exist (yet); not registered with LeRobot", module)
        else:
            log.warning("robolang: %s not registered with LeRobot: %s (install its extra)", module, exc)
        return False
    except Exception as exc:  # one broken driver must not hide the other robots from LeRobot
        log.warning("robolang: %s not registered with LeRobot: %s: %s", module, type(exc).__name__, exc)
        return False
    return True


REGISTERED_MODULES = tuple(m for m in ROBOT_MODULES if _register(m))
fix_lerobot_image_stats()

__all__ = [
    "EEDeltaToRobolangStep",
    "REGISTERED_MODULES",
    "ROBOT_MODULES",
    "RobolangActionTeleop",
    "RobolangGamepadTeleop",
    "RobolangGamepadTeleopConfig",
    "RobolangKeyboardEETeleop",
    "RobolangKeyboardEETeleopConfig",
]
