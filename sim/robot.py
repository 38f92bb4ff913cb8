"""The play table as a LeRobot robot: ``PlayTableRobot`` behind the robolang contract.

LeRobot's tools (``lerobot-teleoperate``, ``lerobot-record``, teleoperators) drive it like
any real arm. The sim-only extras are ``reset(seed)``, ``scene_state()`` and exact
``get_state`` / ``set_state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robolang.features import STATE_NAMES, STATIC_CAMERA, WRIST_CAMERA
from robolang.health import HealthMonitor
from robolang.robot import EEDeltaLimits, EEDeltaRobot, RobotConfig
from sim import assets
from sim.cameras import CameraSpec
from sim.panda import Workspace
from sim.randomization import WorldRandomization
from sim.scene import PlayTableScene, SceneConfig


@RobotConfig.register_subclass("robolang_play_table")
@dataclass(kw_only=True)
class PlayTableRobotConfig(RobotConfig):
    """Configuration of the simulated play table (plain values, hydra- and draccus-friendly)."""

    static_width: int = 128
    static_height: int = 128
    wrist_width: int = 128
    wrist_height: int = 128
    panda_fidelity: str = "fast"
    shadows: bool = False
    table_backdrop: bool = True
    object_sleeping: bool = True  # see SceneConfig.object_sleeping
    gui: bool = False  # a PyBullet GUI window (needs a display), e.g. for keyboard teleoperation
    renderer: str = "auto"
    seed: int = 0  # used by connect(); reset(seed) reseeds
    translation_m: float = EEDeltaLimits.translation_m
    yaw_rad: float = EEDeltaLimits.yaw_rad
    world: dict = field(default_factory=dict)  # a WorldRandomization as a dict (configs/world/*.yaml)

    def scene_config(self) -> SceneConfig:
        return SceneConfig(
            static_camera=CameraSpec(self.static_width, self.static_height, fov=SceneConfig.static_camera.fov),
            wrist_camera=CameraSpec(self.wrist_width, self.wrist_height, fov=SceneConfig.wrist_camera.fov),
            panda_fidelity=self.panda_fidelity,
            shadows=self.shadows,
            table_backdrop=self.table_backdrop,
            object_sleeping=self.object_sleeping,
            gui=self.gui,
            renderer=self.renderer,
            world=WorldRandomization.from_dict(dict(self.world)),
        )


class PlayTableRobot(EEDeltaRobot):
    """The simulated Panda on the play table, a ``lerobot.robots.Robot``."""

    config_class = PlayTableRobotConfig
    name = "robolang_play_table"

    def __init__(self, config: PlayTableRobotConfig | None = None):
        config = config or PlayTableRobotConfig()
        super().__init__(config)
        self.config = config
        self.limits = EEDeltaLimits(config.translation_m, config.yaw_rad)
        self.workspace = (Workspace.low, Workspace.high)  # the Panda's target box (sim.panda)
        self._scene_config = config.scene_config()
        self.scene: PlayTableScene | None = None

    def camera_shape(self, camera: str) -> tuple[int, int, int]:
        spec = {STATIC_CAMERA: self._scene_config.static_camera, WRIST_CAMERA: self._scene_config.wrist_camera}[camera]
        return (spec.height, spec.width, 3)

    def _connect(self) -> None:
        self.scene = PlayTableScene(self._scene_config)
        self.scene.reset(self.config.seed)

    def _disconnect(self) -> None:
        self.scene.close()
        self.scene = None

    def _read_observation(self) -> dict:
        obs = dict(zip(STATE_NAMES, self.scene.proprioception().tolist(), strict=True))
        obs[STATIC_CAMERA] = self.scene.render(STATIC_CAMERA)
        obs[WRIST_CAMERA] = self.scene.render(WRIST_CAMERA)
        return obs

    def _apply_action(self, action: np.ndarray) -> np.ndarray:
        # With action latency the scene applies an older action: report that one, gripper included.
        applied = self.scene.step(self.limits.scale(action))
        return np.clip(self.limits.normalize(applied), -1.0, 1.0)

    # ---- sim-only extras --------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> dict:
        """Reset the world from ``seed`` and return the first observation."""
        self._require_connected()
        self.scene.reset(seed)
        return self._read_observation()

    def scene_state(self) -> dict:
        self._require_connected()
        return self.scene.scene_state()

    @property
    def scene_fields(self) -> tuple[str, ...]:
        """Names of ``scene_vector()`` entries (privileged sim state; works while disconnected)."""
        from sim.state import SceneVector

        return SceneVector(tuple(o.name for o in assets.OBJECTS)).fields

    def scene_vector(self) -> np.ndarray:
        """The scene state flattened to float32, ordered as ``scene_fields``."""
        self._require_connected()
        return self.scene.scene_vector()

    def scene_description(self) -> dict:
        """What is in this world, for captioners: objects with colour, shape and size (m), and
        the fixtures. Plain JSON-able data; recorded beside every dataset."""
        objects = []
        for o in assets.OBJECTS:
            size = list(o.size) if o.size is not None else [2 * o.radius, 2 * o.radius, o.height]
            objects.append({"name": o.name, "colour": o.colour, "shape": o.shape, "size": size, "mass": o.mass})
        return {
            "objects": objects,
            "fixtures": {
                "drawer": {"travel": assets.DRAWER_TRAVEL, "axis": "+y", "cabinet": list(assets.DRAWER_CABINET)},
                "slider": {"travel": assets.SLIDER_TRAVEL, "axis": "+x", "cabinet": list(assets.SLIDER_CABINET)},
                "button": {"travel": assets.BUTTON_TRAVEL, "position": list(assets.BUTTON_POS)},
            },
            "table": {"center": list(assets.TABLE_CENTER), "size": list(assets.TABLE_SIZE), "height": 0.0},
        }

    def health_monitor(self) -> HealthMonitor:
        """A monitor for this table's bounds (flags NaN states and objects that left the table)."""
        return HealthMonitor.from_table(assets.TABLE_CENTER, assets.TABLE_SIZE)

    def get_state(self) -> dict:
        self._require_connected()
        return self.scene.get_state()

    def set_state(self, state: dict) -> None:
        self._require_connected()
        self.scene.set_state(state)
