"""Checking a fear against the commitments register, offline.

For each fear text, the store retrieves the nearest clauses of usable
commitments (active, not past review). A commitment is set aside for this
fear when its stated limits (``does_not_promise``, ``scope``) match the fear:
a promise that excludes the people or case a fear is about does not cover it.
The answer quotes the best clause verbatim; it never strengthens it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np

from .models import Commitment, Quote, Register
from .register import health
from .store import CommitmentStore, Hit
from .themes import _stem, tokens

# Thresholds on cosine similarity, chosen on the 181 hand-labelled statements in
# facilitator/data/coverage_examples.jsonl (against the demo register: 42% right)
# and checked on the separate eval set (46%). Similarity alone cannot read
# scope and service-length limits: the model engine is for that.
COVER_AT = 0.60  # clause similarity at which a commitment answers a fear
PARTIAL_AT = 0.42  # ... at which it answers part of it
EXCLUDE_AT = 0.60  # similarity of a fear to a stated limit that sets a commitment aside

# Words that narrow who or what a promise is for; sharing one with a limit is a signal.
_LIMIT_WORDS = re.compile(
    r"contract\w*|agency|temporar\w*|temp|part[- ]time|interns?|freelanc\w*|vendor\w*|site\w*|plant\w*|"
    r"probation\w*|seniority|service|pay|salar\w*|bonus\w*|hours|overtime|economic|downturn|closure|"
    r"volunt\w*|outsourc\w*|offshor\w*|reorgani[sz]\w*|restructur\w*|performance|misconduct|relocat\w*",
    re.I,
)


@dataclass
class Judgement:
    status: str
    commitment_ids: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    rationale: str = ""


@dataclass
class _Best:
    commitment: Commitment
    hit: Hit


class CoverageJudge:
    def __init__(self, store: CommitmentStore, embedder, register: Register, today: dt.date, top_k: int = 4):
        self._store = store
        self._embedder = embedder
        self._register = register
        self._usable = {c.id for c in register.commitments if health(c, today).usable}
        self._top_k = top_k
        # Limits embedded once per register, for the exclusion test.
        self._limits: list[tuple[str, str]] = [
            (c.id, item) for c in register.commitments if c.id in self._usable for item in c.does_not_promise
        ]
        self._limit_vecs = embedder.embed([t for _, t in self._limits]) if self._limits else np.zeros((0, 1))

    def _excluded(self, text: str, vec: np.ndarray, c: Commitment) -> str | None:
        """The limit of ``c`` that this fear falls under, if any."""
        fear_words = {_stem(t) for t in tokens(text)}
        for i, (cid, item) in enumerate(self._limits):
            if cid != c.id:
                continue
            sim = float(self._limit_vecs[i] @ vec)
            limit_words = {_stem(t) for t in tokens(item)}
            shared = {w for w in fear_words & limit_words if _LIMIT_WORDS.fullmatch(w) or len(w) >= 6}
            if sim >= EXCLUDE_AT or (shared and sim >= EXCLUDE_AT - 0.15):
                return item
        return None

    def judge(self, texts: list[str]) -> Judgement:
        vecs = self._embedder.embed(texts)
        hits_per_text = self._store.search(self._register, vecs, k=self._top_k * 3)
        per_text: list[tuple[str, _Best | None, str | None]] = []
        excluded_note: dict[str, str] = {}
        for text, vec, hits in zip(texts, vecs, hits_per_text):
            best: _Best | None = None
            # Retrieval ranks "title: clause"; rescoring against the bare clause
            # too keeps a long title from diluting a clause that answers the fear.
            bare = self._embedder.embed([h.clause.text for h in hits]) if hits else np.zeros((0, 1))
            hits = [Hit(h.clause, max(h.similarity, float(b @ vec))) for h, b in zip(hits, bare)]
            for hit in hits:
                cid = hit.clause.commitment_id
                if cid not in self._usable:
                    continue
                c = self._register.get(cid)
                assert c is not None
                limit = self._excluded(text, vec, c)
                if limit is not None:
                    if hit.similarity >= PARTIAL_AT:
                        excluded_note.setdefault(cid, limit)
                    continue
                if best is None or hit.similarity > best.hit.similarity:
                    best = _Best(c, hit)
            if best is None or best.hit.similarity < PARTIAL_AT:
                per_text.append(("uncovered", None, None))
            elif best.hit.similarity >= COVER_AT:
                per_text.append(("covered", best, None))
            else:
                per_text.append(("partial", best, None))

        statuses = {s for s, _, _ in per_text}
        if statuses == {"covered"}:
            status = "covered"
        elif statuses == {"uncovered"}:
            status = "uncovered"
        else:
            status = "partial"
        if status == "covered" and excluded_note:
            # Something answers it, but another promise people may point to excludes them.
            status = "partial"

        bests = sorted(
            (b for _, b, _ in per_text if b is not None), key=lambda b: -b.hit.similarity
        )
        ids: list[str] = []
        quotes: list[Quote] = []
        for b in bests:
            if b.commitment.id not in ids:
                ids.append(b.commitment.id)
                quotes.append(Quote(commitment_id=b.commitment.id, text=b.hit.clause.text))
            if len(ids) == 2:
                break
        if status == "uncovered":
            ids, quotes = [], []
        return Judgement(status, ids, quotes, _rationale(status, ids, excluded_note, per_text))


def _rationale(status: str, ids: list[str], excluded: dict[str, str], per_text) -> str:
    limit = ""
    if excluded:
        cid, item = next(iter(excluded.items()))
        limit = f" {cid} looks relevant but does not promise: {item}."
    if status == "covered":
        return f"{', '.join(ids)} answers this fear directly.{limit}".strip()
    if status == "partial":
        n = len(per_text)
        gaps = sum(1 for s, _, _ in per_text if s == "uncovered")
        loose = sum(1 for s, _, _ in per_text if s == "partial")
        parts = [f"{', '.join(ids)} answers part of this fear"]
        if loose:
            parts.append(f"for {loose} of {n} card(s) the clause only loosely matches what they ask")
        if gaps:
            parts.append(f"{gaps} of {n} card(s) raise something no commitment answers")
        return ("; ".join(parts) + "." + limit).strip()
    return f"No active commitment answers this fear: a trust gap.{limit}".strip()
