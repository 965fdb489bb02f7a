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


def test_an_unreachable_database_is_one_line_and_try_again():
    from facilitator.errors import DatabaseUnavailable

    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable, match="nothing you typed is lost. Try again") as err:
        with db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
    assert "\n" not in str(err.value) and "127.0.0.1" not in str(err.value)


def _restart_postgres() -> None:
    import shutil
    import subprocess
    from pathlib import Path

    versions = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").exists() else []
    if not shutil.which("pg_ctlcluster") or not versions:
        pytest.skip("pg_ctlcluster is not available to restart the server")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].parent.name, "main", "restart"],
                   check=True, capture_output=True, timeout=60)


def test_a_postgres_restart_during_a_retro_loses_nothing(pg_service):
    """The server restarts mid-collect: every stored card survives, a submission that
    fails while it is down is one line and stored exactly once when retried, and the
    pool's dead connections are replaced (pre-ping) without anyone noticing."""
    import os
    import time

    from facilitator.errors import DatabaseUnavailable
    from facilitator.service.retros import new_token

    if os.geteuid() != 0:
        pytest.skip("restarting the local PostgreSQL needs root")
    svc = pg_service
    c, tokens = seeded_retro(svc, people=3, to_phase="collect")
    n_before = svc.counts(c.retro_id).cards
    _restart_postgres()
    key = new_token()
    stored = None
    for _ in range(30):  # the participant clicks again until the server is back
        try:
            stored = svc.add_card(c.retro_id, tokens[0], "To improve", "Written while the database restarted", key)
            break
        except DatabaseUnavailable:
            time.sleep(1)
    assert stored is not None
    again = svc.add_card(c.retro_id, tokens[0], "To improve", "Written while the database restarted", key)
    assert again.id == stored.id  # the retried click is the same card
    assert svc.counts(c.retro_id).cards == n_before + 1
