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
from facilitator.offline.store import CommitmentStore
from facilitator.seams import Embedder

RETRIEVE_FACTOR = 3  # clauses retrieved per candidate kept: several clauses of one commitment compete


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
    clause_texts = sorted({h.clause.text for hits in hits_per_text for h in hits})
    bare = dict(zip(clause_texts, embedder.embed(clause_texts))) if clause_texts else {}
    best: dict[str, tuple[float, str]] = {}
    for vec, hits in zip(vecs, hits_per_text):
        for h in hits:
            cid = h.clause.commitment_id
            if cid not in in_force:
                continue
            sim = max(h.similarity, float(bare[h.clause.text] @ vec))
            if cid not in best or sim > best[cid][0]:
                best[cid] = (sim, h.clause.text)
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
                owner_role=c.owner_role,
            )
        )
    return out
