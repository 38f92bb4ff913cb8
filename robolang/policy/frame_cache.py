"""Every frame of a dataset decoded once, kept as memory-mapped uint8 arrays reused across runs.

LeRobotDataset decodes video for each sample it serves (63 samples/s here, DESIGN.md); training
needs thousands. ``FrameCache.open(root)`` decodes each camera's videos once into a
``(total_frames, 3, H + 2p, W + 2p)`` uint8 ``.npy`` file read through ``np.memmap`` (channels
first, the batch contract's layout: gathering frames then needs no transpose, which measured
~10 ms per 128 frames in numpy; a border of p = ``PAD_FRACTION`` x H replicated pixels so that
shifted crops come straight out of the memmap), and keeps ``observation.state`` and ``action`` from the parquet files as
small numpy arrays beside them. Rows are the dataset's global frame ``index``.

The cache lives in ``~/.cache/robolang/frames/<hash of the dataset's absolute path>`` unless told
otherwise, and carries a manifest with a fingerprint of the dataset (frame and episode counts,
size and mtime of every data and video file). A mismatch rebuilds it. Annotation changes do not:
``update_meta`` makes a new snapshot whose data and videos are hard links with the same size and
mtime. A build happens in a temporary folder renamed into place only when complete, under a
file lock (two training processes decode once, the second waits and reuses), so a crash never
leaves a half cache that a later run would use; leftovers of a crashed build are removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import mmap
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from robolang.dataset_tools import load_episodes, load_info
from robolang.errors import RobolangError
from robolang.features import CAMERA_NAMES, CONTROL_FPS, KEY_ACTION, KEY_STATE, image_key

CACHE_FORMAT = 2  # bump when the files or their layout change
# Frames are stored with this much edge-replicated border (4 px at 128x128) so that a random
# shift (DrQ-style augmentation, up to this many pixels) is one strided copy out of the memmap:
# gathering and shifting 128 frames then costs ~0.5 ms instead of ~3 ms (measured here).
PAD_FRACTION = 4 / 128
DEFAULT_ROOT = Path("~/.cache/robolang/frames")
ARRAYS = ("state", "action", "episode_index", "frame_index")


class DatasetMissingError(RobolangError, FileNotFoundError):
    """No LeRobotDataset at the given path."""


def default_cache_dir(root: str | Path) -> Path:
    """``~/.cache/robolang/frames/<hash>`` (``$ROBOLANG_FRAME_CACHE/<hash>`` when set): the
    dataset's absolute path, not its resolved snapshot, so a new snapshot keeps its cache."""
    base = Path(os.environ.get("ROBOLANG_FRAME_CACHE", DEFAULT_ROOT)).expanduser()
    digest = hashlib.sha256(str(Path(root).absolute()).encode()).hexdigest()[:16]
    return base / f"{Path(root).name}-{digest}"


def fingerprint(root: Path) -> dict:
    """What identifies a dataset's frames: counts, and (path, size, mtime) of data and video files."""
    info = load_info(root)
    files = sorted(p for sub in ("data", "videos") for p in (root / sub).rglob("*") if p.is_file())
    stats = [[str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    return {
        "format": CACHE_FORMAT,
        "total_frames": int(info["total_frames"]),
        "total_episodes": int(info["total_episodes"]),
        "files": stats,
    }


@dataclass
class FrameCache:
    """A dataset's frames and low-dimensional arrays, indexed by global frame index.

    ``images[camera]`` is a read-only ``(N, 3, H, W)`` uint8 view of the memmap ``padded[camera]``
    ``(N, 3, H + 2 pad, W + 2 pad)``; ``gather`` reads frames out of it, shifted or not; ``state`` ``(N, 12)`` and
    ``action`` ``(N, 5)`` float32; ``episode_index`` / ``frame_index`` ``(N,)`` int64;
    ``episode_start`` maps an episode to its first global index and ``episode_length`` to its
    frame count. ``build_s`` is the seconds spent decoding in this ``open`` (0 when reused).
    """

    path: Path
    padded: dict[str, np.ndarray]
    state: np.ndarray
    action: np.ndarray
    episode_index: np.ndarray
    frame_index: np.ndarray
    episode_start: dict[int, int]
    episode_length: dict[int, int]
    pad: int
    build_s: float = 0.0

    @property
    def images(self) -> dict[str, np.ndarray]:
        p = self.pad
        return {cam: a[:, :, p : a.shape[2] - p, p : a.shape[3] - p] for cam, a in self.padded.items()}

    def __len__(self) -> int:
        return len(self.state)

    def gather(self, camera: str, index: np.ndarray, dy: np.ndarray | int = 0, dx: np.ndarray | int = 0) -> np.ndarray:
        """uint8 ``(len(index), 3, H, W)``: the frames at global ``index`` (1-D), their content
        moved down by ``dy`` and right by ``dx`` pixels (|shift| <= ``pad``; edges replicated)."""
        padded = self.padded[camera]
        h, w = padded.shape[2] - 2 * self.pad, padded.shape[3] - 2 * self.pad
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))  # (N, 3, 2p+1, 2p+1, H, W)
        return windows.transpose(0, 2, 3, 1, 4, 5)[index, self.pad - dy, self.pad - dx]  # one strided copy

    def prefault(self, max_fraction_of_ram: float = 0.5) -> bool:
        """Map every image page into this process now, if the images take at most
        ``max_fraction_of_ram`` of the available memory (else leave paging to the kernel).

        A frame's first touch in a process costs page faults: ~4 ms per 128 random frames,
        10x the copy itself (measured here); touching one byte per page costs ~1 s per GB once."""
        size = sum(a.nbytes for a in self.padded.values())
        if size > max_fraction_of_ram * _available_memory():
            return False
        for frames in self.padded.values():
            int(frames.reshape(-1)[:: mmap.PAGESIZE].sum(dtype=np.int64))
        return True

    @classmethod
    def open(
        cls, root: str | Path, cache_dir: str | Path | None = None, progress: bool = True, rebuild: bool = False
    ) -> FrameCache:
        """The cache of the dataset at ``root``: reused when its fingerprint matches, else (or
        with ``rebuild``) decoded anew."""
        root = Path(root)
        if not (root / "meta" / "info.json").exists():
            raise DatasetMissingError(
                f"no dataset at {root} (no meta/info.json); record one with `robolang collect out={root}`"
            )
        dest = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _Lock(dest):
            _remove_leftovers(dest)
            expected = fingerprint(root)
            build_s = 0.0
            if rebuild or _manifest(dest) != expected:
                t0 = time.perf_counter()
                _build(root, dest, expected, progress)
                build_s = time.perf_counter() - t0
            return cls._load(dest, build_s)

    @classmethod
    def _load(cls, dest: Path, build_s: float) -> FrameCache:
        arrays = {name: np.load(dest / f"{name}.npy") for name in ARRAYS}
        pad = json.loads((dest / "manifest.json").read_text())["pad"]
        images = {cam: np.load(dest / f"{cam}.npy", mmap_mode="r") for cam in CAMERA_NAMES}
        episodes, starts = np.unique(arrays["episode_index"], return_index=True)
        counts = np.bincount(np.searchsorted(episodes, arrays["episode_index"]))
        return cls(
            dest,
            images,
            arrays["state"],
            arrays["action"],
            arrays["episode_index"],
            arrays["frame_index"],
            {int(e): int(s) for e, s in zip(episodes, starts, strict=True)},
            {int(e): int(c) for e, c in zip(episodes, counts, strict=True)},
            pad,
            build_s,
        )


def _available_memory() -> int:
    """Bytes the kernel could give without swapping (MemAvailable: free plus reclaimable cache)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * mmap.PAGESIZE // 2


class _Lock:
    """An exclusive ``flock`` beside the cache folder (released by the OS even on SIGKILL)."""

    def __init__(self, dest: Path):
        self.path = dest.with_name(f".{dest.name}.lock")

    def __enter__(self):
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _manifest(dest: Path) -> dict | None:
    try:
        return json.loads((dest / "manifest.json").read_text())["fingerprint"]
    except (OSError, ValueError, KeyError):
        return None


def _remove_leftovers(dest: Path) -> None:
    """Temporary and replaced folders of builds that crashed (only ever touched under the lock)."""
    for p in list(dest.parent.glob(f".{dest.name}.tmp-*")) + list(dest.parent.glob(f".{dest.name}.old-*")):
        shutil.rmtree(p, ignore_errors=True)


def _build(root: Path, dest: Path, expected: dict, progress: bool) -> None:
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    tmp.mkdir()
    try:
        info, episodes = load_info(root), load_episodes(root)
        arrays = read_arrays(root, info)
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array)
        total, pad = len(arrays["state"]) * len(CAMERA_NAMES), None
        with _Progress(total, progress) as bar:
            for cam in CAMERA_NAMES:
                key = image_key(cam)
                if key not in info["features"]:
                    raise ValueError(f"{root} has no camera stream {key!r}; its features: {sorted(info['features'])}")
                h, w, _ = info["features"][key]["shape"]
                pad = round(PAD_FRACTION * h) if pad is None else pad
                shape = (len(arrays["state"]), 3, h + 2 * pad, w + 2 * pad)
                frames = np.lib.format.open_memmap(tmp / f"{cam}.npy", "w+", np.uint8, shape)
                _decode_camera(root, info, episodes, key, frames, pad, bar)
                frames.flush()
                del frames
        manifest = {"fingerprint": expected, "pad": pad, "dataset": str(root.absolute()), "built": time.time()}
        (tmp / "manifest.json").write_text(json.dumps(manifest))  # written last: its presence means complete
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        if dest.exists():
            os.replace(dest, old)  # a reader holding the old memmaps keeps them (unlinked, still mapped)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_arrays(root: Path, info: dict) -> dict[str, np.ndarray]:
    """State, action, episode and frame indices of every frame, in global ``index`` order."""
    return read_columns(root, info, {KEY_STATE: "state", KEY_ACTION: "action"}, ("episode_index", "frame_index"))


def read_columns(root: Path, info: dict, vectors: dict[str, str], scalars=()) -> dict[str, np.ndarray]:
    """Parquet columns of every frame in global ``index`` order: ``vectors`` (list<float>
    columns -> (N, D) float32, keyed by the name they map to) and integer ``scalars`` (N,)."""
    columns = [*vectors, *scalars, "index"]
    tables = [pq.read_table(f, columns=columns) for f in sorted((root / "data").rglob("*.parquet"))]
    index = np.concatenate([t.column("index").to_numpy() for t in tables])
    order = np.argsort(index, kind="stable")
    if not np.array_equal(index[order], np.arange(int(info["total_frames"]))):
        raise ValueError(f"{root}: frame indices are not 0..{info['total_frames'] - 1}; run `robolang dataset verify`")

    def column(name: str, dtype) -> np.ndarray:
        chunks = [t.column(name).combine_chunks() for t in tables]
        if name in vectors:  # list<float> columns: flatten, then one row per frame
            chunks = [np.asarray(c.flatten(), dtype).reshape(len(c), -1) for c in chunks]
        return np.concatenate([np.asarray(c, dtype) for c in chunks])[order]

    out = {key: column(name, np.float32) for name, key in vectors.items()}
    return out | {name: column(name, np.int64) for name in scalars}


def _decode_camera(root: Path, info: dict, episodes, key: str, out: np.ndarray, pad: int, bar) -> None:
    """Decode every video file of stream ``key`` once, front to back, into ``out`` rows
    (each frame channels first with a ``pad``-pixel replicated border)."""
    files: dict[tuple[int, int], list] = {}
    for _, ep in episodes.iterrows():
        files.setdefault((int(ep[f"videos/{key}/chunk_index"]), int(ep[f"videos/{key}/file_index"])), []).append(ep)
    for (chunk, file), eps in sorted(files.items()):
        path = root / info["video_path"].format(video_key=key, chunk_index=chunk, file_index=file)
        eps = sorted(eps, key=lambda e: float(e[f"videos/{key}/from_timestamp"]))
        spans = [(float(e[f"videos/{key}/from_timestamp"]), float(e[f"videos/{key}/to_timestamp"])) for e in eps]
        _decode_file(path, spans, [(int(e["dataset_from_index"]), int(e["length"])) for e in eps], out, pad, bar)


def _decode_file(path: Path, spans, targets, out: np.ndarray, pad: int, bar) -> None:
    """Frames whose time lies in an episode's [from, to) (half a frame of tolerance, as
    ``dataset_tools.count_frames``) go to that episode's rows; every count is checked."""
    import av  # PyAV only where video is decoded (the state policy trains without it)

    written = [0] * len(spans)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: ~2,200 frames/s at 128x128 AV1 here
        half = 0.5 / float(stream.average_rate or CONTROL_FPS)
        j = 0
        for frame in container.decode(stream):
            t = frame.time
            while j < len(spans) and t >= spans[j][1] - half:
                j += 1
            if j == len(spans):
                break
            if t < spans[j][0] - half:
                continue
            start, length = targets[j]
            if written[j] < length:
                chw = frame.to_ndarray(format="rgb24").transpose(2, 0, 1)
                out[start + written[j]] = np.pad(chw, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
            written[j] += 1
            bar.update(1)
    bad = [(s, n, w) for (s, n), w in zip(targets, written, strict=True) if w != n]
    if bad:
        raise ValueError(
            f"{path}: decoded frame counts differ from episode lengths (first index, length, decoded): {bad}"
        )


class _Progress:
    """A tqdm bar, or a do-nothing stand-in when progress is off."""

    def __init__(self, total: int, show: bool):
        self.total, self.show = total, show

    def __enter__(self):
        if self.show:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc="decoding frames into the cache", unit="frame")
            return self.bar
        return self

    def update(self, n: int) -> None:
        pass

    def __exit__(self, *exc):
        if self.show:
            self.bar.close()
