"""Previewing and publishing the summary, and carrying actions over to the next retro."""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from facilitator.errors import InputError
from facilitator.i18n import _, using
from facilitator.models import Card, Register
from facilitator.publishing import gate
from facilitator.publishing.exports import to_markdown
from facilitator.publishing.preview import Preview, PublishedSummary, build_preview
from facilitator.service import db as t
from facilitator.service.base import ActionItem, NotAllowed, Publication, Retro, RetroNotFound, ServiceBase, _team_norm

log = logging.getLogger(__name__)


class PublicationMixin(ServiceBase):
    # -- publish -----------------------------------------------------------------

    def preview(self, retro_id: str) -> Preview:
        with self.db.read() as conn:
            return self._preview(conn, self._get(conn, retro_id))

    def _preview(self, conn: Connection, retro: Retro) -> Preview:
        # What is published is written in the retro's language, whoever's thread asks
        # (a button's callback runs before the page has set the session's locale).
        with using(retro.locale):
            return self._preview_in_locale(conn, retro)

    def _preview_in_locale(self, conn: Connection, retro: Retro) -> Preview:
        analysis = self._current_analysis(conn, retro.id)
        if analysis is None:
            raise NotAllowed(_("There is no analysis to publish yet; run it first"))
        rows = conn.execute(
            select(t.cards.c.id, t.cards.c.column_name, t.cards.c.text, t.cards.c.author_tag).where(t.cards.c.retro_id == retro.id)
        ).all()
        cards = [Card(id=r[0], text=r[2], column=r[1]) for r in rows]
        authors = {r[0]: r[3] for r in rows}
        votes = {
            r[0]: int(r[1])
            for r in conn.execute(
                select(t.votes.c.theme_id, func.sum(t.votes.c.dots)).where(t.votes.c.retro_id == retro.id).group_by(t.votes.c.theme_id)
            ).all()
        }
        register = None
        if retro.register_id:
            reg_json = conn.execute(select(t.registers.c.register_json).where(t.registers.c.id == retro.register_id)).scalar()
            register = Register.model_validate_json(reg_json) if reg_json else None
        return build_preview(
            analysis, cards, authors, title=retro.title, team=retro.team,
            participants=self._counts(conn, retro.id).participants, k=retro.k, today=self.today(),
            roster=retro.roster, votes=votes, register=register, rev=retro.rev,
        )

    def gate_state(self, retro_id: str, preview: Preview | None = None) -> gate.GateState:
        """What the publish gate sees now (the Publish panel shows its standing refusals)."""
        with self.db.read() as conn:
            return self._gate_state(conn, self._get(conn, retro_id), preview)

    def _gate_state(self, conn: Connection, retro: Retro, preview: Preview | None) -> gate.GateState:
        counts = self._counts(conn, retro.id)
        return gate.GateState(
            phase=retro.phase, published=retro.published, contributors=counts.contributors, k=retro.k, preview=preview
        )

    def publish(self, retro_id: str, *, approved: bool, rev: int) -> Publication:
        """Publish the previewed summary. Refused without approval, outside the
        Publish phase, when fewer than k people wrote cards, when the retro
        changed since the approved preview (``rev`` is ``Preview.rev``), or while
        the preview repeats fear card text verbatim."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            preview = None if retro.published or not approved else self._preview(conn, retro)
            refused = gate.refusals(
                self._gate_state(conn, retro, preview), approved=approved, rev=rev, current_rev=retro.rev
            )
            if refused:
                raise NotAllowed(refused[0])
            assert preview is not None
            register = None
            if retro.register_id:
                reg_json = conn.execute(select(t.registers.c.register_json).where(t.registers.c.id == retro.register_id)).scalar()
                register = Register.model_validate_json(reg_json)
            pub_id = secrets.token_urlsafe(16)
            with using(retro.locale):
                md = to_markdown(preview.summary, register)
            conn.execute(
                insert(t.publications).values(
                    id=pub_id, retro_id=retro_id, summary_json=preview.summary.model_dump_json(),
                    markdown=md, published_on=preview.summary.published_on,
                )
            )
            for a in preview.summary.analysis.actions:
                conn.execute(
                    insert(t.action_items).values(
                        team_norm=_team_norm(retro.team)[:120], source_retro_id=retro_id, action_id=a.id,
                        title=a.title, kind=a.kind, owner_role=a.owner_role, due=a.due, status="open",
                    )
                )
            # Where the team sends its actions: queued here, sent after the commit (never blocks publishing).
            self._queue_deliveries(conn, retro.team, retro_id, preview.summary)
            # Erase what linked cards and votes to sessions, and the per-person
            # participant rows (tag, rate-limit timestamp): only needed until now.
            _forget_writing_order(conn, retro_id)
            conn.execute(delete(t.votes).where(t.votes.c.retro_id == retro_id))
            conn.execute(delete(t.participants).where(t.participants.c.retro_id == retro_id))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(phase="published", rev=retro.rev + 1))
            publication = Publication(pub_id, retro_id, preview.summary, md)
        # Outside the transaction: freed pages and the write-ahead log still hold the
        # old rows (author tags, writing order) until they are overwritten. The
        # publication stands either way; a busy database is compacted at the next publish.
        try:
            self.db.compact()
        except Exception as e:  # noqa: BLE001 - never fail a committed publish
            log.warning("could not compact the database after publishing (%s); it is retried next time",
                        type(e).__name__)
        return publication

    def publication(self, pub_id: str) -> Publication:
        with self.db.read() as conn:
            r = conn.execute(select(t.publications).where(t.publications.c.id == pub_id)).mappings().first()
        if r is None:
            raise RetroNotFound(_("No published summary at this link; check it with your facilitator"))
        return Publication(r["id"], r["retro_id"], PublishedSummary.model_validate_json(r["summary_json"]), r["markdown"])

    def publication_of(self, retro_id: str) -> Publication | None:
        with self.db.read() as conn:
            pid = conn.execute(select(t.publications.c.id).where(t.publications.c.retro_id == retro_id)).scalar()
        return self.publication(pid) if pid else None

    # -- carry-over ----------------------------------------------------------------

    def carryover(self, retro_id: str) -> list[ActionItem]:
        """Open actions of earlier retros of the same team, plus those already
        marked in this retro (so the facilitator sees what they decided)."""
        a = t.action_items.c
        with self.db.read() as conn:
            retro = self._get(conn, retro_id)
            rows = conn.execute(
                select(t.action_items)
                .where(
                    a.team_norm == _team_norm(retro.team)[:120],
                    a.source_retro_id != retro_id,
                    or_(
                        and_(a.status.in_(("open", "carried")), or_(a.reviewed_in.is_(None), a.reviewed_in != retro_id)),
                        a.reviewed_in == retro_id,
                    ),
                )
                .order_by(a.due, a.id)
            ).mappings().all()
        return [
            ActionItem(r["id"], r["source_retro_id"], r["action_id"], r["title"], r["kind"], r["owner_role"], r["due"],
                       r["status"], r["reviewed_in"] == retro_id)
            for r in rows
        ]

    def mark_action(self, retro_id: str, item_id: int, status: str) -> None:
        if status not in ("done", "dropped", "carried"):
            raise InputError(_("An open action is marked done, dropped or carried, not {status}").format(status=repr(status)))
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.published:
                raise NotAllowed(_("This retro is published; mark actions in the team's next retro"))
            n = conn.execute(
                update(t.action_items)
                .where(t.action_items.c.id == item_id, t.action_items.c.team_norm == _team_norm(retro.team)[:120],
                       t.action_items.c.source_retro_id != retro_id)
                .values(status=status, reviewed_in=retro_id)
            ).rowcount
            if not n:
                raise InputError(_("That action does not belong to this team; reload the page"))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))



def _forget_writing_order(conn: Connection, retro_id: str) -> None:
    """After publish nothing may order or link cards by writer: the author tags go,
    and the cards are written back in a random order with a random ``seq`` and new
    idempotency keys, so neither a column nor the storage order (SQLite's rowid,
    PostgreSQL's heap) keeps the order in which they were written."""
    rows = [dict(r) for r in conn.execute(select(t.cards).where(t.cards.c.retro_id == retro_id)).mappings().all()]
    secrets.SystemRandom().shuffle(rows)
    conn.execute(delete(t.cards).where(t.cards.c.retro_id == retro_id))
    for n, r in enumerate(rows, start=1):
        conn.execute(insert(t.cards).values({**r, "seq": n, "author_tag": None, "idem_key": secrets.token_hex(16)}))
