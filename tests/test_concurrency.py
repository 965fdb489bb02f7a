"""Many participants at once lose nothing and create no duplicates, on both
SQLite and PostgreSQL (threads, each like one browser session)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from facilitator.service.retros import LimitReached, new_token
from tests.pg import pg_database, pg_service  # noqa: F401 (fixtures)
from tests.retro_helpers import make_service

N = 32


def _hammer(svc, *, cards_per_person: int = 2):
    c = svc.create_retro(team="T", title="Load", columns=["A", "B"], register_id=None, k=3)
    tokens = [new_token() for _ in range(N)]
    barrier = threading.Barrier(N)
    errors: list[BaseException] = []

    def participant(i: int) -> None:
        try:
            tok = tokens[i]
            barrier.wait()
            svc.join(c.retro_id, tok)
            for j in range(cards_per_person):
                key = f"{i}-{j}"
                svc.add_card(c.retro_id, tok, "AB"[j % 2], f"card {i}/{j}", key)
                svc.add_card(c.retro_id, tok, "AB"[j % 2], f"card {i}/{j}", key)  # a double-click
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    with ThreadPoolExecutor(N) as pool:
        list(pool.map(participant, range(N)))
    return c, tokens, errors


def _check(svc, c, tokens, errors, per_person):
    assert errors == []
    counts = svc.counts(c.retro_id)
    assert counts.participants == N
    assert counts.cards == N * per_person
    assert counts.contributors == N
    for tok in tokens[:5]:
        assert len(svc.my_cards(c.retro_id, tok)) == per_person


def test_concurrent_submissions_sqlite():
    svc = make_service(max_cards_per_minute=100)
    c, tokens, errors = _hammer(svc)
    _check(svc, c, tokens, errors, 2)


@pytest.mark.postgres
def test_concurrent_submissions_postgres(pg_service):
    svc = pg_service
    svc.settings = svc.settings.model_copy(update={"max_cards_per_minute": 100})
    c, tokens, errors = _hammer(svc)
    _check(svc, c, tokens, errors, 2)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_retro_limit_holds_under_contention(backend, request):
    if backend == "sqlite":
        svc = make_service(max_cards_per_retro=40, max_cards_per_minute=100)
    else:
        svc = request.getfixturevalue("pg_service")
        svc.settings = svc.settings.model_copy(update={"max_cards_per_retro": 40, "max_cards_per_minute": 100})
    c = svc.create_retro(team="T", title="Full", columns=["A"], register_id=None, k=3)
    tokens = [new_token() for _ in range(N)]
    for tok in tokens:
        svc.join(c.retro_id, tok)
    refused = []

    def write(i: int) -> None:
        for j in range(2):
            try:
                svc.add_card(c.retro_id, tokens[i], "A", f"{i}/{j}", f"{i}-{j}")
            except LimitReached:
                refused.append(i)

    with ThreadPoolExecutor(N) as pool:
        list(pool.map(write, range(N)))
    assert svc.counts(c.retro_id).cards == 40
    assert len(refused) == 2 * N - 40
