"""Drafting follow-up actions from themes and coverage (offline engine).

Every flaw gets a fix; every fear gets a reassure action when a commitment
covers it (in full or in part) and an escalation to the commitment owner when
it does not, or only in part. A fix to a process that changes someone's work
carries its people step in the title.
"""

from __future__ import annotations

import datetime as dt
import re

from .models import Action, Coverage, Register, Theme

FIX_DAYS, REASSURE_DAYS, ESCALATE_DAYS = 14, 7, 21
DEFAULT_OWNER = "Commitments owner (HR / leadership)"
_CHANGES_WORK = re.compile(r"automat|tool|bot|script|process|workflow|template|handover|checklist", re.I)


def draft_actions(
    themes: list[Theme], coverage: list[Coverage], register: Register, today: dt.date
) -> list[Action]:
    by_theme = {c.theme_id: c for c in coverage}
    actions: list[Action] = []

    def add(**kw) -> None:
        actions.append(Action(id=f"a{len(actions) + 1}", **kw))

    for t in themes:
        if t.kind == "flaw":
            title = f"Agree and try one fix for: {t.label}"
            if _CHANGES_WORK.search(t.label + " " + t.summary):
                title += " (and agree with the people affected how their work changes)"
            add(title=title, kind="fix", theme_ids=[t.id], owner_role="Team", due=today + dt.timedelta(FIX_DAYS))
        elif t.kind == "fear":
            cov = by_theme.get(t.id)
            ids = cov.commitment_ids if cov else []
            status = cov.status if cov else "uncovered"
            if status in ("covered", "partial") and ids:
                add(
                    title=f"Share {', '.join(ids)} with the team and confirm it applies to them",
                    kind="reassure",
                    theme_ids=[t.id],
                    commitment_ids=ids,
                    owner_role="Facilitator",
                    due=today + dt.timedelta(REASSURE_DAYS),
                )
            if status != "covered":
                owner = _owner(register, ids)
                gap = "the part no commitment answers" if status == "partial" else "this trust gap"
                add(
                    title=f"Escalate {gap} ({t.label.lower()}) to {owner} and ask for a written answer",
                    kind="escalate",
                    theme_ids=[t.id],
                    commitment_ids=ids,
                    owner_role=owner,
                    due=today + dt.timedelta(ESCALATE_DAYS),
                )
    return actions


def _owner(register: Register, ids: list[str]) -> str:
    for cid in ids:
        c = register.get(cid)
        if c and c.owner_role:
            return c.owner_role
    return default_owner(register)


def default_owner(register: Register) -> str:
    """Who answers a gap nobody else owns: the register's most common owner."""
    roles = [c.owner_role for c in register.commitments if c.owner_role and c.status == "active"]
    return max(sorted(set(roles)), key=roles.count) if roles else DEFAULT_OWNER
