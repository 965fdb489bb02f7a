"""Checking a fear against the commitments register, offline: candidates, not verdicts.

Sentence similarity finds the commitments that talk about what a fear is
about (the right one is among the first few most of the time), but it cannot
tell whether a promise's scope and limits include the people who wrote the
fear: "3 years' service", "permanent staff at Leeds", "not for economic
layoffs". Measured on the project's coverage sets, a similarity threshold
judge was no better than answering "uncovered" every time. So the offline
engine asserts only what it can judge:

- ``needs_review`` when some commitment in force is related to the fear: the
  candidates are shown, each with its closest clause and, beside it, its scope,
  limits and flags; the facilitator (or the model engine) decides;
- ``uncovered`` when nothing in the register comes close: a trust gap.

It never says ``covered`` or ``partial``: a false assurance is the one error
this product must not make. The ``set_aside`` hint names a limit the fear
seems to fall under; it is shown, never used to assert coverage.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from facilitator.i18n import _
from facilitator.models import Candidate, Register
from facilitator.offline.candidates import candidates
from facilitator.offline.store import CommitmentStore
from facilitator.seams import Embedder
from facilitator.text import stem, tokens

RELATED_AT = 0.25
"""Clause similarity under which a commitment is not shown as a candidate; with none
left, the fear is a trust gap.

Chosen on the 181 statements of facilitator/offline/data/coverage_examples.jsonl
(the demo register; not an eval set): the right commitment is among those shown
for 0.85 of the covered and partial statements at 0.25 (0.82 at 0.30, 0.88 at
0.20), and 6 of 66 gaps are reported as gaps (2 at 0.20). With the lexical
channel of ``candidates`` the same floor keeps 0.86 and 6 of 66. The evals
report candidate recall on the two other registers."""

# Words that narrow who or what a promise is for; a fear sharing one with a
# limit probably falls under it (shown as a hint beside the candidate).
_LIMIT_WORDS = re.compile(
    r"contract\w*|agency|temporar\w*|temp|part[- ]time|interns?|freelanc\w*|vendor\w*|site\w*|plant\w*|"
    r"probation\w*|seniority|service|pay|salar\w*|bonus\w*|hours|overtime|economic|downturn|closure|"
    r"volunt\w*|outsourc\w*|offshor\w*|reorgani[sz]\w*|restructur\w*|performance|misconduct|relocat\w*|"
    r"fixed[- ]term|months?|years?",
    re.I,
)


@dataclass
class Judgement:
    status: str
    candidates: list[Candidate] = field(default_factory=list)
    rationale: str = ""


def limit_hint(texts: list[str], c: Candidate) -> str | None:
    """A stated limit of ``c`` that shares a narrowing word with the fear, if any."""
    fear_words = {stem(t) for text in texts for t in tokens(text)}
    for item in c.limits + ([c.scope] if c.scope else []):
        shared = {w for w in fear_words & {stem(t) for t in tokens(item)} if _LIMIT_WORDS.fullmatch(w)}
        if shared:
            return item
    return None


class CoverageJudge:
    def __init__(self, store: CommitmentStore, embedder: Embedder, register: Register, today: dt.date, top_k: int = 4):
        self._store = store
        self._embedder = embedder
        self._register = register
        self._today = today
        self._top_k = top_k

    def judge(self, texts: list[str]) -> Judgement:
        found = candidates(self._store, self._embedder, self._register, texts, self._today, self._top_k)
        related = [c for c in found if c.similarity >= RELATED_AT]
        if not related:
            return Judgement(
                "uncovered", [], _("No commitment in force in the register is related to this fear: a trust gap.")
            )
        names = ", ".join(c.commitment_id for c in related)
        hint = next(((c, h) for c in related if (h := limit_hint(texts, c))), None)
        limit = (" " + _("{id} may not apply: it says {words}.").format(id=hint[0].commitment_id, words=repr(hint[1]))
                 if hint else "")
        return Judgement(
            "needs_review",
            related,
            _("Related commitments: {names}. The offline engine cannot tell whether their scope and limits "
              "include the people who raised this; the facilitator decides.").format(names=names) + limit,
        )
