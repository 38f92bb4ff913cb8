"""A captioner that sees only images: estimated scene states, the oracle's task predicates.

For data without the simulator's scene state (a real arm's, or any dataset from elsewhere),
the state estimator (``robolang estimator train``) reads every frame's cameras and
proprioception; its estimates fill a scene-state series with the field names the oracle
captioner reads, and the same declarative predicates (``robolang.captioning.tasks``) segment
it. What the cameras do not give is stood in for by geometry and physics:

- **a held object moves with the hand**: while the fingers are closed to about an object's
  width and its estimate is within ``HOLD_RADIUS_M`` of the fingertips, it is at the fingertips;
- **objects move only when the robot is near**: where the gripper is farther than
  ``QUIET_RADIUS_M`` from an object (over a few frames either side), the object's estimate is
  held at its median over that quiet stretch, so estimate jitter is not read as motion; near
  the gripper, a running median over ``SMOOTH_FRAMES`` frames;
- **contact flags** from distances: gripper (the object between the fingertips, the hand
  closed on it), table (resting height), another object (on top, within the base's footprint),
  drawer (inside its box); other fixtures never;
- **the light changes only while the hand is at its button**: between two visits it is what the
  estimate says most of that stretch;
- **orientation**: upright about the estimated yaw, or lying on its side when the estimated
  centre is far below its upright resting height (a toppled object).

The scene description (object sizes, fixture positions; ``meta/robolang_scene.json``) must be
in the dataset (a real set-up writes it once). Image sizes the estimator was not trained on are
refused, naming both. How well this works against the oracle, where the truth is known:
``robolang.captioning.vision_quality`` and BENCHMARKS.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from robolang.captioning.errors import CaptionError
from robolang.captioning.states import EpisodeStates, SceneInfo, read_scene
from robolang.features import CAMERA_NAMES, KEY_STATE, STATE_NAMES, image_key

QUIET_RADIUS_M = 0.10  # farther than this from the gripper, an object cannot be moving
QUIET_MARGIN = 3  # frames either side of a near frame that still count as near
SMOOTH_FRAMES = 5  # running median near the gripper
FINGERTIPS_BELOW_EE_M = 0.002  # grasp centre below the end-effector frame (held objects in the sim: 1-4 mm)
HOLD_RADIUS_M = 0.05  # an estimate this close to the closed fingertips is the object in the hand
GRIP_XY_M = 0.03  # object centre within this of the fingertips' axis ...
GRIP_Z_M = 0.035  # ... and this of their height
TABLE_Z_M = 0.012  # centre within this of its resting height: on the table
STACK_Z_M = 0.015
TOPPLED_RATIO = 0.7  # centre below this share of its upright half height: lying on its side
BUTTON_REACH_M, BUTTON_TOP_M = 0.05, 0.10  # the hand at the button: this close in xy, this low
BATCH = 256


class VisionCaptionError(CaptionError):
    """Data the vision captioner cannot read: missing cameras or scene description, other image sizes."""


def check_cameras(trained: dict, info: dict, root: Path) -> None:
    """Refuse a dataset whose images are not the sizes the estimator was trained on, naming both."""
    features = info.get("features", {})
    for camera, shape in trained.items():
        key = image_key(camera)
        if key not in features:
            raise VisionCaptionError(f"{root} has no {key} video; the estimator reads {sorted(trained)}")
        have = list(features[key]["shape"])
        if [int(v) for v in have] != [int(v) for v in shape]:
            raise VisionCaptionError(
                f"{root}: {camera} images are {have[1]}x{have[0]} px, the estimator was trained on "
                f"{shape[1]}x{shape[0]}: train or pick an estimator for these images"
            )


def episode_videos(root: Path, keys: tuple[str, ...]) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """(episode, camera -> (T, H, W, 3) uint8) for every episode, each video file decoded once."""
    import av

    from robolang.dataset_tools import load_episodes, load_info

    info, episodes = load_info(root), load_episodes(root).sort_values("episode_index")
    decoded: dict[tuple[str, str], list] = {}

    def frames_of(key: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
        if (key, str(path)) not in decoded:
            decoded.clear() if len(decoded) >= 2 * len(keys) else None  # keep the current files only
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                pairs = [(f.time, f.to_ndarray(format="rgb24")) for f in container.decode(stream)]
            times = np.array([t for t, _ in pairs])
            decoded[(key, str(path))] = [times, np.stack([img for _, img in pairs])]
        return decoded[(key, str(path))]

    for ep in episodes.to_dict("records"):
        out = {}
        for camera in keys:
            key = image_key(camera)
            path = root / info["video_path"].format(
                video_key=key, chunk_index=int(ep[f"videos/{key}/chunk_index"]),
                file_index=int(ep[f"videos/{key}/file_index"]),
            )  # fmt: skip
            times, images = frames_of(key, path)
            half = 0.5 / info["fps"]
            t0, t1 = float(ep[f"videos/{key}/from_timestamp"]), float(ep[f"videos/{key}/to_timestamp"])
            chosen = (times >= t0 - half) & (times < t1 - half)
            out[camera] = images[chosen]
        yield int(ep["episode_index"]), out


def proprioception(root: Path) -> dict[int, np.ndarray]:
    """Episode -> (T, len(STATE_NAMES)) proprioception, frames in order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((root / "data").glob("chunk-*/file-*.parquet"))
    table = pa.concat_tables([pq.read_table(f, columns=[KEY_STATE, "episode_index", "frame_index"]) for f in files])
    state = table.column(KEY_STATE).combine_chunks().flatten().to_numpy().reshape(table.num_rows, len(STATE_NAMES))
    episode, frame = table.column("episode_index").to_numpy(), table.column("frame_index").to_numpy()
    order = np.lexsort((frame, episode))
    episode, state = episode[order], state[order]
    return {int(e): state[episode == e] for e in np.unique(episode)}


def running_median(x: np.ndarray, width: int) -> np.ndarray:
    """(T, ...) median over ``width`` frames centred on each (shorter at the ends)."""
    half = width // 2
    padded = np.concatenate([np.repeat(x[:1], half, 0), x, np.repeat(x[-1:], half, 0)])
    windows = np.stack([padded[i : i + len(x)] for i in range(width)])
    return np.median(windows, axis=0)


def toggled_only_by(pressing: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """(T,) bool: a switch that changes state only while the hand is at its button: between two
    presses it is what the estimate says most of that stretch."""
    state = np.zeros(len(probability), bool)
    edges = np.flatnonzero(np.diff(pressing.astype(np.int8)) != 0) + 1
    for part in np.split(np.arange(len(probability)), edges):
        if len(part):
            state[part] = np.median(probability[part]) > 0.5
    return state


def settle(position: np.ndarray, ee: np.ndarray) -> np.ndarray:
    """(T, 3) object positions with the physics prior: still unless the gripper is near."""
    near = np.linalg.norm(position - ee, axis=1) < QUIET_RADIUS_M
    if QUIET_MARGIN:
        kernel = np.ones(2 * QUIET_MARGIN + 1, bool)
        near = np.convolve(near, kernel, mode="same") > 0
    out = running_median(position, SMOOTH_FRAMES)
    t = np.arange(len(near))
    quiet_starts = np.flatnonzero(~near & np.concatenate([[True], near[:-1]]))
    for start in quiet_starts:
        end = start
        while end < len(near) and not near[end]:
            end += 1
        out[start:end] = np.median(position[start:end], axis=0)
    return out if len(t) else position


class EstimatedScene:
    """Builds a scene-state series (T, N) with the oracle's field names from estimates."""

    def __init__(self, fields: tuple[str, ...], scene: SceneInfo, layout, thresholds):
        self.fields, self.scene, self.layout, self.c = fields, scene, layout, thresholds
        self.index = {f: i for i, f in enumerate(fields)}

    def __call__(self, estimate: dict[str, np.ndarray], proprio: np.ndarray) -> np.ndarray:
        T = len(proprio)
        out = np.zeros((T, len(self.fields)), np.float32)
        for name, i in zip(STATE_NAMES, range(len(STATE_NAMES)), strict=True):
            if name in self.index:
                out[:, self.index[name]] = proprio[:, i]
        ee = proprio[:, :3]
        positions = {}
        in_hand = self._in_hand(estimate["position"], proprio)
        for k, o in enumerate(self.layout.objects):
            p = settle(estimate["position"][:, k], ee)
            p[in_hand == k] = ee[in_hand == k] - [0.0, 0.0, FINGERTIPS_BELOW_EE_M]  # held: it moves with the hand
            positions[o] = p
            info = self.scene.object(o)
            yaw = np.nan_to_num(running_median(estimate["yaw"][:, k], SMOOTH_FRAMES), nan=0.0)
            lying = p[:, 2] < TOPPLED_RATIO * info.half_height
            half = yaw / 2
            q = np.stack([np.zeros(T), np.zeros(T), np.sin(half), np.cos(half)], 1)
            q[lying] = [np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5)]  # on its side: 90 deg about x
            for axis, j in zip("xyz", range(3), strict=True):
                out[:, self.index[f"{o}.{axis}"]] = p[:, j]
            for axis, j in zip(("qx", "qy", "qz", "qw"), range(4), strict=True):
                out[:, self.index[f"{o}.{axis}"]] = q[:, j]
            if f"{o}.yaw" in self.index:
                out[:, self.index[f"{o}.yaw"]] = yaw
        for k, f in enumerate(self.layout.fixtures):
            out[:, self.index[f"{f}.pos"]] = running_median(estimate["fixture"][:, k], SMOOTH_FRAMES)
        pressing = self._near_button(proprio)
        for k, s in enumerate(self.layout.switches):
            out[:, self.index[f"{s}.on"]] = toggled_only_by(pressing, estimate["switch"][:, k])
        self._contacts(out, positions, proprio)
        return out

    def _in_hand(self, position: np.ndarray, proprio: np.ndarray) -> np.ndarray:
        """(T,) index of the object the closed hand holds (-1: none): the nearest estimate to the
        fingertips, within ``HOLD_RADIUS_M``, the fingers closed to about its width."""
        tips = proprio[:, None, :3] - np.array([0.0, 0.0, FINGERTIPS_BELOW_EE_M])
        distance = np.linalg.norm(running_median(position, SMOOTH_FRAMES) - tips, axis=2)  # (T, O)
        width = proprio[:, STATE_NAMES.index("gripper.width")]
        sizes = [self.scene.object(o).size for o in self.layout.objects]
        fits = np.stack([(width > min(sz[:2]) - 0.012) & (width < max(sz[:2]) + 0.005) for sz in sizes], 1)
        distance = np.where(fits & (distance < HOLD_RADIUS_M), distance, np.inf)
        nearest = np.argmin(distance, axis=1)
        held = np.isfinite(distance[np.arange(len(distance)), nearest])
        held = running_median(held.astype(np.float32), SMOOTH_FRAMES) > 0.5
        return np.where(held, nearest, -1)

    def _near_button(self, proprio: np.ndarray) -> np.ndarray:
        """(T,) the fingertips at the button (within ``BUTTON_REACH_M`` of it, over a few frames)."""
        tips = proprio[:, :3] - np.array([0.0, 0.0, FINGERTIPS_BELOW_EE_M])
        near = np.hypot(*(tips[:, :2] - np.asarray(self.scene.button)).T) < BUTTON_REACH_M
        near &= tips[:, 2] < BUTTON_TOP_M
        return np.convolve(near, np.ones(2 * QUIET_MARGIN + 1, bool), mode="same") > 0

    def _contacts(self, out: np.ndarray, positions: dict[str, np.ndarray], proprio: np.ndarray) -> None:
        tips = proprio[:, :3] - np.array([0.0, 0.0, FINGERTIPS_BELOW_EE_M])
        width = proprio[:, STATE_NAMES.index("gripper.width")]
        drawer = out[:, self.index["drawer.pos"]] if "drawer.pos" in self.index else np.zeros(len(out))
        (lx, ly, lz), (hx, hy, hz) = self.c.drawer_inside
        cx, cy = self.scene.drawer_cabinet
        for o, p in positions.items():
            info = self.scene.object(o)
            d = p - tips
            between = (np.hypot(d[:, 0], d[:, 1]) < GRIP_XY_M) & (np.abs(d[:, 2]) < GRIP_Z_M)
            closed_on = width < max(info.size[:2]) + 0.01
            self._set(out, o, "gripper", between & closed_on)
            self._set(out, o, "robot", between)
            rest_z = np.where(p[:, 2] < TOPPLED_RATIO * info.half_height, min(info.size[:2]) / 2, info.half_height)
            self._set(out, o, "table", np.abs(p[:, 2] - rest_z) < TABLE_Z_M)
            inside = (p[:, 0] >= cx + lx) & (p[:, 0] <= cx + hx) & (p[:, 1] >= cy + ly + drawer)
            inside &= (p[:, 1] <= cy + hy + drawer) & (p[:, 2] >= lz) & (p[:, 2] <= hz)
            self._set(out, o, "drawer", inside)
            for other, q in positions.items():
                if other <= o:
                    continue
                oi = self.scene.object(other)
                gap = np.abs(p[:, 2] - q[:, 2]) - info.half_height - oi.half_height
                over = np.hypot(*(p[:, :2] - q[:, :2]).T) < max(info.footprint, oi.footprint)
                self._set(out, o, other, over & (np.abs(gap) < STACK_Z_M))

    def _set(self, out: np.ndarray, a: str, b: str, value: np.ndarray) -> None:
        for key in (f"contact.{a}.{b}", f"contact.{b}.{a}"):
            if key in self.index:
                out[:, self.index[key]] = value
                return


def estimated_episodes(root: Path, estimator, thresholds, progress: bool = False):
    """(episode, EpisodeStates) of every episode, estimated from the cameras (see the module notes)."""
    from robolang.dataset_tools import load_info

    root = Path(root)
    info = load_info(root)
    trained = estimator.config.cameras
    check_cameras(trained, info, root)
    if not (root / "meta" / "robolang_scene.json").exists():
        raise VisionCaptionError(
            f"{root} has no meta/robolang_scene.json: the captioner needs the scene's objects (sizes, shapes) "
            "and fixture positions; write it once for the set-up"
        )
    scene = read_scene(root)
    fields = tuple(estimator.config.scene_fields)
    build = EstimatedScene(fields, scene, estimator.layout, thresholds)
    proprio = proprioception(root)
    cameras = tuple(c for c in CAMERA_NAMES if c in trained)
    stream = episode_videos(root, cameras)
    if progress:
        from tqdm import tqdm

        stream = tqdm(stream, total=int(info["total_episodes"]), desc="estimate", unit="episode")
    for episode, images in stream:
        state = proprio[episode]
        n = min(len(state), *(len(v) for v in images.values()))
        parts = [estimator.predict({c: images[c][i : i + BATCH] for c in cameras}, state[i : i + BATCH])
                 for i in range(0, n, BATCH)]  # fmt: skip
        estimate = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        yield episode, EpisodeStates(build(estimate, state[:n]), fields, scene)
