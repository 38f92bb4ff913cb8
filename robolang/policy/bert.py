"""A BERT encoder in plain torch, so the default sentence encoder loads without transformers.

Importing transformers' ``AutoModel`` costs ~3 s on the project's 2-core machine (its generation
utilities import scikit-learn), more than the whole rest of ``robolang ask`` before the arm's
first step (issue 13: within 5 s). all-MiniLM-L6-v2 is a plain BERT (absolute positions, GELU,
post-layer-norm), its tokenizer a ``tokenizer.json`` the Rust ``tokenizers`` package reads
directly. ``plain_bert`` says whether a directory is such a model; anything else (another
architecture, options this module does not implement) goes through transformers as before.
The outputs equal transformers' ``BertModel`` to float rounding (tests/test_bert_encoder.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class BertShape:
    """The fields of a Hugging Face ``config.json`` that a BERT forward pass needs."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def from_config(cls, config: dict) -> BertShape:
        return cls(**{name: config[name] for name in cls.__dataclass_fields__})


def plain_bert(directory: Path) -> bool:
    """True when ``directory`` holds a BERT this module computes exactly as transformers does:
    safetensors weights, a fast tokenizer file, absolute positions, exact GELU."""
    try:
        config = json.loads((directory / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        config.get("model_type") == "bert"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and config.get("hidden_act") == "gelu"
        and all(name in config for name in BertShape.__dataclass_fields__)
        and (directory / "model.safetensors").is_file()
        and (directory / "tokenizer.json").is_file()
        and _normaliser_as_configured(directory)
    )


def _normaliser_as_configured(directory: Path) -> bool:
    """transformers rebuilds a BERT tokenizer's normaliser when ``tokenizer_config.json`` asks for
    other lower-casing or accent stripping than ``tokenizer.json`` holds; ``tokenizers`` alone
    would not, so such a model goes through transformers."""
    try:
        normaliser = json.loads((directory / "tokenizer.json").read_text()).get("normalizer") or {}
        settings = json.loads((directory / "tokenizer_config.json").read_text())
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False
    wanted = {"do_lower_case": "lowercase", "strip_accents": "strip_accents"}
    return all(normaliser.get(theirs) == settings[ours] for ours, theirs in wanted.items() if ours in settings)


class _Layer(nn.Module):
    def __init__(self, shape: BertShape):
        super().__init__()
        d, eps = shape.hidden_size, shape.layer_norm_eps
        self.heads = shape.num_attention_heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attention_out, self.attention_norm = nn.Linear(d, d), nn.LayerNorm(d, eps=eps)
        self.intermediate, self.out = nn.Linear(d, shape.intermediate_size), nn.Linear(shape.intermediate_size, d)
        self.out_norm = nn.LayerNorm(d, eps=eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        b, length, d = x.shape  # x (B, L, D); keep (B, 1, 1, L) bool

        def split(t: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, H, L, D/H)
            return t.view(b, length, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.heads)  # (B, H, L, L)
        scores = scores.masked_fill(~keep, torch.finfo(scores.dtype).min)
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, length, d)
        x = self.attention_norm(x + self.attention_out(attended))
        return self.out_norm(x + self.out(F.gelu(self.intermediate(x))))


class BertEncoder(nn.Module):
    """BERT's embeddings and encoder stack; ``forward`` gives the last hidden layer (B, L, D)."""

    def __init__(self, shape: BertShape):
        super().__init__()
        d = shape.hidden_size
        self.shape = shape
        self.word = nn.Embedding(shape.vocab_size, d)
        self.position = nn.Embedding(shape.max_position_embeddings, d)
        self.token_type = nn.Embedding(shape.type_vocab_size, d)
        self.norm = nn.LayerNorm(d, eps=shape.layer_norm_eps)
        self.layers = nn.ModuleList(_Layer(shape) for _ in range(shape.num_hidden_layers))

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word(ids) + self.position(positions)[None] + self.token_type(torch.zeros_like(ids))
        x = self.norm(x)
        keep = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L): padding is never attended to
        for layer in self.layers:
            x = layer(x, keep)
        return x

    def load_hf_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Load a Hugging Face ``BertModel`` state dict (the pooler, unused, is ignored)."""
        weights = {k.removeprefix("bert."): v for k, v in weights.items()}
        names = {
            "word.weight": "embeddings.word_embeddings.weight",
            "position.weight": "embeddings.position_embeddings.weight",
            "token_type.weight": "embeddings.token_type_embeddings.weight",
            "norm.weight": "embeddings.LayerNorm.weight",
            "norm.bias": "embeddings.LayerNorm.bias",
        }
        parts = {
            "query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
            "attention_out": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
            "intermediate": "intermediate.dense", "out": "output.dense", "out_norm": "output.LayerNorm",
        }  # fmt: skip
        for i in range(len(self.layers)):
            for ours, theirs in parts.items():
                for p in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
        missing = [theirs for theirs in names.values() if theirs not in weights]
        if missing:
            raise KeyError(f"not a BERT checkpoint: {len(missing)} weights missing, e.g. {missing[0]}")
        self.load_state_dict({ours: weights[theirs] for ours, theirs in names.items()})


class BertTokenizer:
    """The model's ``tokenizer.json`` through the ``tokenizers`` package: padded to the longest
    text of a batch, cut at ``max_length`` tokens, as transformers' fast tokenizer does."""

    def __init__(self, path: Path, max_length: int):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.enable_truncation(max_length)
        pad = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_padding(pad_id=0 if pad is None else pad, pad_token="[PAD]")

    def vocabulary(self) -> list[str]:
        """Every token the tokenizer knows (word pieces included)."""
        return list(self._tokenizer.get_vocab())

    def __call__(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids, attention_mask), each (N, L) int64."""
        encoded = self._tokenizer.encode_batch(list(texts))
        ids = torch.tensor([e.ids for e in encoded], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in encoded], dtype=torch.long)
        return ids, mask


def load_bert(directory: Path, max_length: int) -> tuple[BertTokenizer, BertEncoder]:
    """The tokenizer and the encoder (eval mode) of a directory ``plain_bert`` accepts."""
    from safetensors.torch import load_file

    shape = BertShape.from_config(json.loads((directory / "config.json").read_text()))
    model = BertEncoder(shape)
    model.load_hf_weights(load_file(directory / "model.safetensors"))
    return BertTokenizer(directory / "tokenizer.json", max_length), model.eval()
