"""Frames as a recording holds them: camera images through the recorder's video codec and back.

The estimator is trained on rendered frames, straight from the simulator. A recorded dataset
(ours, or any LeRobotDataset) keeps its cameras as video: AV1 (SVT-AV1) at constant quality 30,
a keyframe every 2 frames, 4:2:0 chroma (LeRobot's encoder settings, which ``robolang collect``
uses). At 64 px, 4:2:0 keeps colour at 32 x 32: a 4-pixel cube's red bleeds into the table, and
the estimator, which tells objects apart by colour, reads it elsewhere (measured: 3.1 cm median
error on rendered `heldout` frames, 8.1 cm on the same frames through the codec, the red cube
3.1 -> 17.7 cm). The captioner that sees only images reads recordings, so the estimator must
have seen such frames: ``robolang estimator recode`` writes a copy of a frames folder with
every camera image passed through the codec (labels unchanged), to train on beside the original
(``data=[frames,frames_recoded]``), and ``robolang estimator eval recorded=true`` measures both.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robolang.features import CAMERA_NAMES
from robolang.perception.frames import DATA_FILE, read_meta, write_atomic
from robolang.perception.layout import EstimatorDataError

SVTAV1_MIN_SIDE = 28


@dataclass(frozen=True)
class VideoCodec:
    """How a recording encodes camera video (defaults: LeRobot's, as ``robolang collect`` records)."""

    vcodec: str = "libsvtav1"
    crf: int = 30
    gop: int = 2  # a keyframe every ``gop`` frames
    preset: int | None = 12  # SVT-AV1's speed preset (LeRobot's); ignored by other codecs
    pix_fmt: str = "yuv420p"

    def options(self) -> dict[str, str]:
        opts = {"g": str(self.gop), "crf": str(self.crf)}
        if self.vcodec == "libsvtav1" and self.preset is not None:
            opts["preset"] = str(self.preset)
        return opts


def round_trip(images: np.ndarray, codec: VideoCodec = VideoCodec()) -> np.ndarray:
    """(N, H, W, 3) uint8 frames encoded as one video with ``codec`` and decoded again (same shape)."""
    import av

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"round_trip needs (N, H, W, 3) uint8 frames, got {images.dtype} {images.shape}")
    if len(images) == 0:
        return images.copy()
    if codec.vcodec == "libsvtav1" and min(images.shape[1:3]) < SVTAV1_MIN_SIDE:
        raise ValueError(
            f"{images.shape[2]}x{images.shape[1]} px frames: SVT-AV1 aborts the process below "
            f"{SVTAV1_MIN_SIDE} px a side (measured: 24 px crashes, 28 px works); pick another codec.vcodec"
        )
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream(codec.vcodec, rate=10)
        stream.height, stream.width = images.shape[1:3]
        stream.pix_fmt, stream.options = codec.pix_fmt, codec.options()
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        out = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])])
    if out.shape != images.shape:
        raise RuntimeError(f"the {codec.vcodec} round trip returned {out.shape} for {images.shape} frames")
    return out


def recode_frames(arrays: dict[str, np.ndarray], codec: VideoCodec = VideoCodec()) -> dict[str, np.ndarray]:
    """A frames dict (``draw_frames``/a shard) with every camera's images through ``codec``; labels kept."""
    return {k: round_trip(v, codec) if k in CAMERA_NAMES else v for k, v in arrays.items()}


def recode_folder(data: Path | str, out: Path | str, codec: VideoCodec = VideoCodec()) -> int:
    """Write ``out``: the frames folder ``data`` with its camera images through ``codec``, shard by shard
    (crash-safe: a rerun writes only the shards ``out`` lacks). Returns the shards written now."""
    data, out = Path(data), Path(out)
    meta = read_meta(data)
    if out.resolve() == data.resolve():
        raise EstimatorDataError(f"out={out} is the data folder itself; recode into a new folder")
    shards = sorted(data.glob("shard_*.npz"))
    if not shards:
        raise EstimatorDataError(f"data={data} holds no shards to recode")
    recoded = {**meta, "recorded_codec": asdict(codec), "recoded_from": str(data.absolute())}
    if (out / DATA_FILE).exists():
        old = json.loads((out / DATA_FILE).read_text())
        if old.get("recorded_codec") != asdict(codec) or old.get("recoded_from") != recoded["recoded_from"]:
            raise EstimatorDataError(f"{out} holds frames recoded from elsewhere or with another codec; use a new out=")
    elif out.is_dir() and any(out.iterdir()):
        raise EstimatorDataError(f"out={out} is a folder that holds no frames ({DATA_FILE}); use a new out=")
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / DATA_FILE, lambda f: f.write(json.dumps(recoded, indent=1).encode()))
    todo = [s for s in shards if not (out / s.name).exists()]
    for shard in tqdm(todo, unit="shard", desc=f"recode ({codec.vcodec})"):
        with np.load(shard) as z:
            try:
                arrays = recode_frames({k: z[k] for k in z.files}, codec)
            except ValueError as e:  # frames the codec cannot take, named
                raise EstimatorDataError(f"{shard}: {e}") from None
        write_atomic(out / shard.name, lambda f, a=arrays: np.savez_compressed(f, **a))
    return len(todo)
