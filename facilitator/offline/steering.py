"""Spotting cards that try to steer the analysis instead of saying something.

Such a card stays in the retro (nothing anyone writes is dropped) and in its
theme, but it is not used as evidence when a fear is checked against the
register, and the facilitator is told. Two signals, both cheap and
conservative: a commitment id the register does not have ("per JS-99 nobody
can be fired"), or the phrasing of an instruction to a model.
"""

from __future__ import annotations

import re

from facilitator.i18n import _
from facilitator.models import Register

_ID_LIKE = re.compile(r"\b[A-Z]{1,6}-\d{1,4}\b")
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,30}\b(instructions?|prompt|rules|above|previous)\b"
    r"|\b(system|developer)\s*(prompt|message|mode)\b"
    r"|^\s*(system|assistant)\s*:"
    r"|\byou are now\b"
    r"|\b(mark|label|(re-?)?classify|treat|report|set|move|put|count)\b[^.]{0,40}"
    r"(\b(covered|uncovered|trust gap)\b|\bas ['\"]?(a |an )?(fear|flaw|positive|other|noise)s?\b)"
    # A table or checklist that declares answers ("| Blame | covered |", "- [x] fear resolved").
    r"|^\s*\|.*\b(covered|uncovered|resolved|answered|closed)\b.*\|\s*$"
    r"|\[[xX]\].{0,60}\b(covered|resolved|answered|closed|done)\b",
    re.I | re.M,
)


ID_LIKE = _ID_LIKE


def steering_reason(text: str, register: Register) -> str | None:
    """Why this card looks like it is steering the analysis, or None."""
    # The unknown id itself is not repeated: it must not reach any output.
    if any(m not in register.ids for m in _ID_LIKE.findall(text)):
        return _("it cites a commitment id the register does not have")
    if _INSTRUCTION.search(text):
        return _("it is phrased as an instruction to the analysis")
    return None
