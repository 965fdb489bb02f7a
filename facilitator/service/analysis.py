"""Claiming, running and editing a retro's analysis."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import func, select, update

from facilitator.errors import FacilitatorError, InputError
from facilitator.i18n import _
from facilitator.models import Analysis, Card, CardSet
from facilitator.service import db as t
from facilitator.service.base import STALE_RUN_S, AnalysisState, NotAllowed, RetroNotFound, ServiceBase


class AnalysisMixin(ServiceBase):
    # -- analysis ----------------------------------------------------------------

    def start_analysis(self, retro_id: str, *, keep_edits: bool = False) -> str | None:
        """Claim the analysis for a new run; None if one is already running.

        The caller then runs ``run_analysis`` in a background thread (or any
        worker process: all state is in the database)."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.phase not in ("analyse", "review"):
                raise NotAllowed(_("The analysis runs in the Analyse and Review phases"))
            n = conn.execute(select(func.count()).select_from(t.cards).where(t.cards.c.retro_id == retro_id)).scalar_one()
            if n == 0:
                raise NotAllowed(_("There are no cards to analyse"))
            row = conn.execute(select(t.analyses).where(t.analyses.c.retro_id == retro_id)).mappings().first()
            if row["status"] == "running" and self.clock() - row["heartbeat"] < STALE_RUN_S:
                return None
            run_id = secrets.token_hex(8)
            conn.execute(
                update(t.analyses)
                .where(t.analyses.c.retro_id == retro_id)
                .values(status="running", run_id=run_id, step=_("queued"), progress=0.0, error=None,
                        keep_edits=int(keep_edits), heartbeat=self.clock())
            )
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))
            return run_id

    def run_analysis(self, retro_id: str, run_id: str, engine) -> None:
        """Run one claimed analysis to the end; never raises (the state says how it went).

        A failure keeps the cards and any earlier analysis; only the status and
        error change, so the facilitator can retry."""
        try:
            with self.db.read() as conn:
                retro = self._get(conn, retro_id)
                cards = self._cards(conn, retro_id)
            register = self.register_info(retro.register_id).register if retro.register_id else None
            if register is None:
                raise InputError(_("This retro has no commitments register; pick one on the Commitments page"))
            card_set = CardSet(title=retro.title, cards=[Card(id=c.id, text=c.text, column=c.column) for c in cards])

            def progress(step: str, frac: float) -> None:
                self._analysis_update(retro_id, run_id, step=step[:200], progress=float(max(0.0, min(1.0, frac))))

            analysis = engine.analyze(card_set, register, today=self.today(), roster=list(retro.roster), progress=progress)
        except Exception as e:  # noqa: BLE001 - any failure is reported, never lost
            msg = str(e) if isinstance(e, FacilitatorError) else f"{type(e).__name__}: {e}"
            self._analysis_update(
                retro_id, run_id, status="failed",
                error=_("The analysis failed: {reason}. Your cards are safe; try again.").format(reason=msg), bump=True,
            )
            return
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            row = conn.execute(select(t.analyses).where(t.analyses.c.retro_id == retro_id)).mappings().first()
            if row["run_id"] != run_id:
                return  # superseded by a newer run
            if retro.phase not in ("analyse", "review"):
                # The retro moved on (a stale run, or another process): votes and
                # review edits refer to the current themes, so the result is dropped.
                conn.execute(
                    update(t.analyses).where(t.analyses.c.retro_id == retro_id).values(
                        status="done" if row["original_json"] else "failed", step="discarded", progress=1.0,
                        error=_("The re-run finished after the retro left Review; its result was discarded."),
                    )
                )
                conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))
                return
            values = {"status": "done", "step": "done", "progress": 1.0, "original_json": analysis.model_dump_json(), "error": None}
            if not row["keep_edits"]:
                values["edited_json"] = None
            conn.execute(update(t.analyses).where(t.analyses.c.retro_id == retro_id).values(**values))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))

    def _analysis_update(self, retro_id: str, run_id: str, *, bump: bool = False, **values) -> None:
        with self.db.write() as conn:
            if bump:
                retro = self._lock(conn, retro_id)
                conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))
            conn.execute(
                update(t.analyses)
                .where(t.analyses.c.retro_id == retro_id, t.analyses.c.run_id == run_id)
                .values(heartbeat=self.clock(), **values)
            )

    def analysis(self, retro_id: str) -> AnalysisState:
        with self.db.read() as conn:
            row = conn.execute(select(t.analyses).where(t.analyses.c.retro_id == retro_id)).mappings().first()
        if row is None:
            raise RetroNotFound(_("This retro no longer exists"))
        return AnalysisState(
            status=row["status"],
            step=row["step"] or "",
            progress=row["progress"] or 0.0,
            error=row["error"],
            original=Analysis.model_validate_json(row["original_json"]) if row["original_json"] else None,
            edited=Analysis.model_validate_json(row["edited_json"]) if row["edited_json"] else None,
            stale=row["status"] == "running" and self.clock() - row["heartbeat"] >= STALE_RUN_S,
        )

    def edit_analysis(self, retro_id: str, edit: Callable[..., Analysis], *args, **kwargs) -> Analysis:
        """Apply one ``facilitator.service.review`` edit to the current analysis and keep it."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.phase not in ("review", "vote", "discuss", "publish"):
                raise NotAllowed(_("Edit the analysis during Review (or before publishing)"))
            row = conn.execute(select(t.analyses).where(t.analyses.c.retro_id == retro_id)).mappings().first()
            src = row["edited_json"] or row["original_json"]
            if not src:
                raise NotAllowed(_("There is no analysis to edit yet; run it first"))
            new = edit(Analysis.model_validate_json(src), *args, **kwargs)
            conn.execute(update(t.analyses).where(t.analyses.c.retro_id == retro_id).values(edited_json=new.model_dump_json()))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))
            return new

    def restore_original(self, retro_id: str) -> None:
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.published:
                raise NotAllowed(_("This retro is published; its summary can no longer change"))
            conn.execute(update(t.analyses).where(t.analyses.c.retro_id == retro_id).values(edited_json=None))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1))

