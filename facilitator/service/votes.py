"""Dot voting on themes."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, func, insert, select

from facilitator.errors import InputError
from facilitator.i18n import _
from facilitator.service import db as t
from facilitator.service.base import LimitReached, NotAllowed, ServiceBase


class VotesMixin(ServiceBase):
    # -- votes -------------------------------------------------------------------

    def cast_votes(self, retro_id: str, token: str, dots: Mapping[str, int]) -> None:
        """Replace this participant's dots (so resubmitting is idempotent)."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.phase != "vote":
                raise NotAllowed(_("Voting is closed"))
            tag = self._tag(conn, retro_id, token)
            if conn.execute(
                select(t.participants.c.tag).where(t.participants.c.retro_id == retro_id, t.participants.c.tag == tag)
            ).first() is None:
                raise NotAllowed(_("Join the retro first (open the participant link)"))
            analysis = self._current_analysis(conn, retro_id)
            theme_ids = {th.id for th in analysis.themes} if analysis else set()
            clean = {tid: int(n) for tid, n in dots.items() if int(n) > 0}
            if any(n < 0 for n in dots.values()):
                raise InputError(_("Dots can't be negative"))
            if set(clean) - theme_ids:
                raise InputError(_("Some themes changed while you voted; reload and vote again"))
            used = sum(clean.values())
            if used > retro.vote_budget:
                raise LimitReached(_("You used {used} dots but have {budget}; take some back").format(
                    used=used, budget=retro.vote_budget))
            conn.execute(delete(t.votes).where(t.votes.c.retro_id == retro_id, t.votes.c.voter_tag == tag))
            if clean:
                conn.execute(insert(t.votes), [
                    {"retro_id": retro_id, "voter_tag": tag, "theme_id": tid, "dots": n} for tid, n in clean.items()
                ])

    def my_votes(self, retro_id: str, token: str) -> dict[str, int]:
        with self.db.read() as conn:
            tag = self._tag(conn, retro_id, token)
            rows = conn.execute(
                select(t.votes.c.theme_id, t.votes.c.dots).where(t.votes.c.retro_id == retro_id, t.votes.c.voter_tag == tag)
            ).all()
        return {r[0]: r[1] for r in rows}

    def vote_totals(self, retro_id: str) -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.votes.c.theme_id, func.sum(t.votes.c.dots))
                .where(t.votes.c.retro_id == retro_id)
                .group_by(t.votes.c.theme_id)
            ).all()
        return {r[0]: int(r[1]) for r in rows}

