"""The one module that touches SQL: engine creation, schema and transactions.

SQLite (a file in ``RETRO_DATA_DIR``) by default; PostgreSQL when
``RETRO_DATABASE_URL`` is set, so several app processes can serve one retro.
Everything that must survive a browser refresh, a server restart or a failed
model call lives in these tables; nothing is kept in module globals. The
tables are declared here and changed only by a migration in ``migrations/``
(``Database.create_all()`` runs them).

What is deliberately *not* here (anonymity, see ``facilitator.service.retros``):
no names, no accounts of participants, no author column on cards and no card
timestamps. A card carries an ``author_tag`` (an HMAC of the browser
session's secret under a per-retro salt) only while the retro runs, so a
participant can edit their own cards before reveal and so the publish gate can
count how many different people a theme comes from; the tags are erased when
the retro is published and never leave the service layer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from facilitator.errors import ConfigError, DatabaseUnavailable
from facilitator.i18n import _
from facilitator.settings import Settings

log = logging.getLogger(__name__)
metadata = MetaData()

registers = Table(
    "registers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("version", String(100), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("raw", Text, nullable=False),
    Column("register_json", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Who approved this version (a role, or an owner's login e-mail) and when (revision 0002).
    Column("approved_by", String(200), nullable=True),
    Column("approved_at", DateTime(timezone=True), nullable=True),
)

# The owner and admin keys, as sha256 hashes, when login is off (revision 0002).
role_keys = Table(
    "role_keys",
    metadata,
    Column("role", String(20), primary_key=True),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

retros = Table(
    "retros",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("join_code", String(32), nullable=False, unique=True),
    # sha256 of the facilitator key: a database leak does not hand out the link.
    Column("key_hash", String(64), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("team", String(120), nullable=False),
    Column("team_norm", String(120), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("columns_json", Text, nullable=False),
    Column("register_id", Integer, ForeignKey("registers.id"), nullable=True),
    Column("k", Integer, nullable=False),
    Column("vote_budget", Integer, nullable=False),
    Column("roster_json", Text, nullable=False, default="[]"),
    Column("owner_email", String(320), nullable=True),
    Column("phase", String(16), nullable=False),
    # Bumped on every facilitator change; participants' pages poll (phase, rev).
    Column("rev", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_on", Date, nullable=False),
    # The meeting (revision 0004): a short code to type in, the phase timer, the
    # theme on screen in Discuss, and the join rate-limit window (one overwritten pair).
    Column("short_code", String(8), nullable=True),
    Column("timer_phase", String(16), nullable=True),
    Column("timer_ends_at", Float, nullable=True),
    Column("focus_theme_id", String(64), nullable=True),
    Column("join_window_start", Float, nullable=False, default=0.0, server_default="0"),
    Column("join_window_count", Integer, nullable=False, default=0, server_default="0"),
    # The language of the retro's pages (revision 0007; facilitator.i18n).
    Column("locale", String(8), nullable=False, default="en", server_default="en"),
    Index("ix_retros_short_code", "short_code", unique=True),
)

participants = Table(
    "participants",
    metadata,
    Column("retro_id", String(32), ForeignKey("retros.id"), primary_key=True),
    Column("tag", String(64), primary_key=True),
    # Rate limit window: one overwritten pair per participant, never per card.
    Column("window_start", Float, nullable=False, default=0.0),
    Column("window_count", Integer, nullable=False, default=0),
    # "I'm done" for the phase it was said in (revision 0004); a count, never shown per person.
    Column("done_phase", String(16), nullable=True),
)

cards = Table(
    "cards",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("retro_id", String(32), ForeignKey("retros.id"), nullable=False, index=True),
    # Insertion order only (no timestamps: time identifies people).
    Column("seq", Integer, nullable=False),
    Column("column_name", String(80), nullable=False),
    Column("text", Text, nullable=False),
    Column("author_tag", String(64), nullable=True),
    Column("idem_key", String(64), nullable=False),
    UniqueConstraint("retro_id", "idem_key", name="uq_cards_idem"),
)

votes = Table(
    "votes",
    metadata,
    Column("retro_id", String(32), ForeignKey("retros.id"), primary_key=True),
    Column("voter_tag", String(64), primary_key=True),
    Column("theme_id", String(64), primary_key=True),
    Column("dots", Integer, nullable=False),
)

analyses = Table(
    "analyses",
    metadata,
    Column("retro_id", String(32), ForeignKey("retros.id"), primary_key=True),
    Column("status", String(16), nullable=False),  # idle | running | done | failed
    Column("run_id", String(32), nullable=True),
    Column("step", String(200), nullable=False, default=""),
    Column("progress", Float, nullable=False, default=0.0),
    Column("error", Text, nullable=True),
    Column("keep_edits", Integer, nullable=False, default=0),
    Column("heartbeat", Float, nullable=False, default=0.0),
    Column("original_json", Text, nullable=True),
    Column("edited_json", Text, nullable=True),
)

publications = Table(
    "publications",
    metadata,
    Column("id", String(48), primary_key=True),
    Column("retro_id", String(32), ForeignKey("retros.id"), nullable=False, unique=True),
    Column("summary_json", Text, nullable=False),
    Column("markdown", Text, nullable=False),
    Column("published_on", Date, nullable=False),
)

action_items = Table(
    "action_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_norm", String(120), nullable=False, index=True),
    Column("source_retro_id", String(32), ForeignKey("retros.id"), nullable=False),
    Column("action_id", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("owner_role", String(200), nullable=False),
    Column("due", Date, nullable=False),
    Column("status", String(16), nullable=False),  # open | done | dropped | carried
    Column("reviewed_in", String(32), nullable=True),
    UniqueConstraint("source_retro_id", "action_id", name="uq_action_items_source"),
)

# Owners' answers to groups of trust gaps (revision 0003). A group is (related
# commitment or "", topic); the answer covers its gaps published up to answered_on.
gap_answers = Table(
    "gap_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commitment_id", String(64), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # written | commitment | will_not_promise
    Column("text", Text, nullable=False),
    Column("owner_role", String(200), nullable=False),
    Column("register_id", Integer, ForeignKey("registers.id"), nullable=True),
    Column("answered_on", Date, nullable=False),
)

# Where a team's published actions go (facilitator.integrations): the secret is
# sealed (Fernet, facilitator.service.sealing), never stored or shown in the clear.
integrations = Table(
    "integrations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("team_norm", String(120), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("config_json", Text, nullable=False),
    Column("secret_sealed", Text, nullable=False),
    Column("secret_hint", String(8), nullable=False),
    Column("added_by", String(200), nullable=False),
    Column("added_on", Date, nullable=False),
)

# One row per (destination, published action): sent once, retried with backoff.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("integration_id", String(32), ForeignKey("integrations.id", ondelete="CASCADE"), nullable=False),
    Column("retro_id", String(32), ForeignKey("retros.id"), nullable=False, index=True),
    Column("action_id", String(64), nullable=False),
    Column("status", String(12), nullable=False),  # pending | sending | sent | failed | unknown
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", Float, nullable=False, server_default="0"),
    Column("claimed_at", Float, nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("external_url", Text, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("integration_id", "retro_id", "action_id", name="uq_deliveries_once"),
)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Database:
    """An engine plus the two kinds of transaction the service needs.

    ``write()`` on SQLite starts ``BEGIN IMMEDIATE``: the write lock is taken
    up front, so two writers queue on the busy timeout instead of one failing
    with "database is locked" when it upgrades a read lock. On PostgreSQL the
    service locks the retro row (``SELECT ... FOR UPDATE``) instead.
    """

    def __init__(
        self, url: str, *, schema: str | None = None, echo: bool = False, pool_size: int = 5, max_overflow: int = 5
    ):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _refuse_empty_file(url)
        # hide_parameters: a database error's message (and so any log line or page
        # showing it) never carries the statement's values: card text, author tags.
        if self.is_sqlite:
            engine = create_engine(
                url, echo=echo, hide_parameters=True, connect_args={"check_same_thread": False, "timeout": 30}
            )
            _sqlite_events(engine)
        else:
            engine = create_engine(
                url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=pool_size,
                max_overflow=max_overflow,
            )
        if schema:
            if not _SCHEMA_NAME.match(schema):
                raise ValueError(f"schema name {schema!r} must match {_SCHEMA_NAME.pattern}")
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.schema = schema
        self.engine: Engine = engine

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        db = cls(database_url(settings), pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
        db.create_all()
        return db

    def create_all(self) -> None:
        """Bring the schema up to date: ``alembic upgrade head`` (see ``migrations``).

        The name is from before migrations existed; a database that code made is
        stamped at the baseline, not created again. Safe to call on every start.
        """
        from facilitator.service.migrations import upgrade

        upgrade(self)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with _unavailable_as_one_line():
            with self.engine.connect() as conn:
                with conn.begin():
                    yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with _unavailable_as_one_line():
            with self.engine.connect().execution_options(retro_read_only=True) as conn:
                with conn.begin():
                    yield conn

    def drop_schema(self) -> None:
        """Tests only: remove the private PostgreSQL schema and everything in it."""
        if self.schema and not self.is_sqlite:
            with self.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        self.engine.dispose()

    def compact(self) -> None:
        """Overwrite what deleted rows leave behind: on SQLite, checkpoint and truncate
        the write-ahead log and VACUUM the file; on PostgreSQL, VACUUM the cards,
        votes and participants tables (dead row versions stay in the heap until then)."""
        if self.is_sqlite:
            # On the driver's connection, outside any transaction (ours always BEGIN IMMEDIATE).
            raw = self.engine.raw_connection()
            try:
                cur = raw.cursor()
                for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"):
                    cur.execute(statement)
                cur.close()
            finally:
                raw.close()
            return
        prefix = f'"{self.schema}".' if self.schema else ""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("cards", "votes", "participants"):
                conn.exec_driver_sql(f"VACUUM {prefix}{table}")

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _unavailable_as_one_line() -> Iterator[None]:
    """A database that does not answer (restarting, locked, read-only, unreachable)
    becomes one line the pages show, with the typed text kept; the transaction was
    rolled back, so nothing half-written stays. The log gets the error's class only:
    its message could name a table, never values (``hide_parameters``), but one line is enough."""
    try:
        yield
    except (OperationalError, InterfaceError) as e:
        log.warning("database unavailable: %s", type(getattr(e, "orig", e)).__name__)
        raise DatabaseUnavailable(
            _("The database did not answer just now; nothing you typed is lost. Try again in a moment.")
        ) from None


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    path = Path(settings.sqlite_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


EMPTY_FILE_GRACE_S = 10.0
"""A just-created file is empty for a moment while another process writes the schema."""


def _refuse_empty_file(url: str) -> None:
    """An existing zero-length database file is refused, not silently recreated
    empty: it is what a lost disk, a bad copy or a truncation leaves, and
    starting afresh on it would hide that every retro is gone."""
    import time

    raw = url.split("///", 1)[1] if "///" in url else ""
    if not raw or raw == ":memory:":
        return
    path = Path(raw)
    if path.is_file() and path.stat().st_size == 0 and time.time() - path.stat().st_mtime > EMPTY_FILE_GRACE_S:
        raise ConfigError(
            f"The database file {path} is empty (0 bytes): restore it from a backup, or delete it to start "
            "with no retros (RETRO_DATA_DIR chooses where it lives)"
        )


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("retro_read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
