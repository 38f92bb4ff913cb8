"""The torch BERT forward pass that loads the default sentence encoder without transformers:
its outputs must be transformers' own, or every checkpoint trained on them would change."""

import json
import subprocess
import sys

import pytest
import torch

from robolang.captioning.grammar import enumerate_phrasings
from robolang.policy.bert import load_bert, plain_bert
from robolang.policy.language import SentenceEncoder, default_encoder_path
from robolang.testing.scene_states import PLAY_TABLE

ODD = [
    "lift the red block",
    "Could you PICK the red block up off the table, please?",
    "put the little red cube on top of the big green one -> now",
    "make the light go dark!!!",
    "drawer: open it. Then close it; then open it again and again and again and again and again",
    "déplace le bloc rouge à gauche",
    "x",
]


def grammar_phrasings() -> list[str]:
    """A spread of the grammar's own phrasings (what training encodes most)."""
    texts = []
    for task, args in (("lift", ("red_cube",)), ("stack", ("red_cube", "green_cube")), ("open_drawer", ())):
        texts += [p.text for p in enumerate_phrasings(task, args, PLAY_TABLE)][::7][:15]
    return texts


@pytest.fixture(scope="module")
def transformers_encoder():
    from transformers import AutoModel, AutoTokenizer

    directory = default_encoder_path()
    return AutoTokenizer.from_pretrained(directory), AutoModel.from_pretrained(directory).eval()


def test_the_default_encoder_is_computed_without_transformers():
    assert plain_bert(default_encoder_path())
    code = "import sys; from robolang.policy.language import SentenceEncoder; SentenceEncoder().encode(['lift it']);"
    code += "print('transformers' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("max_length", [32, 8])
def test_outputs_equal_transformers(transformers_encoder, max_length):
    tokenizer, reference = transformers_encoder
    texts = ODD + grammar_phrasings()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    ours_tokenizer, ours = load_bert(default_encoder_path(), max_length)
    ids, mask = ours_tokenizer(texts)
    assert torch.equal(ids, batch["input_ids"]) and torch.equal(mask, batch["attention_mask"])
    with torch.no_grad():
        expected = reference(**batch).last_hidden_state
        got = ours(ids, mask)
    keep = mask.bool()
    assert torch.allclose(got[keep], expected[keep], atol=2e-5, rtol=1e-4)


def test_sentence_encoder_pooled_equals_the_transformers_path(monkeypatch):
    texts = ODD[:4]
    fast = SentenceEncoder().encode(texts)
    monkeypatch.setattr("robolang.policy.bert.plain_bert", lambda directory: False)
    slow = SentenceEncoder().encode(texts)
    assert torch.equal(fast.is_pad, slow.is_pad)
    assert torch.allclose(fast.pooled, slow.pooled, atol=1e-6)
    assert torch.allclose(fast.tokens[~fast.is_pad], slow.tokens[~slow.is_pad], atol=2e-5)


def test_both_paths_know_the_same_words(monkeypatch):
    """The matcher mends typos only into words the tokenizer does not know whole: it reads them here."""
    fast = SentenceEncoder().vocabulary()
    monkeypatch.setattr("robolang.policy.bert.plain_bert", lambda directory: False)
    slow = SentenceEncoder().vocabulary()
    assert sorted(fast) == sorted(slow) and "lift" in fast and "##ing" in fast and len(fast) == 30522


def test_other_architectures_are_not_taken_for_plain_bert(tmp_path):
    for name in ("config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((default_encoder_path() / name).read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert plain_bert(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    for change in ({"model_type": "roberta"}, {"position_embedding_type": "relative_key"}, {"hidden_act": "relu"}):
        (tmp_path / "config.json").write_text(json.dumps(config | change))
        assert not plain_bert(tmp_path), change
    (tmp_path / "config.json").write_text(json.dumps(config))
    settings = json.loads((default_encoder_path() / "tokenizer_config.json").read_text())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(settings))
    assert plain_bert(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(settings | {"do_lower_case": False}))
    assert not plain_bert(tmp_path)  # transformers would rebuild the normaliser: it must load the model
    (tmp_path / "tokenizer_config.json").unlink()
    (tmp_path / "tokenizer.json").unlink()
    assert not plain_bert(tmp_path)
