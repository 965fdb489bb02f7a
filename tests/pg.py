"""PostgreSQL for tests: a private schema per test on the local server, dropped after."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

PG_URL = os.environ.get("RETRO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_database():
    if not pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (scripts/test starts it when installed)")
    from facilitator.service.db import Database

    db = Database(PG_URL, schema=f"t_{uuid.uuid4().hex[:12]}")
    db.create_all()
    try:
        yield db
    finally:
        db.drop_schema()


@pytest.fixture
def pg_service(pg_database):
    from facilitator.service.retros import RetroService
    from facilitator.settings import Settings

    return RetroService(pg_database, Settings())
