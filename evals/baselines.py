"""Naive groupings the engine must beat by a clear margin. They use the
majority kind (flaw) for every card: they say nothing about fears."""

from __future__ import annotations

import numpy as np

from facilitator.models import Card, Theme


def singletons(cards: list[Card]) -> list[Theme]:
    return [Theme(id=f"b{i}", label=c.id, kind="flaw", card_ids=[c.id]) for i, c in enumerate(cards)]


def one_group(cards: list[Card]) -> list[Theme]:
    return [Theme(id="b0", label="all", kind="flaw", card_ids=[c.id for c in cards])]


def tfidf(cards: list[Card]) -> list[Theme]:
    """Word TF-IDF vectors, clustered exactly like the engine clusters embeddings
    (same Ward cut at the same theme size), so the gap measures the embeddings."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from facilitator.offline.themes import cluster_by_size

    texts = [c.text for c in cards]
    x = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts).toarray()
    labels = cluster_by_size(x.astype(np.float32))
    groups: dict[int, list[str]] = {}
    for c, lab in zip(cards, labels):
        groups.setdefault(lab, []).append(c.id)
    return [Theme(id=f"b{k}", label=str(k), kind="flaw", card_ids=v) for k, v in groups.items()]


BASELINES = {"singletons": singletons, "one_group": one_group, "tfidf": tfidf}
