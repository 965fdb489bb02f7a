"""The same service on PostgreSQL: several processes (here: services with their
own connection pools) serve one retro; state lives only in the database."""

from __future__ import annotations

import pytest

from facilitator.service import review
from facilitator.service.db import Database
from facilitator.service.retros import RetroService
from tests.pg import PG_URL, pg_database, pg_service  # noqa: F401 (fixtures)
from tests.retro_helpers import seeded_retro

pytestmark = pytest.mark.postgres


def test_full_retro_on_postgres(pg_service):
    svc = pg_service
    c, toks = seeded_retro(svc, people=3, to_phase="review")
    svc.edit_analysis(c.retro_id, review.rename_theme, "t1", "Renamed on PostgreSQL")
    for phase in ("vote",):
        svc.advance(c.retro_id, phase)
    svc.cast_votes(c.retro_id, toks[0], {"t1": 2})
    for phase in ("discuss", "publish"):
        svc.advance(c.retro_id, phase)
    pub = svc.publish(c.retro_id, approved=True, rev=svc.preview(c.retro_id).rev)
    assert "Renamed on PostgreSQL" in pub.markdown
    assert svc.publication(pub.id).summary.votes == {"t1": 2}


def test_two_app_processes_see_one_retro(pg_database):
    first = RetroService(pg_database)
    second_db = Database(PG_URL, schema=pg_database.schema)  # another process's engine
    try:
        second = RetroService(second_db)
        c, toks = seeded_retro(first, people=3)
        assert second.counts(c.retro_id).cards == 9
        second.advance(c.retro_id, "reveal")
        assert first.watch(c.retro_id)[0] == "reveal"
        assert len(first.revealed_cards(c.retro_id)) == 9
    finally:
        second_db.dispose()


@pytest.mark.postgres
def test_nul_in_a_card_or_a_link_is_a_message_not_a_driver_error_on_postgres(pg_service):
    from facilitator.errors import InputError
    from facilitator.service.retros import RetroNotFound, new_token

    svc = pg_service
    c, toks = seeded_retro(svc, people=1, to_phase="collect")
    with pytest.raises(InputError, match="NUL character"):
        svc.add_card(c.retro_id, toks[0], "Went well", "a\x00b", new_token())
    with pytest.raises(RetroNotFound):
        svc.by_join_code("\x00")
    with pytest.raises(RetroNotFound):
        svc.get("abc\x00")
