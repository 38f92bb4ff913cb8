"""How far the hand has turned since its fingers closed on something: proprioception only.

A rotation ("turn the red cube left") is judged on the object's turn since the instruction began,
and the scripted expert lets go after 46-69 deg. From one state the policy cannot tell how far it
has turned (a cube looks the same every 90 deg), so "keep turning" and "let go" follow the same
state in its data (BENCHMARKS.md, "Failures read step by step"). While the fingers hold something
(``gripper.width`` in ``HELD_WIDTH_M``), the hand's yaw minus its yaw when they closed (or when the
instruction began, if they were closed then) is that turn, and it reads only the arm's own joints:
a real arm has it too.

The policy reads it (``policy.grasp_turn``) as three numbers per observation step: held (0/1) and
sin/cos of the turn (zeros when nothing is held). Training computes it per frame from the recorded
proprioception (``grasp_turn_of_frames``), inference step by step (``GraspTurn``), both from the
first frame of the instruction on; a test checks they agree on a recorded episode.
"""

from __future__ import annotations

import numpy as np

from robolang.features import STATE_NAMES

HELD_WIDTH_M = (0.005, 0.075)  # the fingers neither closed on nothing nor open: something is between them
GRASP_TURN_DIM = 3  # held, sin(turn), cos(turn)
_WIDTH = STATE_NAMES.index("gripper.width")
_YAW = STATE_NAMES.index("ee.yaw")


def holding(width: np.ndarray | float) -> np.ndarray:
    """Whether the fingers are closed on something (neither shut on nothing nor open)."""
    width = np.asarray(width)
    return (width > HELD_WIDTH_M[0]) & (width < HELD_WIDTH_M[1])


def features(turn: np.ndarray, held: np.ndarray) -> np.ndarray:
    """(..., 3) float32: held, sin and cos of the turn (radians), zeros where nothing is held."""
    held = np.asarray(held, np.float32)
    turn = np.asarray(turn, np.float32)
    return np.stack([held, np.sin(turn) * held, np.cos(turn) * held], axis=-1).astype(np.float32)


def _wrapped(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


def grasp_runs(state: np.ndarray, episode_first: np.ndarray) -> np.ndarray:
    """(N,) int64 for frames (N, STATE_DIM) of concatenated episodes (``episode_first``: (N,) bool,
    each episode's frame 0): the frame where the current run of held frames began, -1 where
    nothing is held."""
    held = holding(state[:, _WIDTH])
    n = len(held)
    before = np.concatenate([[False], held[:-1]]) & ~np.asarray(episode_first, bool)
    begins = held & ~before
    runs = np.maximum.accumulate(np.where(begins, np.arange(n), -1)) if n else np.zeros(0, np.int64)
    return np.where(held, runs, -1).astype(np.int64)


def grasp_turn_of_frames(state: np.ndarray, runs: np.ndarray, frames: np.ndarray, start: np.ndarray) -> np.ndarray:
    """(..., 3) the policy's input at global frames ``frames`` (any shape) of instructions that began
    at global frame ``start`` (broadcast against ``frames``); ``runs`` from ``grasp_runs``. A grasp
    made before the instruction began counts from its first frame, as ``GraspTurn`` after ``reset``."""
    frames = np.asarray(frames)
    began = runs[frames]
    held = began >= 0
    latched = np.maximum(began, np.broadcast_to(start, frames.shape))
    turn = _wrapped(state[frames, _YAW] - state[latched, _YAW])
    return features(turn, held)


class GraspTurn:
    """Step by step at inference: ``update(proprioception)`` at every control step, in order;
    ``reset()`` when an instruction begins."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._yaw: float | None = None  # the hand's yaw when the fingers closed (None: nothing held)

    def update(self, state: np.ndarray) -> np.ndarray:
        """(3,) this step's input from its (STATE_DIM,) proprioception."""
        if not holding(state[_WIDTH]):
            self._yaw = None
            return features(0.0, False)
        if self._yaw is None:
            self._yaw = float(state[_YAW])
        return features(_wrapped(float(state[_YAW]) - self._yaw), True)
