"""What leaves for a tracker or a chat: the published actions and nothing else.

Built from the published summary only (the publish gate approved every word of
it): the action's title, kind, owner role and due date, the labels of the themes
it is for and, for a fear, how the register answers it. Never a card, a vote, a
count of people or a participant.
"""

from __future__ import annotations

import datetime as dt

from facilitator.i18n import N_, _
from facilitator.models import Strict
from facilitator.publishing.preview import PublishedSummary

COVERAGE_WORDS = {"covered": N_("covered by a commitment"), "partial": N_("partly covered"),
                  "uncovered": N_("trust gap: no commitment answers it"), "needs_review": N_("needs review")}


class OutboundAction(Strict):
    key: str
    """Stable for (publication, action): the idempotency key a receiver can dedupe on."""
    retro_title: str
    team: str
    published_on: dt.date
    title: str
    kind: str
    owner_role: str
    due: dt.date
    themes: list[str]
    coverage: list[str]
    summary_url: str | None = None

    def lines(self) -> list[str]:
        """The action as plain lines, for chat messages and issue bodies."""
        # In the retro's language: deliveries are sent under its locale (facilitator.i18n).
        out = [_("Owner: {owner} · due {due}").format(owner=self.owner_role, due=self.due.isoformat())]
        if self.themes:
            out.append(_("For: {themes}").format(themes="; ".join(self.themes)))
        if self.coverage:
            out.append(_("Commitments: {answers}").format(answers="; ".join(self.coverage)))
        out.append(_("From the retro “{title}” of team {team}, published {date}.").format(
            title=self.retro_title, team=self.team, date=self.published_on.isoformat()))
        if self.summary_url:
            out.append(_("Summary: {url}").format(url=self.summary_url))
        return out


def outbound_actions(publication_id: str, summary: PublishedSummary, summary_url: str | None = None
                     ) -> list[OutboundAction]:
    themes = {t.id: t for t in summary.analysis.themes}
    status = {c.theme_id: c.status for c in summary.analysis.coverage}
    out = []
    for a in summary.analysis.actions:
        linked = [themes[i] for i in a.theme_ids if i in themes]
        out.append(OutboundAction(
            key=f"{publication_id}:{a.id}", retro_title=summary.title, team=summary.team,
            published_on=summary.published_on, title=a.title, kind=a.kind, owner_role=a.owner_role, due=a.due,
            themes=[t.label for t in linked],
            coverage=[f"{t.label}: {_(COVERAGE_WORDS[status[t.id]])}" for t in linked if t.kind == "fear" and t.id in status],
            summary_url=summary_url,
        ))
    return out
