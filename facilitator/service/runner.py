"""Running analyses in the background, so no page waits on them.

The engine is built lazily in the worker (loading the local model takes a
second or two) and one lock serialises engine use in this process; the
progress and result live in the database, so any process can show them.
"""

from __future__ import annotations

import threading

from facilitator.seams import Engine
from facilitator.service.retros import RetroService
from facilitator.settings import Settings
from facilitator.wiring import get_engine


class AnalysisRunner:
    """Runs analyses in background threads; one per app process."""

    def __init__(self, s: Settings):
        self.settings = s
        self.lock = threading.Lock()
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = get_engine(self.settings)
        return self._engine

    def start(self, svc: RetroService, retro_id: str, *, keep_edits: bool = False) -> bool:
        run_id = svc.start_analysis(retro_id, keep_edits=keep_edits)
        if run_id is None:
            return False

        def work() -> None:
            with self.lock:
                try:
                    engine = self.engine()
                except Exception as e:  # noqa: BLE001 - reported through the state
                    engine = _Broken(e)
                svc.run_analysis(retro_id, run_id, engine)

        threading.Thread(target=work, name=f"analysis-{retro_id}", daemon=True).start()
        return True

    def cover(self, statements, register, today):
        with self.lock:
            return self.engine().cover(statements, register, today=today)


class _Broken:
    def __init__(self, error: Exception):
        self.error = error

    def analyze(self, *a, **kw):
        raise self.error
