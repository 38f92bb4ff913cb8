"""The PRIVILEGED state policy: the simulator's scene state in place of images. Never deployable.

The upper bound of the diagnosis ladder (how well can a policy do when perception is solved?).
It reads the scene state the simulator records beside every play dataset (``batch.SCENE_STATE``),
which no real robot gives; evaluation runs it only through its ``PrivilegedController``, and the
normal path (``PolicyController``) refuses it. Everything else is the transformer policy's
(``robolang.policy.model``): the same language tokens, proprioception token, action queries,
encoder stack, L1 chunk loss masked past the segment's end.

One sequence per sample::

    [ language (L) | proprio (T) | step t: object o (T * O), fixture f (T * F) | action queries (K) ]

An object token is a shared MLP of that object's features plus a learned identity embedding:
its position (normalised by the training data's statistics), its position relative to the
gripper (in units of ``batch.TARGET_SCALE_M``, 10 cm: what reaching needs), sin/cos of its yaw,
its up axis (tipped over or not), with ``contacts`` its recorded contact flags with every
other entity (the gripper among them: held or not) and, with ``relative_yaw``, sin/cos of 1, 2
and 4 times its yaw minus the gripper's (the turn that lines the fingers up with it; without it
the policy's yaw commands on validation windows explained none of the data's, R^2 = 0.00). A fixture token (drawer, slider, button
joints, the light) is its one value, projected, plus its identity. Every scene token is
FiLM-modulated by the pooled instruction (Perez et al. 2018), as the image policy's camera
tokens are, so what the scene tokens carry already depends on what was asked.

With ``pointer`` (the default recipe), the policy also says which objects the instruction names:
a small head on the instruction gives, for the first and the second argument, a
distribution over the objects and "none" (with ``pointer_tokens``, each argument reads the
instruction's tokens through its own attention query first: the pooled sentence alone confused
the two objects of "put X on Y" in a quarter to most of the two-object windows), trained by cross-entropy against the segment's own
arguments (``batch.POINTER``: labels are free, the captioner knows them). Two more tokens per step
carry the features of the pointed-at objects (the probability-weighted mean of their feature
vectors, through the same object MLP), so "where is what I was asked about, relative to my hand"
is one token away from the action queries instead of an attention pattern to discover. Without
it the policy learnt on train windows and not on held-out ones (bench ladder, BENCHMARKS.md):
it did not bind the instruction to the object.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from robolang.policy import batch as B
from robolang.policy.grasp_turn import GRASP_TURN_DIM
from robolang.policy.model import chunk_l1_loss, encoder_trunk
from robolang.policy.protocol import LOSS, PolicyBase, PolicyConfigBase, StateNormalizer
from robolang.policy.scene_layout import SceneLayout


@dataclass
class PrivilegedStatePolicyConfig(PolicyConfigBase):
    """Sizes of the privileged state policy; those it shares with the transformer policy default alike."""

    n_obs_steps: int = 1
    chunk_size: int = 10
    state_dim: int = B.STATE_DIM
    action_dim: int = B.ACTION_DIM
    lang_dim: int = 384
    max_lang_tokens: int = 32
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.1
    contacts: bool = True  # each object token also reads its contact flags (false: the ablation without)
    # Which objects the instruction names (see the module notes); false: the policy of the first
    # ladder measurement (and of checkpoints saved before the pointer existed).
    pointer: bool = False
    pointer_weight: float = 1.0  # weight of the pointer's cross-entropy beside the chunk L1
    # The pointer reads the instruction's tokens (one attention query per argument) rather than
    # only the pooled sentence, which keeps too little of word order to tell "X on Y" from "Y on X".
    pointer_tokens: bool = False
    # The pointer also reads the scene: the instruction's tokens, one token per object (its
    # features, as the action trunk's) and three slots (argument 1, argument 2, none) pass through
    # ``pointer_layers`` transformer layers of their own, and each argument's slot scores every
    # object and the none slot. A reference by position ("the cube furthest to the left", "the one
    # nearest the plate") names an object only given where the objects are, which a pointer on
    # the words alone cannot know (it spreads over the candidates; the arm goes between them).
    pointer_scene: bool = False
    pointer_layers: int = 2
    # The instruction as its encoder's tokens (true: up to max_lang_tokens tokens, as the image
    # policy) or as one token, the pooled sentence (false: about half the sequence, so half a step).
    lang_tokens: bool = True
    # Each object token also reads its yaw relative to the gripper's, as sin/cos of 1, 2 and 4
    # times the difference: the turn that lines the fingers up with a bar (period 180 deg) or a
    # cube's faces (90 deg) is then one feature away. False: absolute yaws only (the gripper's in
    # proprioception), as checkpoints saved before it.
    relative_yaw: bool = False
    # The action head: "l1", a value per action dimension (the transformer policy's L1 chunk
    # loss), or "bins", a distribution over ``action_bins`` values per dimension (cross-entropy;
    # decoded at the most likely bin, refined by its neighbours), which picks one of the data's
    # modes where the L1 head averages them (from one state play goes up, down or sideways).
    # Which task the instruction asks for: a head on the instruction trained by cross-entropy on
    # the segment's task (``batch.TASK``; free labels), its probabilities weighting a learned
    # embedding per task that is added to every action query, so the verb reaches the actions
    # directly (without it the same state gave the same chunk for "lift it" and "put it down").
    task_head: bool = False
    task_weight: float = 1.0
    # The task head reads the instruction's tokens through one learned attention query (true)
    # rather than the pooled sentence (false, as checkpoints saved before it): a mean over every
    # token dilutes the one word that tells push_left from push_right once the verb is new
    # ("nudge the red block to the right" was push_left for the pooled head).
    task_tokens: bool = False
    # One more token per object: its features when the instruction began (``batch.SCENE_START``),
    # with an identity of its own, so the turn or push made so far is two tokens apart ("rotate it
    # left" is judged on the turn since the start, which the current state alone does not say).
    # False: the current state only, as checkpoints saved before it.
    start_scene: bool = False
    # The proprioception token also reads how far the hand has turned since its fingers closed on
    # something (``batch.GRASP_TURN``, ``robolang.policy.grasp_turn``: held, sin/cos of the turn),
    # which a rotation's "let go" depends on and one state does not show. Proprioception only, so
    # the deployable policy has it too. False: as checkpoints saved before it.
    grasp_turn: bool = False
    task_ids: tuple[str, ...] = ()  # the head's classes; filled from the task registry when empty
    action_head: str = "l1"
    action_bins: int = 41
    # bins: the target is a Gaussian of this std (in bins) around the recorded value instead of
    # its one nearest bin (HL-Gauss, Farebrother et al. 2024: neighbouring bins are near actions,
    # which one-hot cross-entropy ignores and overfits; they suggest ~0.75 bin). 0: one-hot.
    bin_sigma: float = 0.0
    # The scene vector's entry names, in order (``meta/info.json``); ``robolang train`` fills them
    # from the dataset and the checkpoint keeps them, so evaluation builds the same vector.
    scene_fields: tuple[str, ...] = ()

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"policy.d_model={self.d_model} must be a multiple of n_heads={self.n_heads}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"policy.dropout={self.dropout} is not allowed: it must be in [0, 1)")
        if self.task_head and not self.task_ids:
            from robolang.captioning.tasks import TASK_IDS

            self.task_ids = tuple(TASK_IDS)
        self.task_ids = tuple(self.task_ids)
        if not self.task_weight >= 0:
            raise ValueError(f"policy.task_weight={self.task_weight} is not allowed: it must be >= 0")
        for name in (
            "contacts",
            "pointer",
            "pointer_tokens",
            "pointer_scene",
            "lang_tokens",
            "relative_yaw",
            "task_head",
            "task_tokens",
            "start_scene",
            "grasp_turn",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"policy.{name}={getattr(self, name)!r} is not allowed: it must be true or false")
        if self.action_head not in ACTION_HEADS:
            raise ValueError(
                f"policy.action_head={self.action_head!r} is not allowed: it must be one of {ACTION_HEADS}"
            )
        if isinstance(self.action_bins, bool) or not isinstance(self.action_bins, int) or self.action_bins < 3:
            raise ValueError(f"policy.action_bins={self.action_bins!r} is not allowed: it must be an integer >= 3")
        if isinstance(self.bin_sigma, bool) or not isinstance(self.bin_sigma, (int, float)) or not self.bin_sigma >= 0:
            raise ValueError(f"policy.bin_sigma={self.bin_sigma!r} is not allowed: it must be a number >= 0 (bins)")
        if self.task_tokens and not self.task_head:
            raise ValueError("policy.task_tokens=true needs policy.task_head=true (it is how the task head reads)")
        if self.pointer_tokens and not self.pointer:
            raise ValueError("policy.pointer_tokens=true needs policy.pointer=true (it is how the pointer reads)")
        if self.pointer_scene and not self.pointer:
            raise ValueError("policy.pointer_scene=true needs policy.pointer=true (it is how the pointer reads)")
        if isinstance(self.pointer_layers, bool) or not isinstance(self.pointer_layers, int) or self.pointer_layers < 1:
            raise ValueError(
                f"policy.pointer_layers={self.pointer_layers!r} is not allowed: it must be an integer >= 1"
            )
        if not self.pointer_weight >= 0:
            raise ValueError(f"policy.pointer_weight={self.pointer_weight} is not allowed: it must be >= 0")
        try:
            layout = SceneLayout.from_fields(tuple(self.scene_fields))
        except ValueError as e:
            raise ValueError(f"policy.scene_fields: {e}") from None
        if self.relative_yaw and self.scene_fields and layout.ee_yaw < 0:
            raise ValueError("policy.relative_yaw=true needs the gripper's yaw (ee.yaw) in the scene state")


ACTION_HEADS = ("l1", "bins")


class ScenePointer(nn.Module):
    """``pointer_scene``: which objects the instruction names, read from its words *and* the
    objects' features together (see ``PrivilegedStatePolicyConfig.pointer_scene``)."""

    def __init__(self, c: PrivilegedStatePolicyConfig, n_features: int, n_objects: int):
        super().__init__()
        d = c.d_model
        self.lang = nn.Linear(c.lang_dim, d)
        self.lang_pos = nn.Parameter(torch.zeros(1, c.max_lang_tokens, d))
        self.objects = nn.Sequential(nn.Linear(n_features, d), nn.GELU(), nn.Linear(d, d))
        self.object_id = nn.Parameter(torch.zeros(n_objects, d))
        self.start_id = nn.Parameter(torch.zeros(n_objects, d)) if c.start_scene else None
        self.slots = nn.Parameter(torch.zeros(1, 3, d))  # argument 1, argument 2, none
        for p in (self.lang_pos, self.object_id, self.slots):
            nn.init.normal_(p, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d, c.n_heads, c.ff_mult * d, c.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.trunk = nn.TransformerEncoder(layer, c.pointer_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.key = nn.Linear(d, d)

    def forward(self, tokens: torch.Tensor, pad: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Instruction tokens (B, L, lang_dim) with their pad mask (B, L) and object features
        (B, O, n_features) -> logits (B, 2, O + 1) (last: none)."""
        used = min(max(int((~pad).sum(1).max()), 1), self.lang_pos.shape[1])
        pad = pad[:, :used].clone()
        pad[:, 0] = False  # an empty instruction still has one key
        lang = self.lang(tokens[:, :used]) + self.lang_pos[:, :used]  # (B, L, d)
        objects = self.objects(features) + self.object_id  # (B, O, d)
        x = torch.cat([lang, objects, self.slots.expand(len(lang), -1, -1)], dim=1)
        mask = torch.cat([pad, pad.new_zeros(len(lang), objects.shape[1] + 3)], dim=1)
        out = self.norm(self.trunk(x, src_key_padding_mask=mask))[:, used:]  # (B, O + 3, d)
        n = objects.shape[1]
        candidates = self.key(torch.cat([out[:, :n], out[:, n + 2 :]], dim=1))  # (B, O + 1, d): objects, none
        return out[:, n : n + 2] @ candidates.transpose(1, 2) / candidates.shape[-1] ** 0.5  # (B, 2, O + 1)


class TokenTaskHead(nn.Module):
    """``task_tokens``: which task the instruction asks for, read from its tokens by one learned
    attention query (see ``PrivilegedStatePolicyConfig.task_tokens``)."""

    def __init__(self, c: PrivilegedStatePolicyConfig, n_tasks: int):
        super().__init__()
        d = c.d_model
        self.proj = nn.Linear(c.lang_dim, d)
        self.query = nn.Parameter(torch.zeros(1, 1, d))
        nn.init.normal_(self.query, std=0.02)
        self.attention = nn.MultiheadAttention(d, c.n_heads, batch_first=True)
        self.out = nn.Sequential(nn.GELU(), nn.Linear(d, n_tasks))

    def forward(self, tokens: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Instruction tokens (B, L, lang_dim) with their pad mask (B, L) -> logits (B, n_tasks)."""
        pad = pad.clone()
        pad[:, 0] = False  # an empty instruction still has one key
        keys = self.proj(tokens)
        read, _ = self.attention(
            self.query.expand(len(keys), -1, -1), keys, keys, key_padding_mask=pad, need_weights=False
        )
        return self.out(read[:, 0])


RELATIVE_YAW_MULTIPLES = (1.0, 2.0, 4.0)  # any body, a bar's two-fold and a cube's four-fold symmetry


def _up_axis(quat: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternions (x, y, z, w) -> (..., 3) the body's z axis in the world frame."""
    x, y, z, w = quat.unbind(-1)
    return torch.stack([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], dim=-1)


class PrivilegedStatePolicy(PolicyBase):
    """Language-conditioned transformer on the simulator's scene state (privileged: never deployable)."""

    name = "privileged_state"
    config_class = PrivilegedStatePolicyConfig
    privileged = True

    def __init__(self, config: PrivilegedStatePolicyConfig):
        super().__init__(config)
        c, d = config, config.d_model
        self.layout = layout = SceneLayout.from_fields(tuple(c.scene_fields))
        n_scene, n_objects, n_fixtures = len(c.scene_fields), len(layout.objects), len(layout.fixtures)
        self.scene_normalizer = StateNormalizer(n_scene)
        # Column indices (derived from scene_fields, so not saved); a missing contact reads the zero column.
        contacts = layout.contacts if c.contacts else layout.contacts[:, :0]
        self.register_buffer("pose_index", torch.as_tensor(layout.pose), persistent=False)  # (O, 8)
        self.register_buffer("fixture_index", torch.as_tensor(layout.fixture_columns), persistent=False)  # (F,)
        self.register_buffer("ee_index", torch.as_tensor(layout.ee), persistent=False)  # (3,)
        contact_index = torch.as_tensor(contacts).masked_fill(torch.as_tensor(contacts) < 0, n_scene)
        self.register_buffer("contact_index", contact_index, persistent=False)  # (O, E)
        # position, offset from the gripper, yaw, up axis, contacts [, yaw relative to the gripper's]
        n_features = 3 + 3 + 2 + 3 + contacts.shape[1] + (2 * len(RELATIVE_YAW_MULTIPLES) if c.relative_yaw else 0)
        self.object_mlp = nn.Sequential(nn.Linear(n_features, d), nn.GELU(), nn.Linear(d, d))
        self.object_id = nn.Parameter(torch.zeros(n_objects, d))
        self.start_id = nn.Parameter(torch.zeros(n_objects, d)) if c.start_scene else None
        # The pointer: logits over (objects + none) for each of the two arguments; a token per argument.
        # With pointer_tokens, each argument first attends over the instruction's tokens (its own query).
        self.pointer_head = (
            nn.Sequential(nn.Linear(c.lang_dim, d), nn.GELU(), nn.Linear(d, 2 * (n_objects + 1))) if c.pointer else None
        )
        self.pointer_attention = (
            nn.MultiheadAttention(c.lang_dim, 1, batch_first=True) if c.pointer and c.pointer_tokens else None
        )
        self.pointer_queries = nn.Parameter(torch.zeros(1, 2, c.lang_dim)) if self.pointer_attention else None
        self.scene_pointer = ScenePointer(c, n_features, n_objects) if c.pointer and c.pointer_scene else None
        self.pointer_id = nn.Parameter(torch.zeros(2, d)) if c.pointer else None
        self.pointer_none = nn.Parameter(torch.zeros(2, d)) if c.pointer else None
        n_tasks = len(c.task_ids) if c.task_head else 0
        if not c.task_head:
            self.task_classifier = None
        elif c.task_tokens:
            self.task_classifier = TokenTaskHead(c, n_tasks)
        else:
            self.task_classifier = nn.Sequential(nn.Linear(c.lang_dim, d), nn.GELU(), nn.Linear(d, n_tasks))
        self.task_embedding = nn.Parameter(torch.zeros(n_tasks, d)) if c.task_head else None
        self.fixture_proj = nn.Linear(1, d)
        self.fixture_id = nn.Parameter(torch.zeros(n_fixtures, d))
        self.film = nn.Linear(c.lang_dim, 2 * d)
        nn.init.zeros_(self.film.weight)  # start as identity: gamma = 1, beta = 0 (as vision.FiLMBlock)
        nn.init.zeros_(self.film.bias)
        self.lang_proj = nn.Linear(c.lang_dim, d)
        self.state_proj = nn.Linear(c.state_dim, d)
        self.grasp_proj = nn.Linear(GRASP_TURN_DIM, d) if c.grasp_turn else None
        self.lang_pos = nn.Parameter(torch.zeros(1, c.max_lang_tokens, d))
        self.state_pos = nn.Parameter(torch.zeros(1, c.n_obs_steps, d))
        self.scene_pos = nn.Parameter(torch.zeros(1, c.n_obs_steps, 1, d))
        self.action_queries = nn.Parameter(torch.zeros(1, c.chunk_size, d))
        for p in (self.object_id, self.fixture_id, self.lang_pos, self.state_pos, self.scene_pos, self.action_queries,
                  self.pointer_id, self.pointer_none, self.task_embedding, self.start_id):  # fmt: skip
            if p is not None:
                nn.init.normal_(p, std=0.02)
        if self.pointer_queries is not None:  # a token's scale, so the two arguments attend unevenly from the start
            nn.init.normal_(self.pointer_queries)
        self.transformer = encoder_trunk(c)
        self.norm = nn.LayerNorm(d)
        bins = c.action_bins if c.action_head == "bins" else 1
        self.head = nn.Linear(d, c.action_dim * bins)
        self.register_buffer("bin_values", torch.linspace(-1.0, 1.0, c.action_bins), persistent=False)

    # ---- what it reads -----------------------------------------------------------------------
    @property
    def observation_features(self) -> dict[str, tuple[int, ...]]:
        c = self.config
        return {B.STATE: (c.state_dim,), B.SCENE_STATE: (len(c.scene_fields),)}

    def set_normalization(self, stats: dict) -> None:
        """Proprioception as every policy; of the scene vector only positions and fixture joints are
        scaled (``SceneLayout.normalized_columns``), the rest is used as it is."""
        super().set_normalization(stats)
        if B.SCENE_STATE not in stats:
            raise ValueError(f"the privileged state policy needs statistics of {B.SCENE_STATE!r} (SceneStateDataset)")
        mean = torch.zeros(len(self.config.scene_fields))
        std = torch.ones(len(self.config.scene_fields))
        columns = torch.as_tensor(self.layout.normalized_columns)
        mean[columns] = torch.as_tensor(stats[B.SCENE_STATE]["mean"], dtype=torch.float32)[columns]
        std[columns] = torch.as_tensor(stats[B.SCENE_STATE]["std"], dtype=torch.float32)[columns]
        self.scene_normalizer.set(mean, std)

    def normalization(self) -> dict[str, dict[str, list[float]]]:
        s = self.scene_normalizer
        return {**super().normalization(), B.SCENE_STATE: {"mean": s.mean.tolist(), "std": s.std.tolist()}}

    # ---- tokens ------------------------------------------------------------------------------
    def pointer_logits(self, batch: dict) -> torch.Tensor:
        """(B, 2, O + 1): which object the instruction's first and second argument name (last: none)."""
        n = len(self.layout.objects) + 1
        if self.scene_pointer is not None:  # words and where the objects are
            raw = self._scene_of(batch)[:, -1]  # (B, D) the latest observation
            features = self.object_features(raw, self.scene_normalizer(raw))  # (B, O, n_features)
            return self.scene_pointer(batch[B.LANG_TOKENS], batch[B.LANG_PAD], features)
        if self.pointer_attention is None:  # both arguments from the pooled sentence
            return self.pointer_head(batch[B.LANG_POOLED]).unflatten(-1, (2, n))
        tokens, pad = batch[B.LANG_TOKENS], batch[B.LANG_PAD].clone()  # (B, L, D), (B, L)
        pad[:, 0] = False  # an empty instruction still has one key (its first token)
        queries = self.pointer_queries.expand(len(tokens), -1, -1) + batch[B.LANG_POOLED][:, None]  # (B, 2, D)
        read, _ = self.pointer_attention(queries, tokens, tokens, key_padding_mask=pad, need_weights=False)
        logits = self.pointer_head(read + batch[B.LANG_POOLED][:, None])  # (B, 2, 2 * n): argument k reads its half
        return torch.stack([logits[:, 0, :n], logits[:, 1, n:]], dim=1)

    def scene_tokens(self, batch: dict, pointer: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T * (O + F [+ 2]) [+ O], d): one token per object and per fixture at each step [and one per
        pointed-at argument, given the pointer's (B, 2, O + 1) probabilities] [and, with ``start_scene``,
        one per object as it was when the instruction began], FiLM by language."""
        raw = self._scene_of(batch)  # (B, T, D) raw, as recorded
        scaled = self.scene_normalizer(raw)  # (B, T, D)
        features = self.object_features(raw, scaled)  # (B, T, O, n_features)
        objects = self.object_mlp(features) + self.object_id  # (B, T, O, d)
        fixtures = self.fixture_proj(scaled[..., self.fixture_index, None]) + self.fixture_id  # (B, T, F, d)
        gamma, beta = self.film(batch[B.LANG_POOLED]).chunk(2, dim=-1)  # (B, d) each
        parts = [objects, fixtures]
        if pointer is not None:  # the pointed-at objects' mean features; "none" has its own embedding
            pointed = torch.einsum("bko,btof->btkf", pointer[..., :-1], features)  # (B, T, 2, n_features)
            none = pointer[..., -1, None]  # (B, 2, 1): how sure it is that the argument is missing
            parts.append(self.object_mlp(pointed) + self.pointer_id + (none * self.pointer_none)[:, None])
        tokens = torch.cat(parts, dim=2)  # (B, T, O + F [+ 2], d)
        tokens = tokens * (1 + gamma[:, None, None]) + beta[:, None, None] + self.scene_pos
        tokens = tokens.flatten(1, 2)
        if self.start_id is None:
            return tokens
        start = self._start_of(batch)  # (B, D) raw
        at_start = self.object_features(start[:, None], self.scene_normalizer(start)[:, None])[:, 0]  # (B, O, n_f)
        started = (self.object_mlp(at_start) + self.start_id) * (1 + gamma[:, None]) + beta[:, None]  # (B, O, d)
        return torch.cat([tokens, started], dim=1)

    def _start_of(self, batch: dict) -> torch.Tensor:
        """The scene state when the instruction began, (B, D); a clear error where the batch has none."""
        if B.SCENE_START not in batch:
            raise KeyError(
                f"policy.start_scene=true reads {B.SCENE_START!r} (the scene when the instruction began: "
                "SceneStateDataset and LanguagePolicy give it); this batch has none"
            )
        return batch[B.SCENE_START]

    def _scene_of(self, batch: dict) -> torch.Tensor:
        """The batch's raw scene state (B, T, D); a clear error where it has none or another size."""
        if B.SCENE_STATE not in batch:
            raise KeyError(
                f"the privileged state policy reads {B.SCENE_STATE!r} (the simulator's scene state), and this "
                "batch has none"
            )
        raw = batch[B.SCENE_STATE]
        if raw.shape[-1] != len(self.config.scene_fields):
            raise ValueError(
                f"scene_state has {raw.shape[-1]} entries; the policy reads {len(self.config.scene_fields)}"
            )
        return raw

    def object_features(self, raw: torch.Tensor, scaled: torch.Tensor) -> torch.Tensor:
        """(B, T, O, n_features) from the raw and normalised scene vectors (B, T, D): position,
        offset from the gripper, sin/cos yaw, up axis, contacts [, sin/cos of 1, 2, 4 x the yaw
        relative to the gripper's: the last 6 columns]."""
        position = raw[..., self.pose_index[:, :3]]  # (B, T, O, 3) metres
        offset = (position - raw[..., self.ee_index].unsqueeze(-2)) / B.TARGET_SCALE_M  # (B, T, O, 3)
        yaw = raw[..., self.pose_index[:, 7]]  # (B, T, O)
        padded = torch.cat([raw, raw.new_zeros(*raw.shape[:-1], 1)], dim=-1)  # a zero column for missing contacts
        features = [scaled[..., self.pose_index[:, :3]], offset, yaw.sin()[..., None], yaw.cos()[..., None],
                    _up_axis(raw[..., self.pose_index[:, 3:7]]), padded[..., self.contact_index]]  # fmt: skip
        if self.config.relative_yaw:
            turn = (yaw - raw[..., self.layout.ee_yaw, None])[..., None] * yaw.new_tensor(RELATIVE_YAW_MULTIPLES)
            features += [turn.sin(), turn.cos()]  # (B, T, O, 3) each
        return torch.cat(features, dim=-1)

    def task_logits(self, batch: dict) -> torch.Tensor:
        """(B, n_tasks): which task the instruction asks for (``config.task_ids`` order)."""
        if self.config.task_tokens:
            return self.task_classifier(batch[B.LANG_TOKENS], batch[B.LANG_PAD])
        return self.task_classifier(batch[B.LANG_POOLED])

    def _read_queries(
        self, batch: dict, pointer: torch.Tensor | None = None, task: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The normalized transformer outputs at the K action query positions, (B, K, d); ``task``:
        the task head's (B, n_tasks) probabilities, whose embedding joins every action query."""
        c = self.config
        if c.lang_tokens:
            used = min(int((~batch[B.LANG_PAD]).sum(1).max().clamp(min=1)), c.max_lang_tokens)
            lang_pad = batch[B.LANG_PAD][:, :used]  # (B, L)
            lang = self.lang_proj(batch[B.LANG_TOKENS][:, :used]) + self.lang_pos[:, :used]  # (B, L, d)
        else:  # one token: the pooled instruction
            used, lang_pad = 1, batch[B.LANG_PAD][:, :0]
            lang = self.lang_proj(batch[B.LANG_POOLED])[:, None] + self.lang_pos[:, :1]  # (B, 1, d)
        state = self.state_proj(batch[B.STATE]) + self.state_pos  # (B, T, d)
        if self.grasp_proj is not None:
            if B.GRASP_TURN not in batch:
                raise KeyError(
                    f"policy.grasp_turn=true reads {B.GRASP_TURN!r} (the hand's turn since it closed on something: "
                    "SceneStateDataset and LanguagePolicy give it); this batch has none"
                )
            state = state + self.grasp_proj(batch[B.GRASP_TURN])
        scene = self.scene_tokens(batch, pointer)  # (B, T * (O + F [+ 2]), d)
        queries = self.action_queries.expand(lang.shape[0], -1, -1)  # (B, K, d)
        if task is not None:
            queries = queries + (task @ self.task_embedding)[:, None]
        x = torch.cat([lang, state, scene, queries], dim=1)  # (B, S, d)
        pad = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
        pad[:, : lang_pad.shape[1]] = lang_pad
        return self.norm(self.transformer(x, src_key_padding_mask=pad)[:, -c.chunk_size :])

    def forward(self, batch: dict) -> torch.Tensor:
        """Predicted action chunk, (B, K, action_dim), for a batch with normalised proprioception."""
        out = self._chunk_and_pointer(batch)[0]
        return self.decode_bins(out) if self.config.action_head == "bins" else out

    def _chunk_and_pointer(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The head's output (L1: the chunk (B, K, A); bins: logits (B, K, A, n_bins)), the pointer's
        logits and the task head's (None without them)."""
        logits = self.pointer_logits(batch) if self.pointer_head is not None else None
        pointer = logits.softmax(-1) if logits is not None else None
        task_logits = self.task_logits(batch) if self.task_classifier is not None else None
        task = task_logits.softmax(-1) if task_logits is not None else None
        out = self.head(self._read_queries(batch, pointer, task))
        if self.config.action_head == "bins":
            out = out.unflatten(-1, (self.config.action_dim, self.config.action_bins))
        return out, logits, task_logits

    def action_logits(self, batch: dict) -> torch.Tensor:
        """The bins head's logits (B, K, A, n_bins) for a batch with raw proprioception (an
        ensemble averages its members' probabilities before decoding them once)."""
        if self.config.action_head != "bins":
            raise ValueError(f"policy.action_head={self.config.action_head!r} gives a chunk, not bin logits")
        return self._chunk_and_pointer(self.normalize(batch))[0]

    def decode_bins(self, logits: torch.Tensor) -> torch.Tensor:
        """(..., n_bins) logits -> (...) actions: the most likely bin's value, refined by the
        probability-weighted mean over it and its two neighbours (one mode, sub-bin precision)."""
        n = self.config.action_bins
        best = logits.argmax(-1, keepdim=True)  # (..., 1)
        around = (best + torch.arange(-1, 2, device=logits.device)).clamp(0, n - 1)  # (..., 3)
        weights = logits.gather(-1, around).softmax(-1)
        return (weights * self.bin_values[around]).sum(-1)

    def bin_loss(self, logits: torch.Tensor, batch: dict) -> dict[str, torch.Tensor]:
        """Cross-entropy of the (B, K, A, n_bins) logits against the nearest bin of every valid
        action; ``l1`` and ``gripper_l1`` of the decoded chunk, as the L1 head logs them."""
        n, sigma = self.config.action_bins, self.config.bin_sigma
        position = (batch[B.ACTION].clamp(-1, 1) + 1) * (n - 1) / 2  # (B, K, A) in bins
        valid = (~batch[B.ACTION_PAD]).unsqueeze(-1).expand_as(position)  # (B, K, A)
        if not valid.any():
            ce = logits.sum() * 0
        elif sigma > 0:  # soft target: a Gaussian over the bins around the recorded value
            offset = torch.arange(n, device=logits.device) - position[valid].unsqueeze(-1)  # (V, n)
            target = torch.softmax(-0.5 * (offset / sigma) ** 2, dim=-1)
            ce = F.cross_entropy(logits[valid], target)
        else:
            ce = F.cross_entropy(logits[valid], position[valid].round().long())
        with torch.no_grad():
            decoded = chunk_l1_loss(self.decode_bins(logits), batch)
        return {LOSS: ce, "action_ce": ce.detach(), "l1": decoded["l1"], "gripper_l1": decoded["gripper_l1"]}

    def compute_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        """``loss`` and ``l1`` (L1 over the valid chunk steps), ``gripper_l1``: the transformer's loss
        (with ``action_head=bins`` the loss is the bins' cross-entropy, ``action_ce``, and ``l1``
        that of the decoded chunk); with the pointer also ``pointer_ce`` (added at
        ``pointer_weight``) and ``pointer_accuracy``."""
        out, logits, task_logits = self._chunk_and_pointer(self.normalize(batch))
        losses = self.bin_loss(out, batch) if self.config.action_head == "bins" else chunk_l1_loss(out, batch)
        if task_logits is not None:
            if B.TASK not in batch:
                raise KeyError(
                    f"policy.task_head=true trains on {B.TASK!r} (SceneStateDataset gives it); this batch has none"
                )
            labels = batch[B.TASK].to(task_logits.device)  # (B,), -1: a task the head does not know
            known = labels >= 0
            ce = F.cross_entropy(task_logits[known], labels[known]) if known.any() else task_logits.sum() * 0
            losses[LOSS] = losses[LOSS] + self.config.task_weight * ce
            losses["task_ce"] = ce.detach()
            losses["task_accuracy"] = (task_logits.argmax(-1) == labels)[known].float().mean().detach()
        if logits is None:
            return losses
        if B.POINTER not in batch:
            raise KeyError(
                f"policy.pointer=true trains on {B.POINTER!r} (SceneStateDataset gives it); this batch has none"
            )
        labels = batch[B.POINTER].to(logits.device)  # (B, 2)
        ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten())
        losses[LOSS] = losses[LOSS] + self.config.pointer_weight * ce
        losses["pointer_ce"] = ce.detach()
        losses["pointer_accuracy"] = (logits.argmax(-1) == labels).all(-1).float().mean().detach()
        return losses
