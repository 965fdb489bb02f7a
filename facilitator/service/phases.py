"""The phases a retro moves through, and moving it on."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from facilitator.errors import InputError
from facilitator.i18n import N_, _
from facilitator.models import PHASES
from facilitator.service import db as t
from facilitator.service.base import STALE_RUN_S, NotAllowed, Retro, RetroNotFound, ServiceBase

# Marked for the catalogue; a page shows them as _(PHASE_LABELS[p]).
PHASE_LABELS = {
    "collect": N_("Collect (blind)"),
    "reveal": N_("Reveal"),
    "analyse": N_("Analyse"),
    "review": N_("Review"),
    "vote": N_("Vote"),
    "discuss": N_("Discuss"),
    "publish": N_("Publish"),
    "published": N_("Published"),
}
# Marked for the catalogue: the start page shows a format's name and columns in its
# language, so a German retro gets German columns (facilitator.offline.kinds reads them).
FORMATS: dict[str, tuple[str, ...]] = {
    N_("Went well / To improve / Worries"): (N_("Went well"), N_("To improve"), N_("Worries")),
    N_("Start / Stop / Continue"): (N_("Start"), N_("Stop"), N_("Continue")),
    N_("Mad / Sad / Glad"): (N_("Mad"), N_("Sad"), N_("Glad")),
    N_("4Ls: Liked / Learned / Lacked / Longed for"): (N_("Liked"), N_("Learned"), N_("Lacked"), N_("Longed for")),
    N_("Rose / Thorn / Bud"): (N_("Rose"), N_("Thorn"), N_("Bud")),
}


BACK_TO: dict[str, tuple[str, ...]] = {
    # Safe ways back: nothing revealed is hidden again, nothing published changes.
    "vote": ("review",),
    "discuss": ("vote", "review"),
    "publish": ("discuss", "review"),
}


class PhasesMixin(ServiceBase):
    # -- phases ------------------------------------------------------------------

    def advance(self, retro_id: str, to_phase: str) -> Retro:
        """Move to the next phase; ``to_phase`` must be the one after the current
        (so two facilitator tabs clicking at once cannot skip a phase)."""
        if to_phase not in PHASES or to_phase == "published":
            raise InputError(_("Unknown phase {phase}").format(phase=repr(to_phase)))
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            i = PHASES.index(retro.phase)
            if retro.phase == to_phase:
                return retro
            if PHASES.index(to_phase) != i + 1:
                raise NotAllowed(_("The retro is in {phase}; the next phase is {next_phase}").format(
                    phase=_(PHASE_LABELS[retro.phase]), next_phase=_(PHASE_LABELS[PHASES[i + 1]])))
            if retro.phase in ("analyse", "review"):
                run = conn.execute(
                    select(t.analyses.c.status, t.analyses.c.heartbeat).where(t.analyses.c.retro_id == retro_id)
                ).first()
                if run is not None and run[0] == "running" and self.clock() - run[1] < STALE_RUN_S:
                    raise NotAllowed(_(
                        "The analysis is still running; wait for it to finish before moving on "
                        "(its result would otherwise replace the themes mid-vote)"
                    ))
            if to_phase == "reveal":
                n = conn.execute(select(func.count()).select_from(t.cards).where(t.cards.c.retro_id == retro_id)).scalar_one()
                if n == 0:
                    raise NotAllowed(_("No cards yet: wait for participants to write some before revealing"))
            if to_phase in ("review", "vote", "discuss", "publish"):
                st = conn.execute(select(t.analyses.c.status, t.analyses.c.original_json).where(t.analyses.c.retro_id == retro_id)).first()
                if st is None or st[1] is None:
                    raise NotAllowed(_("Run the analysis first; review needs its themes"))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(phase=to_phase, rev=retro.rev + 1))
            return self._get(conn, retro_id)

    def go_back(self, retro_id: str, to_phase: str) -> Retro:
        """Go back to an earlier phase where it is safe (``BACK_TO``).

        Not before reveal (cards seen cannot be hidden again) and never after
        publish (the summary is immutable). Going back to Review clears the
        votes: the facilitator may change the themes they were cast on."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.phase == to_phase:
                return retro
            if to_phase not in BACK_TO.get(retro.phase, ()):
                allowed = ", ".join(_(PHASE_LABELS[p]) for p in BACK_TO.get(retro.phase, ())) or _("none")
                raise NotAllowed(_(
                    "From {phase} the retro can go back to: {allowed}. Cards once revealed "
                    "stay revealed, and a published summary cannot change."
                ).format(phase=_(PHASE_LABELS[retro.phase]), allowed=allowed))
            if to_phase == "review":
                conn.execute(delete(t.votes).where(t.votes.c.retro_id == retro_id))
            # "I'm done" was said about the phase being left; in the phase gone back to, nobody is done yet.
            conn.execute(update(t.participants).where(t.participants.c.retro_id == retro_id).values(done_phase=None))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(phase=to_phase, rev=retro.rev + 1))
            return self._get(conn, retro_id)

    def watch(self, retro_id: str) -> tuple[str, int]:
        """The cheap (phase, rev) pair participants' pages poll."""
        with self.db.read() as conn:
            row = conn.execute(select(t.retros.c.phase, t.retros.c.rev).where(t.retros.c.id == retro_id)).first()
        if row is None:
            raise RetroNotFound(_("This retro no longer exists"))
        return row[0], row[1]

