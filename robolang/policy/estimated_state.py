"""The DEPLOYABLE state policy: the state estimator's reading of the cameras feeds a state policy.

One folder holds both (``robolang estimator compose``): ``estimated_state.json`` beside
``estimator/`` (a ``robolang estimator train`` checkpoint) and ``policy/`` (a state policy
checkpoint, ``policy=privileged_state``). At every prediction the estimator reads the cameras and
proprioception and gives each object's position and (where the shape shows it) yaw, the fixture
joints and the light; those values are written into the scene-state vector the state policy was
trained on, and the state policy predicts the chunk. Nothing of the simulator is read: the
observation is the robot's (cameras + proprioception), so this policy is not privileged and
runs on the deployable path (``PolicyController``, ``robolang ask``).

What the estimator does not give is filled as far as the cameras and proprioception allow: the
end effector and gripper from proprioception; each object's orientation upright about its
estimated yaw (a cylinder's or plate's yaw, which no camera shows, is 0); contact flags are
unknown, so the state policy must have been trained with ``policy.contacts=false`` (``compose``
refuses one that reads them). The estimator's yaw is that of the symmetric shape (a cube's in
(-45, 45] deg), which is all a grasp needs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from robolang.features import CAMERA_NAMES, KEY_IMAGE_PREFIX, KEY_SCENE_STATE, KEY_STATE, STATE_NAMES
from robolang.policy import grasp_turn
from robolang.policy.checkpoint import CheckpointError
from robolang.policy.execution import ChunkExecution
from robolang.policy.inference import proprioception
from robolang.policy.language import check_instruction

KIND = "estimated_state"
MANIFEST = "estimated_state.json"


def is_estimated_state(path: str | Path) -> bool:
    """Whether ``path`` is a composed estimator + state policy folder."""
    return (Path(path) / MANIFEST).is_file()


class SceneFromEstimate:
    """Writes an estimate (and proprioception) into a state policy's scene-state vector (D,)."""

    def __init__(self, estimator_layout, scene_fields: tuple[str, ...], held_from_gripper: bool = False):
        self.held_from_gripper = held_from_gripper
        self.holding: int | None = None  # the object in the hand since the fingers closed on it (held_in_hand)
        index = {name: i for i, name in enumerate(scene_fields)}
        objects = estimator_layout.objects
        missing = [f"{o}.x" for o in objects if f"{o}.x" not in index]
        if missing:
            raise CheckpointError(f"the state policy reads no {missing}: it was trained on another scene")
        self.size = len(scene_fields)
        self.position = np.array([[index[f"{o}.{k}"] for k in "xyz"] for o in objects], np.int64)  # (O, 3)
        self.quaternion = np.array([[index.get(f"{o}.q{k}", -1) for k in "xyzw"] for o in objects], np.int64)
        self.yaw = np.array([index.get(f"{o}.yaw", -1) for o in objects], np.int64)
        self.fixture = np.array([index.get(f"{f}.pos", -1) for f in estimator_layout.fixtures], np.int64)
        self.switch = np.array([index.get(f"{s}.on", -1) for s in estimator_layout.switches], np.int64)
        self.proprio = [(index[n], i) for i, n in enumerate(STATE_NAMES) if n in index]  # ee.*, gripper.width

    def __call__(self, estimate: dict[str, np.ndarray], state: np.ndarray) -> np.ndarray:
        """One scene vector (D,) float32 from one frame's estimate (arrays with a leading 1) and proprioception."""
        vector = np.zeros(self.size + 1, np.float32)  # the extra last slot takes what the policy does not read
        yaw = np.nan_to_num(estimate["yaw"][0], nan=0.0)  # (O,) no visible yaw: 0
        position = np.array(estimate["position"][0], np.float32)  # (O, 3)
        if self.held_from_gripper:
            self.holding = held_in_hand(position, state, self.holding)
        vector[self.position] = position
        vector[self.yaw] = yaw
        half = yaw / 2
        quaternion = np.stack([np.zeros_like(half), np.zeros_like(half), np.sin(half), np.cos(half)], -1)  # upright
        vector[self.quaternion] = quaternion
        vector[self.fixture] = estimate["fixture"][0]
        vector[self.switch] = (estimate["switch"][0] > 0.5).astype(np.float32)
        for column, i in self.proprio:
            vector[column] = state[i]
        return vector[: self.size]

    def reset(self) -> None:
        """A new episode or instruction: nothing is remembered in the hand (an object still held is
        found again when it is read within ``HELD_REACH_M`` of the grasp point)."""
        self.holding = None


HELD_REACH_M = 0.08  # the held object is the one read nearest the grasp point, if within this
GRASP_OFFSET_M = np.array([0.0, 0.0, -0.011], np.float32)  # a held object's centre from ee (median, demo rollouts)
_WIDTH = STATE_NAMES.index("gripper.width")  # proprioception columns, found once (it runs at every prediction)
_EE = [STATE_NAMES.index(f"ee.{a}") for a in "xyz"]


def held_in_hand(position: np.ndarray, state: np.ndarray, holding: int | None = None) -> int | None:
    """With the fingers closed on something (``gripper.width`` in ``grasp_turn.HELD_WIDTH_M``), move the object
    in the hand to the grasp point, in place, and return its index (None when nothing is held): the
    cameras read an object in the hand a few centimetres low (the hand covers it), and one lifted
    high back on the table (20 cm from the hand, measured), where proprioception knows where it is.
    The object in the hand is the one read nearest the grasp point (within ``HELD_REACH_M``) when the
    fingers close on it; pass the index returned at the last reading as ``holding`` and it stays the
    one in the hand, wherever it is read, until the fingers open or shut on nothing."""
    width = state[_WIDTH]
    if not grasp_turn.holding(width) or not len(position):
        return None
    grasp = np.asarray(state[_EE], np.float32) + GRASP_OFFSET_M
    if holding is None:
        distance = np.linalg.norm(position - grasp, axis=1)
        holding = int(np.argmin(distance))
        if distance[holding] > HELD_REACH_M:
            return None
    position[holding] = grasp
    return holding


class EstimatedStatePolicy(ChunkExecution):
    """Cameras + proprioception -> estimator -> scene vector -> state policy -> action chunk."""

    name = KIND
    language_blind = False
    privileged = False
    scene_fields: tuple[str, ...] = ()
    # The latest estimate the state policy acted on: (its scene-field names, the vector), None before
    # one. The evaluation scores it against the true scene (``rollout.EstimateProbe``); nothing reads it to act.
    last_estimate: tuple[tuple[str, ...], np.ndarray] | None = None

    def __init__(self, path: Path, estimator, state_policy, execution: str = "chunk",
                 actions_per_chunk: int | None = None, ensemble_decay: float = 0.01,
                 held_from_gripper: bool = False):  # fmt: skip
        if getattr(state_policy.config, "contacts", False):
            raise CheckpointError(
                f"{path}: its state policy reads contact flags, which no camera estimate gives; train it with "
                "policy.contacts=false"
            )
        self.path, self.estimator, self.state_policy = Path(path), estimator, state_policy
        self.scene = SceneFromEstimate(estimator.layout, state_policy.scene_fields, held_from_gripper)
        self.chunk_size, self.n_obs_steps = state_policy.chunk_size, 1
        self.step = state_policy.step
        self.set_execution(execution, actions_per_chunk, ensemble_decay)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", instructions=None, **kw) -> EstimatedStatePolicy:
        from robolang.policy.inference import LanguagePolicy

        state = LanguagePolicy.load(Path(path) / "policy", device=device, instructions=instructions)
        return cls.around(path, state, device=device, **kw)

    @classmethod
    def around(cls, path: str | Path, state_policy, device: str = "cpu", **kw) -> EstimatedStatePolicy:
        """The composed folder ``path`` with its state policy already loaded (``path/policy``)."""
        from robolang.perception.checkpoint import load_estimator

        path = Path(path)
        manifest = json.loads((path / MANIFEST).read_text())
        if manifest.get("kind") != KIND:
            raise CheckpointError(f"{path / MANIFEST} is not a {KIND} manifest (kind {manifest.get('kind')!r})")
        held = bool(manifest.get("held_from_gripper", False))  # folders composed before the option: off
        return cls(path, load_estimator(path / "estimator", device=device), state_policy, held_from_gripper=held, **kw)

    # ---- what it is ---------------------------------------------------------------------------
    @property
    def image_shapes(self) -> dict[str, tuple[int, ...]]:
        return {c: tuple(s) for c, s in self.estimator.config.cameras.items()}

    @property
    def observation_features(self) -> dict[str, tuple[int, ...]]:
        return {**self.image_shapes, KEY_STATE: (len(STATE_NAMES),)}

    @property
    def action_features(self) -> dict[str, tuple[int, ...]]:
        return self.state_policy.action_features

    def check_robot(self, observation_features: dict) -> None:
        """Raise ``CheckpointError`` when the robot's cameras are not the estimator's, naming both."""
        from robolang.perception.checkpoint import camera_difference

        problems = camera_difference(self.estimator.config.cameras, observation_features)
        if problems:
            raise CheckpointError(f"{self.path} does not fit the robot: " + "; ".join(problems))

    def reset(self) -> None:
        self.state_policy.reset()
        self.scene.reset()
        self._reset_actions()
        self.last_estimate = None

    # ---- acting ----------------------------------------------------------------------------------
    def estimate(self, observation: dict, state: np.ndarray | None = None) -> np.ndarray:
        """The scene vector (D,) the state policy is given for this observation (``state``: its
        proprioception vector, when already read)."""
        images = {}
        for camera in self.estimator.camera_names:
            image = observation.get(camera, observation.get(f"{KEY_IMAGE_PREFIX}{camera}"))
            if image is None:
                raise KeyError(f"the observation has no camera {camera!r} (the estimator reads {CAMERA_NAMES})")
            images[camera] = np.asarray(image)[None]
        state = proprioception(observation) if state is None else state
        with torch.inference_mode():
            estimate = self.estimator.predict(images, state[None])
        return self.scene(estimate, state)

    def observe(self, observation: dict) -> None:
        """A step between chunks: no estimate, but the state policy follows the hand (``grasp_turn``)."""
        self.state_policy.track(observation)

    def predict(self, observation: dict, instruction: str) -> np.ndarray:
        instruction = check_instruction(instruction)
        state = proprioception(observation)
        scene = self.estimate(observation, state)
        self.last_estimate = (tuple(self.state_policy.scene_fields), scene)
        return self.state_policy.predict({KEY_STATE: state, KEY_SCENE_STATE: scene}, instruction)


def compose(estimator: str | Path, policy: str | Path, out: str | Path, held_from_gripper: bool = False) -> Path:
    """Copy an estimator checkpoint and a state policy checkpoint into one folder ``out`` (refused
    when they do not fit together: another scene, a policy reading contacts or images);
    ``held_from_gripper``: an object in the hand is placed at the grasp point (``held_in_hand``)."""
    from robolang.perception.checkpoint import load_estimator, resolve
    from robolang.policy.checkpoint import resolve_checkpoint
    from robolang.policy.inference import LanguagePolicy

    out = Path(out)
    if out.exists():
        raise CheckpointError(f"out={out} exists; choose a new folder for the composed policy")
    estimator_dir, policy_dir = resolve(estimator), resolve_checkpoint(policy)
    model, state = load_estimator(estimator_dir), LanguagePolicy.load(policy_dir)
    if not state.privileged:
        raise CheckpointError(
            f"{policy} is a {state.name} policy; compose needs a state policy (policy=privileged_state)"
        )
    EstimatedStatePolicy(out, model, state)  # refuses what does not fit, before anything is written
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(estimator_dir, tmp / "estimator", ignore=shutil.ignore_patterns("training.pt"))
    shutil.copytree(policy_dir, tmp / "policy", ignore=shutil.ignore_patterns("training*"))
    manifest = {"kind": KIND, "estimator": str(estimator_dir), "policy": str(policy_dir),
                "held_from_gripper": bool(held_from_gripper)}  # fmt: skip
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.rename(out)
    return out
