"""Where analyses run (facilitator/service/jobs.py): in-process on the embedded
default, or as a procrastinate job on PostgreSQL that a worker runs; a job whose
worker died is put back and run once more, and its result is kept once."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from facilitator import wiring
from facilitator.errors import ConfigError
from facilitator.service.db import Database
from facilitator.service.jobs import (
    ANALYSE_TASK,
    STALLED_S,
    InProcessRunner,
    QueueRunner,
    _LazyEngine,
    make_runner,
    retry_stalled_jobs,
    worker_app,
)
from facilitator.service.retros import RetroService
from facilitator.settings import Settings

from .pg import PG_URL, pg_reachable
from .retro_helpers import ColumnEngine, make_service, seeded_retro


def _wait_done(svc, rid, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = svc.analysis(rid)
        if state.status in ("done", "failed"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"analysis still {svc.analysis(rid).status}")


def _in_analyse(svc) -> str:
    """A seeded retro (4 people, 12 cards) moved to Analyse; its id."""
    created, _ = seeded_retro(svc, to_phase="reveal")
    svc.advance(created.retro_id, "analyse")
    return created.retro_id


@pytest.fixture
def scripted(monkeypatch):
    engine = ColumnEngine()
    monkeypatch.setitem(wiring.ENGINES, "scripted-jobs", lambda settings: engine)
    return engine


def test_the_embedded_default_runs_the_job_in_process(scripted):
    svc = make_service(engine="scripted-jobs")
    rid = _in_analyse(svc)
    runner = make_runner(svc.settings, svc.db)
    assert isinstance(runner, InProcessRunner)
    assert runner.start(svc, rid)
    assert _wait_done(svc, rid).status == "done"
    assert scripted.calls == [12]


def test_the_queue_on_sqlite_is_refused_with_one_line():
    svc = make_service(analysis_jobs="queue")
    with pytest.raises(ConfigError, match="needs PostgreSQL") as e:
        make_runner(svc.settings, svc.db)
    assert "\n" not in str(e.value)


@pytest.fixture
def pg_service(scripted):
    if not pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (scripts/test starts it when installed)")
    db = Database(PG_URL, schema=f"j_{uuid.uuid4().hex[:12]}")
    db.create_all()
    s = Settings(database_url=PG_URL, analysis_jobs="queue", engine="scripted-jobs")
    try:
        yield RetroService(db, s)
    finally:
        db.drop_schema()


def _queue_sql(db, sql: str, **params) -> list[dict]:
    """SQL on procrastinate's tables, in the test's own schema (their names are unqualified)."""
    from sqlalchemy import text

    with db.engine.begin() as conn:
        conn.execute(text(f'SET LOCAL search_path TO "{db.schema}"'))
        result = conn.execute(text(sql), params)
        return [dict(r) for r in result.mappings()] if result.returns_rows else []


def _jobs(db) -> list[dict]:
    return _queue_sql(db, "SELECT id, task_name, status, attempts, args FROM procrastinate_jobs "
                          "WHERE task_name = :t ORDER BY id", t=ANALYSE_TASK)


def _run_worker_until_idle(svc) -> None:
    app = worker_app(svc, _LazyEngine(svc.settings))

    async def main():
        async with app.open_async():
            await app.run_worker_async(wait=False, install_signal_handlers=False, listen_notify=False)

    asyncio.run(main())


@pytest.mark.postgres
def test_on_the_queue_the_app_defers_and_a_worker_runs_the_job(pg_service, scripted):
    svc = pg_service
    rid = _in_analyse(svc)
    runner = make_runner(svc.settings, svc.db)
    assert isinstance(runner, QueueRunner)
    assert runner.start(svc, rid)
    assert not runner.start(svc, rid)  # claimed: a second click queues nothing
    # The app process ran nothing: the job waits on the queue, in the app's own schema.
    assert svc.analysis(rid).status == "running" and scripted.calls == []
    [job] = _jobs(svc.db)
    assert job["status"] == "todo" and job["args"]["retro_id"] == rid
    assert set(job["args"]) == {"retro_id", "run_id"}  # ids only: no card reaches the queue

    _run_worker_until_idle(svc)
    assert svc.analysis(rid).status == "done" and scripted.calls == [12]
    [job] = _jobs(svc.db)
    assert job["status"] == "succeeded" and job["attempts"] == 1


@pytest.mark.postgres
def test_a_job_whose_worker_died_is_retried_and_kept_once(pg_service, scripted):
    svc = pg_service
    rid = _in_analyse(svc)
    make_runner(svc.settings, svc.db).start(svc, rid)
    app = worker_app(svc, _LazyEngine(svc.settings))

    async def a_worker_takes_it_and_dies():
        async with app.open_async():
            worker_id = await app.job_manager.register_worker()
            job = await app.job_manager.fetch_job(queues=None, worker_id=worker_id)
            assert job is not None and job.task_name == ANALYSE_TASK
            assert await retry_stalled_jobs(app) == 0  # its worker is alive: left alone
            # ... then it is SIGKILLed: its heartbeat stops.
            _queue_sql(svc.db, "UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => :s)",
                       s=STALLED_S + 5)
            assert await retry_stalled_jobs(app) == 1

    asyncio.run(a_worker_takes_it_and_dies())
    assert _jobs(svc.db)[0]["status"] == "todo"
    _run_worker_until_idle(svc)
    assert svc.analysis(rid).status == "done"
    assert scripted.calls == [12]  # the dead worker's run never reached the engine; the retry did, once
    [job] = _jobs(svc.db)
    assert job["status"] == "succeeded"


@pytest.mark.postgres
def test_an_unreachable_queue_fails_the_run_with_one_line_and_keeps_the_cards(pg_service, monkeypatch):
    svc = pg_service
    rid = _in_analyse(svc)
    runner = make_runner(svc.settings, svc.db)

    def unreachable():
        raise OSError("connection refused")

    monkeypatch.setattr(runner, "_queue", unreachable)
    assert runner.start(svc, rid)
    state = svc.analysis(rid)
    assert state.status == "failed" and "job queue could not be reached" in state.error
    assert "\n" not in state.error and svc.counts(rid).cards == 12
    assert runner.start(svc, rid)  # the claim was released: the facilitator can try again


@pytest.mark.postgres
def test_the_sweep_forgets_finished_jobs_after_a_day(pg_service):
    svc = pg_service
    make_runner(svc.settings, svc.db).start(svc, _in_analyse(svc))
    _run_worker_until_idle(svc)
    app = worker_app(svc, _LazyEngine(svc.settings))

    async def sweep():
        async with app.open_async():
            await retry_stalled_jobs(app)

    asyncio.run(sweep())
    assert len(_jobs(svc.db)) == 1  # a fresh one stays
    _queue_sql(svc.db, "UPDATE procrastinate_events SET at = at - interval '25 hours'")
    asyncio.run(sweep())
    assert _jobs(svc.db) == []


def test_the_worker_command_refuses_sqlite_with_one_line(capsys, tmp_path, monkeypatch):
    from facilitator.cli import main
    from facilitator.settings import get_settings

    monkeypatch.setenv("RETRO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RETRO_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["worker"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the worker needs PostgreSQL") and "\n" not in err
