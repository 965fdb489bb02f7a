"""The lexical channel: shared rare words, which a small sentence encoder blurs.

A tool, room, team or site name ("Valencia", "Jenkins", "ward 7") is what ties
two cards, or a fear and a clause, together, and a 384-dimension encoder
trained on general text gives such words little weight. TF-IDF over stemmed
content words (``facilitator.text``), or character pairs in CJK script, gives
them the most. Grouping and candidate retrieval both blend it into the
embedding similarity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from facilitator.text import stem, tokens

# Han, kana and hangul. Japanese and Chinese put no spaces between words and Korean
# glues particles to them ("책이", "책의"), so a "word" there is a whole clause;
# overlapping character pairs are the usual unit instead (as in CJK search indexes).
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+")


def terms(text: str) -> list[str]:
    """Stemmed content words (``facilitator.text.tokens``), and every run of CJK
    script as its overlapping character pairs."""
    runs = _CJK_RUN.findall(text)
    out = [stem(t) for t in tokens(_CJK_RUN.sub(" ", text) if runs else text)]
    for run in runs:
        out += [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]
    return out


def tfidf(texts: Sequence[str]) -> np.ndarray:
    """Unit TF-IDF rows (sublinear term frequency, smoothed idf: the usual
    weighting, in a few lines of numpy rather than importing a text-mining
    library at every cold start). The idf is fitted on ``texts`` themselves."""
    docs = [terms(x) for x in texts]
    vocab = {w: i for i, w in enumerate(sorted({w for d in docs for w in d}))}
    if not vocab:
        return np.zeros((len(texts), 1))
    x = np.zeros((len(texts), len(vocab)))
    for i, d in enumerate(docs):
        for w in d:
            x[i, vocab[w]] += 1.0
    df = (x > 0).sum(axis=0)
    x = np.where(x > 0, 1.0 + np.log(np.where(x > 0, x, 1.0)), 0.0) * (np.log((1 + len(texts)) / (1 + df)) + 1.0)
    x /= np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-9, None)
    return x


def similarity(texts: Sequence[str]) -> np.ndarray:
    """Cosine similarity of the TF-IDF rows of ``texts``, all against all."""
    x = tfidf(texts)
    return x @ x.T


def cross_similarity(queries: Sequence[str], documents: Sequence[str]) -> np.ndarray:
    """Queries × documents; the idf is fitted on the documents and queries together,
    so a word every document shares (the organisation's name) counts for little."""
    x = tfidf([*queries, *documents])
    return x[: len(queries)] @ x[len(queries) :].T
