"""The retro service: create, join, phases, cards, analysis, review, votes,
publish and carry-over. Pure Python over ``facilitator.db``; the Streamlit
pages only call this.

Anonymity, and why the tables look the way they do
---------------------------------------------------
A participant has no account and no name. Each browser session makes a random
secret (``new_token()``) and keeps it in its server-side session state only.
It is never read from or written to the page address: a secret taken from a
link could be pre-set by whoever hands out the link (who could then read and
edit those cards before reveal). The price is that a full page reload starts a
new participant session (cards already written stay in the retro, but can no
longer be edited from the new session). The database only ever sees
``HMAC(retro salt, secret)``, the *tag*; the salt is per retro, so tags cannot
be linked across retros and the secret cannot be recovered from them.

- ``participants`` holds one tag per joined session: it gives the participant
  count and the rate-limit window (one overwritten counter, not a log).
- ``cards.author_tag`` lets the writer edit or delete their own cards before
  reveal, enforces cards-per-participant, and lets the publish gate count how
  many *different people* a theme comes from (DOMAIN: a theme is shown on its
  own only if at least 3 people raised it). Keeping only a list of owned card
  ids in the browser could do the first, but not the last two. The tag is
  never returned by this module (``my_cards`` takes the secret and compares),
  never exported, and it is erased (set to NULL), together with votes and
  participant rows (which hold a per-person rate-limit timestamp), when the
  retro is published.
- cards have no timestamps (time of writing identifies people); ``seq`` orders
  the analysis input; the revealed board lists cards by their random id, so
  nobody sees the order in which they were written (a run of cards is often
  one person's).

Concurrency: every write runs in one transaction that first locks the retro
row (``FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), so limits
hold with many simultaneous writers; card submissions carry an idempotency key
so a retried submit never creates a duplicate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from . import db as t
from .db import Database
from .errors import FacilitatorError, InputError
from .models import Analysis, Card, CardSet, Register
from .publish import Preview, PublishedSummary, build_preview, to_markdown
from .register import parse_register, register_hash
from .settings import Settings

PHASES: tuple[str, ...] = ("collect", "reveal", "analyse", "review", "vote", "discuss", "publish", "published")
PHASE_LABELS = {
    "collect": "Collect (blind)",
    "reveal": "Reveal",
    "analyse": "Analyse",
    "review": "Review",
    "vote": "Vote",
    "discuss": "Discuss",
    "publish": "Publish",
    "published": "Published",
}
FORMATS: dict[str, tuple[str, ...]] = {
    "Went well / To improve / Worries": ("Went well", "To improve", "Worries"),
    "Start / Stop / Continue": ("Start", "Stop", "Continue"),
    "Mad / Sad / Glad": ("Mad", "Sad", "Glad"),
    "4Ls: Liked / Learned / Lacked / Longed for": ("Liked", "Learned", "Lacked", "Longed for"),
    "Rose / Thorn / Bud": ("Rose", "Thorn", "Bud"),
}
ITEM_STATUSES = ("open", "done", "dropped", "carried")
STALE_RUN_S = 300.0
"""A running analysis whose worker has not reported for this long is presumed dead."""


class RetroNotFound(FacilitatorError):
    """The link points at no retro (mistyped, or the database was reset)."""


class NotAllowed(FacilitatorError):
    """The link lacks the facilitator key, or the phase forbids the action."""


class LimitReached(InputError):
    """A DOMAIN.md limit (card length, cards per person or retro, rate)."""


# --- value objects -----------------------------------------------------------


@dataclass(frozen=True)
class Created:
    retro_id: str
    join_code: str
    facilitator_key: str


@dataclass(frozen=True)
class Retro:
    id: str
    join_code: str
    team: str
    title: str
    columns: tuple[str, ...]
    register_id: int | None
    k: int
    vote_budget: int
    roster: tuple[str, ...]
    owner_email: str | None
    phase: str
    rev: int
    created_on: dt.date

    @property
    def revealed(self) -> bool:
        return PHASES.index(self.phase) >= PHASES.index("reveal")

    @property
    def published(self) -> bool:
        return self.phase == "published"


@dataclass(frozen=True)
class CardView:
    id: str
    column: str
    text: str


@dataclass(frozen=True)
class Counts:
    participants: int
    cards: int
    contributors: int
    voters: int


@dataclass(frozen=True)
class AnalysisState:
    status: str  # idle | running | done | failed
    step: str
    progress: float
    error: str | None
    original: Analysis | None
    edited: Analysis | None
    stale: bool = False

    @property
    def current(self) -> Analysis | None:
        return self.edited or self.original

    @property
    def running(self) -> bool:
        return self.status == "running" and not self.stale


@dataclass(frozen=True)
class RegisterInfo:
    id: int
    name: str
    version: str
    filename: str
    sha256: str
    created_at: dt.datetime
    register: Register = field(repr=False)


@dataclass(frozen=True)
class ActionItem:
    id: int
    source_retro_id: str
    action_id: str
    title: str
    kind: str
    owner_role: str
    due: dt.date
    status: str
    reviewed_here: bool


@dataclass(frozen=True)
class Publication:
    id: str
    retro_id: str
    summary: PublishedSummary
    markdown: str


def new_token() -> str:
    """A browser session's secret: 128 bits, URL-safe."""
    return secrets.token_urlsafe(16)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _team_norm(team: str) -> str:
    return " ".join(team.lower().split())


# --- the service -------------------------------------------------------------


class RetroService:
    def __init__(
        self,
        database: Database,
        settings: Settings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        today: Callable[[], dt.date] = dt.date.today,
    ):
        self.db = database
        self.settings = settings or Settings()
        self.clock = clock
        self.today = today

    # -- registers -------------------------------------------------------------

    def add_register(self, raw: str, filename: str, *, name: str | None = None, version: str | None = None) -> int:
        """Parse (JSON or Markdown, by extension) and store a new register version."""
        reg = parse_register(raw, filename)
        name = (name or reg.name or filename.rsplit(".", 1)[0]).strip()[:200]
        with self.db.write() as conn:
            n = conn.execute(select(func.count()).select_from(t.registers).where(t.registers.c.name == name)).scalar_one()
            version = (version or reg.version or f"v{n + 1}").strip()[:100]
            reg = reg.model_copy(update={"name": name, "version": version})
            return conn.execute(
                insert(t.registers).values(
                    name=name,
                    version=version,
                    filename=filename[:200],
                    raw=raw,
                    register_json=reg.model_dump_json(),
                    sha256=register_hash(reg),
                    created_at=_now(),
                )
            ).inserted_primary_key[0]

    def registers(self) -> list[RegisterInfo]:
        with self.db.read() as conn:
            rows = conn.execute(select(t.registers).order_by(t.registers.c.id.desc())).mappings().all()
        return [self._register_info(r) for r in rows]

    def register_info(self, register_id: int) -> RegisterInfo:
        with self.db.read() as conn:
            r = conn.execute(select(t.registers).where(t.registers.c.id == register_id)).mappings().first()
        if r is None:
            raise RetroNotFound(f"register version {register_id} does not exist; upload it on the Commitments page")
        return self._register_info(r)

    def register_raw(self, register_id: int) -> str:
        with self.db.read() as conn:
            return conn.execute(select(t.registers.c.raw).where(t.registers.c.id == register_id)).scalar_one()

    @staticmethod
    def _register_info(r) -> RegisterInfo:
        return RegisterInfo(
            id=r["id"], name=r["name"], version=r["version"], filename=r["filename"], sha256=r["sha256"],
            created_at=r["created_at"], register=Register.model_validate_json(r["register_json"]),
        )

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
    ) -> Created:
        team, title = team.strip(), title.strip()
        if not team:
            raise InputError("give the team a name; the next retro of the same team picks up its open actions")
        if not title:
            raise InputError("give the retro a title, e.g. 'Sprint 42 retrospective'")
        cols = [c.strip()[:80] for c in columns if c and c.strip()]
        cols = list(dict.fromkeys(cols))
        if not 1 <= len(cols) <= 8:
            raise InputError("a retro needs between 1 and 8 columns")
        k = self.settings.min_participants if k is None else int(k)
        if k < 3:
            raise InputError(f"the anonymity threshold k must be at least 3, got {k}")
        budget = self.settings.votes_per_participant if vote_budget is None else int(vote_budget)
        if not 1 <= budget <= 20:
            raise InputError(f"the vote budget must be between 1 and 20 dots, got {budget}")
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
            rid = conn.execute(select(t.retros.c.id).where(t.retros.c.join_code == code.strip())).scalar()
            if rid is None:
                raise RetroNotFound("no retro has this join code; check the link with your facilitator")
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
                raise NotAllowed("this retro is already published; read its summary instead")
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
        s = self.settings
        if not text:
            raise InputError("the card is empty; write something first")
        if len(text) > s.max_card_chars:
            raise LimitReached(
                f"that card has {len(text)} characters; the limit is {s.max_card_chars}. Shorten it or split it into two cards."
            )
        if not idem_key or len(idem_key) > 64:
            raise InputError("missing submission key; reload the page")
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            existing = conn.execute(
                select(t.cards).where(t.cards.c.retro_id == retro_id, t.cards.c.idem_key == idem_key)
            ).mappings().first()
            if existing is not None:  # a retried submit: same card, no duplicate
                return CardView(existing["id"], existing["column_name"], existing["text"])
            if retro.phase != "collect":
                raise NotAllowed("cards can only be added while the retro is collecting; the facilitator has moved on")
            if column not in retro.columns:
                raise InputError(f"unknown column {column!r}; pick one of: {', '.join(retro.columns)}")
            tag = self._tag(conn, retro_id, token, salt=None)
            part = conn.execute(
                select(t.participants).where(t.participants.c.retro_id == retro_id, t.participants.c.tag == tag)
            ).mappings().first()
            if part is None:
                raise NotAllowed("join the retro first (open the participant link)")
            total = conn.execute(select(func.count()).select_from(t.cards).where(t.cards.c.retro_id == retro_id)).scalar_one()
            if total >= s.max_cards_per_retro:
                raise LimitReached(
                    f"this retro already has {total} cards, the most it takes ({s.max_cards_per_retro}). "
                    "Add your point to a similar card in discussion instead."
                )
            mine = conn.execute(
                select(func.count()).select_from(t.cards).where(t.cards.c.retro_id == retro_id, t.cards.c.author_tag == tag)
            ).scalar_one()
            if mine >= s.max_cards_per_participant:
                raise LimitReached(
                    f"you have written {mine} cards, the most one person can ({s.max_cards_per_participant}). "
                    "Edit or delete one to make room."
                )
            now = self.clock()
            start, count = part["window_start"], part["window_count"]
            if now - start >= 60:
                start, count = now, 0
            if count >= s.max_cards_per_minute:
                wait = max(1, int(60 - (now - start)) + 1)
                raise LimitReached(
                    f"that's {count} cards in a minute, faster than the {s.max_cards_per_minute} allowed. "
                    f"Take a breath and try again in {wait} seconds."
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
        if not text:
            raise InputError("a card can't be empty; delete it instead")
        if len(text) > self.settings.max_card_chars:
            raise LimitReached(f"that card has {len(text)} characters; the limit is {self.settings.max_card_chars}")
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            self._own_card(conn, retro, token, card_id)
            values = {"text": text}
            if column is not None:
                if column not in retro.columns:
                    raise InputError(f"unknown column {column!r}")
                values["column_name"] = column
            conn.execute(update(t.cards).where(t.cards.c.id == card_id).values(**values))

    def delete_card(self, retro_id: str, token: str, card_id: str) -> None:
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            self._own_card(conn, retro, token, card_id)
            conn.execute(delete(t.cards).where(t.cards.c.id == card_id))

    def _own_card(self, conn: Connection, retro: Retro, token: str, card_id: str) -> None:
        if retro.phase != "collect":
            raise NotAllowed("cards are revealed: they can no longer be edited or deleted")
        tag = self._tag(conn, retro.id, token)
        owner = conn.execute(
            select(t.cards.c.author_tag).where(t.cards.c.id == card_id, t.cards.c.retro_id == retro.id)
        ).first()
        if owner is None or not owner[0] or not hmac.compare_digest(owner[0], tag):
            raise NotAllowed("you can only change cards written in this browser session")

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
                raise NotAllowed("cards stay hidden until the facilitator reveals them")
            # By random id, not by writing order: a run of cards is often one person's.
            return sorted(self._cards(conn, retro_id), key=lambda c: c.id)

    def _cards(self, conn: Connection, retro_id: str) -> list[CardView]:
        rows = conn.execute(
            select(t.cards.c.id, t.cards.c.column_name, t.cards.c.text)
            .where(t.cards.c.retro_id == retro_id)
            .order_by(t.cards.c.seq)
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

    # -- phases ------------------------------------------------------------------

    def advance(self, retro_id: str, to_phase: str) -> Retro:
        """Move to the next phase; ``to_phase`` must be the one after the current
        (so two facilitator tabs clicking at once cannot skip a phase)."""
        if to_phase not in PHASES or to_phase == "published":
            raise InputError(f"unknown phase {to_phase!r}")
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            i = PHASES.index(retro.phase)
            if retro.phase == to_phase:
                return retro
            if PHASES.index(to_phase) != i + 1:
                raise NotAllowed(f"the retro is in {PHASE_LABELS[retro.phase]}; the next phase is {PHASE_LABELS[PHASES[i + 1]]}")
            if retro.phase in ("analyse", "review"):
                run = conn.execute(
                    select(t.analyses.c.status, t.analyses.c.heartbeat).where(t.analyses.c.retro_id == retro_id)
                ).first()
                if run is not None and run[0] == "running" and self.clock() - run[1] < STALE_RUN_S:
                    raise NotAllowed(
                        "the analysis is still running; wait for it to finish before moving on "
                        "(its result would otherwise replace the themes mid-vote)"
                    )
            if to_phase == "reveal":
                n = conn.execute(select(func.count()).select_from(t.cards).where(t.cards.c.retro_id == retro_id)).scalar_one()
                if n == 0:
                    raise NotAllowed("no cards yet: wait for participants to write some before revealing")
            if to_phase in ("review", "vote", "discuss", "publish"):
                st = conn.execute(select(t.analyses.c.status, t.analyses.c.original_json).where(t.analyses.c.retro_id == retro_id)).first()
                if st is None or st[1] is None:
                    raise NotAllowed("run the analysis first; review needs its themes")
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(phase=to_phase, rev=retro.rev + 1))
            return self._get(conn, retro_id)

    def watch(self, retro_id: str) -> tuple[str, int]:
        """The cheap (phase, rev) pair participants' pages poll."""
        with self.db.read() as conn:
            row = conn.execute(select(t.retros.c.phase, t.retros.c.rev).where(t.retros.c.id == retro_id)).first()
        if row is None:
            raise RetroNotFound("this retro no longer exists")
        return row[0], row[1]

    # -- analysis ----------------------------------------------------------------

    def start_analysis(self, retro_id: str, *, keep_edits: bool = False) -> str | None:
        """Claim the analysis for a new run; None if one is already running.

        The caller then runs ``run_analysis`` in a background thread (or any
        worker process: all state is in the database)."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.phase not in ("analyse", "review"):
                raise NotAllowed("the analysis runs in the Analyse and Review phases")
            n = conn.execute(select(func.count()).select_from(t.cards).where(t.cards.c.retro_id == retro_id)).scalar_one()
            if n == 0:
                raise NotAllowed("there are no cards to analyse")
            row = conn.execute(select(t.analyses).where(t.analyses.c.retro_id == retro_id)).mappings().first()
            if row["status"] == "running" and self.clock() - row["heartbeat"] < STALE_RUN_S:
                return None
            run_id = secrets.token_hex(8)
            conn.execute(
                update(t.analyses)
                .where(t.analyses.c.retro_id == retro_id)
                .values(status="running", run_id=run_id, step="queued", progress=0.0, error=None,
                        keep_edits=int(keep_edits), heartbeat=self.clock())
            )
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))
            return run_id

    def run_analysis(self, retro_id: str, run_id: str, engine) -> None:
        """Run one claimed analysis to the end; never raises (the state says how it went).

        A failure keeps the cards and any earlier analysis; only the status and
        error change, so the facilitator can retry."""
        try:
            with self.db.read() as conn:
                retro = self._get(conn, retro_id)
                cards = self._cards(conn, retro_id)
            register = self.register_info(retro.register_id).register if retro.register_id else None
            if register is None:
                raise InputError("this retro has no commitments register; pick one on the Commitments page")
            card_set = CardSet(title=retro.title, cards=[Card(id=c.id, text=c.text, column=c.column) for c in cards])

            def progress(step: str, frac: float) -> None:
                self._analysis_update(retro_id, run_id, step=step[:200], progress=float(max(0.0, min(1.0, frac))))

            analysis = engine.analyze(card_set, register, today=self.today(), roster=list(retro.roster), progress=progress)
        except Exception as e:  # noqa: BLE001 - any failure is reported, never lost
            msg = str(e) if isinstance(e, FacilitatorError) else f"{type(e).__name__}: {e}"
            self._analysis_update(
                retro_id, run_id, status="failed",
                error=f"The analysis failed: {msg}. Your cards are safe; try again.", bump=True,
            )
            return
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            row = conn.execute(select(t.analyses).where(t.analyses.c.retro_id == retro_id)).mappings().first()
            if row["run_id"] != run_id:
                return  # superseded by a newer run
            if retro.phase not in ("analyse", "review"):
                # The retro moved on (a stale run, or another process): votes and
                # review edits refer to the current themes, so the result is dropped.
                conn.execute(
                    update(t.analyses).where(t.analyses.c.retro_id == retro_id).values(
                        status="done" if row["original_json"] else "failed", step="discarded", progress=1.0,
                        error="The re-run finished after the retro left Review; its result was discarded.",
                    )
                )
                conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))
                return
            values = {"status": "done", "step": "done", "progress": 1.0, "original_json": analysis.model_dump_json(), "error": None}
            if not row["keep_edits"]:
                values["edited_json"] = None
            conn.execute(update(t.analyses).where(t.analyses.c.retro_id == retro_id).values(**values))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))

    def _analysis_update(self, retro_id: str, run_id: str, *, bump: bool = False, **values) -> None:
        with self.db.write() as conn:
            if bump:
                retro = self._lock(conn, retro_id)
                conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))
            conn.execute(
                update(t.analyses)
                .where(t.analyses.c.retro_id == retro_id, t.analyses.c.run_id == run_id)
                .values(heartbeat=self.clock(), **values)
            )

    def analysis(self, retro_id: str) -> AnalysisState:
        with self.db.read() as conn:
            row = conn.execute(select(t.analyses).where(t.analyses.c.retro_id == retro_id)).mappings().first()
        if row is None:
            raise RetroNotFound("this retro no longer exists")
        return AnalysisState(
            status=row["status"],
            step=row["step"] or "",
            progress=row["progress"] or 0.0,
            error=row["error"],
            original=Analysis.model_validate_json(row["original_json"]) if row["original_json"] else None,
            edited=Analysis.model_validate_json(row["edited_json"]) if row["edited_json"] else None,
            stale=row["status"] == "running" and self.clock() - row["heartbeat"] >= STALE_RUN_S,
        )

    def edit_analysis(self, retro_id: str, edit: Callable[..., Analysis], *args, **kwargs) -> Analysis:
        """Apply one ``facilitator.review`` edit to the current analysis and keep it."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.phase not in ("review", "vote", "discuss", "publish"):
                raise NotAllowed("edit the analysis during Review (or before publishing)")
            row = conn.execute(select(t.analyses).where(t.analyses.c.retro_id == retro_id)).mappings().first()
            src = row["edited_json"] or row["original_json"]
            if not src:
                raise NotAllowed("there is no analysis to edit yet; run it first")
            new = edit(Analysis.model_validate_json(src), *args, **kwargs)
            conn.execute(update(t.analyses).where(t.analyses.c.retro_id == retro_id).values(edited_json=new.model_dump_json()))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))
            return new

    def restore_original(self, retro_id: str) -> None:
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.published:
                raise NotAllowed("this retro is published; its summary can no longer change")
            conn.execute(update(t.analyses).where(t.analyses.c.retro_id == retro_id).values(edited_json=None))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))

    # -- votes -------------------------------------------------------------------

    def cast_votes(self, retro_id: str, token: str, dots: Mapping[str, int]) -> None:
        """Replace this participant's dots (so resubmitting is idempotent)."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.phase != "vote":
                raise NotAllowed("voting is closed")
            tag = self._tag(conn, retro_id, token)
            if conn.execute(
                select(t.participants.c.tag).where(t.participants.c.retro_id == retro_id, t.participants.c.tag == tag)
            ).first() is None:
                raise NotAllowed("join the retro first (open the participant link)")
            row = conn.execute(select(t.analyses.c.edited_json, t.analyses.c.original_json).where(t.analyses.c.retro_id == retro_id)).first()
            analysis = Analysis.model_validate_json(row[0] or row[1])
            theme_ids = {th.id for th in analysis.themes}
            clean = {tid: int(n) for tid, n in dots.items() if int(n) > 0}
            if any(n < 0 for n in dots.values()):
                raise InputError("dots can't be negative")
            if set(clean) - theme_ids:
                raise InputError("some themes changed while you voted; reload and vote again")
            used = sum(clean.values())
            if used > retro.vote_budget:
                raise LimitReached(f"you used {used} dots but have {retro.vote_budget}; take some back")
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

    # -- publish -----------------------------------------------------------------

    def preview(self, retro_id: str) -> Preview:
        with self.db.read() as conn:
            return self._preview(conn, self._get(conn, retro_id))

    def _preview(self, conn: Connection, retro: Retro) -> Preview:
        row = conn.execute(select(t.analyses.c.edited_json, t.analyses.c.original_json).where(t.analyses.c.retro_id == retro.id)).first()
        if row is None or not (row[0] or row[1]):
            raise NotAllowed("there is no analysis to publish yet; run it first")
        analysis = Analysis.model_validate_json(row[0] or row[1])
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

    def publish(self, retro_id: str, *, approved: bool, rev: int) -> Publication:
        """Publish the previewed summary. Refused without approval, outside the
        Publish phase, when fewer than k people wrote cards, when the retro
        changed since the approved preview (``rev`` is ``Preview.rev``), or while
        the preview repeats fear card text verbatim."""
        if not approved:
            raise NotAllowed("nothing leaves the room without the facilitator's approval: tick the approval box")
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.published:
                raise NotAllowed("this retro is already published; its summary can't change")
            if retro.phase != "publish":
                raise NotAllowed("move the retro to the Publish phase first")
            counts = self._counts(conn, retro_id)
            if counts.contributors < retro.k:
                raise NotAllowed(
                    f"only {counts.contributors} people wrote cards; this retro needs at least {retro.k} "
                    "(its anonymity threshold) before anything is published"
                )
            if rev != retro.rev:
                raise NotAllowed(
                    "the retro changed since you read this preview (an edit in another tab or window); "
                    "read the new preview and approve it again"
                )
            preview = self._preview(conn, retro)
            if preview.blocking:
                where = ", ".join(f.where for f in preview.blocking)
                raise NotAllowed(
                    f"publishing is refused: {where} repeats the words of a fear card. Fears are published "
                    "only paraphrased: edit the label or summary in Review, then approve the new preview"
                )
            register = None
            if retro.register_id:
                reg_json = conn.execute(select(t.registers.c.register_json).where(t.registers.c.id == retro.register_id)).scalar()
                register = Register.model_validate_json(reg_json)
            pub_id = secrets.token_urlsafe(16)
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
            # Erase what linked cards and votes to sessions, and the per-person
            # participant rows (tag, rate-limit timestamp): only needed until now.
            conn.execute(update(t.cards).where(t.cards.c.retro_id == retro_id).values(author_tag=None))
            conn.execute(delete(t.votes).where(t.votes.c.retro_id == retro_id))
            conn.execute(delete(t.participants).where(t.participants.c.retro_id == retro_id))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(phase="published", rev=retro.rev + 1))
            return Publication(pub_id, retro_id, preview.summary, md)

    def publication(self, pub_id: str) -> Publication:
        with self.db.read() as conn:
            r = conn.execute(select(t.publications).where(t.publications.c.id == pub_id)).mappings().first()
        if r is None:
            raise RetroNotFound("no published summary at this link; check it with your facilitator")
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
            raise InputError(f"an open action is marked done, dropped or carried, not {status!r}")
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.published:
                raise NotAllowed("this retro is published; mark actions in the team's next retro")
            n = conn.execute(
                update(t.action_items)
                .where(t.action_items.c.id == item_id, t.action_items.c.team_norm == _team_norm(retro.team)[:120],
                       t.action_items.c.source_retro_id != retro_id)
                .values(status=status, reviewed_in=retro_id)
            ).rowcount
            if not n:
                raise InputError("that action does not belong to this team; reload the page")
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))

    # -- internals -----------------------------------------------------------------

    def _row_to_retro(self, r) -> Retro:
        return Retro(
            id=r["id"], join_code=r["join_code"], team=r["team"], title=r["title"],
            columns=tuple(json.loads(r["columns_json"])), register_id=r["register_id"], k=r["k"],
            vote_budget=r["vote_budget"], roster=tuple(json.loads(r["roster_json"] or "[]")),
            owner_email=r["owner_email"], phase=r["phase"], rev=r["rev"], created_on=r["created_on"],
        )

    def _get(self, conn: Connection, retro_id: str) -> Retro:
        r = conn.execute(select(t.retros).where(t.retros.c.id == retro_id)).mappings().first()
        if r is None:
            raise RetroNotFound("no retro at this link; check it with your facilitator")
        return self._row_to_retro(r)

    def _lock(self, conn: Connection, retro_id: str) -> Retro:
        r = conn.execute(select(t.retros).where(t.retros.c.id == retro_id).with_for_update()).mappings().first()
        if r is None:
            raise RetroNotFound("no retro at this link; check it with your facilitator")
        return self._row_to_retro(r)

    def _tag(self, conn: Connection, retro_id: str, token: str, salt: str | None = None) -> str:
        if not token:
            raise NotAllowed("this browser session has no participant key; open the participant link again")
        salt = salt or conn.execute(select(t.retros.c.salt).where(t.retros.c.id == retro_id)).scalar()
        if salt is None:
            raise RetroNotFound("no retro at this link; check it with your facilitator")
        return hmac.new(bytes.fromhex(salt), token.encode(), hashlib.sha256).hexdigest()
