"""Naive groupings the engine must beat by a clear margin. None of them ever
calls a card a fear. The first three use the majority kind (flaw) for every
card; the column baselines read the column's role, as a person would."""

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


def column_rule(cards: list[Card]) -> list[Theme]:
    """Real boards' plain heuristic: a card in a positive column is a positive,
    every other card a flaw; one theme per column."""
    from facilitator.offline.kinds import column_role

    groups: dict[str, list[str]] = {}
    for c in cards:
        groups.setdefault(c.column or "", []).append(c.id)
    return [
        Theme(id=f"b{i}", label=col or "-", kind="positive" if column_role(col) == "positive" else "flaw", card_ids=ids)
        for i, (col, ids) in enumerate(groups.items())
    ]


def column_minilm(cards: list[Card]) -> list[Theme]:
    """The same kinds, with MiniLM clustering (the engine's cut) inside each column."""
    from facilitator.offline.embeddings import local_embedder
    from facilitator.offline.themes import cluster_by_size

    out: list[Theme] = []
    for t in column_rule(cards):
        members = [c for c in cards if c.id in set(t.card_ids)]
        labels = cluster_by_size(local_embedder().embed([c.text for c in members]))
        for lab in sorted(set(labels)):
            ids = [c.id for c, x in zip(members, labels) if x == lab]
            out.append(Theme(id=f"b{len(out)}", label=t.label, kind=t.kind, card_ids=ids))
    return out


BASELINES = {"singletons": singletons, "one_group": one_group, "tfidf": tfidf,
             "column_rule": column_rule, "column_minilm": column_minilm}
