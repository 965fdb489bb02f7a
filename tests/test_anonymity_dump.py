"""Anonymity that survives a database dump: after publish nothing orders or links
cards by writer, in any column, in the storage order, or in SQLite's leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from facilitator.service import db as t
from facilitator.service.retros import RetroService, new_token
from tests.pg import pg_database, pg_service  # noqa: F401 (fixtures)
from tests.retro_helpers import ColumnEngine, demo_register_text, make_service

PEOPLE, CARDS_EACH = 6, 5


def _full_retro(svc: RetroService):
    """Six people write five cards each, in turn; returns the retro id, the card ids
    in writing order, and the author tags as they were before publishing."""
    reg = svc.add_register(demo_register_text(), "demo_register.md", name="Harbourline")
    c = svc.create_retro(team="Ops", title="Dump test", columns=["Went well", "To improve"], register_id=reg, k=3)
    svc.settings = svc.settings.model_copy(update={"max_cards_per_minute": 100})
    tokens = [new_token() for _ in range(PEOPLE)]
    for tok in tokens:
        svc.join(c.retro_id, tok)
    written = []
    for tok in tokens:  # one person's cards in a run: the order that must not survive
        for n in range(CARDS_EACH):
            written.append(svc.add_card(c.retro_id, tok, "To improve", f"card {n} by someone {tok[:4]}", new_token()).id)
    with svc.db.read() as conn:
        tags = {r[0] for r in conn.execute(select(t.cards.c.author_tag).where(t.cards.c.retro_id == c.retro_id))}
    for phase in ("reveal", "analyse"):
        svc.advance(c.retro_id, phase)
    svc.run_analysis(c.retro_id, svc.start_analysis(c.retro_id), ColumnEngine())
    for phase in ("review", "vote", "discuss", "publish"):
        svc.advance(c.retro_id, phase)
    svc.publish(c.retro_id, approved=True, rev=svc.preview(c.retro_id).rev)
    return c.retro_id, written, tags


def _runs(order: list[str], written: list[str]) -> int:
    """How many neighbours in ``order`` were also neighbours when written (one writer's run)."""
    pos = {cid: i for i, cid in enumerate(written)}
    return sum(abs(pos[a] - pos[b]) == 1 and pos[a] // CARDS_EACH == pos[b] // CARDS_EACH
               for a, b in zip(order, order[1:]))


def _check(order_by_storage: list[str], order_by_seq: list[str], written: list[str]) -> None:
    # Written in runs of 5, 24 of the 29 neighbour pairs are one writer's; a random order has about 1.
    assert _runs(written, written) == PEOPLE * (CARDS_EACH - 1)
    assert _runs(order_by_storage, written) <= 6, "the storage order still follows the writing order"
    assert _runs(order_by_seq, written) <= 6, "the seq column still follows the writing order"


def test_a_sqlite_dump_after_publish_holds_no_writing_order_or_author_tag():
    svc = make_service()
    rid, written, tags = _full_retro(svc)
    path = Path(svc.db.url.split("///", 1)[1])
    with svc.db.read() as conn:
        by_rowid = [r[0] for r in conn.execute(text("SELECT id FROM cards WHERE retro_id = :r ORDER BY rowid"), {"r": rid})]
        by_seq = [r[0] for r in conn.execute(text("SELECT id FROM cards WHERE retro_id = :r ORDER BY seq"), {"r": rid})]
        assert conn.execute(text("SELECT count(*) FROM cards WHERE author_tag IS NOT NULL")).scalar() == 0
        assert conn.execute(text("PRAGMA freelist_count")).scalar() == 0  # VACUUM: no freed pages keep old rows
    _check(by_rowid, by_seq, written)
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated while still open
    svc.db.dispose()
    raw = path.read_bytes()
    assert tags and not any(tag.encode() in raw for tag in tags), "an author tag survives in the file or its WAL"


@pytest.mark.postgres
def test_a_postgres_dump_after_publish_holds_no_writing_order_or_author_tag(pg_service):
    svc = pg_service
    rid, written, tags = _full_retro(svc)
    schema = svc.db.schema
    with svc.db.read() as conn:
        by_heap = [r[0] for r in conn.execute(text(f'SELECT id FROM "{schema}".cards WHERE retro_id = :r ORDER BY ctid'),
                                              {"r": rid})]
        by_seq = [r[0] for r in conn.execute(text(f'SELECT id FROM "{schema}".cards WHERE retro_id = :r ORDER BY seq'),
                                             {"r": rid})]
        assert conn.execute(text(f'SELECT count(*) FROM "{schema}".cards WHERE author_tag IS NOT NULL')).scalar() == 0
        dump = " ".join(str(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{schema}".cards')))
    _check(by_heap, by_seq, written)
    assert not any(tag in dump for tag in tags)
