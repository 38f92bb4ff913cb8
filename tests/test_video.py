"""Video writing: partial files never survive an error; camera tiles keep one frame size."""

import numpy as np
import pytest

from robolang.video import VideoWriter, tile_cameras


def test_video_writer_discards_partial_file_on_error(tmp_path):
    path = tmp_path / "v.mp4"
    with pytest.raises(RuntimeError), VideoWriter(path, fps=10) as writer:
        writer.write(np.zeros((32, 32, 3), np.uint8))
        raise RuntimeError("crash mid-recording")
    assert not path.exists() and not list(tmp_path.glob("*.partial"))


def test_tile_cameras_pads_and_upscales():
    tiled = tile_cameras([np.ones((4, 6, 3), np.uint8), np.ones((2, 2, 3), np.uint8)], upscale=3)
    assert tiled.shape == (12, 24, 3)


def test_an_unwritable_video_path_is_refused_before_any_frame(tmp_path):
    from robolang.video import VideoPathError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(VideoPathError, match="cannot write the video"):
        VideoWriter(blocker / "v.mp4", fps=10)
