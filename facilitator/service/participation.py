"""Creating and joining a retro, and the anonymous cards people write."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence

from sqlalchemy import Connection, delete, func, insert, select, update

from facilitator.errors import InputError
from facilitator.i18n import DEFAULT_LOCALE, LOCALES, _, ngettext
from facilitator.service import db as t
from facilitator.service.base import (
    CardView,
    Counts,
    Created,
    LimitReached,
    NotAllowed,
    Retro,
    RetroNotFound,
    ServiceBase,
    _now,
    _team_norm,
)
from facilitator.text import capitalised, unstorable


class ParticipationMixin(ServiceBase):
    # -- create and join -------------------------------------------------------

    def create_retro(
        self,
        *,
        team: str,
        title: str,
        columns: Sequence[str],
        register_id: int | None,
        k: int | None = None,
        vote_budget: int | None = None,
        roster: Sequence[str] = (),
        owner_email: str | None = None,
        locale: str = DEFAULT_LOCALE,
    ) -> Created:
        team, title = team.strip(), title.strip()
        for what in (team, title, *columns, *roster):
            if why := unstorable(what):
                raise InputError(capitalised(why) + ".")
        if not team:
            raise InputError(_("Give the team a name; the next retro of the same team picks up its open actions"))
        if not title:
            raise InputError(_("Give the retro a title, e.g. 'Sprint 42 retrospective'"))
        cols = [c.strip()[:80] for c in columns if c and c.strip()]
        cols = list(dict.fromkeys(cols))
        if not 1 <= len(cols) <= 8:
            raise InputError(_("A retro needs between 1 and 8 columns"))
        k = self.settings.min_participants if k is None else int(k)
        if k < 3:
            raise InputError(_("The anonymity threshold k must be at least 3, got {k}").format(k=k))
        budget = self.settings.votes_per_participant if vote_budget is None else int(vote_budget)
        if not 1 <= budget <= 20:
            raise InputError(_("The vote budget must be between 1 and 20 dots, got {budget}").format(budget=budget))
        if locale not in LOCALES:
            raise InputError(_("Pick the retro's language from the list"))
        if register_id is not None:
            self.register_info(register_id)
        retro_id = secrets.token_hex(8)
        join_code = secrets.token_urlsafe(9)
        key = secrets.token_urlsafe(24)  # 192 bits
        with self.db.write() as conn:
            conn.execute(
                insert(t.retros).values(
                    id=retro_id,
                    join_code=join_code,
                    key_hash=hashlib.sha256(key.encode()).hexdigest(),
                    salt=secrets.token_hex(32),
                    team=team[:120],
                    team_norm=_team_norm(team)[:120],
                    title=title[:200],
                    columns_json=json.dumps(cols),
                    register_id=register_id,
                    k=k,
                    vote_budget=budget,
                    roster_json=json.dumps([r.strip() for r in roster if r.strip()]),
                    owner_email=owner_email,
                    locale=locale,
                    phase="collect",
                    rev=0,
                    created_at=_now(),
                    created_on=self.today(),
                )
            )
            conn.execute(insert(t.analyses).values(retro_id=retro_id, status="idle", step="", progress=0.0))
        return Created(retro_id, join_code, key)

    def get(self, retro_id: str) -> Retro:
        with self.db.read() as conn:
            return self._get(conn, retro_id)

    def by_join_code(self, code: str) -> Retro:
        with self.db.read() as conn:
            # A code that cannot be stored cannot match (and must not reach the database driver).
            rid = None if unstorable(code) else conn.execute(
                select(t.retros.c.id).where(t.retros.c.join_code == code.strip())
            ).scalar()
            if rid is None:
                raise RetroNotFound(_("No retro has this join code; check the link with your facilitator"))
            return self._get(conn, rid)

    def check_key(self, retro_id: str, key: str | None) -> bool:
        if not key:
            return False
        with self.db.read() as conn:
            h = conn.execute(select(t.retros.c.key_hash).where(t.retros.c.id == retro_id)).scalar()
        return h is not None and hmac.compare_digest(h, hashlib.sha256(key.encode()).hexdigest())

    def list_retros(self, owner_email: str | None = None) -> list[Retro]:
        """Retros (newest first); with ``owner_email``, only that facilitator's."""
        q = select(t.retros.c.id).order_by(t.retros.c.created_at.desc())
        if owner_email is not None:
            q = q.where(t.retros.c.owner_email == owner_email)
        with self.db.read() as conn:
            return [self._get(conn, rid) for rid in conn.execute(q).scalars().all()]

    def join(self, retro_id: str, token: str) -> None:
        """Count this browser session as a participant (idempotent)."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            tag = self._tag(conn, retro_id, token)
            exists = conn.execute(
                select(t.participants.c.tag).where(t.participants.c.retro_id == retro_id, t.participants.c.tag == tag)
            ).first()
            if exists:
                return
            if retro.published:
                raise NotAllowed(_("This retro is already published; read its summary instead"))
            joined = conn.execute(
                select(func.count()).select_from(t.participants).where(t.participants.c.retro_id == retro_id)
            ).scalar_one()
            if joined >= self.settings.max_participants_per_retro:
                raise LimitReached(ngettext(
                    "This retro already has {n} participant, its limit; ask the facilitator to start another "
                    "retro for a group this large.",
                    "This retro already has {n} participants, its limit; ask the facilitator to start another "
                    "retro for a group this large.", joined,
                ).format(n=joined))
            # Joins per retro per minute: one overwritten window on the retro row (which this
            # transaction holds locked), so a script cannot mint participants to reach k.
            now = self.clock()
            start, count = conn.execute(
                select(t.retros.c.join_window_start, t.retros.c.join_window_count).where(t.retros.c.id == retro_id)
            ).one()
            if now - (start or 0.0) >= 60:
                start, count = now, 0
            if count >= self.settings.max_joins_per_minute:
                raise LimitReached(_("Many people are joining this retro at once. Wait a minute, then open the link again."))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id)
                         .values(join_window_start=start, join_window_count=count + 1))
            conn.execute(insert(t.participants).values(retro_id=retro_id, tag=tag, window_start=0.0, window_count=0))

    def is_participant(self, retro_id: str, token: str) -> bool:
        with self.db.read() as conn:
            tag = self._tag(conn, retro_id, token)
            return conn.execute(
                select(t.participants.c.tag).where(t.participants.c.retro_id == retro_id, t.participants.c.tag == tag)
            ).first() is not None

    # -- cards -------------------------------------------------------------------

    def add_card(self, retro_id: str, token: str, column: str, text: str, idem_key: str) -> CardView:
        text = (text or "").strip()
        if why := unstorable(text):
            raise InputError(capitalised(why) + ".")
        s = self.settings
        if not text:
            raise InputError(_("The card is empty; write something first"))
        if len(text) > s.max_card_chars:
            raise LimitReached(ngettext(
                "That card has {n} character; the limit is {limit}. Shorten it or split it into two cards.",
                "That card has {n} characters; the limit is {limit}. Shorten it or split it into two cards.", len(text),
            ).format(n=len(text), limit=s.max_card_chars))
        if not idem_key or len(idem_key) > 64:
            raise InputError(_("Missing submission key; reload the page"))
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            existing = conn.execute(
                select(t.cards).where(t.cards.c.retro_id == retro_id, t.cards.c.idem_key == idem_key)
            ).mappings().first()
            if existing is not None:  # a retried submit: same card, no duplicate
                return CardView(existing["id"], existing["column_name"], existing["text"])
            if retro.phase != "collect":
                raise NotAllowed(_("Cards can only be added while the retro is collecting; the facilitator has moved on"))
            if column not in retro.columns:
                raise InputError(_("Unknown column {column}; pick one of: {columns}").format(
                    column=repr(column), columns=", ".join(retro.columns)))
            tag = self._tag(conn, retro_id, token, salt=None)
            part = conn.execute(
                select(t.participants).where(t.participants.c.retro_id == retro_id, t.participants.c.tag == tag)
            ).mappings().first()
            if part is None:
                raise NotAllowed(_("Join the retro first (open the participant link)"))
            total = conn.execute(select(func.count()).select_from(t.cards).where(t.cards.c.retro_id == retro_id)).scalar_one()
            if total >= s.max_cards_per_retro:
                raise LimitReached(ngettext(
                    "This retro already has {n} card, the most it takes ({limit}). "
                    "Add your point to a similar card in discussion instead.",
                    "This retro already has {n} cards, the most it takes ({limit}). "
                    "Add your point to a similar card in discussion instead.", total,
                ).format(n=total, limit=s.max_cards_per_retro))
            mine = conn.execute(
                select(func.count()).select_from(t.cards).where(t.cards.c.retro_id == retro_id, t.cards.c.author_tag == tag)
            ).scalar_one()
            if mine >= s.max_cards_per_participant:
                raise LimitReached(ngettext(
                    "You have written {n} card, the most one person can ({limit}). Edit or delete one to make room.",
                    "You have written {n} cards, the most one person can ({limit}). Edit or delete one to make room.",
                    mine,
                ).format(n=mine, limit=s.max_cards_per_participant))
            now = self.clock()
            start, count = part["window_start"], part["window_count"]
            if now - start >= 60:
                start, count = now, 0
            if count >= s.max_cards_per_minute:
                wait = max(1, int(60 - (now - start)) + 1)
                raise LimitReached(
                    ngettext("That's {n} card in a minute, faster than the {limit} allowed.",
                             "That's {n} cards in a minute, faster than the {limit} allowed.", count,
                             ).format(n=count, limit=s.max_cards_per_minute)
                    + " " + ngettext("Take a breath and try again in {n} second.",
                                     "Take a breath and try again in {n} seconds.", wait).format(n=wait)
                )
            conn.execute(
                update(t.participants)
                .where(t.participants.c.retro_id == retro_id, t.participants.c.tag == tag)
                .values(window_start=start, window_count=count + 1)
            )
            seq = conn.execute(select(func.coalesce(func.max(t.cards.c.seq), 0)).where(t.cards.c.retro_id == retro_id)).scalar_one()
            card_id = "c" + secrets.token_hex(6)
            conn.execute(
                insert(t.cards).values(
                    id=card_id, retro_id=retro_id, seq=seq + 1, column_name=column, text=text,
                    author_tag=tag, idem_key=idem_key,
                )
            )
            return CardView(card_id, column, text)

    def edit_card(self, retro_id: str, token: str, card_id: str, text: str, column: str | None = None) -> None:
        text = (text or "").strip()
        if why := unstorable(text):
            raise InputError(capitalised(why) + ".")
        if not text:
            raise InputError(_("A card can't be empty; delete it instead"))
        if len(text) > self.settings.max_card_chars:
            raise LimitReached(ngettext(
                "That card has {n} character; the limit is {limit}", "That card has {n} characters; the limit is {limit}",
                len(text),
            ).format(n=len(text), limit=self.settings.max_card_chars))
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            self._own_card(conn, retro, token, card_id)
            values = {"text": text}
            if column is not None:
                if column not in retro.columns:
                    raise InputError(_("Unknown column {column}").format(column=repr(column)))
                values["column_name"] = column
            conn.execute(update(t.cards).where(t.cards.c.id == card_id).values(**values))

    def delete_card(self, retro_id: str, token: str, card_id: str) -> None:
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            self._own_card(conn, retro, token, card_id)
            conn.execute(delete(t.cards).where(t.cards.c.id == card_id))

    def _own_card(self, conn: Connection, retro: Retro, token: str, card_id: str) -> None:
        if retro.phase != "collect":
            raise NotAllowed(_("Cards are revealed: they can no longer be edited or deleted"))
        tag = self._tag(conn, retro.id, token)
        owner = conn.execute(
            select(t.cards.c.author_tag).where(t.cards.c.id == card_id, t.cards.c.retro_id == retro.id)
        ).first()
        if owner is None or not owner[0] or not hmac.compare_digest(owner[0], tag):
            raise NotAllowed(_("You can only change cards written in this browser session"))

    def my_cards(self, retro_id: str, token: str) -> list[CardView]:
        with self.db.read() as conn:
            tag = self._tag(conn, retro_id, token)
            rows = conn.execute(
                select(t.cards.c.id, t.cards.c.column_name, t.cards.c.text)
                .where(t.cards.c.retro_id == retro_id, t.cards.c.author_tag == tag)
                .order_by(t.cards.c.seq)
            ).all()
        return [CardView(*r) for r in rows]

    def revealed_cards(self, retro_id: str) -> list[CardView]:
        """Everyone's cards, without any author information; only after reveal."""
        with self.db.read() as conn:
            retro = self._get(conn, retro_id)
            if not retro.revealed:
                raise NotAllowed(_("Cards stay hidden until the facilitator reveals them"))
            # By random id, not by writing order: a run of cards is often one person's.
            return sorted(self._cards(conn, retro_id), key=lambda c: c.id)

    def _cards(self, conn: Connection, retro_id: str) -> list[CardView]:
        # By random id, never by writing order: this is what the analysis and every
        # view after reveal see, and a run of cards is often one person's.
        rows = conn.execute(
            select(t.cards.c.id, t.cards.c.column_name, t.cards.c.text)
            .where(t.cards.c.retro_id == retro_id)
            .order_by(t.cards.c.id)
        ).all()
        return [CardView(*r) for r in rows]

    def counts(self, retro_id: str) -> Counts:
        with self.db.read() as conn:
            return self._counts(conn, retro_id)

    def _counts(self, conn: Connection, retro_id: str) -> Counts:
        c = t.cards.c
        n_part = conn.execute(
            select(func.count()).select_from(t.participants).where(t.participants.c.retro_id == retro_id)
        ).scalar_one()
        n_cards = conn.execute(select(func.count()).select_from(t.cards).where(c.retro_id == retro_id)).scalar_one()
        contributors = conn.execute(
            select(func.count(func.distinct(c.author_tag))).where(c.retro_id == retro_id, c.author_tag.is_not(None))
        ).scalar_one()
        voters = conn.execute(
            select(func.count(func.distinct(t.votes.c.voter_tag))).where(t.votes.c.retro_id == retro_id)
        ).scalar_one()
        return Counts(n_part, n_cards, contributors, voters)

