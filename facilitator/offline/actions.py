"""Drafting follow-up actions from themes and coverage (offline engine).

Every flaw gets a fix: the team's own proposal when the theme holds one (a
card from a Start / Ideas / Try / Actions column, or one phrased as a
proposal), else an honest "no fix was proposed" with a concrete first step. A
fix to a process that changes someone's work carries its people step. Every
fear gets the actions ``checks.required_action_kinds`` asks for its status:
a reassurance when a commitment covers it, an escalation to the owner of the
most closely related commitment (else the register's default owner) when it
is a gap, only partly answered, or still needs review.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from facilitator.checks import required_action_kinds, required_action_title
from facilitator.i18n import N_, _, ngettext
from facilitator.inputs.register import default_owner
from facilitator.models import Action, Card, Coverage, Register, Theme
from facilitator.offline.kinds import is_proposal
from facilitator.scrub import without_names

FIX_DAYS, REASSURE_DAYS, ESCALATE_DAYS = 14, 7, 21
PROPOSAL_MAX_CHARS = 160
_CHANGES_WORK = re.compile(r"automat|tool|bot|script|process|workflow|template|handover|checklist|rota|on.?call", re.I)
_PEOPLE_STEP = N_("(agree with the people whose work it changes how it changes)")
# The fixed words are in the retro's language (the analysis runs in its locale);
# what comes from a card stays as written.


def fix_title(theme: Theme, cards: Sequence[Card], roster: Sequence[str] = ()) -> str:
    """The fix for a flaw theme, from the team's own proposal when there is one."""
    proposals = [c for c in cards if is_proposal(c)]
    if proposals:
        # The longest proposal usually says most; kept as written (flaws are not fears), names left out.
        text = without_names(max(proposals, key=lambda c: len(c.text)).text, roster)
        if len(text) > PROPOSAL_MAX_CHARS:
            text = text[: PROPOSAL_MAX_CHARS - 1].rstrip() + "\u2026"
        # The label is quoted, not folded into the sentence: it is a phrase from a card
        # ("Have more meetups online"), and "proposal for have more meetups" does not read.
        title = _("Try what the team proposed for \u201c{label}\u201d: {text}").format(label=theme.label, text=text)
        if len(proposals) > 1:
            more = len(proposals) - 1
            title += " " + ngettext("({n} more proposal on the board)", "({n} more proposals on the board)",
                                    more).format(n=more)
    else:
        title = _("No fix was proposed for \u201c{label}\u201d: agree one first step in the discussion and name "
                  "who takes it").format(label=theme.label)
    if _CHANGES_WORK.search(" ".join([theme.label, theme.summary, *(c.text for c in cards)])):
        title += " " + _(_PEOPLE_STEP)
    return title


def draft_actions(
    themes: list[Theme],
    coverage: list[Coverage],
    register: Register,
    today: dt.date,
    cards: Sequence[Card] = (),
    roster: Sequence[str] = (),
) -> list[Action]:
    by_theme = {c.theme_id: c for c in coverage}
    card_of = {c.id: c for c in cards}
    actions: list[Action] = []

    def add(**kw) -> None:
        actions.append(Action(id=f"a{len(actions) + 1}", **kw))

    for t in themes:
        if t.kind == "flaw":
            members = [card_of[cid] for cid in t.card_ids if cid in card_of]
            add(title=fix_title(t, members, roster), kind="fix", theme_ids=[t.id], owner_role=_("Team"),
                due=today + dt.timedelta(FIX_DAYS))
        elif t.kind == "fear":
            cov = by_theme.get(t.id)
            status = cov.status if cov else "uncovered"
            need = required_action_kinds(status)
            ids = cov.commitment_ids if cov else []
            if "reassure" in need and ids:
                add(
                    title=required_action_title("reassure", status, label=t.label, commitment_ids=ids, owner=""),
                    kind="reassure",
                    theme_ids=[t.id],
                    commitment_ids=ids,
                    owner_role=_("Facilitator"),
                    due=today + dt.timedelta(REASSURE_DAYS),
                )
            if "escalate" in need:
                owner = escalation_owner(register, cov)
                add(
                    title=required_action_title("escalate", status, label=t.label, commitment_ids=ids, owner=owner),
                    kind="escalate",
                    theme_ids=[t.id],
                    commitment_ids=ids,
                    owner_role=owner,
                    due=today + dt.timedelta(ESCALATE_DAYS),
                )
    return actions


def escalation_owner(register: Register, cov: Coverage | None) -> str:
    """The owner of the most closely related commitment: cited first, else the best
    candidate; else the register's default owner."""
    related = list(cov.commitment_ids) + [c.commitment_id for c in cov.candidates] if cov else []
    for cid in related:
        c = register.get(cid)
        if c and c.owner_role:
            return c.owner_role
    return default_owner(register)
