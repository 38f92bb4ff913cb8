"""The play table as a gymnasium environment: ``robolang/PlayTable-v0``.

``PlayTableEnv`` wraps ``PlayTableScene`` directly (not ``PlayTableRobot``), so building one
touches no LeRobot calibration folder. Actions and safety are the robot contract's: a (5,)
normalized end-effector delta, NaN/inf rejected, out-of-range values clipped, then scaled
by ``EEDeltaLimits``. The env has no task: reward is 0 and it never terminates; episodes end
by truncation (``max_episode_steps`` at registration). Language-conditioned success is the
captioner's and the evaluator's business, not the world's (STYLE.md 6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from robolang.features import ACTION_DIM, CONTROL_FPS, STATE_DIM, STATIC_CAMERA, WRIST_CAMERA
from robolang.robot import EEDeltaLimits
from robolang.safety import action_to_array, clip_normalized, reject_non_finite
from sim.cameras import CameraSpec
from sim.randomization import WorldRandomization
from sim.scene import PlayTableScene, SceneConfig

# Generous physical bounds of the (12,) proprioception, ordered as STATE_NAMES, so that the
# space is finite (check_env warns on +-inf) yet no healthy read-out can leave it: the Panda
# reaches 0.855 m from its base, yaw is wrapped to [-pi, pi) (3.2 leaves float32 margin), the
# fingers open 0.08 m together, and every joint limit lies within +-3.8 rad (Panda datasheet).
_STATE_HIGH = np.array([1.5, 1.5, 1.5, 3.2, 0.1, *([2 * np.pi] * 7)], dtype=np.float32)
_STATE_LOW = np.array([-1.5, -1.5, -1.5, -3.2, -0.01, *([-2 * np.pi] * 7)], dtype=np.float32)
_MAX_SEED = 2**31 - 1  # scene seeds drawn from np_random when reset() gets no seed


class PlayTableEnv(gym.Env):
    """Gymnasium view of the play table.

    Observation: ``{"static": uint8 (H, W, 3), "wrist": uint8 (h, w, 3), "state": float32 (12,)}``.
    Action: float32 (5,) in [-1, 1], ordered as ``robolang.features.ACTION_NAMES``.
    ``info`` carries ``scene_state`` (privileged) and ``applied_action`` (normalized, as really
    applied after clipping, workspace and yaw limits) plus ``clipped`` (which entries were
    out of range). All arguments are plain values, so hydra can build the env.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": CONTROL_FPS}

    def __init__(
        self,
        render_mode: str | None = None,
        static_width: int = 128,
        static_height: int = 128,
        wrist_width: int = 128,
        wrist_height: int = 128,
        world: Mapping[str, Any] | None = None,
        panda_fidelity: str = "fast",
        renderer: str = "auto",
        shadows: bool = False,
        table_backdrop: bool = SceneConfig.table_backdrop,
        object_sleeping: bool = SceneConfig.object_sleeping,
        translation_m: float = EEDeltaLimits.translation_m,
        yaw_rad: float = EEDeltaLimits.yaw_rad,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} not supported; choose from {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.limits = EEDeltaLimits(translation_m, yaw_rad)
        config = SceneConfig(
            static_camera=CameraSpec(static_width, static_height, fov=SceneConfig.static_camera.fov),
            wrist_camera=CameraSpec(wrist_width, wrist_height, fov=SceneConfig.wrist_camera.fov),
            panda_fidelity=panda_fidelity,
            shadows=shadows,
            table_backdrop=table_backdrop,
            object_sleeping=object_sleeping,
            renderer=renderer,
            world=WorldRandomization.from_dict(_plain(world or {})),
        )
        self.scene = PlayTableScene(config)
        self.observation_space = spaces.Dict(
            {
                STATIC_CAMERA: spaces.Box(0, 255, (static_height, static_width, 3), np.uint8),
                WRIST_CAMERA: spaces.Box(0, 255, (wrist_height, wrist_width, 3), np.uint8),
                "state": spaces.Box(_STATE_LOW, _STATE_HIGH, (STATE_DIM,), np.float32),
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the world. A given ``seed`` seeds the scene directly (``env.reset(seed=s)`` and
        ``PlayTableRobot.reset(s)`` give the same world); without one a scene seed is drawn
        from ``self.np_random``, so a seeded first reset fixes every later one."""
        super().reset(seed=seed)
        scene_seed = seed if seed is not None else int(self.np_random.integers(_MAX_SEED))
        self.scene.reset(scene_seed)
        return self._observation(), {"scene_state": self.scene.scene_state(), "seed": scene_seed}

    def step(self, action):
        """Validate, clip, scale and apply one action; simulate one control step (0.1 s)."""
        arr = reject_non_finite(action_to_array(action))  # raises UnsafeActionError
        clipped, mask = clip_normalized(arr)
        applied = self.scene.step(self.limits.scale(clipped))
        info = {
            "scene_state": self.scene.scene_state(),
            "applied_action": self._normalize(applied),
            "clipped": mask,
        }
        return self._observation(), 0.0, False, False, info

    def render(self):
        """The static camera image (``render_mode="rgb_array"``); None without a render mode."""
        if self.render_mode == "rgb_array":
            return self.scene.render(STATIC_CAMERA)
        return None

    def close(self):
        self.scene.close()

    # ---- sim-only extras, as on PlayTableRobot -------------------------------------------------
    def get_state(self) -> dict:
        return self.scene.get_state()

    def set_state(self, state: dict) -> None:
        self.scene.set_state(state)

    # ---- helpers --------------------------------------------------------------------------------
    def _observation(self) -> dict[str, np.ndarray]:
        return {
            STATIC_CAMERA: self.scene.render(STATIC_CAMERA),
            WRIST_CAMERA: self.scene.render(WRIST_CAMERA),
            "state": self.scene.proprioception(),
        }

    def _normalize(self, applied: np.ndarray) -> np.ndarray:
        """Scaled delta really applied -> (5,) float32 normalized action (inverse of ``scale``)."""
        return np.clip(self.limits.normalize(applied), -1.0, 1.0).astype(np.float32)


def _plain(value):
    """A hydra DictConfig / ListConfig (or any mapping and sequence) as plain dicts and lists,
    which ``WorldRandomization.from_dict`` turns into tuples."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value
