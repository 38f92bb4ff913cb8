"""Cameras through LeRobot's camera classes: real OpenCV captures of small videos in tmp_path.

LeRobot's ``OpenCVCamera`` reads a video file in a background thread as fast as it decodes, so
a finite file is used up within milliseconds and its thread then stops. A camera that keeps
sending frames is therefore a looping image sequence (written by ``cv2.VideoWriter``, looped
by FFmpeg's image2 ``loop`` option); a finite ``.avi`` is the camera that stops sending.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from hardware.cameras import CameraConfigError, CameraRig, fit_image
from robolang.errors import RobolangError
from robolang.robot import RobotFault

WIDTH, HEIGHT = 64, 48  # capture size: 4:3, so the square and tall shapes below are cropped
SHAPES = {"static": (40, 40, 3), "wrist": (24, 16, 3)}


def write_frames(writer: cv2.VideoWriter, n: int) -> None:
    for i in range(n):  # BGR: pure red of rising brightness
        writer.write(np.full((HEIGHT, WIDTH, 3), (0, 0, 120 + 10 * i), dtype=np.uint8))
    writer.release()


@pytest.fixture
def live_video(tmp_path, monkeypatch) -> str:
    """An image sequence OpenCV's FFmpeg backend plays in a loop: a camera that never runs dry."""
    pattern = str(tmp_path / "frame_%03d.png")
    writer = cv2.VideoWriter(pattern, 0, 0, (WIDTH, HEIGHT))  # fourcc 0: one PNG per frame
    assert writer.isOpened()
    write_frames(writer, 8)
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "loop;1")
    return pattern


@pytest.fixture
def short_video(tmp_path) -> str:
    path = str(tmp_path / "short.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (WIDTH, HEIGHT))
    assert writer.isOpened()
    write_frames(writer, 3)
    return path


def opencv(path, **settings) -> dict:
    # warmup_s 0: LeRobot's warm-up reads frames for warmup_s seconds; a short file has none left.
    return {"type": "opencv", "index_or_path": path, "warmup_s": 0, **settings}


def camera_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("OpenCVCamera(") and t.is_alive()]


def test_frames_have_the_declared_shape_rgb_and_rising_capture_times(live_video):
    rig = CameraRig({"static": opencv(live_video), "wrist": opencv(live_video)}, SHAPES)
    started = time.monotonic()
    rig.connect()
    try:
        times = []
        for _ in range(5):
            images = rig.read()
            for name, image in images.items():
                assert image.shape == SHAPES[name] and image.dtype == np.uint8, name
                red, green, blue = image.reshape(-1, 3).mean(axis=0)
                assert red > 100 and green < 20 and blue < 20, f"{name}: not RGB ({red}, {green}, {blue})"
            times.append(dict(rig.captured_at))
            assert started <= rig.oldest_capture() <= time.monotonic()
        for name in SHAPES:
            stamps = [t[name] for t in times]
            assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False)), f"{name}: {stamps}"
    finally:
        rig.disconnect()
    assert camera_threads() == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # LeRobot's thread ends at EOF
def test_camera_that_sends_no_frame_is_a_fault_naming_it(short_video):
    rig = CameraRig({"static": opencv(short_video)}, {"static": (24, 32, 3)}, timeout_ms=100)
    rig.connect()
    try:
        with pytest.raises(RobotFault, match=r"camera 'static' \(opencv .*short\.avi\) sent no usable frame") as err:
            for _ in range(10):  # the three frames may still be there; then nothing comes
                rig.read()
        assert "\n" not in str(err.value) and "check its cable" in str(err.value)
    finally:
        rig.disconnect()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_camera_that_fails_its_warmup_is_a_fault_and_is_closed(short_video):
    rig = CameraRig({"static": opencv(short_video, warmup_s=1)}, {"static": (24, 32, 3)})
    with pytest.raises(RobotFault, match=r"camera 'static' \(opencv .*short\.avi\) did not start"):
        rig.connect()
    assert not rig.is_connected and camera_threads() == []


def test_camera_that_cannot_open_is_a_fault_and_closes_the_others(live_video, tmp_path):
    missing = tmp_path / "missing.avi"
    rig = CameraRig({"static": opencv(live_video), "wrist": opencv(missing)}, SHAPES)
    with pytest.raises(RobotFault, match=r"camera 'wrist' \(opencv .*missing\.avi\) did not start") as err:
        rig.connect()
    assert "\n" not in str(err.value)
    assert not rig.is_connected and camera_threads() == [], "the static camera was left running"


@pytest.mark.parametrize(
    ("cameras", "message"),
    [
        pytest.param(
            {"static": {"type": "webcam", "index_or_path": 0}}, r"cameras\.static\.type 'webcam' is unknown", id="type"
        ),
        pytest.param({"static": {"index_or_path": 0}}, r"type None is unknown", id="no-type"),
        pytest.param({"top": opencv(0)}, r"unknown camera name\(s\) \['top'\]", id="name"),
        pytest.param({}, r"no settings for camera\(s\) \['static'\]", id="missing"),
        pytest.param({"static": {"type": "opencv"}}, r"cameras\.static needs index_or_path", id="no-device"),
        pytest.param({"static": {"type": "realsense"}}, r"needs serial_number_or_name", id="no-serial"),
        pytest.param({"static": opencv(0, zoom=2)}, r"unknown setting\(s\) \['zoom'\]", id="setting"),
        pytest.param({"static": opencv(0, width=0)}, r"cameras\.static\.width must be a positive", id="width"),
        pytest.param({"static": opencv(0, rotation=45)}, r"cameras\.static: .*rotation", id="lerobot-check"),
        pytest.param({"static": "camera0"}, r"cameras\.static must be a mapping", id="not-a-mapping"),
    ],
)
def test_bad_settings_are_one_line_errors(cameras, message):
    with pytest.raises(CameraConfigError, match=message) as err:
        CameraRig(cameras, {"static": (32, 32, 3)})
    assert isinstance(err.value, RobolangError) and "\n" not in str(err.value)


def test_realsense_without_its_extra_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrealsense2", None)  # what `import pyrealsense2` sees when not installed
    rig = CameraRig({"wrist": {"type": "realsense", "serial_number_or_name": "128422271347"}}, {"wrist": (32, 32, 3)})
    with pytest.raises(CameraConfigError, match=r"'wrist' is a RealSense .*pip install -e \"\.\[realsense\]\""):
        rig.connect()
    assert not rig.is_connected


def test_lerobot_type_name_and_index_strings_are_accepted():
    rig = CameraRig(
        {"static": {"type": "intelrealsense", "serial_number_or_name": 123}, "wrist": opencv("2")},
        {"static": (32, 32, 3), "wrist": (32, 32, 3)},
    )
    assert rig.configs["static"].serial_number_or_name == "123"
    assert rig.configs["wrist"].index_or_path == 2 and rig.configs["wrist"].color_mode.value == "rgb"


def test_read_before_connect_raises():
    from robolang.robot import RobotNotConnectedError

    with pytest.raises(RobotNotConnectedError):
        CameraRig({"static": opencv(0)}, {"static": (8, 8, 3)}).read()


# ---- fit_image: a pure function ------------------------------------------------------------------
def test_fit_image_crops_the_centre_then_resizes():
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :8] = 255  # a bar at the left edge: outside the centred square
    frame[:, 28:36] = (10, 200, 30)  # the centre
    out = fit_image(frame, (24, 24, 3))
    assert out.shape == (24, 24, 3) and out.dtype == np.uint8 and out.flags["C_CONTIGUOUS"]
    assert out[:, 0].max() == 0, "the left bar should have been cropped away"
    assert tuple(out[12, 12]) == (10, 200, 30)
    assert fit_image(frame, (96, 32, 3)).shape == (96, 32, 3)  # taller than wide, and upscaled
    assert fit_image(frame, (48, 64, 3)) is not frame and np.array_equal(fit_image(frame, (48, 64, 3)), frame)


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 4), np.uint8),
        np.zeros((4, 4, 3), np.float32),
        np.zeros((0, 4, 3), np.uint8),
    ],
)
def test_fit_image_rejects_what_is_not_an_rgb_frame(frame):
    with pytest.raises(ValueError, match="uint8 \\(H, W, 3\\)"):
        fit_image(frame, (4, 4, 3))


def test_a_file_index_or_path_becomes_a_path(tmp_path):
    rig = CameraRig({"static": opencv(str(tmp_path / "v.avi"))}, {"static": (8, 8, 3)})
    assert isinstance(rig.configs["static"].index_or_path, Path)
