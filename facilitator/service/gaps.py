"""The trust loop: the board of open gaps across teams, owners' answers, and the
answer reaching the team's next retro. Reads published summaries only
(``facilitator.publishing.gaps``); never a card."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import insert, select

from facilitator.errors import InputError
from facilitator.i18n import _
from facilitator.inputs.register import health
from facilitator.models import Register
from facilitator.publishing.gaps import (
    ANSWER_WORDS,
    NO_COMMITMENT,
    Board,
    GapAnswer,
    GapGroup,
    PublishedRetro,
    WhatIf,
    build_board,
    gap_items,
    latest_answers,
    what_if_changes,
)
from facilitator.publishing.preview import PublishedSummary
from facilitator.service import db as t
from facilitator.service.base import ActionItem, ServiceBase, _team_norm
from facilitator.text import unstorable

ANSWER_MAX_CHARS = 2000


@dataclass(frozen=True)
class CarriedAnswer:
    """An owner's answer to the gap behind a carried-over escalation."""

    asked: str  # the label of the fear theme the team raised
    answer: GapAnswer


class GapsMixin(ServiceBase):
    def published_retros(
        self, teams: set[str] | None = None, retro_ids: set[str] | None = None
    ) -> list[PublishedRetro]:
        """Published retros (of ``teams`` or with ``retro_ids`` only, when given), oldest first."""
        p, r, g = t.publications.c, t.retros.c, t.registers.c
        query = (
            select(p.retro_id, r.team, p.published_on, p.summary_json, g.register_json)
            .join(t.retros, r.id == p.retro_id)
            .outerjoin(t.registers, g.id == r.register_id)
            .order_by(p.published_on, p.retro_id)
        )
        if teams is not None:
            query = query.where(r.team_norm.in_([_team_norm(x)[:120] for x in teams]))
        if retro_ids is not None:
            query = query.where(p.retro_id.in_(sorted(retro_ids)))
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            PublishedRetro(
                retro_id=retro_id, team=team, published_on=published_on,
                summary=PublishedSummary.model_validate_json(summary_json),
                register=Register.model_validate_json(reg_json) if reg_json else None,
            )
            for retro_id, team, published_on, summary_json, reg_json in rows
        ]

    def gap_answers(self) -> list[GapAnswer]:
        a = t.gap_answers.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(a.commitment_id, a.topic, a.kind, a.text, a.owner_role, a.answered_on, t.registers.c.version)
                .outerjoin(t.registers, t.registers.c.id == a.register_id)
                .order_by(a.answered_on, a.id)
            ).all()
        return [GapAnswer(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def gap_board(self, teams: set[str] | None = None) -> Board:
        """The board for owners and admins (every team), or a facilitator's own teams."""
        return build_board(
            self.published_retros(teams), self.gap_answers(), k=self.settings.min_participants, today=self.today()
        )

    def answer_gaps(
        self, commitment_id: str, topic: str, *, kind: str, text: str, owner_role: str,
        register_id: int | None = None,
    ) -> GapAnswer:
        """Record an owner's answer to one group of gaps."""
        if kind not in ANSWER_WORDS:
            raise InputError(_("An answer is one of: {kinds}; not {kind}").format(kinds=", ".join(ANSWER_WORDS), kind=repr(kind)))
        text = (text or "").strip()
        if not text:
            raise InputError(
                _("Write the reason: a team told 'not something we will promise' deserves to know why.")
                if kind == "will_not_promise" else _("Write the answer the teams will read.")
            )
        if len(text) > ANSWER_MAX_CHARS:
            raise InputError(_("Shorten the answer to {limit} characters (it has {n}).").format(
                limit=ANSWER_MAX_CHARS, n=len(text)))
        if why := unstorable(text):
            raise InputError(_("The answer {why}; remove it and try again.").format(why=why))
        if kind == "commitment" and register_id is None:
            raise InputError(_("Choose the register version that holds the new or changed commitment."))
        owner_role = (owner_role or "").strip()[:200] or "Commitment owner"
        answer = GapAnswer(commitment_id or NO_COMMITMENT, topic, kind, text, owner_role, self.today())  # type: ignore[arg-type]
        with self.db.write() as conn:
            if register_id is not None:
                version = conn.execute(select(t.registers.c.version).where(t.registers.c.id == register_id)).scalar()
                if version is None:
                    raise InputError(_("That register version does not exist; upload it on the Commitments page first."))
                answer = replace(answer, register_version=version)
            conn.execute(
                insert(t.gap_answers).values(
                    commitment_id=answer.commitment_id[:64], topic=topic[:200], kind=kind, text=text,
                    owner_role=owner_role, register_id=register_id, answered_on=answer.answered_on,
                )
            )
        return answer

    def carried_answers(self, items: list[ActionItem]) -> dict[int, CarriedAnswer]:
        """For carried-over escalations: the owner's answer to the gap they escalated,
        when one was given after the retro that raised it was published."""
        wanted = [i for i in items if i.kind == "escalate"]
        if not wanted:
            return {}
        answers = latest_answers(self.gap_answers())
        if not answers:
            return {}
        sources = {r.retro_id: r for r in self.published_retros(retro_ids={i.source_retro_id for i in wanted})}
        out: dict[int, CarriedAnswer] = {}
        for item in wanted:
            retro = sources.get(item.source_retro_id)
            if retro is None:
                continue
            action = next((a for a in retro.summary.analysis.actions if a.id == item.action_id), None)
            if action is None:
                continue
            for gap in gap_items(retro):
                ans = answers.get(gap.key)
                if gap.theme_id in action.theme_ids and ans is not None and ans.answered_on >= retro.published_on:
                    out[item.id] = CarriedAnswer(asked=gap.label, answer=ans)
                    break
        return out

    def what_if(self, engine, draft: Register, groups: list[GapGroup]) -> dict[str, list[WhatIf]]:
        """What a drafted register version would change for the open groups, judged
        by the same coverage engine (and candidates) as the analysis, before it is saved.
        The engine sees each group's published label and summaries, never a card."""
        in_force = {c.id for c in draft.commitments if health(c, self.today()).usable}
        if not groups:
            return what_if_changes([], [], in_force)
        statements = [" ".join([g.items[0].label, *dict.fromkeys(i.summary for i in g.items)]) for g in groups]
        judged = engine.cover(statements, draft, today=self.today())
        return what_if_changes(
            groups, [(j.status, [c.commitment_id for c in getattr(j, "candidates", [])] + list(j.commitment_ids))
                     for j in judged],
            in_force,
        )

