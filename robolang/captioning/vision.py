"""A captioner that sees only images: estimated scene states, the oracle's task predicates.

For data without the simulator's scene state (a real arm's, or any dataset from elsewhere),
the state estimator (``robolang estimator train``) reads every frame's cameras and
proprioception; its estimates fill a scene-state series with the field names the oracle
captioner reads, and the same declarative predicates (``robolang.captioning.tasks``) segment
it. What the cameras do not give is stood in for by geometry and physics:

- **an object the hand does not hold stays put unless its readings jump at a touch**: between
  two things the hand did to it, one place from one touch to the next, pooled across a touch
  unless the places either side are ``MOVED_M`` apart (``_pool_still``), and where the hand let it
  go or next grasps it, there, height included, unless its readings are ``MOVED_M`` from that
  (``_stay_at_anchors``: a tower stays standing when the hand reaches beside it); let go in the
  drawer, it rides with the drawer until the hand takes it out; and
- **objects move only when the hand is near**: where the fingertips are farther than
  ``QUIET_RADIUS_M`` from where an object rests, or above its top by more than ``HAND_ABOVE_M``
  (over a few frames either side), the object's estimate is held at its median over that quiet
  stretch, so estimate jitter is not read as motion; with the hand near, it is where it rested
  just before or after (the cameras read an object worst under the hand);
- **the hand pins what it holds**: the fingers stopped at an object's width (proprioception)
  hold the object of that width read nearest the fingertips as they close; it is at the fingertips from the grasp to
  the release, where it rested it was at the grasp point, and after the release it is at the
  release point, on whatever is under it (``pin_to_hand``: the millimetres of proprioception
  replace the centimetres of the cameras);
- **a drawer or door moves only with the hand at its cabinet**: elsewhere its estimate is held
  at the median of that stretch;
- **contact flags** from distances: gripper (the object between the fingertips, the hand
  closed on it), table (resting height, on no other object), another object (on top, within the base's footprint),
  drawer (inside its box); other fixtures never;
- **every press of the button toggles the light** (the lamp's latch), and only then: where the
  presses read from the button's estimate explain the cameras' readings (``TOGGLE_AGREEMENT``),
  the cameras only say how it started; elsewhere the light is the most likely series of their
  readings with changes only where the hand is at the button, likely where a press was read
  (``switch_track``);
- **the hand calibrates the cameras**: where the hand grasped or let go of an object, the cameras'
  reading of it resting just before or after says how far off they read it (``hand_residuals``);
  with ``CALIBRATE_MIN`` such readings, the positions only the cameras give are moved by their
  median offset, and the offsets' scatter is added to how unsure those positions are;
- **a label is kept only where the cameras' uncertainty could not undo it** (``EstimatedScene.build``
  draws, ``agreed``; ``VisionConfig``): the episode is segmented again with every camera-given
  position moved by a random offset of its uncertainty, and labels too few draws find are dropped;
- **an object turns only while held, with the wrist** (``turn_with_hand``): the cameras give
  its yaw before the first grasp, proprioception every turn after;
- **orientation**: upright about that yaw, or lying on its side when the estimated
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

from robolang.captioning.config import CaptionConfig
from robolang.captioning.errors import CaptionError
from robolang.captioning.states import EpisodeStates, SceneInfo, read_scene
from robolang.features import CAMERA_NAMES, KEY_STATE, STATE_NAMES, image_key

QUIET_RADIUS_M = 0.10  # farther than this from the gripper, an object cannot be moving ...
HAND_ABOVE_M = 0.03  # ... or with the fingertips this far above its top
QUIET_MARGIN = 3  # frames either side of a near frame that still count as near
SMOOTH_FRAMES = 5  # running median near the gripper
FINGERTIPS_BELOW_EE_M = 0.002  # grasp centre below the end-effector frame (held objects in the sim: 1-4 mm)
HOLD_RADIUS_M = 0.10  # read this close to the closing fingertips, an object is the one they hold
CLOSING_FRAMES = 6  # frames from the fingers' stop over which that reading is taken
GRIP_BELOW_M = 0.003  # fingers closed on an object: their width down to this below its narrow side ...
GRIP_SLACK_M = 0.008  # ... and up to this above it
WIDTH_WEIGHT = (
    30.0  # of objects that fit, 1 mm closer to the fingers' width counts as 3 cm nearer (the cameras: cm off)
)
MIN_HELD_FRAMES = 3  # a shorter hold is not trusted as a grasp and release
PIN_ROUNDS = 2  # where the hand was near, judged again from the pinned positions
MOVED_M = 0.08  # an object the hand did not hold moved at a touch only if its places either side are this far apart
GRIP_XY_M = 0.03  # object centre within this of the fingertips' axis ...
GRIP_Z_M = 0.035  # ... and this of their height
TABLE_Z_M = 0.012  # centre within this of its resting height: on the table
STACK_Z_M = 0.015
TOPPLED_RATIO = 0.7  # centre below this share of its upright half height: lying on its side
BUTTON_REACH_M, BUTTON_TOP_M = 0.05, 0.10  # the hand at the button: this close in xy, this low
FIXTURE_REACH_M, FIXTURE_TOP_M = 0.32, 0.25  # the hand can move a drawer or door: this close to its cabinet, this low
SUPPORT_MIN_M = 0.014  # let go with its underside higher than this above the table: it lands on something
SUPPORT_BELOW_M, SUPPORT_ABOVE_M = 0.01, 0.025  # the support's top this far above/below that underside
SUPPORT_REACH_M = 0.25  # and its estimate within this of the release point; of several, the nearest, where
RELEASE_DROP_M = 0.007  # ... the underside's usual height above the top at the release (the oracle's play) ...
DROP_WEIGHT = 10.0  # ... counts too: 1 mm off it as 1 cm farther
TOGGLE_AGREEMENT = 0.8  # every press read toggles: used where that agrees with the cameras this often
READ_RIGHT = 0.85  # the cameras read the light right this often (the estimator: 92-100% of frames)
TOGGLE_PRESSED, TOGGLE_UNPRESSED = 0.9, 0.1  # a visit to the button toggles the light with a press read, without
CALIBRATE_MIN = 3  # with this many grasps and releases read, the cameras' offset for that object is corrected
MAD_TO_STD = 1.4826  # a normal's standard deviation per median absolute deviation
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


def switch_track(probability: np.ndarray, pressing: np.ndarray, count: np.ndarray | None) -> np.ndarray:
    """(T,) bool: the most likely on/off series of a lamp that every press of its button toggles
    (Viterbi over the two states). The cameras read it right in ``READ_RIGHT`` of the frames; it can
    change only while the hand is at the button, at the first press read from the button's estimate
    (``count``: presses so far), likely after an odd number of presses in that visit
    (``TOGGLE_PRESSED``), unlikely otherwise (``TOGGLE_UNPRESSED``, in the visit's middle)."""
    T = len(probability)
    flip = np.zeros(T)  # nowhere else
    for a, b in _runs(pressing):
        onsets = a + np.flatnonzero(np.diff(count[max(a - 1, 0) : b + 1]) > 0) if count is not None else []
        onsets = [t for t in onsets if t <= b]
        t = onsets[0] if len(onsets) else (a + b) // 2
        flip[t] = TOGGLE_PRESSED if len(onsets) % 2 else TOGGLE_UNPRESSED
    seen = probability > 0.5
    emit = np.log(np.where(seen[:, None] == np.array([False, True]), READ_RIGHT, 1 - READ_RIGHT))  # (T, 2)
    score, back = emit[0] + np.log(0.5), np.zeros((T, 2), np.int8)
    with np.errstate(divide="ignore"):
        log_flip, log_stay = np.log(flip), np.log1p(-flip)
    for t in range(1, T):
        stay, switch = score + log_stay[t], score[::-1] + log_flip[t]
        back[t] = np.where(switch > stay, [1, 0], [0, 1])
        score = np.maximum(stay, switch) + emit[t]
    state = np.zeros(T, bool)
    state[-1] = bool(np.argmax(score))
    for t in range(T - 1, 0, -1):
        state[t - 1] = bool(back[t, int(state[t])])
    return state


def presses(button: np.ndarray, travel: float, press_fraction: float, release_fraction: float) -> np.ndarray:
    """(T,) presses of a latching button so far: a press counts once it is down past ``press_fraction``
    of its travel and again only after it came back above ``release_fraction`` (the lamp's latch)."""
    count, latched, out = 0, False, np.zeros(len(button), np.int64)
    for t, position in enumerate(button):
        if not latched and position < -press_fraction * travel:
            latched, count = True, count + 1
        elif latched and position > -release_fraction * travel:
            latched = False
        out[t] = count
    return out


def toggled_by_presses(count: np.ndarray, probability: np.ndarray) -> np.ndarray | None:
    """(T,) bool: a lamp that every press read toggles: the state before the first press is the one that
    agrees with the cameras most. None where even that agrees with them in under ``TOGGLE_AGREEMENT``
    of the frames (a press misread breaks the chain)."""
    flips = (count % 2).astype(bool)
    seen = probability > 0.5
    state = flips ^ (np.mean(seen == ~flips) > 0.5)
    return state if np.mean(state == seen) >= TOGGLE_AGREEMENT else None


def near_gripper(position: np.ndarray, tips: np.ndarray, half_height: float) -> np.ndarray:
    """(T,) the fingertips close enough to move the object at ``position``: within ``QUIET_RADIUS_M``
    of it across the table and at most ``HAND_ABOVE_M`` above its top (a hand passing over at
    transit height moves nothing), widened by ``QUIET_MARGIN`` frames."""
    d = tips - position
    near = (np.hypot(d[:, 0], d[:, 1]) < QUIET_RADIUS_M) & (d[:, 2] < half_height + HAND_ABOVE_M)
    if QUIET_MARGIN:
        near = np.convolve(near, np.ones(2 * QUIET_MARGIN + 1, bool), mode="same") > 0
    return near


def settle(position: np.ndarray, near: np.ndarray) -> np.ndarray:
    """(T, 3) object positions with the physics prior: still unless the hand is near.

    Each stretch with the hand away is one position, the median of its estimates (jitter is not
    motion); while the hand is near, the object is where it rested just before or just after,
    whichever is nearer in time (the cameras read objects worst under the hand). Without a quiet
    frame at all: a running median over ``SMOOTH_FRAMES``."""
    quiet = _runs(~near)
    if not quiet:
        return running_median(position, SMOOTH_FRAMES)
    out = np.empty_like(position)
    ends = np.array([b for _, b in quiet])
    starts = np.array([a for a, _ in quiet])
    medians = np.stack([np.median(position[a : b + 1], axis=0) for a, b in quiet])
    t = np.arange(len(position))
    before = np.searchsorted(ends, t, side="right") - 1  # the last quiet stretch ending at or before t
    after = np.searchsorted(starts, t, side="left")  # the first starting at or after t
    gap_before = np.where(before >= 0, t - ends[np.maximum(before, 0)], np.inf)
    gap_after = np.where(after < len(quiet), starts[np.minimum(after, len(quiet) - 1)] - t, np.inf)
    use = np.where(gap_before <= gap_after, np.maximum(before, 0), np.minimum(after, len(quiet) - 1))
    out[:] = medians[use]
    return out


def rest_positions(position: np.ndarray, tips: np.ndarray, half_height: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) settled positions and (T,) where the hand was near, in two passes: where the hand is near
    is first judged from the (smoothed) estimate, then from where the object rested, because an estimate
    that jumps to the hand would otherwise make itself near, and so free to move."""
    near = near_gripper(running_median(position, SMOOTH_FRAMES), tips, half_height)
    near = near_gripper(settle(position, near), tips, half_height)
    return settle(position, near), near


def _pool_still(raw: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) positions of an object the hand neither holds nor let go over these frames: one place
    (the median of its estimates) from one touch to the next, and the places either side of a touch
    are pooled into one unless their medians are ``MOVED_M`` apart (a touch moved it: a push). An
    estimate that drifts with the view is not read as motion. Also (T,) how much the estimates of
    each place scatter across the table (a robust standard deviation, metres): how sure the place is."""
    cuts = [b + 1 for _, b in _runs(near) if b + 1 < len(raw)]  # each touch ends a place
    parts = [p for p in np.split(np.arange(len(raw)), cuts) if len(p)]
    groups = [parts[0]]
    for part in parts[1:]:
        if np.linalg.norm(np.median(raw[part], axis=0)[:2] - np.median(raw[groups[-1]], axis=0)[:2]) < MOVED_M:
            groups[-1] = np.concatenate([groups[-1], part])
        else:
            groups.append(part)
    out, spread = np.empty_like(raw), np.zeros(len(raw))
    for g in groups:
        out[g] = np.median(raw[g], axis=0)
        spread[g] = MAD_TO_STD * np.median(np.linalg.norm(raw[g, :2] - out[g[0], :2], axis=1))
    return out, spread


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) frame of every run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def hand_anchors(near: np.ndarray, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which grasp or release says where an object is: (T,) the anchor frame (-1: none; a held frame
    is its own anchor) and (T,) the frames resting after a release.

    Where a grasp closes, the object is between the fingertips (measured on the oracle's play: the
    object's centre within 1 mm of the fingertips' xy in 90% of grasps), and where it opens, the
    object stays there (within 2 mm in 90%): proprioception knows both to the millimetre, the cameras
    to centimetres. So an object is at its next grasp point from the last time the hand came near it
    without holding it (a touch may have pushed it) up to that grasp, and at its last release point
    from that release to the next touch; a stretch claimed by both takes the anchor nearer in time."""
    T = len(held)
    anchor, released = np.full(T, -1), np.zeros(T, bool)
    touched = np.zeros(T, bool)
    for a, b in _runs(near):
        if not held[a : b + 1].any():
            touched[a : b + 1] = True
    claim = np.full(T, np.inf)  # frames to the anchor that set each frame
    for a, b in _runs(held):
        if b - a + 1 < MIN_HELD_FRAMES:
            continue
        anchor[a : b + 1], claim[a : b + 1] = np.arange(a, b + 1), 0
        start = a
        while start > 0 and not touched[start - 1] and not held[start - 1]:
            start -= 1
        for t in range(start, a):
            if a - t < claim[t]:
                anchor[t], claim[t], released[t] = a, a - t, False
        end = b
        while end < T - 1 and not touched[end + 1] and not held[end + 1]:
            end += 1
        for t in range(b + 1, end + 1):
            if t - b < claim[t]:
                anchor[t], claim[t], released[t] = b, t - b, True
    return anchor, released


def pin_to_hand(
    position: np.ndarray, near: np.ndarray, held: np.ndarray, tips: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, 3) positions where the hand says where the object is (``hand_anchors``: the fingertips at
    its anchor), (T,) the frames resting after a release and (T,) the anchor frames (-1: none). The
    height after a release is left to the caller (the object falls onto what is under it)."""
    anchor, released = hand_anchors(near, held)
    out = position.copy()
    out[anchor >= 0] = tips[anchor[anchor >= 0]]
    return out, released, anchor


def turn_with_hand(yaw: np.ndarray, held: np.ndarray, ee_yaw: np.ndarray) -> np.ndarray:
    """(T,) yaw where the hand says how the object turned: it turns only while held, with the wrist.

    Measured on the oracle's play: over a hold, the object's turn is within 0.2 deg of the wrist's
    (median); the estimator's yaw of a cube is off by 17-20 deg (median), so switching to it between
    two holds would read turns that never happened. So the cameras give only the level before the
    first hold (the median of their estimates); from there the yaw changes by the wrist's turn while
    held and is kept between holds (a push that turns an object is not seen)."""
    holds = [(a, b) for a, b in _runs(held) if b - a + 1 >= MIN_HELD_FRAMES]
    if not holds:
        return np.full(len(yaw), float(np.median(yaw)) if len(yaw) else 0.0)
    wrist, out = np.unwrap(ee_yaw), np.empty(len(yaw))
    first = holds[0][0]
    level, start = float(np.median(yaw[:first])) if first else float(yaw[0]), 0
    for a, b in holds:
        out[start:a] = level
        out[a : b + 1] = level + wrist[a : b + 1] - wrist[a]
        level, start = float(out[b]), b + 1
    out[start:] = level
    return out


def jitter(position: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 3) positions moved across the table where ``sigma`` (T,) is finite: each run of such
    frames by one random offset (a reading's error stays while the object stays), scaled per frame
    by ``sigma``; frames with NaN (the hand says where the object is) are left as they are."""
    out = position.copy()
    for a, b in _runs(np.isfinite(sigma)):
        out[a : b + 1, :2] += rng.normal(size=2) * sigma[a : b + 1, None]
    return out


def _stay_at_anchors(a, b, pinned, spread, released, anchors, held) -> None:
    """A touch that did not hold the object moved it only if its readings say so: the place of the
    stretch ``a..b`` (no anchor) next to where it was let go (before ``a``) or where the next grasp
    found it (after ``b``) is that anchor's, height included, unless its readings are ``MOVED_M``
    away from it (the hand reached for something beside it; the cameras read an object's height on
    a tower worst). The anchor is extended over that place, so it also comes to rest as let go."""
    T = len(anchors)
    edges = []  # (a frame of the place, the anchor's frame next to it)
    if a > 0 and released[a - 1]:
        edges.append((a, a - 1))
    if b + 1 < T and anchors[b + 1] >= 0 and (held[b + 1] or not released[b + 1]):
        edges.append((b, b + 1))
    candidates = [  # (how far its readings are from the anchor, the place's frames, the anchor's frame)
        (
            float(np.linalg.norm(pinned[edge, :2] - pinned[known, :2])),
            np.flatnonzero(np.all(pinned[a : b + 1] == pinned[edge], axis=1)) + a,
            known,
        )
        for edge, known in edges
    ]
    taken = set()
    for off, place, known in sorted(candidates, key=lambda c: c[0]):  # one place next to both: the nearer anchor
        if off < MOVED_M and place[0] not in taken:
            taken.add(place[0])
            pinned[place] = pinned[known]
            spread[place] = np.nan
            anchors[place], released[place] = anchors[known], released[known]


def hand_residuals(settled: np.ndarray, near: np.ndarray, held: np.ndarray, tips: np.ndarray) -> np.ndarray:
    """(n, 2) how far off across the table the cameras read an object where the hand says where it
    is: at each grasp, the fingertips minus where it was read resting before the hand came near; at
    each release, the fingertips minus where it was read resting after the hand left (``settled``:
    positions with each stretch of the hand away one place)."""
    out, touches = [], _runs(near | held)
    for a, b in _runs(held):
        if b - a + 1 < MIN_HELD_FRAMES:
            continue
        first = next(f for f, e in touches if f <= a <= e)
        last = next(e for f, e in touches if f <= b <= e)
        if first > 0:
            out.append(tips[a, :2] - settled[first - 1, :2])
        if last + 1 < len(held):
            out.append(tips[b, :2] - settled[last + 1, :2])
    return np.array(out, dtype=np.float64).reshape(-1, 2)


class EstimatedScene:
    """Builds a scene-state series (T, N) with the oracle's field names from estimates."""

    def __init__(self, fields: tuple[str, ...], scene: SceneInfo, layout, thresholds):
        self.fields, self.scene, self.layout, self.c = fields, scene, layout, thresholds
        self.index = {f: i for i, f in enumerate(fields)}

    def __call__(self, estimate: dict[str, np.ndarray], proprio: np.ndarray) -> np.ndarray:
        return self.build(estimate, proprio)[0]

    def build(
        self, estimate: dict[str, np.ndarray], proprio: np.ndarray, draws: int = 0, sigma_m: float = 0.0, seed=0
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The scene-state series, and ``draws`` more with every object's positions where only the
        cameras say where it is moved by a random offset across the table (one per such stretch,
        of standard deviation ``sigma_m`` and the readings' own scatter there combined): what the
        estimate might as well have been (``robolang.captioning.config.VisionConfig``)."""
        T = len(proprio)
        out = np.zeros((T, len(self.fields)), np.float32)
        for name, i in zip(STATE_NAMES, range(len(STATE_NAMES)), strict=True):
            if name in self.index:
                out[:, self.index[name]] = proprio[:, i]
        ee = proprio[:, :3]
        tips = ee - [0.0, 0.0, FINGERTIPS_BELOW_EE_M]
        objects = range(len(self.layout.objects))
        halves = [self.scene.object(o).half_height for o in self.layout.objects]
        resting = [rest_positions(estimate["position"][:, k], tips, halves[k]) for k in objects]
        rest = np.stack([r for r, _ in resting], 1)  # (T, O, 3)
        near = np.stack([n for _, n in resting], 1)  # (T, O)
        fixtures = {f: self._fixture(f, estimate["fixture"][:, k], tips) for k, f in enumerate(self.layout.fixtures)}
        in_hand = self._in_hand(estimate["position"], proprio)
        positions, released, anchors, spread = {}, {}, {}, {}
        for k, o in enumerate(self.layout.objects):
            positions[o], released[o], anchors[o], spread[o] = self._pin(
                estimate["position"][:, k], rest[:, k], near[:, k], in_hand == k, tips, halves[k]
            )
        self._come_to_rest(positions, released, anchors, spread, fixtures.get("drawer"))
        for k, o in enumerate(self.layout.objects):
            p, info = positions[o], self.scene.object(o)
            yaw = np.nan_to_num(running_median(estimate["yaw"][:, k], SMOOTH_FRAMES), nan=0.0)
            yaw = turn_with_hand(yaw, in_hand == k, proprio[:, STATE_NAMES.index("ee.yaw")])
            lying = p[:, 2] < TOPPLED_RATIO * info.half_height
            half = yaw / 2
            q = np.stack([np.zeros(T), np.zeros(T), np.sin(half), np.cos(half)], 1)
            q[lying] = [np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5)]  # on its side: 90 deg about x
            for axis, j in zip(("qx", "qy", "qz", "qw"), range(4), strict=True):
                out[:, self.index[f"{o}.{axis}"]] = q[:, j]
            if f"{o}.yaw" in self.index:
                out[:, self.index[f"{o}.yaw"]] = yaw
        for f, value in fixtures.items():
            out[:, self.index[f"{f}.pos"]] = value
        pressing = self._near_button(proprio)
        count = None
        if "button" in fixtures:
            c = self.c
            count = presses(fixtures["button"], self.scene.button_travel, c.press_fraction, c.release_fraction)
        for k, s in enumerate(self.layout.switches):
            chain = toggled_by_presses(count, estimate["switch"][:, k]) if count is not None else None
            out[:, self.index[f"{s}.on"]] = (
                switch_track(estimate["switch"][:, k], pressing, count) if chain is None else chain
            )
        self._place(out, positions, proprio)
        rng = np.random.default_rng(seed)
        others = []
        for _ in range(draws):
            other = out.copy()
            self._place(other, {o: jitter(p, np.hypot(sigma_m, spread[o]), rng) for o, p in positions.items()}, proprio)
            others.append(other)
        return out, others

    def _place(self, out: np.ndarray, positions: dict[str, np.ndarray], proprio: np.ndarray) -> None:
        """Objects' positions and the contacts that follow from them, into ``out``."""
        for o, p in positions.items():
            for axis, j in zip("xyz", range(3), strict=True):
                out[:, self.index[f"{o}.{axis}"]] = p[:, j]
        self._contacts(out, positions, proprio)

    def _fixture(self, name: str, value: np.ndarray, tips: np.ndarray) -> np.ndarray:
        """(T,) a fixture's joint: still (the median of each stretch) while the hand is away from its
        cabinet (farther than ``FIXTURE_REACH_M`` across the table or higher than ``FIXTURE_TOP_M``);
        a running median while it is there."""
        out = running_median(value, SMOOTH_FRAMES)
        cabinet = {"drawer": self.scene.drawer_cabinet, "slider": self.scene.slider_cabinet}.get(name)
        if cabinet is None:
            return out
        away = (np.hypot(*(tips[:, :2] - np.asarray(cabinet)).T) > FIXTURE_REACH_M) | (tips[:, 2] > FIXTURE_TOP_M)
        away = np.convolve(~away, np.ones(2 * QUIET_MARGIN + 1, bool), mode="same") == 0
        for a, b in _runs(away):
            out[a : b + 1] = np.median(value[a : b + 1])
        return out

    @staticmethod
    def _pin(raw, rest, near, held, tips, half_height):
        """One object's positions pinned by the hand (``pin_to_hand``), where the hand was near judged
        again from them ``PIN_ROUNDS`` times (an estimate far off makes a passing hand look near, and
        a touch ends what a release pinned). Where ``CALIBRATE_MIN`` grasps and releases say how far
        off the cameras read this object (``hand_residuals``), the positions only they give are moved
        by the median offset, and how much those offsets scatter is added to their uncertainty.
        Returns positions, released, anchors and (T,) that uncertainty (the scatter of the cameras'
        readings where they alone say where it is; NaN where the hand does)."""
        pinned, _, _ = pin_to_hand(rest, near, held, tips)
        for _ in range(PIN_ROUNDS):
            near = near_gripper(pinned, tips, half_height) | held
            settled = settle(raw, near)
            pinned, released, anchors = pin_to_hand(settled, near, held, tips)
        spread = np.full(len(raw), np.nan)
        for a, b in _runs(anchors < 0):
            pinned[a : b + 1], spread[a : b + 1] = _pool_still(raw[a : b + 1], near[a : b + 1])
            _stay_at_anchors(a, b, pinned, spread, released, anchors, held)
        residuals = hand_residuals(settled, near, held, tips)
        if len(residuals) >= CALIBRATE_MIN:
            bias = np.median(residuals, axis=0)
            free = np.isfinite(spread)
            pinned[free, :2] += bias
            scatter = MAD_TO_STD * np.median(np.linalg.norm(residuals - bias, axis=1))
            spread[free] = np.hypot(spread[free], scatter)
        return pinned, released, anchors, spread

    def _come_to_rest(
        self, positions: dict, released: dict, anchors: dict, spread: dict, drawer: np.ndarray | None
    ) -> None:
        """Heights of released objects, and where what they landed on is.

        Let go with its underside within ``SUPPORT_MIN_M`` of the table: on the table. Higher: on the
        object whose top is about as high as that underside (``SUPPORT_BELOW_M`` below to
        ``SUPPORT_ABOVE_M`` above it), the nearest such (``DROP_WEIGHT``); that object is then under the release point
        (its unanchored estimates around the release are moved there: a placement on the plate says
        where the plate is to the millimetre, so no longer uncertain: its ``spread`` there is NaN).
        Inside the drawer: left at the release height, and it stays in the drawer, moving with it,
        until the hand holds it again (the cameras cannot see into a closed drawer). Releases are
        taken in time order, so a tower is built from the bottom."""
        (lx, ly, _), (hx, hy, _) = self.c.drawer_inside
        cx, cy = self.scene.drawer_cabinet
        slide = np.zeros(len(next(iter(positions.values())))) if drawer is None else drawer
        events = sorted((int(b), o) for o in positions for b in np.unique(anchors[o][released[o]]))
        for b, o in events:
            p, info = positions[o], self.scene.object(o)
            frames = released[o] & (anchors[o] == b)
            x, y, z = p[np.argmax(frames)]
            if cx + lx <= x <= cx + hx and cy + ly + slide[b] <= y <= cy + hy + slide[b]:
                held = np.flatnonzero(anchors[o][b + 1 :] == np.arange(b + 1, len(p))) + b + 1
                stay = slice(b + 1, held[0] if len(held) else len(p))  # until the hand takes it out
                p[stay] = [x, y, z]
                p[stay, 1] += slide[stay] - slide[b]  # it rides with the drawer (unseen once closed)
                anchors[o][stay], released[o][stay], spread[o][stay] = b, True, np.nan
                continue
            bottom, support, best = z - info.half_height, None, np.inf
            for other, q in positions.items():
                top = q[b, 2] + self.scene.object(other).half_height
                d = float(np.hypot(q[b, 0] - x, q[b, 1] - y))
                fits = -SUPPORT_BELOW_M <= bottom - top <= SUPPORT_ABOVE_M and d < SUPPORT_REACH_M
                score = d + DROP_WEIGHT * abs(bottom - top - RELEASE_DROP_M)
                if other != o and bottom > SUPPORT_MIN_M and fits and score < best:
                    support, best = other, score
            if support is None:
                p[frames, 2] = info.half_height
                continue
            q = positions[support]
            p[frames, 2] = q[frames, 2] + self.scene.object(support).half_height + info.half_height
            free = anchors[support] < 0
            if free[b]:
                stretch = _runs(free)
                first, last = next((f, e) for f, e in stretch if f <= b <= e)
                q[first : last + 1, :2] = [x, y]
                spread[support][first : last + 1] = np.nan

    def _in_hand(self, position: np.ndarray, proprio: np.ndarray) -> np.ndarray:
        """(T,) index of the object the closed hand holds (-1: none).

        Whether the hand holds something is proprioception's: the fingers stopped at an object's narrow
        width (closed on nothing they reach 0, open their widest) for ``MIN_HELD_FRAMES`` or more. Which
        object: the one that width fits, or of several, the one the cameras read nearest the fingertips
        while they close (the median over ``CLOSING_FRAMES``: the wrist camera sees it between the
        fingers; where it rested before was measured worse: 15 of 123 grasps misread against 4 of 138), within
        ``HOLD_RADIUS_M``, a width nearer the fingers' counting too (``WIDTH_WEIGHT``)."""
        tips = proprio[:, :3] - np.array([0.0, 0.0, FINGERTIPS_BELOW_EE_M])
        width = proprio[:, STATE_NAMES.index("gripper.width")]
        narrow = np.array([min(self.scene.object(o).size[:2]) for o in self.layout.objects])
        graspable = narrow < width.max() - GRIP_SLACK_M  # wider than the hand opens: the plate
        held = np.full(len(width), -1)
        if not graspable.any():
            return held
        closed = (width > narrow[graspable].min() - GRIP_BELOW_M) & (width < narrow[graspable].max() + GRIP_SLACK_M)
        for a, b in _runs(closed):
            if b - a + 1 < MIN_HELD_FRAMES:
                continue
            w = np.median(width[a : b + 1])
            fits = graspable & (w > narrow - GRIP_BELOW_M) & (w < narrow + GRIP_SLACK_M)
            seen = np.median(position[a : min(a + CLOSING_FRAMES, b + 1)], axis=0)  # (O, 3)
            distance = np.where(fits, np.hypot(*(seen[:, :2] - tips[a, :2]).T), np.inf)
            k = int(np.argmin(distance + WIDTH_WEIGHT * np.abs(w - narrow)))
            if fits.sum() == 1 or distance[k] < HOLD_RADIUS_M:  # one object that wide: it, wherever read
                held[a : b + 1] = k
        return held

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
        on_top = {o: np.zeros(len(out), bool) for o in positions}  # resting on another object: not on the table
        for o, p in positions.items():
            info = self.scene.object(o)
            for other, q in positions.items():
                if other <= o:
                    continue
                oi = self.scene.object(other)
                gap = np.abs(p[:, 2] - q[:, 2]) - info.half_height - oi.half_height
                stacked = (np.hypot(*(p[:, :2] - q[:, :2]).T) < max(info.footprint, oi.footprint)) & (
                    np.abs(gap) < STACK_Z_M
                )
                self._set(out, o, other, stacked)
                on_top[o] |= stacked & (p[:, 2] > q[:, 2])
                on_top[other] |= stacked & (q[:, 2] > p[:, 2])
        for o, p in positions.items():
            info = self.scene.object(o)
            d = p - tips
            between = (np.hypot(d[:, 0], d[:, 1]) < GRIP_XY_M) & (np.abs(d[:, 2]) < GRIP_Z_M)
            closed_on = width < max(info.size[:2]) + 0.01
            self._set(out, o, "gripper", between & closed_on)
            self._set(out, o, "robot", between)
            rest_z = np.where(p[:, 2] < TOPPLED_RATIO * info.half_height, min(info.size[:2]) / 2, info.half_height)
            self._set(out, o, "table", (np.abs(p[:, 2] - rest_z) < TABLE_Z_M) & ~on_top[o])
            inside = (p[:, 0] >= cx + lx) & (p[:, 0] <= cx + hx) & (p[:, 1] >= cy + ly + drawer)
            inside &= (p[:, 1] <= cy + hy + drawer) & (p[:, 2] >= lz) & (p[:, 2] <= hz)
            self._set(out, o, "drawer", inside)

    def _set(self, out: np.ndarray, a: str, b: str, value: np.ndarray) -> None:
        for key in (f"contact.{a}.{b}", f"contact.{b}.{a}"):
            if key in self.index:
                out[:, self.index[key]] = value
                return


class EstimatedStates(EpisodeStates):
    """Scene states estimated from the cameras, with ``draws``: the same episode as the estimate
    might as well have been (``EstimatedScene.build``), to keep only the labels they agree on."""

    def __init__(self, array, fields, scene: SceneInfo, draws: tuple[EpisodeStates, ...] = ()):
        super().__init__(array, fields, scene)
        self.draws = draws


def estimated_episodes(root: Path, estimator, cfg: CaptionConfig, progress: bool = False):
    """(episode, EstimatedStates) of every episode, estimated from the cameras (see the module notes),
    each with ``cfg.vision.draws`` draws."""
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
    build = EstimatedScene(fields, scene, estimator.layout, cfg.tasks)
    v = cfg.vision
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
        states, draws = build.build(estimate, state[:n], v.draws, v.sigma_m, (v.seed, episode))
        yield episode, EstimatedStates(states, fields, scene, tuple(EpisodeStates(d, fields, scene) for d in draws))


def agreed(found: list, draws: list[list], agreement: float) -> list:
    """The segments of ``found`` that at least ``agreement`` of ``draws`` (each a list of segments)
    also find: the same task and arguments over a window overlapping it by at least
    ``MIN_OVERLAP`` of the shorter of the two (as a captioner is compared with the oracle)."""
    from robolang.captioning.vision_quality import same_window

    by_key = [{} for _ in draws]
    for index, segments in zip(by_key, draws, strict=True):
        for h in segments:
            index.setdefault((h.task_id, h.args), []).append(h)
    need = agreement * len(draws) - 1e-9
    return [
        g
        for g in found
        if sum(any(same_window(g.start_frame, g.end_frame, h.start_frame, h.end_frame) for h in d.get((g.task_id, g.args), ()))
               for d in by_key) >= need
    ]  # fmt: skip
