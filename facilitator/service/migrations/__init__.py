"""Schema migrations (Alembic), run by ``Database.create_all()``.

The configuration is built here in code, so the installed package needs no
``alembic.ini``: ``script_location`` is this folder, the revisions are in
``versions/``, and ``env.py`` runs them on the connection it is handed (never
one of its own), inside the caller's transaction.

A database made before migrations existed (the tables of the baseline, no
``alembic_version``) is stamped at the baseline, not created again. On
PostgreSQL everything, the version table too, lives in the ``Database``'s
schema, and concurrent upgrades of one schema queue on an advisory lock; on
SQLite the ``BEGIN IMMEDIATE`` of a write transaction does the same.

A new revision, after editing the tables in ``db.py``::

    python -m facilitator.service.migrations revision "add a column to cards"

autogenerates ``versions/NNNN_<slug>.py`` against a scratch SQLite database
upgraded to the current head; read it (and check it on PostgreSQL) before
committing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from facilitator.errors import ConfigError


class Migratable(Protocol):
    """What ``upgrade`` needs of a ``facilitator.service.db.Database`` (no import back)."""

    engine: Engine
    schema: str | None

    @property
    def is_sqlite(self) -> bool: ...

HERE = Path(__file__).resolve().parent
BASELINE = "0001"
# The tables the baseline creates: exactly what ``metadata.create_all`` made
# before migrations existed. Frozen here, not read from ``db.metadata``, which
# moves on with later revisions.
BASELINE_TABLES = frozenset(
    {"registers", "retros", "participants", "cards", "votes", "analyses", "publications", "action_items"}
)
VERSION_TABLE = "alembic_version"


def config(connection: Connection | None = None, schema: str | None = None) -> Config:
    """An Alembic config for this package's scripts; ``env.py`` runs on ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))  # revisions: versions/ beside env.py
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = schema
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(connection: Connection, schema: str | None = None) -> str | None:
    """The revision the database is at (None: never migrated)."""
    ctx = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return ctx.get_current_revision()


def upgrade(db: Migratable, revision: str = "head") -> None:
    """Bring ``db`` to ``revision`` in one transaction, adopting a pre-migration database first."""
    with db.engine.begin() as conn:
        if not db.is_sqlite:
            # Serialise app processes that start together on one schema.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                         {"k": f"retro-facilitator migrations {db.schema or ''}"})
        cfg = config(conn, db.schema)
        if _needs_stamp(conn, db.schema):
            command.stamp(cfg, BASELINE)
        command.upgrade(cfg, revision)


def _needs_stamp(conn: Connection, schema: str | None) -> bool:
    """True for a database the pre-migration code made: baseline tables, no version table."""
    tables = set(inspect(conn).get_table_names(schema=schema))
    if VERSION_TABLE in tables:
        return False
    present = tables & BASELINE_TABLES
    if not present:
        return False
    if missing := BASELINE_TABLES - present:
        where = f"schema {schema!r}" if schema else "the database"
        raise ConfigError(
            f"{where} has some of this app's tables but not {', '.join(sorted(missing))}, and no "
            f"{VERSION_TABLE}; it was not made by this app: point RETRO_DATABASE_URL at another database"
        )
    return True
