"""Widgets of the live meeting, shared by the console and the participant page:
the phase timer, "I'm done", the presenter focus, the short code and its QR code."""

from __future__ import annotations

import io

import streamlit as st

from app_ui.common import STATUS_WORDS, apply_locale, md
from facilitator.errors import FacilitatorError
from facilitator.i18n import N_, _
from facilitator.service.phases import PHASE_LABELS
from facilitator.service.retros import Retro, RetroService


def clock_text(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def timer(svc: RetroService, retro: Retro) -> None:
    """The countdown of the current phase, ticking once a second; nothing when none is set.
    Computed from the end time this page already has: the ticking costs no database read."""
    if svc.seconds_left(retro) is None:
        return

    @st.fragment(run_every=1)
    def _tick() -> None:
        apply_locale()
        left = svc.seconds_left(retro) or 0.0
        where = _(PHASE_LABELS[retro.phase])
        if left > 0:
            st.markdown(_("**:material/timer: {clock}** left in {phase}").format(clock=clock_text(left), phase=where))
        else:
            st.markdown(_("**:material/timer: Time is up** for {phase}").format(phase=where))

    _tick()


def done_toggle(svc: RetroService, retro: Retro, token: str) -> None:
    """The participant's "I'm done" for Collect and Vote (counted, never shown per person)."""
    done = svc.is_done(retro.id, token)
    label = _("I'm not done yet") if done else _("I'm done")
    if st.button(label, key=f"done:{retro.phase}", type="secondary"):
        try:
            svc.set_done(retro.id, token, not done)
        except FacilitatorError as e:
            st.warning(str(e))
        else:
            st.rerun()
    if done:
        st.caption(_("The facilitator sees how many are done, never who."))


def timer_controls(svc: RetroService, retro: Retro) -> None:
    """The facilitator sets or stops the countdown of this phase."""
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    minutes = c1.number_input(_("Timer (minutes)"), min_value=1, max_value=120, value=5, step=1, key="timer_minutes")
    # The English label names the button's key; the shown label is translated.
    for go, label, value in ((c2, N_("Start the timer"), minutes), (c3, N_("Stop the timer"), None)):
        if (value is not None or svc.seconds_left(retro) is not None) and go.button(_(label), key=f"timer:{label}"):
            try:
                svc.set_timer(retro.id, value)
            except FacilitatorError as e:
                st.warning(str(e))
            else:
                st.rerun()


def focus_panel(retro: Retro, analysis, register) -> None:
    """The theme the facilitator puts on every screen in Discuss, with the register's
    answer for a fear: its status and the clauses quoted, word for word."""
    t = analysis.theme(retro.focus_theme_id) if analysis and retro.focus_theme_id else None
    if t is None:
        return
    with st.container(border=True):
        st.caption(_("Now discussing"))
        st.subheader(md(t.label))
        if t.summary:
            st.markdown(md(t.summary))
        cov = next((c for c in analysis.coverage if c.theme_id == t.id), None)
        if t.kind == "fear" and cov is not None:
            show = {"covered": st.success, "partial": st.warning, "needs_review": st.info}.get(cov.status, st.error)
            # The participants' words: the candidates the facilitator reads are not on this screen.
            show(_(STATUS_WORDS[cov.status]) if cov.status != "needs_review"
                 else _("Not decided yet: the facilitator is checking the related commitments."))
            for q in cov.quotes:
                c = register.get(q.commitment_id) if register else None
                st.markdown(f"> {md(q.text)}\n>\n> — {md(q.commitment_id)}" + (f" ({md(c.title)})" if c else ""))
            if cov.rationale:
                st.caption(md(cov.rationale))


def qr_png(url: str) -> bytes:
    """A QR code of ``url`` as PNG bytes (segno: pure Python, no network)."""
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=6, border=2)
    return buf.getvalue()
