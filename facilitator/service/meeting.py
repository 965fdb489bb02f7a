"""Presence and pace in a live meeting: the short join code, the phase timer,
"I'm done" (a count, never a list), and the theme the facilitator puts on
everyone's screen in Discuss."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from facilitator.errors import InputError
from facilitator.i18n import _
from facilitator.service import db as t
from facilitator.service.base import NotAllowed, Retro, RetroNotFound, ServiceBase
from facilitator.text import unstorable

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B: a code read off a projector or said aloud is typed right.
SHORT_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
SHORT_LEN = 6  # 25^6 = 244 million codes; guessing one is bounded by the join rate limit
TIMER_PHASES = ("collect", "vote", "discuss")
DONE_PHASES = ("collect", "vote")
MAX_TIMER_MINUTES = 120


@dataclass(frozen=True)
class Done:
    done: int
    of: int


def normalise_short_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


class MeetingMixin(ServiceBase):
    # -- short join code ---------------------------------------------------------

    def short_code(self, retro_id: str) -> str:
        """The retro's short join code, made on first use (older retros had none)."""
        with self.db.read() as conn:
            code = conn.execute(select(t.retros.c.short_code).where(t.retros.c.id == retro_id)).scalar()
        if code:
            return code
        for _attempt in range(10):
            code = "".join(secrets.choice(SHORT_ALPHABET) for _char in range(SHORT_LEN))
            try:
                with self.db.write() as conn:
                    self._lock(conn, retro_id)
                    existing = conn.execute(select(t.retros.c.short_code).where(t.retros.c.id == retro_id)).scalar()
                    if existing:
                        return existing
                    conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(short_code=code))
                return code
            except IntegrityError:
                continue  # taken by another retro: draw again
        raise NotAllowed(_("Could not make a short code just now; use the join link"))

    def by_short_code(self, code: str) -> Retro:
        code = normalise_short_code(code or "")
        if len(code) != SHORT_LEN or unstorable(code) or set(code) - set(SHORT_ALPHABET):
            raise RetroNotFound(_("No retro has this code; check the code on the facilitator's screen"))
        with self.db.read() as conn:
            rid = conn.execute(select(t.retros.c.id).where(t.retros.c.short_code == code)).scalar()
            if rid is None:
                raise RetroNotFound(_("No retro has this code; check the code on the facilitator's screen"))
            return self._get(conn, rid)

    # -- timer -------------------------------------------------------------------

    def set_timer(self, retro_id: str, minutes: float | None) -> Retro:
        """Start a countdown for the current phase (``None`` stops it); every page shows it."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if minutes is None:
                values = {"timer_phase": None, "timer_ends_at": None}
            else:
                if retro.phase not in TIMER_PHASES:
                    raise NotAllowed(_("A timer runs in Collect, Vote or Discuss; move to one of them first."))
                if not 0 < float(minutes) <= MAX_TIMER_MINUTES:
                    raise InputError(_("Set the timer between 1 and {max} minutes.").format(max=MAX_TIMER_MINUTES))
                values = {"timer_phase": retro.phase, "timer_ends_at": self.clock() + float(minutes) * 60}
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id).values(rev=retro.rev + 1, **values))
            return self._get(conn, retro_id)

    def seconds_left(self, retro: Retro) -> float | None:
        """Seconds left on the timer of the retro's current phase (0 once it ran out), or None."""
        if retro.timer_ends_at is None or retro.timer_phase != retro.phase:
            return None
        return max(0.0, retro.timer_ends_at - self.clock())

    # -- "I'm done" --------------------------------------------------------------

    def set_done(self, retro_id: str, token: str, done: bool) -> None:
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.phase not in DONE_PHASES:
                raise NotAllowed(_("'I'm done' is for Collect and Vote."))
            tag = self._tag(conn, retro_id, token)
            n = conn.execute(
                update(t.participants).where(t.participants.c.retro_id == retro_id, t.participants.c.tag == tag)
                .values(done_phase=retro.phase if done else None)
            ).rowcount
            if not n:
                raise NotAllowed(_("Join the retro first (open the participant link again)"))

    def is_done(self, retro_id: str, token: str) -> bool:
        with self.db.read() as conn:
            retro = self._get(conn, retro_id)
            tag = self._tag(conn, retro_id, token)
            got = conn.execute(
                select(t.participants.c.done_phase).where(t.participants.c.retro_id == retro_id,
                                                          t.participants.c.tag == tag)
            ).scalar()
        return got is not None and got == retro.phase

    def done_count(self, retro_id: str) -> Done:
        """How many participants said they are done with the current phase, of how many."""
        with self.db.read() as conn:
            retro = self._get(conn, retro_id)
            return self._done_count(conn, retro)

    def _done_count(self, conn: Connection, retro: Retro) -> Done:
        p = t.participants.c
        of = conn.execute(select(func.count()).select_from(t.participants).where(p.retro_id == retro.id)).scalar_one()
        done = conn.execute(
            select(func.count()).select_from(t.participants).where(p.retro_id == retro.id, p.done_phase == retro.phase)
        ).scalar_one()
        return Done(done, of)

    # -- presenter focus ---------------------------------------------------------

    def set_focus(self, retro_id: str, theme_id: str | None) -> Retro:
        """Put one theme on everyone's screen in Discuss (``None`` clears it)."""
        with self.db.write() as conn:
            retro = self._lock(conn, retro_id)
            if retro.phase != "discuss" and theme_id is not None:
                raise NotAllowed(_("The presenter focus is for Discuss."))
            if theme_id is not None:
                a = self._current_analysis(conn, retro_id)
                if a is None or a.theme(theme_id) is None:
                    raise InputError(_("That theme is no longer in the analysis; reload the page."))
            conn.execute(update(t.retros).where(t.retros.c.id == retro_id)
                         .values(focus_theme_id=theme_id, rev=retro.rev + 1))
            return self._get(conn, retro_id)
