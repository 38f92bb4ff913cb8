"""Recorded scene states of one episode, with vectorized accessors, and the world they come from.

``EpisodeStates`` wraps the ``scene_state`` column of a play dataset, a (T, N) float32 array
whose entry names are in ``meta/info.json``: for each object ``<obj>.x/.y/.z/.qx/.qy/.qz/.qw/.yaw``,
fixture joints ``<fixture>.pos``, ``light.on``, ``ee.x/.y/.z/.yaw``, ``gripper.width`` and contact
flags ``contact.<a>.<b>``. Everything is derived from those names; nothing here knows which
objects exist. ``SceneInfo`` is ``meta/robolang_scene.json``: object sizes and shapes, and
where the fixtures are. Only recorded data is read here; the simulator is never imported.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robolang.captioning.errors import CaptionError
from robolang.features import KEY_SCENE_STATE as SCENE_STATE_KEY
from robolang.recording.features import SCENE_FILE

ROUND_SHAPES = ("cylinder", "plate")  # footprints that are discs: a turn about z is invisible
POSE_KEYS = ("x", "y", "z", "qx", "qy", "qz", "qw", "yaw")
NO_SCENE_STATE = (
    "oracle captioning needs the simulator's privileged scene state (a 'scene_state' column and "
    "meta/robolang_scene.json), and {root} has none: it is probably a real-robot recording. "
    "Caption real data by hand (human labels) or with a learned captioner instead."
)


@dataclass(frozen=True)
class ObjectInfo:
    """A movable object as described in the scene file: size is its (x, y, z) extent in metres."""

    name: str
    colour: str
    shape: str
    size: tuple[float, float, float]

    @property
    def half_height(self) -> float:
        """Height of its centre above the table when it rests as spawned."""
        return self.size[2] / 2

    @property
    def footprint(self) -> float:
        """Radius of the circle covering its base (m)."""
        if self.shape in ROUND_SHAPES:
            return self.size[0] / 2
        return float(np.hypot(self.size[0], self.size[1]) / 2)


@dataclass(frozen=True)
class SceneInfo:
    """What is on the table: the objects and where the fixtures are (world frame, metres)."""

    objects: tuple[ObjectInfo, ...]
    drawer_cabinet: tuple[float, float] = (0.55, -0.46)
    slider_cabinet: tuple[float, float] = (0.55, 0.47)
    button: tuple[float, float] = (0.70, 0.14)
    button_travel: float = 0.012

    @classmethod
    def from_description(cls, desc: dict) -> SceneInfo:
        """From the dict of ``meta/robolang_scene.json`` (``PlayTableRobot.scene_description()``)."""
        objects = tuple(
            ObjectInfo(o["name"], o.get("colour", ""), o.get("shape", ""), tuple(float(v) for v in o["size"]))
            for o in desc["objects"]
        )
        fx = desc.get("fixtures", {})
        defaults = cls(objects)
        return cls(
            objects,
            drawer_cabinet=tuple(fx.get("drawer", {}).get("cabinet", defaults.drawer_cabinet)),
            slider_cabinet=tuple(fx.get("slider", {}).get("cabinet", defaults.slider_cabinet)),
            button=tuple(fx.get("button", {}).get("position", defaults.button)),
            button_travel=float(fx.get("button", {}).get("travel", defaults.button_travel)),
        )

    def object(self, name: str) -> ObjectInfo:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(f"no object {name!r} in the scene; objects: {[o.name for o in self.objects]}")

    @property
    def plate(self) -> str | None:
        """The place target: the object whose shape is ``plate`` (else one named ``plate``)."""
        for o in self.objects:
            if o.shape == "plate":
                return o.name
        return "plate" if any(o.name == "plate" for o in self.objects) else None


class EpisodeStates:
    """Scene states of one episode, (T, N) float32, with vectorized per-frame accessors.

    Accessors return arrays over all T frames; derived features can be cached with ``memo``.
    ``scene`` (sizes, fixture positions) is needed by predicates that use geometry.
    """

    def __init__(self, array: np.ndarray, fields, scene: SceneInfo | None = None):
        self.array = np.asarray(array, dtype=np.float32)  # (T, N)
        self.fields = tuple(fields)
        if self.array.ndim != 2 or self.array.shape[1] != len(self.fields):
            raise ValueError(f"states {self.array.shape} do not match {len(self.fields)} field names")
        self.index = {name: i for i, name in enumerate(self.fields)}
        self.objects = tuple(f[:-2] for f in self.fields if f.endswith(".x") and f[:-2] + ".qw" in self.index)
        self.fixtures = tuple(f[:-4] for f in self.fields if f.endswith(".pos"))
        self.scene = scene
        self._cache: dict[Hashable, np.ndarray] = {}

    def __len__(self) -> int:
        return self.array.shape[0]

    def column(self, name: str) -> np.ndarray:
        """(T,) one named entry."""
        try:
            return self.array[:, self.index[name]]
        except KeyError:
            raise KeyError(f"no scene-state field {name!r}") from None

    def _columns(self, names) -> np.ndarray:
        return self.array[:, [self.index[n] for n in names]]

    def pos(self, obj: str) -> np.ndarray:
        """(T, 3) centre of an object."""
        return self.memo(("pos", obj), lambda: self._columns([f"{obj}.{k}" for k in "xyz"]))

    def quat(self, obj: str) -> np.ndarray:
        """(T, 4) orientation (x, y, z, w)."""
        return self.memo(("quat", obj), lambda: self._columns([f"{obj}.{k}" for k in ("qx", "qy", "qz", "qw")]))

    def yaw(self, obj: str) -> np.ndarray:
        """(T,) heading of the object's x axis about world z (rad)."""
        return self.column(f"{obj}.yaw")

    def contact(self, a: str, b: str) -> np.ndarray:
        """(T,) bool: ``a`` touches ``b`` (either order). Raises if the pair is not recorded."""
        for key in (f"contact.{a}.{b}", f"contact.{b}.{a}"):
            if key in self.index:
                return self.memo(("contact", key), lambda key=key: self.column(key) > 0.5)
        raise KeyError(f"contact between {a!r} and {b!r} is not recorded")

    def contact_entities(self, obj: str) -> tuple[str, ...]:
        """Every entity whose contact with ``obj`` is recorded."""
        out = []
        for f in self.fields:
            if f.startswith("contact."):
                a, b = f.split(".")[1:3]
                if obj in (a, b):
                    out.append(b if a == obj else a)
        return tuple(out)

    def fixture(self, name: str) -> np.ndarray:
        """(T,) joint position of a fixture (``drawer``, ``slider``, ``button``; m)."""
        return self.column(f"{name}.pos")

    def light(self) -> np.ndarray:
        """(T,) bool: the lamp is on."""
        return self.memo(("light",), lambda: self.column("light.on") > 0.5)

    def ee(self) -> np.ndarray:
        """(T, 3) end-effector position."""
        return self.memo(("ee",), lambda: self._columns(["ee.x", "ee.y", "ee.z"]))

    def ee_yaw(self) -> np.ndarray:
        return self.column("ee.yaw")

    def gripper_width(self) -> np.ndarray:
        return self.column("gripper.width")

    def info(self, obj: str) -> ObjectInfo:
        if self.scene is None:
            raise ValueError("these states carry no SceneInfo; object sizes are needed here")
        return self.scene.object(obj)

    def memo(self, key: Hashable, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """Compute a derived per-frame array once per episode (keys should include the config)."""
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = compute()
        return value


# ---- reading a play dataset -------------------------------------------------------------------
def read_scene(root: str | Path) -> SceneInfo:
    """The scene description recorded beside a dataset."""
    import json

    path = Path(root) / "meta" / SCENE_FILE
    if not path.exists():
        raise CaptionError(NO_SCENE_STATE.format(root=root))
    return SceneInfo.from_description(json.loads(path.read_text()))


def scene_fields(root: str | Path) -> tuple[str, ...]:
    """Names of the ``scene_state`` entries, from ``meta/info.json``."""
    import json

    path = Path(root) / "meta" / "info.json"
    if not path.exists():
        raise FileNotFoundError(f"{root} is not a LeRobot dataset: {path} is missing")
    info = json.loads(path.read_text())
    feature = info.get("features", {}).get(SCENE_STATE_KEY)
    if feature is None:
        raise CaptionError(NO_SCENE_STATE.format(root=root))
    return tuple(feature["names"])


def read_episodes(root: str | Path, episodes=None) -> Iterator[tuple[int, EpisodeStates]]:
    """Yield ``(episode_index, EpisodeStates)`` of a LeRobotDataset v3 play recording, frames in
    order, straight from its parquet files (no video is decoded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields, scene = scene_fields(root), read_scene(root)
    files = sorted((Path(root) / "data").glob("chunk-*/file-*.parquet"))
    if not files:
        raise FileNotFoundError(f"no data/chunk-*/file-*.parquet under {root}")
    table = pa.concat_tables(
        [pq.read_table(f, columns=[SCENE_STATE_KEY, "episode_index", "frame_index"]) for f in files]
    )
    values = table.column(SCENE_STATE_KEY).combine_chunks().flatten().to_numpy()
    states = values.reshape(table.num_rows, len(fields)).astype(np.float32, copy=False)
    episode = table.column("episode_index").to_numpy()
    frame = table.column("frame_index").to_numpy()
    order = np.lexsort((frame, episode))
    episode, states = episode[order], states[order]
    bounds = np.flatnonzero(np.diff(episode)) + 1
    wanted = None if episodes is None else set(int(e) for e in episodes)
    frame = frame[order]
    for rows in np.split(np.arange(len(episode)), bounds):
        if not len(rows) or (wanted is not None and int(episode[rows[0]]) not in wanted):
            continue
        if not np.array_equal(frame[rows], np.arange(len(rows))):
            raise ValueError(f"episode {episode[rows[0]]} of {root}: frame_index is not 0..{len(rows) - 1}")
        yield int(episode[rows[0]]), EpisodeStates(states[rows], fields, scene)
