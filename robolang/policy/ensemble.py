"""Several trained policies as one checkpoint: their action distributions averaged at every prediction.

Why: two trainings of the same recipe on the same data (two seeds) put a fifth of the evaluation's
episodes on different sides at the same success rate, so part of what each one gets wrong is its own
variance, which averaging can remove (Lakshminarayanan et al. 2017, deep ensembles). Measured on the
ladder's state policies (BENCHMARKS.md, "Ensembles, ..."): no gain, so it is no part of the recipe.

One folder (``robolang ensemble members=[runs/a,runs/b] out=runs/ab``)::

    ensemble.json    {"kind": "ensemble", "members": [where each came from], "format_version": 1}
    members/0/       each member's checkpoint as ``load_checkpoint`` reads it (no training state)
    members/1/ ...

``load_checkpoint`` reads the folder like one checkpoint: the bundle's policy is a
``PolicyEnsemble`` and everything that loads a policy (evaluation, ``ask``, ``dagger``,
``estimator compose``) takes it unchanged. With a bins action head the members' bin probabilities
are averaged and the mean decoded as one head decodes its own (the most likely bin, refined by its
neighbours): a mean of two modes is not taken. With an L1 head the chunks are averaged.

Members must read and write the same things: the same policy kind, encoder, cameras and sizes,
scene-state entries, instruction length, chunk and action head. They may differ in how they were
trained and built (layers, data, seeds) and in history: the ensemble keeps the longest
``n_obs_steps`` and hands each member its last frames; optional inputs (``grasp_turn``,
``start_scene``) are given when any member reads them and ignored by the others.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from robolang.policy import batch as B
from robolang.policy.checkpoint import (
    ENSEMBLE_MANIFEST,
    CheckpointError,
    PolicyBundle,
    load_checkpoint,
    resolve_checkpoint,
)

KIND = "ensemble"
FORMAT = 1
# Config entries every member must share: what the observation and the instruction become, and
# what the chunk means. Anything else (sizes, dropout, training data) may differ.
SHARED = ("chunk_size", "action_dim", "state_dim", "action_head", "action_bins", "scene_fields",
          "cameras", "image_size", "max_lang_tokens")  # fmt: skip
OPTIONAL_INPUTS = ("grasp_turn", "start_scene", "contacts")  # read by some members: given to all


class PolicyEnsemble(nn.Module):
    """Trained policies of one kind behind the policy surface ``LanguagePolicy`` reads: ``predict``
    averages their action distributions."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if len(members) < 2:
            raise CheckpointError(f"an ensemble needs at least 2 members, got {len(members)}")
        self.members = nn.ModuleList(members)
        first = members[0].config
        self.name = f"ensemble of {len(members)} {getattr(members[0], 'name', type(members[0]).__name__)}"
        # What LanguagePolicy reads of the config: the longest history, every optional input any member reads.
        wider = {k: any(getattr(m.config, k, False) for m in members) for k in OPTIONAL_INPUTS if hasattr(first, k)}
        self.config = replace(first, n_obs_steps=max(m.n_obs_steps for m in members), **wider)
        self.bins = getattr(first, "action_head", None) == "bins"
        self._timed = frozenset((*self.observation_features, B.GRASP_TURN))  # batch keys with a time axis

    @property
    def n_obs_steps(self) -> int:
        return self.config.n_obs_steps

    @property
    def chunk_size(self) -> int:
        return self.config.chunk_size

    @property
    def observation_features(self) -> dict[str, tuple[int, ...]]:
        features = {}
        for member in self.members:
            features.update(member.observation_features)
        return features

    @property
    def action_features(self) -> dict[str, tuple[int, ...]]:
        return dict(self.members[0].action_features)

    def _member_batch(self, member: nn.Module, batch: dict) -> dict:
        """``batch`` with every per-step entry cut to the member's last ``n_obs_steps`` frames."""
        steps = member.n_obs_steps
        return {k: v[:, -steps:] if k in self._timed else v for k, v in batch.items()}  # (B, T, ...) -> (B, n, ...)

    @torch.inference_mode()
    def predict(self, batch: dict) -> torch.Tensor:
        """The action chunk (B, K, A) in [-1, 1]: the members' mean bin probabilities decoded (bins
        head), or the mean of their chunks, each clipped to [-1, 1] as it would act alone (L1 head)."""
        batches = [self._member_batch(m, batch) for m in self.members]
        if not self.bins:
            chunks = [
                m.predict(b).clamp(-1, 1) for m, b in zip(self.members, batches, strict=True)
            ]  # as each would act
            return torch.stack(chunks).mean(0)
        probabilities = torch.stack(
            [m.action_logits(b).softmax(-1) for m, b in zip(self.members, batches, strict=True)]
        ).mean(0)  # (B, K, A, n_bins)
        return self.members[0].decode_bins(probabilities.clamp_min(1e-12).log())


def check_members(bundles: list[PolicyBundle], names: list[str]) -> None:
    """Refuse members that do not read and write the same things, naming the first difference."""
    first, name0 = bundles[0], names[0]
    for bundle, name in zip(bundles[1:], names[1:], strict=True):
        pairs = [("policy kind", first.policy_type, bundle.policy_type), ("encoder", first.encoder, bundle.encoder),
                 ("cameras and state names", first.observation_spec, bundle.observation_spec)]  # fmt: skip
        pairs += [(f"policy.{k}", getattr(first.policy.config, k, None), getattr(bundle.policy.config, k, None))
                  for k in SHARED]  # fmt: skip
        for what, a, b in pairs:
            if a != b:
                shown = (f"{len(a)} entries vs {len(b)}" if isinstance(a, list | tuple) and len(a) != len(b)
                         else f"{a!r} vs {b!r}")  # fmt: skip
                raise CheckpointError(f"ensemble members {name0} and {name} differ in {what}: {shown}")


def load_ensemble(directory: Path, device: str = "cpu") -> PolicyBundle:
    """The bundle of an ensemble folder: its members loaded and checked, the policy a ``PolicyEnsemble``."""
    try:
        manifest = json.loads((directory / ENSEMBLE_MANIFEST).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{directory / ENSEMBLE_MANIFEST} is damaged ({e}); write the ensemble again") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND or not isinstance(manifest.get("members"), list):
        raise CheckpointError(f"{directory / ENSEMBLE_MANIFEST} is not an ensemble manifest")
    folders = [directory / "members" / str(i) for i in range(len(manifest["members"]))]
    bundles = [load_checkpoint(folder, device=device) for folder in folders]
    check_members(bundles, [str(f) for f in folders])
    policy = PolicyEnsemble([b.policy for b in bundles]).to(device).eval()
    first = bundles[0]
    step = max(b.step for b in bundles)
    return PolicyBundle(policy, policy.name, first.stats, first.encoder, first.observation_spec, step, directory)


def write_ensemble(members: list[str | Path], out: str | Path) -> Path:
    """Copy the members' checkpoints (run folders or checkpoint folders) into one ensemble folder
    ``out``, refused before anything is written when they do not fit together or ``out`` exists."""
    out = Path(out)
    if out.exists():
        raise CheckpointError(f"out={out} exists; choose a new folder for the ensemble")
    folders = [resolve_checkpoint(m) for m in members]
    if any((f / ENSEMBLE_MANIFEST).is_file() for f in folders):
        raise CheckpointError("an ensemble member is itself an ensemble; list its members instead")
    bundles = [load_checkpoint(f) for f in folders]
    check_members(bundles, [str(m) for m in members])
    PolicyEnsemble([b.policy for b in bundles])  # refuses fewer than two
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for i, folder in enumerate(folders):
        shutil.copytree(folder, tmp / "members" / str(i), ignore=shutil.ignore_patterns("training*"))
    manifest = {"kind": KIND, "format_version": FORMAT, "members": [str(f) for f in folders]}
    (tmp / ENSEMBLE_MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.rename(out)
    return out
