"""What every part of the retro service shares: records, errors, the
database handle and the internal row helpers."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from facilitator.errors import FacilitatorError, InputError
from facilitator.i18n import _
from facilitator.models import PHASES, Analysis, Register
from facilitator.publishing.preview import PublishedSummary
from facilitator.service import db as t
from facilitator.service.db import Database
from facilitator.settings import Settings, get_settings
from facilitator.text import unstorable

ITEM_STATUSES = ("open", "done", "dropped", "carried")
STALE_RUN_S = 300.0
"""A running analysis whose worker has not reported for this long is presumed dead."""


class RetroNotFound(FacilitatorError):
    """The link points at no retro (mistyped, or the database was reset)."""


class NotAllowed(FacilitatorError):
    """The link lacks the facilitator key, or the phase forbids the action."""


class LimitReached(InputError):
    """A limit the product holds itself to (card length, cards per person or retro, rate; see README, Configuration)."""


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
    short_code: str | None = None
    timer_phase: str | None = None
    timer_ends_at: float | None = None
    focus_theme_id: str | None = None
    locale: str = "en"

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
    approved_by: str | None = None  # a role or an owner's login e-mail; None before roles existed
    approved_at: dt.datetime | None = None


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


class ServiceBase:
    def __init__(
        self,
        database: Database,
        settings: Settings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        today: Callable[[], dt.date] = dt.date.today,
    ):
        self.db = database
        self.settings = settings or get_settings()
        self.clock = clock
        self.today = today

    # -- internals -----------------------------------------------------------------

    def _row_to_retro(self, r) -> Retro:
        return Retro(
            id=r["id"], join_code=r["join_code"], team=r["team"], title=r["title"],
            columns=tuple(json.loads(r["columns_json"])), register_id=r["register_id"], k=r["k"],
            vote_budget=r["vote_budget"], roster=tuple(json.loads(r["roster_json"] or "[]")),
            owner_email=r["owner_email"], phase=r["phase"], rev=r["rev"], created_on=r["created_on"],
            short_code=r["short_code"], timer_phase=r["timer_phase"], timer_ends_at=r["timer_ends_at"],
            focus_theme_id=r["focus_theme_id"], locale=r["locale"],
        )

    def _get(self, conn: Connection, retro_id: str) -> Retro:
        return self._fetch(conn, retro_id, lock=False)

    def _lock(self, conn: Connection, retro_id: str) -> Retro:
        """The retro, its row locked for this transaction (``FOR UPDATE``; SQLite's
        ``BEGIN IMMEDIATE`` already serialises writers)."""
        return self._fetch(conn, retro_id, lock=True)

    def _fetch(self, conn: Connection, retro_id: str, *, lock: bool) -> Retro:
        if unstorable(retro_id):  # from a URL: never handed to the driver
            raise RetroNotFound(_("No retro at this link; check it with your facilitator"))
        query = select(t.retros).where(t.retros.c.id == retro_id)
        r = conn.execute(query.with_for_update() if lock else query).mappings().first()
        if r is None:
            raise RetroNotFound(_("No retro at this link; check it with your facilitator"))
        return self._row_to_retro(r)

    def _current_analysis(self, conn: Connection, retro_id: str) -> Analysis | None:
        """The facilitator's edited analysis, else the engine's, else None."""
        row = conn.execute(
            select(t.analyses.c.edited_json, t.analyses.c.original_json).where(t.analyses.c.retro_id == retro_id)
        ).first()
        if row is None or not (row[0] or row[1]):
            return None
        return Analysis.model_validate_json(row[0] or row[1])

    def _tag(self, conn: Connection, retro_id: str, token: str, salt: str | None = None) -> str:
        if not token:
            raise NotAllowed(_("This browser session has no participant key; open the participant link again"))
        salt = salt or conn.execute(select(t.retros.c.salt).where(t.retros.c.id == retro_id)).scalar()
        if salt is None:
            raise RetroNotFound(_("No retro at this link; check it with your facilitator"))
        return hmac.new(bytes.fromhex(salt), token.encode(), hashlib.sha256).hexdigest()

