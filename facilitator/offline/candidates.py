"""The commitments that might answer a fear: one list, used by every engine.

For the texts of one fear, the store retrieves the nearest clauses of
commitments in force; each clause is rescored against the bare clause (a long
title must not dilute a clause that answers the fear), and each commitment is
represented by its best clause. A candidate carries what may exclude the fear
beside it (scope, stated limits, pilot or review-overdue state), so whoever
judges (the model, or the facilitator) sees the limits next to the promise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from facilitator.inputs.register import health
from facilitator.models import Candidate, Register
from facilitator.offline import lexical
from facilitator.offline.store import CommitmentStore, clauses
from facilitator.seams import Embedder

RETRIEVE_FACTOR = 3  # clauses retrieved per candidate kept: several clauses of one commitment compete
LEXICAL_WEIGHT = 0.3
"""Weight of the lexical channel (shared rare words: a site, a tool, "offshore";
``facilitator.offline.lexical``) added to a clause's embedding similarity. Chosen
on the written coverage set and the demo-register examples (right commitment
ranked first 0.65 -> 0.72 and 0.63 -> 0.68 from 0 to 0.3; 0.5 and 0.7 no better
on the first); the same weight as grouping's lexical channel."""


def candidates(
    store: CommitmentStore,
    embedder: Embedder,
    register: Register,
    texts: Sequence[str],
    today: dt.date,
    k: int = 4,
    vectors: np.ndarray | None = None,
) -> list[Candidate]:
    """Up to ``k`` commitments in force, best first, for the texts of one fear."""
    if not texts:
        return []
    in_force = {c.id: health(c, today) for c in register.commitments}
    in_force = {cid: h for cid, h in in_force.items() if h.usable}
    if not in_force:
        return []
    vecs = vectors if vectors is not None else embedder.embed(list(texts))
    hits_per_text = store.search(register, vecs, k=k * RETRIEVE_FACTOR)
    pool = [cl.text for c in register.commitments if c.id in in_force for cl in clauses(c)]
    owner = {cl.text: c.id for c in register.commitments if c.id in in_force for cl in clauses(c)}
    lex = lexical.cross_similarity(list(texts), pool) if LEXICAL_WEIGHT and pool else None
    # Per text: the clauses the store found, plus the clauses sharing the most rare words.
    shortlist: list[set[str]] = []
    for i, hits in enumerate(hits_per_text):
        found = {h.clause.text for h in hits if h.clause.commitment_id in in_force}
        if lex is not None:
            found |= {pool[j] for j in np.argsort(-lex[i])[: k * RETRIEVE_FACTOR] if lex[i, j] > 0}
        shortlist.append(found)
    clause_texts = sorted(set().union(*shortlist))
    bare = dict(zip(clause_texts, embedder.embed(clause_texts))) if clause_texts else {}
    stored = {(i, h.clause.text): h.similarity for i, hits in enumerate(hits_per_text) for h in hits}
    column = {t: j for j, t in enumerate(pool)}
    best: dict[str, tuple[float, str]] = {}
    for i, vec in enumerate(vecs):
        for text in shortlist[i]:
            cid = owner[text]
            sim = max(stored.get((i, text), -1.0), float(bare[text] @ vec))
            if lex is not None:
                sim += LEXICAL_WEIGHT * float(lex[i, column[text]])
            if cid not in best or sim > best[cid][0]:
                best[cid] = (sim, text)
    out = []
    for cid, (sim, clause) in sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]:
        c = register.get(cid)
        assert c is not None
        out.append(
            Candidate(
                commitment_id=cid,
                title=c.title,
                clause=clause,
                similarity=round(sim, 4),
                scope=c.scope,
                limits=list(c.does_not_promise),
                flags=list(in_force[cid].flags),
                review_overdue=in_force[cid].review_overdue,
                owner_role=c.owner_role,
            )
        )
    return out
