"""Where analyses run, so no page waits on them: one job, run one of two ways.

``analyse`` is the job. It runs one claimed analysis (``run_analysis``) and never
raises: progress and result live in the database, so any process shows them.

- ``RETRO_ANALYSIS_JOBS=in-process`` (the embedded default, no service at all): the
  app process that got the click runs the job in a thread.
- ``RETRO_ANALYSIS_JOBS=queue`` (PostgreSQL): the app defers the job on
  procrastinate's queue, in the same database, and ``retro-facilitator worker``
  processes run it. A worker killed mid-job stops sending heartbeats; the periodic
  ``retry_stalled`` task puts its job back and another worker runs it again with the
  same run id. Nothing is done twice: ``run_analysis`` keeps a result only for the
  run that holds the retro's claim, and a killed run committed nothing.

The deliveries of published actions (``IntegrationsMixin.deliver_due``) run the
same two ways: a thread after publishing, or a job plus the worker's sweep.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING

from facilitator.errors import ConfigError
from facilitator.i18n import _, using
from facilitator.seams import Engine
from facilitator.settings import Settings
from facilitator.wiring import get_engine

if TYPE_CHECKING:
    import procrastinate

    from facilitator.service.db import Database
    from facilitator.service.retros import RetroService

log = logging.getLogger(__name__)

ANALYSE_TASK = "facilitator.analyse"
RETRY_STALLED_TASK = "facilitator.retry_stalled"
DELIVER_TASK = "facilitator.deliver"
DELIVER_EVERY_S = 30  # the worker's sweep of deliveries due for a retry
# A worker heartbeats every HEARTBEAT_S; one silent for STALLED_S is taken for dead
# and its job is retried by the next sweep (every SWEEP_S): a killed worker's
# analysis starts again on another worker within about STALLED_S + SWEEP_S + POLL_S.
HEARTBEAT_S = 3.0
STALLED_S = 12.0
SWEEP_S = 5
POLL_S = 2.0
KEEP_FINISHED_H = 24
# Connections: an app process defers through at most one; a worker's queue needs
# up to four (LISTEN, fetching, heartbeats, job status), besides its SQLAlchemy pool.
APP_QUEUE_CONNECTIONS = 1
WORKER_QUEUE_CONNECTIONS = 4


def analyse(svc: RetroService, engine: Engine, retro_id: str, run_id: str) -> None:
    """The job: run one claimed analysis to the end (see ``AnalysisMixin.run_analysis``),
    in the retro's locale, so the steps and failure it records read in the retro's language.
    (Deliveries need no such block here: ``deliver_due`` sends each in its retro's locale.)"""
    with using(_locale_of(svc, retro_id)):
        svc.run_analysis(retro_id, run_id, engine)


def _locale_of(svc: RetroService, retro_id: str) -> str | None:
    try:
        return svc.get(retro_id).locale
    except Exception:  # noqa: BLE001 - the job never raises; run_analysis reports a missing retro itself
        return None


class _LazyEngine:
    """One engine per process, built on first use (loading the local model takes
    a second or two); one lock serialises its use, as the offline engine's index
    and model are not shared between threads."""

    def __init__(self, s: Settings):
        self.settings = s
        self.lock = threading.Lock()
        self._engine: Engine | None = None

    def get(self) -> Engine:
        if self._engine is None:
            try:
                self._engine = get_engine(self.settings)
            except Exception as e:  # noqa: BLE001 - reported through the analysis state
                return _Broken(e)
        return self._engine


class AnalysisRunner:
    """Starts analyses and deliveries, and answers one-off coverage questions; one per app process."""

    def __init__(self, s: Settings):
        self.settings = s
        self.engine = _LazyEngine(s)

    def start(self, svc: RetroService, retro_id: str, *, keep_edits: bool = False) -> bool:
        """Claim the retro's analysis and hand the job over; False if one is already running."""
        run_id = svc.start_analysis(retro_id, keep_edits=keep_edits)
        if run_id is None:
            return False
        self._submit(svc, retro_id, run_id)
        return True

    def _submit(self, svc: RetroService, retro_id: str, run_id: str) -> None:
        raise NotImplementedError

    def deliver(self, svc: RetroService, retro_id: str) -> None:
        """After publishing: send the retro's actions to the team's destinations."""
        raise NotImplementedError

    def cover(self, statements, register, today):
        """A question on the Commitments page or a what-if: small, so answered here."""
        with self.engine.lock:
            return self.engine.get().cover(statements, register, today=today)


class InProcessRunner(AnalysisRunner):
    """The embedded default: the job runs in a thread of this process."""

    def _submit(self, svc: RetroService, retro_id: str, run_id: str) -> None:
        def work() -> None:
            with self.engine.lock:
                analyse(svc, self.engine.get(), retro_id, run_id)

        threading.Thread(target=work, name=f"analysis-{retro_id}", daemon=True).start()

    def deliver(self, svc: RetroService, retro_id: str) -> None:
        def work() -> None:  # until every delivery is sent or has failed (retries wait their backoff)
            while True:
                svc.deliver_due(retro_id)
                wait = svc.next_delivery_in(retro_id)
                if wait is None:
                    return
                time.sleep(min(max(wait, 0.5), 60.0))

        threading.Thread(target=work, name=f"deliver-{retro_id}", daemon=True).start()


class QueueRunner(AnalysisRunner):
    """Defers the job on procrastinate's queue; ``retro-facilitator worker`` runs it."""

    def __init__(self, s: Settings, db: Database):
        super().__init__(s)
        self.db = db
        self._app: procrastinate.App | None = None
        self._open = threading.Lock()

    def _queue(self) -> procrastinate.App:
        with self._open:
            if self._app is None:
                import procrastinate

                connector = procrastinate.SyncPsycopgConnector(
                    min_size=0, max_size=APP_QUEUE_CONNECTIONS, **queue_connection(self.db)
                )
                self._app = procrastinate.App(connector=connector).open()
            return self._app

    def _submit(self, svc: RetroService, retro_id: str, run_id: str) -> None:
        try:
            # One job per retro at a time (lock), whatever a stalled retry does.
            self._queue().configure_task(ANALYSE_TASK, lock=f"analysis-{retro_id}").defer(
                retro_id=retro_id, run_id=run_id
            )
        except Exception as e:  # noqa: BLE001 - the claim is released through the failure path
            log.warning("could not queue an analysis: %s", type(e).__name__)
            # Shown to the facilitator (in the click's language), inside "The analysis failed: …".
            analyse(svc, _Broken(ConfigError(
                _("the job queue could not be reached; check the database and that a worker runs"))), retro_id, run_id)

    def deliver(self, svc: RetroService, retro_id: str) -> None:
        try:
            self._queue().configure_task(DELIVER_TASK).defer(retro_id=retro_id)
        except Exception as e:  # noqa: BLE001 - the deliveries stay pending; the worker's sweep sends them
            log.warning("could not queue the deliveries: %s", type(e).__name__)


def make_runner(s: Settings, db: Database) -> AnalysisRunner:
    if s.analysis_jobs == "queue":
        if db.is_sqlite:
            raise ConfigError("RETRO_ANALYSIS_JOBS=queue needs PostgreSQL (RETRO_DATABASE_URL); "
                              "unset it to run analyses in-process")
        return QueueRunner(s, db)
    return InProcessRunner(s)


def queue_connection(db: Database) -> dict:
    """procrastinate's connection arguments for the app's own database and schema."""
    from sqlalchemy.engine import make_url

    url = make_url(db.url).set(drivername="postgresql")
    args: dict = {"conninfo": url.render_as_string(hide_password=False)}
    if db.schema:  # procrastinate's SQL names its objects unqualified
        args["kwargs"] = {"options": f"-c search_path={db.schema}"}
    return args


def worker_app(svc: RetroService, engine: _LazyEngine) -> procrastinate.App:
    """The worker's procrastinate app: the analysis job and the stalled-job sweep."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(
        min_size=1, max_size=WORKER_QUEUE_CONNECTIONS, **queue_connection(svc.db)
    )
    app = procrastinate.App(connector=connector)

    @app.task(name=ANALYSE_TASK)
    def analyse_job(retro_id: str, run_id: str) -> None:
        with engine.lock:
            analyse(svc, engine.get(), retro_id, run_id)

    @app.task(name=DELIVER_TASK)
    def deliver_job(retro_id: str) -> None:
        svc.deliver_due(retro_id)

    @app.periodic(cron=f"* * * * * */{DELIVER_EVERY_S}", periodic_id="deliver-due")
    @app.task(name="facilitator.deliver_due", queueing_lock="deliver-due")
    def deliver_due(timestamp: int) -> None:
        svc.deliver_due()

    # croniter takes seconds as a sixth, last field.
    @app.periodic(cron=f"* * * * * */{SWEEP_S}", periodic_id="retry-stalled")
    @app.task(name=RETRY_STALLED_TASK, queueing_lock="retry-stalled", pass_context=True)
    async def retry_stalled(context, timestamp: int) -> None:
        await retry_stalled_jobs(context.app)

    return app


async def retry_stalled_jobs(app: procrastinate.App) -> int:
    """Put back every job whose worker stopped heartbeating (killed, lost its host),
    and forget finished jobs after a day (the sweep itself adds one every few seconds)."""
    n = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_S):
        log.warning("retrying job %s: its worker stopped before finishing it", job.id)
        await app.job_manager.retry_job(job)
        n += 1
    await app.job_manager.delete_old_jobs(nb_hours=KEEP_FINISHED_H, include_failed=True, include_cancelled=True,
                                          include_aborted=True)
    return n


class QuietSweeps(logging.Filter):
    """Keeps the every-few-seconds sweep out of a worker's log unless it has something to say."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return record.levelno > logging.INFO or not any(
            name in message for name in (RETRY_STALLED_TASK, "facilitator.deliver_due"))


def run_worker(s: Settings) -> None:
    """``retro-facilitator worker``: run analyses from the queue until stopped (SIGINT/SIGTERM)."""
    from facilitator.service.db import Database
    from facilitator.service.retros import RetroService

    db = Database.from_settings(s)  # migrates, which also creates procrastinate's tables
    if db.is_sqlite:
        raise ConfigError("the worker needs PostgreSQL: set RETRO_DATABASE_URL (SQLite runs analyses in-process)")
    svc = RetroService(db, s)
    engine = _LazyEngine(s)
    engine.get()  # load the model before taking jobs, so the first one is not slower
    app = worker_app(svc, engine)

    async def main() -> None:
        async with app.open_async():
            await app.run_worker_async(
                concurrency=1, update_heartbeat_interval=HEARTBEAT_S, stalled_worker_timeout=STALLED_S,
                fetch_job_polling_interval=POLL_S,
            )

    try:
        asyncio.run(main())
    finally:
        db.dispose()


class _Broken:
    """Stands in for an engine that could not be built, so the failure reaches the page."""

    def __init__(self, error: Exception):
        self.error = error

    def analyze(self, *a, **kw):
        raise self.error

    def cover(self, *a, **kw):
        raise self.error
