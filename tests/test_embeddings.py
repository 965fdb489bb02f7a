import json

import numpy as np
import pytest

from facilitator.offline.embeddings import LocalEmbedder, local_embedder
from facilitator.errors import ConfigError

from .conftest import FIXTURES


def test_matches_sentence_transformers_reference_vectors():
    ref = json.loads((FIXTURES / "minilm_reference.json").read_text())
    got = local_embedder().embed(ref["texts"])
    want = np.array(ref["vectors"], dtype=np.float32)
    cos = (got * want).sum(axis=1)
    assert cos.min() > 0.99999, cos
    assert np.abs(got - want).max() < 1e-3  # tanh-form GELU, see embeddings.py


def test_batching_and_order_do_not_change_vectors():
    texts = ["short", "a much longer card about the flaky build pipeline and its owners", "mid length card"]
    together = LocalEmbedder().embed(texts)  # fresh instances: no shared vector cache
    alone = np.vstack([LocalEmbedder().embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_cache_returns_identical_vectors():
    e = local_embedder()
    first = e.embed(["cache me", "and me"])
    assert np.array_equal(e.embed(["and me", "cache me"]), first[::-1])


def test_empty_input_gives_empty_matrix():
    assert local_embedder().embed([]).shape == (0, 384)


def test_tampered_weights_are_refused(tmp_path):
    from facilitator.offline.embeddings import _model_files

    _, tok, _ = _model_files(None)
    (tmp_path / "tokenizer.json").write_bytes(tok)
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(ConfigError, match="sha256"):
        LocalEmbedder(tmp_path)


def test_shipped_kind_model_matches_its_examples_and_the_tune_boards():
    """Regenerate with `uv run python -m evals.fit_kinds` after editing the examples, a
    feature rule or the real boards' tune slice."""
    from evals.dataset import load_retros
    from evals.fit_kinds import digest, real_cards
    from facilitator.offline import linear
    from facilitator.offline.kinds import MODELS, SHIPPED, model_key

    assert linear.load([SHIPPED], MODELS, model_key(local_embedder().name)) is not None
    assert linear.meta(SHIPPED, "real_digest") == digest(real_cards(load_retros("real", "tune")))


def test_kind_model_key_covers_every_rule_that_feeds_it(monkeypatch):
    """Editing a cue, a column role or the signal weight must invalidate the shipped weights."""
    import re

    from facilitator.offline import kinds

    before = kinds.model_key("m")
    monkeypatch.setitem(kinds.FEAR_CUES, "blame", re.compile(r"\bblame\b", re.I))
    assert kinds.model_key("m") != before
    monkeypatch.undo()
    assert kinds.model_key("m") == before
    monkeypatch.setattr(kinds, "COLUMN_ROLES", kinds.COLUMN_ROLES[:-1])
    assert kinds.model_key("m") != before
    monkeypatch.undo()
    monkeypatch.setattr(kinds, "SIGNAL_WEIGHT", 0.3)
    assert kinds.model_key("m") != before
