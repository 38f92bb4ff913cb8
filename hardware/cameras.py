"""Real cameras for any driver: one LeRobot camera per robolang camera name.

A driver describes its cameras as a plain mapping (hydra- and yaml-friendly)::

    cameras:
      static: {type: opencv, index_or_path: 0, fps: 30, width: 640, height: 480}
      wrist: {type: realsense, serial_number_or_name: "128422271347", fps: 30, width: 640, height: 480}

``CameraRig`` checks it without touching a device, builds LeRobot's ``OpenCVCamera`` or
``RealSenseCamera`` on ``connect()``, and ``read()`` returns uint8 (H, W, 3) RGB frames cut to
the size the robot declares, with each frame's capture time (``time.monotonic()``) in
``captured_at`` for the deploy loop's watchdog. A camera that cannot start or stops sending
frames raises ``RobotFault`` naming it; a bad mapping raises ``CameraConfigError``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np

from robolang.errors import RobolangError
from robolang.features import STATIC_CAMERA, WRIST_CAMERA
from robolang.robot import RobotFault, RobotNotConnectedError

logger = logging.getLogger(__name__)

# type -> (the setting that says which device, what to write there)
DEVICE_KEYS = {
    "opencv": ("index_or_path", "a device index such as 0, a path such as /dev/video0, or a video file"),
    "realsense": (
        "serial_number_or_name",
        "the camera's serial number or name; `lerobot-find-cameras realsense` lists them",
    ),
}
TYPE_ALIASES = {"intelrealsense": "realsense"}  # LeRobot's own name for the RealSense camera type
# Settings robolang fixes: frames are always RGB, and depth is never read.
FIXED_SETTINGS = ("color_mode", "use_depth")
DEFAULT_TIMEOUT_MS = 200.0  # LeRobot's async_read default: 6 missed frames at 30 fps


class CameraConfigError(RobolangError, ValueError):
    """A camera mapping that cannot work (an unknown type or name, a missing device, a missing extra)."""


def _config_class(kind: str):
    if kind == "opencv":
        from lerobot.cameras.opencv import OpenCVCameraConfig

        return OpenCVCameraConfig
    from lerobot.cameras.realsense import RealSenseCameraConfig

    return RealSenseCameraConfig


def camera_config(name: str, settings: Mapping):
    """A LeRobot camera config from one entry of the mapping; raises ``CameraConfigError``."""
    if not isinstance(settings, Mapping):
        raise CameraConfigError(
            f"cameras.{name} must be a mapping like {{type: opencv, index_or_path: 0}}, got {settings!r}"
        )
    options = dict(settings)
    kind = options.pop("type", None)
    kind = TYPE_ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    if kind not in DEVICE_KEYS:
        raise CameraConfigError(f"cameras.{name}.type {kind!r} is unknown: use one of {sorted(DEVICE_KEYS)}")
    device_key, device_help = DEVICE_KEYS[kind]
    if options.get(device_key) in (None, ""):
        raise CameraConfigError(f"cameras.{name} needs {device_key}: {device_help}")
    config_class = _config_class(kind)
    allowed = [f.name for f in fields(config_class) if f.name not in FIXED_SETTINGS]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise CameraConfigError(f"cameras.{name}: unknown setting(s) {unknown} for a {kind} camera; allowed: {allowed}")
    for key in ("fps", "width", "height"):  # None: the camera's own default
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise CameraConfigError(f"cameras.{name}.{key} must be a positive whole number or null, got {value!r}")
    if kind == "opencv":
        options["index_or_path"] = _index_or_path(options["index_or_path"])
    else:
        options["serial_number_or_name"] = str(options["serial_number_or_name"])
    try:
        return config_class(**options)  # color_mode keeps LeRobot's default, RGB
    except (TypeError, ValueError) as e:  # LeRobot's own checks: rotation, fourcc, fps/width/height together
        raise CameraConfigError(f"cameras.{name}: {_one_line(e)}") from e


def _index_or_path(value) -> int | Path:
    """0 and "0" (a command-line override) are device indices; anything else is a path."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return int(text) if text.isdigit() else Path(text).expanduser()


def describe(config) -> str:
    """``opencv 0`` / ``realsense 128422271347``: which device a camera config opens."""
    if hasattr(config, "index_or_path"):
        return f"opencv {config.index_or_path}"
    return f"realsense {config.serial_number_or_name}"


def _camera_class(name: str, config):
    """LeRobot's camera class for ``config``, imported only now (RealSense needs an extra)."""
    if hasattr(config, "index_or_path"):
        from lerobot.cameras import opencv

        return opencv.OpenCVCamera
    try:
        import pyrealsense2  # noqa: F401  (LeRobot's RealSenseCamera needs it and only logs when it is missing)
    except ImportError as e:
        raise CameraConfigError(
            f'camera {name!r} is a RealSense but pyrealsense2 is not installed: pip install -e ".[realsense]"'
        ) from e
    from lerobot.cameras import realsense

    return realsense.RealSenseCamera


def fit_image(frame, shape: tuple[int, int, int]) -> np.ndarray:
    """Centre-crop ``frame`` to the aspect ratio of ``shape`` and resize it to (H, W, 3) uint8.

    Cropping instead of stretching keeps objects their true shape, as in the simulator's square
    renders; the centre keeps what the camera is aimed at.
    """
    image = np.asarray(frame)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) == 0:
        raise ValueError(f"expected a uint8 (H, W, 3) frame, got {image.dtype} {image.shape}")
    height, width = shape[0], shape[1]
    h, w = image.shape[:2]
    if w * height > h * width:  # wider than the target: crop the sides
        keep = max(1, round(h * width / height))
        x0 = (w - keep) // 2
        image = image[:, x0 : x0 + keep]
    elif w * height < h * width:  # taller: crop top and bottom
        keep = max(1, round(w * height / width))
        y0 = (h - keep) // 2
        image = image[y0 : y0 + keep]
    if image.shape[:2] == (height, width):
        return image.copy()  # never hand out the camera's own buffer
    shrink = image.shape[0] > height
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _latest(camera, frame: np.ndarray) -> tuple[np.ndarray, float]:
    """The newest frame and its capture time in ``time.monotonic()`` seconds.

    LeRobot's OpenCV and RealSense cameras stamp each frame with ``time.perf_counter()`` in
    their read thread (``latest_frame``, RealSense ``latest_color_frame``, and
    ``latest_timestamp``, under ``frame_lock``); reading the pair under the lock gives a frame
    with its own capture time, even when a newer frame replaced the one ``async_read``
    returned. A camera class without them is stamped now.
    """
    lock = getattr(camera, "frame_lock", None)
    if lock is None:
        return frame, time.monotonic()
    with lock:
        latest = getattr(camera, "latest_frame", getattr(camera, "latest_color_frame", None))
        stamp = getattr(camera, "latest_timestamp", None)
    if latest is None or stamp is None:
        return frame, time.monotonic()
    return latest, stamp + (time.monotonic() - time.perf_counter())


class CameraRig:
    """A robot's cameras: one LeRobot camera per name in ``shapes`` (the robot's ``CAMERA_NAMES``).

    ``cameras`` maps each name to its settings (``type: opencv | realsense``, the device, and
    optionally ``fps``, ``width``, ``height`` of the capture and LeRobot's other settings such as
    ``rotation`` or ``warmup_s``); ``shapes`` maps it to the (H, W, 3) the robot declares.
    Nothing opens a device before ``connect()``.
    """

    def __init__(
        self, cameras: Mapping, shapes: Mapping[str, tuple[int, int, int]], timeout_ms: float = DEFAULT_TIMEOUT_MS
    ):
        if not isinstance(cameras, Mapping):
            raise CameraConfigError(f"cameras must map camera names to settings, got {cameras!r}")
        unknown = sorted(set(cameras) - set(shapes))
        if unknown:
            raise CameraConfigError(f"unknown camera name(s) {unknown}: this robot's cameras are {list(shapes)}")
        missing = [n for n in shapes if n not in cameras]
        if missing:
            raise CameraConfigError(
                f"no settings for camera(s) {missing}: add cameras.<name>: {{type: opencv, index_or_path: 0}} for each"
            )
        if not (isinstance(timeout_ms, int | float) and math.isfinite(timeout_ms) and timeout_ms > 0):
            raise CameraConfigError(f"the camera timeout must be a positive number of milliseconds, got {timeout_ms!r}")
        self.shapes = {name: tuple(shape) for name, shape in shapes.items()}
        self.configs = {name: camera_config(name, cameras[name]) for name in shapes}
        self.timeout_ms = float(timeout_ms)
        self.captured_at: dict[str, float] = {}  # name -> time.monotonic() of the frame last read
        self._cameras: dict = {}
        self.is_connected = False

    @property
    def devices(self) -> dict:
        """Name -> the LeRobot camera (``Camera``) reading it while connected, else None; what a
        driver hands LeRobot's scripts as ``robot.cameras``."""
        return {name: self._cameras.get(name) for name in self.shapes}

    def connect(self) -> None:
        """Open every camera (LeRobot warms each up first); on a failure close the ones opened."""
        if self.is_connected:
            raise RuntimeError("the cameras are already connected")
        opened: dict = {}
        try:
            for name, config in self.configs.items():
                camera_class, camera = _camera_class(name, config), None
                try:
                    camera = camera_class(config)  # RealSense looks a camera name up here
                    camera.connect()
                except (ConnectionError, RuntimeError, TimeoutError, ValueError, OSError) as e:
                    if camera is not None:  # a failed warm-up leaves LeRobot's read thread running
                        _close_all({name: camera}, quiet=True)
                    raise RobotFault(
                        f"camera {name!r} ({describe(config)}) did not start: {_one_line(e)}; check its cable and device setting, "
                        "and that no other program has it open (`lerobot-find-cameras` lists cameras)"
                    ) from e
                opened[name] = camera
        except BaseException:
            _close_all(opened)
            raise
        self._cameras, self.captured_at, self.is_connected = opened, {}, True

    def disconnect(self) -> None:
        """Close every camera; closing one that already failed is not an error."""
        cameras, self._cameras, self.is_connected = self._cameras, {}, False
        _close_all(cameras)

    def read(self) -> dict[str, np.ndarray]:
        """One new frame per camera, uint8 (H, W, 3) RGB of the declared shape; raises ``RobotFault``
        when a camera sends none within ``timeout_ms``."""
        if not self.is_connected:
            raise RobotNotConnectedError("the cameras are not connected; call connect() first")
        images = {}
        for name, camera in self._cameras.items():
            images[name], self.captured_at[name] = self._grab(name, camera)
        return images

    def _grab(self, name: str, camera) -> tuple[np.ndarray, float]:
        """One fitted frame and its capture time; any failure of the camera is a ``RobotFault``."""
        try:
            frame, captured = _latest(camera, camera.async_read(timeout_ms=self.timeout_ms))
            return fit_image(frame, self.shapes[name]), captured
        # TimeoutError: no new frame in time; RuntimeError: LeRobot's read thread stopped;
        # ConnectionError: the device went away; ValueError: a frame that is not (H, W, 3) uint8.
        except (TimeoutError, RuntimeError, ConnectionError, ValueError) as e:
            raise RobotFault(
                f"camera {name!r} ({describe(self.configs[name])}) sent no usable frame within {self.timeout_ms:g} ms "
                f"({type(e).__name__}: {_one_line(e)}); check its cable and power, then reconnect"
            ) from e

    def oldest_capture(self) -> float:
        """``time.monotonic()`` of the oldest frame last read (-inf before every camera was read)."""
        return min((self.captured_at.get(name, -math.inf) for name in self.shapes), default=math.inf)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _close_all(cameras: Mapping, quiet: bool = False) -> None:
    for name, camera in cameras.items():
        try:
            camera.disconnect()
        except Exception as e:  # already closed, or its thread died: closing must still reach the others
            if not quiet:
                logger.warning("camera %r did not close cleanly: %s", name, e)


class CameraSettings:
    """What a driver config with cameras provides (mixed into ``URRobotConfig``, ``SO101RobotConfig``):
    its fields ``cameras`` (name -> capture settings), ``camera_timeout_ms`` and the image sizes
    ``static_width/height``, ``wrist_width/height`` the robot delivers."""

    def camera_shapes(self) -> dict[str, tuple[int, int, int]]:
        return {
            STATIC_CAMERA: (self.static_height, self.static_width, 3),
            WRIST_CAMERA: (self.wrist_height, self.wrist_width, 3),
        }

    def camera_rig(self) -> CameraRig:
        cameras = {
            name: dict(settings) if isinstance(settings, Mapping) else settings
            for name, settings in dict(self.cameras).items()
        }
        return CameraRig(cameras, self.camera_shapes(), self.camera_timeout_ms)
