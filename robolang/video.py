"""Writing videos of camera streams (PyAV, H.264), atomically, and drawing text on frames."""

from __future__ import annotations

import functools
import importlib.util
import os
import tempfile
from pathlib import Path

import av
import numpy as np

from robolang.errors import RobolangError


def tile_cameras(images: list[np.ndarray], upscale: int = 1) -> np.ndarray:
    """Place camera images (H, W, 3) side by side (padded to the tallest), nearest-upscaled."""
    height = max(img.shape[0] for img in images)
    padded = [np.pad(img, ((0, height - img.shape[0]), (0, 0), (0, 0))) for img in images]
    frame = np.concatenate(padded, axis=1)
    if upscale > 1:
        frame = frame.repeat(upscale, axis=0).repeat(upscale, axis=1)
    return frame


LINE_HEIGHT = 14  # px per caption line; the band's height must not change within a video
FONT_SIZE = 11  # px: DejaVu Sans at 11 px is ~6.5 px per character, close to cv2's 0.4-scale font


def draw_text(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """A caption band under the frame with ``lines`` of white text, any script the font covers
    (cv2's built-in fonts are ASCII only and draw every other character as ``?``)."""
    from PIL import Image, ImageDraw

    band = Image.new("RGB", (frame.shape[1], LINE_HEIGHT * len(lines) + 6))
    draw = ImageDraw.Draw(band)
    for i, line in enumerate(lines):
        draw.text((4, 3 + LINE_HEIGHT * i), line, font=_font(), fill=(255, 255, 255))
    return np.concatenate([frame, np.asarray(band, np.uint8)], axis=0)


@functools.cache
def _font():
    """A TrueType font found offline: Debian's DejaVu Sans, matplotlib's copy of it, else Pillow's
    own embedded font (Latin only)."""
    from PIL import ImageFont

    for path in _font_files():
        try:
            return ImageFont.truetype(str(path), FONT_SIZE)
        except OSError:
            continue
    return ImageFont.load_default(FONT_SIZE)


def _font_files() -> list[Path]:
    files = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")]  # Debian: fonts-dejavu-core
    spec = importlib.util.find_spec("matplotlib")  # not imported: only its bundled font file is read
    if spec is not None and spec.submodule_search_locations:
        files.append(Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf")
    return files


class VideoPathError(RobolangError, ValueError):
    """A video path this writer cannot write (it writes .mp4 only)."""


class VideoWriter:
    """H.264 mp4 writer. Frames go to ``<path>.partial`` and the file appears under its real
    name only when ``close()`` succeeds, so a crash never leaves a truncated video behind."""

    def __init__(self, path: str | os.PathLike, fps: int):
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise VideoPathError(f"video path must end in .mp4, got {self.path}")
        try:  # refuse now, not after the frames were made: a real write, as permissions lie to root
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=self.path.parent).close()
        except OSError as exc:
            raise VideoPathError(f"cannot write the video {self.path}: {exc.strerror or exc}") from exc
        self._tmp = self.path.with_name(self.path.name + ".partial")
        self._container = av.open(str(self._tmp), mode="w", format="mp4")
        self._stream = self._container.add_stream("libx264", rate=fps)
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "20"}
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        # H.264 with yuv420p needs even dimensions.
        h, w = frame.shape[:2]
        frame = np.ascontiguousarray(frame[: h - h % 2, : w - w % 2])
        if self.frames == 0:
            self._stream.height, self._stream.width = frame.shape[:2]
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> Path:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Discard the partial file (after an error)."""
        try:
            self._container.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
