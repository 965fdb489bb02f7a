"""Schema migrations: ``Database.create_all()`` runs ``alembic upgrade head``.

On SQLite and on PostgreSQL (a private schema per test, skipped when the
server is not reachable): an empty database gets exactly the declared tables;
a database the pre-migration code made (``metadata.create_all``) keeps every
row and is stamped at the baseline; a second run changes nothing.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, inspect, select, table

from facilitator.service.db import Database, metadata
from facilitator.service.migrations import BASELINE_TABLES, VERSION_TABLE, current, head
from facilitator.service.retros import RetroService, new_token
from facilitator.settings import Settings

from .pg import PG_URL, pg_reachable
from .retro_helpers import demo_register_text


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_db(request, tmp_path):
    """``open_db(which="a")`` opens a ``Database`` on empty database ``which``
    (a new engine each call, as another process would have): a SQLite file,
    or a private PostgreSQL schema, dropped after the test."""
    if request.param == "postgres" and not pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (scripts/test starts it when installed)")
    prefix = f"m_{uuid.uuid4().hex[:12]}"
    opened: dict[str, list[Database]] = {}

    def open_(which: str = "a") -> Database:
        if request.param == "sqlite":
            db = Database(f"sqlite:///{tmp_path / f'{which}.sqlite3'}")
        else:
            db = Database(PG_URL, schema=f"{prefix}_{which}")
        opened.setdefault(which, []).append(db)
        return db

    yield open_
    for dbs in opened.values():
        for db in dbs[1:]:
            db.dispose()
        dbs[0].drop_schema()


def shape(db: Database) -> dict:
    """Every table of the database, reflected: columns, keys, indexes, unique constraints."""
    s = db.schema

    def norm(value):  # a PostgreSQL sequence default names the schema
        return None if value is None else str(value).replace(f"{s}.", "") if s else str(value)

    with db.engine.connect() as conn:
        insp = inspect(conn)
        out = {}
        for t in sorted(insp.get_table_names(schema=s)):
            if t == VERSION_TABLE or t.startswith("procrastinate_"):  # the job queue's own tables (0005)
                continue
            out[t] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], norm(c.get("default"))) for c in insp.get_columns(t, schema=s)],
                "pk": sorted(insp.get_pk_constraint(t, schema=s)["constrained_columns"]),
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                              for f in insp.get_foreign_keys(t, schema=s)),
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                  for i in insp.get_indexes(t, schema=s)),
                "unique": sorted((u["name"] or "", tuple(u["column_names"])) for u in insp.get_unique_constraints(t, schema=s)),
            }
        return out


# Columns later revisions add (with defaults): not part of what the baseline held.
LATER_COLUMNS = frozenset({
    "approved_by", "approved_at",  # 0002
    "short_code", "timer_phase", "timer_ends_at", "focus_theme_id", "join_window_start", "join_window_count",
    "done_phase",  # 0004
    "locale",  # 0007
})


def rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of every baseline table, as the baseline's columns (later revisions add columns)."""
    with db.engine.connect() as conn:
        insp = inspect(conn)
        present = set(insp.get_table_names(schema=db.schema))
        out = {}
        for t in metadata.sorted_tables:
            if t.name not in BASELINE_TABLES or t.name not in present:
                continue
            cols = [c["name"] for c in insp.get_columns(t.name, schema=db.schema)]
            keep = [c for c in t.columns if c.name in cols and c.name not in LATER_COLUMNS]
            out[t.name] = [tuple(r) for r in conn.execute(select(*keep).order_by(*t.primary_key.columns))]
        return out


def version(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return current(conn, db.schema)


def test_upgrading_an_empty_database_gives_exactly_the_declared_tables(open_db):
    db = open_db()
    db.create_all()
    got = shape(db)
    assert set(got) == set(metadata.tables) and BASELINE_TABLES <= set(got)
    for name, declared in metadata.tables.items():
        assert [c[0] for c in got[name]["columns"]] == [c.name for c in declared.columns], name
        assert [c[2] for c in got[name]["columns"]] == [c.nullable for c in declared.columns], name
        assert got[name]["pk"] == sorted(c.name for c in declared.primary_key.columns), name
        assert got[name]["fks"] == sorted(
            ((fk.parent.name,), fk.column.table.name, (fk.column.name,)) for fk in declared.foreign_keys), name
        assert {i[0] for i in got[name]["indexes"]} >= {i.name for i in declared.indexes}, name
    assert version(db) == head()
    with db.engine.connect() as conn:  # the version table sits with the tables (the test's own schema on PostgreSQL)
        tables = inspect(conn).get_table_names(schema=db.schema)
    assert VERSION_TABLE in tables
    # The analysis job queue (procrastinate) lives in the same schema, on PostgreSQL only.
    assert ("procrastinate_jobs" in tables) == (not db.is_sqlite)

    # ... and exactly what the pre-migration code made, type for type, on this dialect.
    reference = open_db("reference")
    metadata.create_all(reference.engine)
    assert shape(reference) == got


def _legacy(db: Database) -> None:
    """What the pre-migration code left: a little real use, then the schema taken back
    to the baseline (downgrade) and the version table dropped, as ``create_all`` made it."""
    from alembic import command
    from sqlalchemy import text

    from facilitator.service.migrations import config

    db.create_all()
    svc = RetroService(db, Settings())
    reg = svc.add_register(demo_register_text(), "demo_register.md", name="Harbourline")
    for title in ("Sprint 41", "Sprint 42"):
        created = svc.create_retro(team="Dispatch", title=title, columns=["Went well", "Worries"], register_id=reg, k=3)
        tok = new_token()
        svc.join(created.retro_id, tok)
        for n, col in enumerate(("Went well", "Worries")):
            svc.add_card(created.retro_id, tok, col, f"{title}: a card about {col.lower()}", f"{title}-{n}")
    with db.engine.begin() as conn:
        command.downgrade(config(conn, db.schema), "0001")
        prefix = f'"{db.schema}".' if db.schema else ""
        conn.execute(text(f"DROP TABLE {prefix}{VERSION_TABLE}"))


def test_a_pre_migration_database_is_stamped_and_keeps_every_row(open_db):
    old = open_db()
    _legacy(old)
    before, tables_before = rows(old), shape(old)
    assert len(before["retros"]) == 2 and len(before["cards"]) == 4 and len(before["registers"]) == 1
    assert version(old) is None
    old.dispose()

    db = open_db()  # the new code starting on it
    db.create_all()
    assert version(db) == head()
    assert rows(db) == before
    fresh = open_db("fresh")
    fresh.create_all()
    assert shape(db) == shape(fresh) and shape(db) != tables_before  # upgraded past the baseline, like a new one
    with db.engine.connect() as conn:  # one row: stamped (at the baseline), then upgraded
        assert conn.execute(select(func.count()).select_from(table(VERSION_TABLE, schema=db.schema))).scalar() == 1


def test_running_it_twice_changes_nothing(open_db):
    db = open_db()
    _legacy(db)  # rows in the tables, so a second run re-creating anything would show
    db.create_all()
    first, tables_first = rows(db), shape(db)
    db.create_all()
    open_db().create_all()  # and from another engine
    assert rows(db) == first
    assert shape(db) == tables_first
    assert version(db) == head()


def test_a_database_with_only_some_of_the_tables_is_refused(open_db):
    from facilitator.errors import ConfigError

    db = open_db()
    metadata.tables["registers"].create(db.engine)
    with pytest.raises(ConfigError, match="not action_items"):
        db.create_all()
    assert version(db) is None
