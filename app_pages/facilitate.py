"""The facilitator's console: links, live counts, phases, analysis, carry-over,
review, votes and the publish gate."""

import streamlit as st

from app_ui.common import (
    board,
    facilitator_link,
    facilitator_params,
    facilitator_retro,
    join_link,
    logged_in_email,
    md,
    phase_bar,
    runner,
    settings,
    summary_link,
)
from app_ui.destinations import deliveries_panel, destinations_panel
from app_ui.meeting import focus_panel, qr_png, timer, timer_controls
from app_ui.publish_panel import publish_panel
from app_ui.review_editor import review_editor
from facilitator.errors import FacilitatorError
from facilitator.offline.languages import offline_language_note
from facilitator.publishing.gaps import ANSWER_WORDS
from facilitator.publishing.exports import ordered_by_votes
from facilitator.service.meeting import DONE_PHASES, TIMER_PHASES
from facilitator.service.phases import BACK_TO, PHASE_LABELS
from facilitator.service.retros import PHASES
from facilitator.text import plural

svc, retro, key = facilitator_retro()

st.title(md(retro.title))
st.caption(f"Team {md(retro.team)} · anonymity threshold k = {retro.k} · {retro.vote_budget} dots per participant")
phase_bar(retro.phase)
timer(svc, retro)

# Collapsed, and the key only behind an explicit toggle: this is the screen
# most likely to be projected to the room.
with st.expander("Links", expanded=False):
    st.markdown("Participant link (share it):")
    st.code(join_link(retro), language=None)
    short = svc.short_code(retro.id)
    q1, q2 = st.columns([1, 2])
    q1.image(qr_png(join_link(retro)), caption="Scan to join", width=180)
    q2.markdown(f"Or open the Join page and type the code **{short[:3]} {short[3:]}**")
    if key and st.toggle("Show my facilitator link (keep it private; don't project it)", key="show_fac_link",
                         value=False):
        st.code(facilitator_link(retro.id, key), language=None)


@st.fragment(run_every=2)
def live_counts() -> None:
    c = svc.counts(retro.id)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Participants", c.participants)
    m2.metric("Cards", c.cards)
    m3.metric("People who wrote cards", c.contributors, help="Counted, never shown per person.")
    m4.metric("Voted", c.voters)
    if retro.phase in DONE_PHASES:
        d = svc.done_count(retro.id)
        st.caption(f"{d.done} of {d.of} {'says' if d.done == 1 else 'say'} they are done with {PHASE_LABELS[retro.phase]}.")
    # Say early, not only at Publish, when k cannot be reached yet (here, so it follows the counts live).
    if retro.phase not in ("publish", "published") and c.contributors < retro.k:
        st.warning(
            f"So far {c.contributors} {'person has' if c.contributors == 1 else 'people have'} written cards; this "
            f"retro publishes nothing unless at least {retro.k} do (its anonymity threshold). Invite more people "
            "before you move on."
        )
    if svc.watch(retro.id) != (retro.phase, retro.rev):
        st.rerun(scope="app")


live_counts()

NEXT_LABEL = {
    "reveal": "Reveal the cards",
    "analyse": "Analyse the cards",
    "review": "Review the themes",
    "vote": "Open voting",
    "discuss": "Close voting and discuss",
    "publish": "Prepare the summary",
}


def go_back(to: str) -> None:
    try:
        svc.go_back(retro.id, to)
    except FacilitatorError as e:
        st.session_state["phase_error"] = str(e)


def go(to: str) -> None:
    try:
        svc.advance(retro.id, to)
        if to == "analyse":
            runner().start(svc, retro.id)
    except FacilitatorError as e:
        st.session_state["phase_error"] = str(e)


i = PHASES.index(retro.phase)
nxt = PHASES[i + 1] if i + 1 < len(PHASES) - 1 else None
if nxt:
    st.button(f"Next: {NEXT_LABEL[nxt]}", type="primary", key="next_phase", on_click=go, args=(nxt,),
              icon=":material/arrow_forward:")
back = BACK_TO.get(retro.phase, ())
if back:
    with st.popover(f"Back to {PHASE_LABELS[back[-1]]}" if len(back) == 1 else "Go back a phase",
                    icon=":material/arrow_back:"):
        for to in back:
            note = " (the votes are cleared: the themes may change)" if to == "review" else ""
            st.button(f"Back to {PHASE_LABELS[to]}{note}", key=f"back:{to}", on_click=go_back, args=(to,))
def safely(action, *args) -> None:
    """A button callback: a refusal becomes a one-line message on the next run, never a traceback."""
    try:
        action(*args)
    except FacilitatorError as e:
        st.session_state["phase_error"] = str(e)


if err := st.session_state.pop("phase_error", None):
    st.warning(err)


def carryover() -> None:
    items = svc.carryover(retro.id)
    if not items:
        return
    answers = svc.carried_answers(items)
    st.subheader("Open actions from earlier retros")
    st.caption("Mark each one: done, dropped, or carried into this retro (it stays open for the next one too).")
    for it in items:
        with st.container(border=True):
            c1, c2 = st.columns([3, 2])
            c1.markdown(f"**{md(it.title)}**  \n{md(it.owner_role)} · due {it.due.isoformat()} · {it.kind}")
            if (got := answers.get(it.id)) is not None:
                a = got.answer
                c1.info(f"You asked about: {md(got.asked)}. {md(a.owner_role)} {ANSWER_WORDS[a.kind]} on "
                        f"{a.answered_on:%Y-%m-%d}: {md(a.text)}")
                if not it.reviewed_here:
                    c1.button("Close this action with the owner's answer", key=f"close:{it.id}",
                              on_click=safely, args=(svc.mark_action, retro.id, it.id, "done"))
            if it.reviewed_here:
                c2.markdown(f"Marked **{it.status}**")
            choice = c2.segmented_control("Status", ["done", "dropped", "carried"], key=f"item:{it.id}",
                                          label_visibility="collapsed",
                                          default=it.status if it.reviewed_here else None)
            if choice and (not it.reviewed_here or choice != it.status):
                svc.mark_action(retro.id, it.id, choice)
                st.rerun()


def team_gaps() -> None:
    """The team's own trust gaps from earlier published retros, with the owners' answers."""
    board = svc.gap_board(teams={retro.team})
    if not board.groups and not board.other_items:
        return
    with st.expander(f"Trust gaps your team raised before ({board.open_gaps} open)"):
        for g in board.groups:
            line = f"**{md(g.items[0].label)}**: {plural(len(g.items), 'time')}, last {g.items[-1].published_on:%Y-%m-%d}"
            if g.answer is not None:
                line += (f"  \n{md(g.answer.owner_role)} {ANSWER_WORDS[g.answer.kind]} on "
                         f"{g.answer.answered_on:%Y-%m-%d}: {md(g.answer.text)}")
            else:
                line += "  \nNo answer from the commitment owners yet."
            st.markdown(line)
        if board.other_items:
            st.caption(f"{board.other_items} more, each raised by fewer than {board.k} people, are counted but not shown.")


def analysis_progress() -> None:
    state = svc.analysis(retro.id)
    if state.running:
        @st.fragment(run_every=1)
        def _progress() -> None:
            now = svc.analysis(retro.id)
            if not now.running:
                st.rerun(scope="app")
            st.progress(now.progress, text=f"Analysing: {now.step or 'starting'}")

        _progress()
        return
    if state.status == "failed":
        # The error carries exception (and possibly provider) text: never render it as Markdown.
        st.error(md(state.error) if state.error else "The analysis failed; your cards are safe.")
    if state.stale:
        st.warning("The last analysis stopped reporting (the server may have restarted).")
    if state.status in ("idle", "failed") or state.stale:
        if st.button("Run the analysis", type="primary", key="run_analysis"):
            runner().start(svc, retro.id)
            st.rerun()
    elif state.status == "done" and state.current:
        a = state.current
        st.success(f"Analysis done: {plural(len(a.themes), 'theme')}, {plural(len(a.coverage), 'fear')} checked against "
                   f"the register, {plural(len(a.actions), 'action')} drafted.")
        if a.meta.fallback_reason:
            # Failing closed is visible: the facilitator knows the offline engine answered.
            st.warning("The model engine failed, so the offline engine analysed the cards: "
                       + md(a.meta.fallback_reason))
        else:
            st.caption(f"Engine: {a.meta.engine} ({md(a.meta.model)})")
        for w in a.meta.warnings:
            st.caption(f"Note: {md(w)}")


phase = retro.phase
if phase in TIMER_PHASES:
    timer_controls(svc, retro)
if phase == "collect":
    st.info("Cards stay hidden (from you too) until you reveal them. Counts above update live.")
    carryover()
    team_gaps()
elif phase == "reveal":
    if settings().engine == "local":  # said before the analysis runs, not after
        note = st.session_state.get(f"language_note:{retro.id}", "unset")
        if note == "unset":
            note = offline_language_note([c.text for c in svc.revealed_cards(retro.id)])
            st.session_state[f"language_note:{retro.id}"] = note
        if note:
            st.warning(note)
    board(svc, retro)
elif phase == "analyse":
    analysis_progress()
elif phase == "review":
    analysis_progress()
    review_editor(svc, retro)
elif phase == "vote":
    st.info("Participants are voting. Results show when you close voting.")
    a = svc.analysis(retro.id).current
    for t in a.themes if a else []:
        st.markdown(f"- **{md(t.label)}** · {t.kind} · {len(t.card_ids)} cards")
elif phase == "discuss":
    a = svc.analysis(retro.id).current
    votes = svc.vote_totals(retro.id)
    register = svc.register_info(retro.register_id).register if retro.register_id else None
    focus_panel(retro, a, register)
    if retro.focus_theme_id:
        st.button("Stop showing it", key="focus_clear", on_click=safely, args=(svc.set_focus, retro.id, None))
    st.subheader("Results: most voted first")
    for t, n in ordered_by_votes(a, votes):
        with st.container(border=True):
            st.markdown(f"**{md(t.label)}** · {t.kind} · {len(t.card_ids)} cards · **{n} dots**")
            if t.id != retro.focus_theme_id:
                st.button(f"Show to everyone: {md(t.label)}", key=f"focus:{t.id}", on_click=safely, args=(svc.set_focus, retro.id, t.id))
            for x in a.actions:
                if t.id in x.theme_ids:
                    st.caption(f"Action: {md(x.title)} — {md(x.owner_role)}, due {x.due.isoformat()}")
    st.page_link("app_pages/review.py", label="Edit themes and actions", icon=":material/edit_note:",
                 query_params=facilitator_params(retro, key))
elif phase == "publish":
    publish_panel(svc, retro)
    destinations_panel(svc, retro, added_by=logged_in_email() or "facilitator (link)")
elif phase == "published":
    pub = svc.publication_of(retro.id)
    st.success("Published. The summary can no longer change.")
    if pub:
        st.markdown("Read-only link to share:")
        st.code(summary_link(pub.id), language=None)
        st.page_link("app_pages/summary.py", label="Open the summary", icon=":material/description:",
                     query_params={"s": pub.id})
        deliveries_panel(svc, retro, pub, send_now=lambda: runner().deliver(svc, retro.id))
    destinations_panel(svc, retro, added_by=logged_in_email() or "facilitator (link)")
