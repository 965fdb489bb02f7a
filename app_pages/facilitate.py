"""The facilitator's console: links, live counts, phases, analysis, carry-over,
review, votes and the publish gate."""

import streamlit as st

from app_ui.common import (
    apply_locale,
    localised,
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
from facilitator.i18n import N_, _, ngettext
from facilitator.publishing.summary import action_kind_name, kind_name
from facilitator.offline.languages import offline_language_note
from facilitator.publishing.gaps import ANSWER_WORDS
from facilitator.publishing.exports import ordered_by_votes
from facilitator.service.meeting import DONE_PHASES, TIMER_PHASES
from facilitator.service.phases import BACK_TO, PHASE_LABELS
from facilitator.service.retros import PHASES

svc, retro, key = facilitator_retro()  # also sets the retro's language

# Marked for the catalogue; shown through _() (facilitator.i18n).
CARRY_WORDS = {"done": N_("done"), "dropped": N_("dropped"), "carried": N_("carried")}


def phase_label(phase: str) -> str:
    return _(PHASE_LABELS[phase])


def answer_words(kind: str) -> str:
    return _(ANSWER_WORDS[kind])


def carry_word(status: str) -> str:
    return _(CARRY_WORDS[status]) if status in CARRY_WORDS else status


st.title(md(retro.title))
st.caption(_("Team {team} · anonymity threshold k = {k} · {dots}").format(
    team=md(retro.team), k=retro.k,
    dots=ngettext("{n} dot per participant", "{n} dots per participant",
                  retro.vote_budget).format(n=retro.vote_budget)))
phase_bar(retro.phase)
timer(svc, retro)

# Collapsed, and the key only behind an explicit toggle: this is the screen
# most likely to be projected to the room.
with st.expander(_("Links"), expanded=False):
    st.markdown(_("Participant link (share it):"))
    st.code(join_link(retro), language=None)
    short = svc.short_code(retro.id)
    q1, q2 = st.columns([1, 2])
    q1.image(qr_png(join_link(retro)), caption=_("Scan to join"), width=180)
    q2.markdown(_("Or open the Join page and type the code **{code}**").format(code=f"{short[:3]} {short[3:]}"))
    if key and st.toggle(_("Show my facilitator link (keep it private; don't project it)"), key="show_fac_link",
                         value=False):
        st.code(facilitator_link(retro.id, key), language=None)


@st.fragment(run_every=2)
def live_counts() -> None:
    apply_locale()
    c = svc.counts(retro.id)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(_("Participants"), c.participants)
    m2.metric(_("Cards"), c.cards)
    m3.metric(_("People who wrote cards"), c.contributors, help=_("Counted, never shown per person."))
    m4.metric(_("Voted"), c.voters)
    if retro.phase in DONE_PHASES:
        d = svc.done_count(retro.id)
        st.caption(ngettext("{done} of {of} says they are done with {phase}.",
                            "{done} of {of} say they are done with {phase}.", d.done).format(
                                done=d.done, of=d.of, phase=phase_label(retro.phase)))
    # Say early, not only at Publish, when k cannot be reached yet (here, so it follows the counts live).
    if retro.phase not in ("publish", "published") and c.contributors < retro.k:
        st.warning(
            ngettext("So far {n} person has written cards; this retro publishes nothing unless at least {k} do "
                     "(its anonymity threshold). Invite more people before you move on.",
                     "So far {n} people have written cards; this retro publishes nothing unless at least {k} do "
                     "(its anonymity threshold). Invite more people before you move on.",
                     c.contributors).format(n=c.contributors, k=retro.k)
        )
    if svc.watch(retro.id) != (retro.phase, retro.rev):
        st.rerun(scope="app")


live_counts()

NEXT_LABEL = {
    "reveal": N_("Reveal the cards"),
    "analyse": N_("Analyse the cards"),
    "review": N_("Review the themes"),
    "vote": N_("Open voting"),
    "discuss": N_("Close voting and discuss"),
    "publish": N_("Prepare the summary"),
}


@localised
def go_back(to: str) -> None:
    try:
        svc.go_back(retro.id, to)
    except FacilitatorError as e:
        st.session_state["phase_error"] = str(e)


@localised
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
    st.button(_("Next: {step}").format(step=_(NEXT_LABEL[nxt])), type="primary", key="next_phase", on_click=go,
              args=(nxt,), icon=":material/arrow_forward:")
back = BACK_TO.get(retro.phase, ())
if back:
    with st.popover(_("Back to {phase}").format(phase=phase_label(back[-1])) if len(back) == 1
                    else _("Go back a phase"), icon=":material/arrow_back:"):
        for to in back:
            label = (_("Back to {phase} (the votes are cleared: the themes may change)") if to == "review"
                     else _("Back to {phase}")).format(phase=phase_label(to))
            st.button(label, key=f"back:{to}", on_click=go_back, args=(to,))


@localised
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
    st.subheader(_("Open actions from earlier retros"))
    st.caption(_("Mark each one: done, dropped, or carried into this retro (it stays open for the next one too)."))
    for it in items:
        with st.container(border=True):
            c1, c2 = st.columns([3, 2])
            c1.markdown(f"**{md(it.title)}**  \n" + _("{owner} · due {due} · {kind}").format(
                owner=md(it.owner_role), due=it.due.isoformat(), kind=action_kind_name(it.kind)))
            if (got := answers.get(it.id)) is not None:
                a = got.answer
                c1.info(_("You asked about: {asked}. {owner} {answer} on {date}: {text}").format(
                    asked=md(got.asked), owner=md(a.owner_role), answer=answer_words(a.kind),
                    date=f"{a.answered_on:%Y-%m-%d}", text=md(a.text)))
                if not it.reviewed_here:
                    c1.button(_("Close this action with the owner's answer"), key=f"close:{it.id}",
                              on_click=safely, args=(svc.mark_action, retro.id, it.id, "done"))
            if it.reviewed_here:
                c2.markdown(_("Marked **{status}**").format(status=carry_word(it.status)))
            choice = c2.segmented_control(_("Status"), ["done", "dropped", "carried"], key=f"item:{it.id}",
                                          format_func=carry_word, label_visibility="collapsed",
                                          default=it.status if it.reviewed_here else None)
            if choice and (not it.reviewed_here or choice != it.status):
                svc.mark_action(retro.id, it.id, choice)
                st.rerun()


def team_gaps() -> None:
    """The team's own trust gaps from earlier published retros, with the owners' answers."""
    board = svc.gap_board(teams={retro.team})
    if not board.groups and not board.other_items:
        return
    with st.expander(_("Trust gaps your team raised before ({n} open)").format(n=board.open_gaps)):
        for g in board.groups:
            n = len(g.items)
            times = ngettext("{n} time, last {date}", "{n} times, last {date}", n).format(
                n=n, date=f"{g.items[-1].published_on:%Y-%m-%d}")
            line = f"**{md(g.items[0].label)}**: {times}"
            if g.answer is not None:
                line += "  \n" + _("{owner} {answer} on {date}: {text}").format(
                    owner=md(g.answer.owner_role), answer=answer_words(g.answer.kind),
                    date=f"{g.answer.answered_on:%Y-%m-%d}", text=md(g.answer.text))
            else:
                line += "  \n" + _("No answer from the commitment owners yet.")
            st.markdown(line)
        if board.other_items:
            st.caption(ngettext("{n} more, raised by fewer than {k} people, is counted but not shown.",
                                "{n} more, each raised by fewer than {k} people, are counted but not shown.",
                                board.other_items).format(n=board.other_items, k=board.k))


def analysis_progress() -> None:
    state = svc.analysis(retro.id)
    if state.running:
        @st.fragment(run_every=1)
        def _progress() -> None:
            apply_locale()
            now = svc.analysis(retro.id)
            if not now.running:
                st.rerun(scope="app")
            st.progress(now.progress, text=_("Analysing: {step}").format(step=now.step or _("starting")))

        _progress()
        return
    if state.status == "failed":
        # The error carries exception (and possibly provider) text: never render it as Markdown.
        st.error(md(state.error) if state.error else _("The analysis failed; your cards are safe."))
    if state.stale:
        st.warning(_("The last analysis stopped reporting (the server may have restarted)."))
    if state.status in ("idle", "failed") or state.stale:
        if st.button(_("Run the analysis"), type="primary", key="run_analysis"):
            runner().start(svc, retro.id)
            st.rerun()
    elif state.status == "done" and state.current:
        a = state.current
        st.success(_("Analysis done: {themes}, {fears} checked against the register, {actions} drafted.").format(
            themes=ngettext("{n} theme", "{n} themes", len(a.themes)).format(n=len(a.themes)),
            fears=ngettext("{n} fear", "{n} fears", len(a.coverage)).format(n=len(a.coverage)),
            actions=ngettext("{n} action", "{n} actions", len(a.actions)).format(n=len(a.actions))))
        if a.meta.fallback_reason:
            # Failing closed is visible: the facilitator knows the offline engine answered.
            st.warning(_("The model engine failed, so the offline engine analysed the cards: {reason}").format(
                reason=md(a.meta.fallback_reason)))
        else:
            st.caption(_("Engine: {engine} ({model})").format(engine=a.meta.engine, model=md(a.meta.model)))
        for w in a.meta.warnings:
            st.caption(_("Note: {note}").format(note=md(w)))


phase = retro.phase
if phase in TIMER_PHASES:
    timer_controls(svc, retro)
if phase == "collect":
    st.info(_("Cards stay hidden (from you too) until you reveal them. Counts above update live."))
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
    st.info(_("Participants are voting. Results show when you close voting."))
    a = svc.analysis(retro.id).current
    for t in a.themes if a else []:
        cards = ngettext("{n} card", "{n} cards", len(t.card_ids)).format(n=len(t.card_ids))
        st.markdown(f"- **{md(t.label)}** · {kind_name(t.kind)} · {cards}")
elif phase == "discuss":
    a = svc.analysis(retro.id).current
    votes = svc.vote_totals(retro.id)
    register = svc.register_info(retro.register_id).register if retro.register_id else None
    focus_panel(retro, a, register)
    if retro.focus_theme_id:
        st.button(_("Stop showing it"), key="focus_clear", on_click=safely, args=(svc.set_focus, retro.id, None))
    st.subheader(_("Results: most voted first"))
    for t, n in ordered_by_votes(a, votes):
        with st.container(border=True):
            cards = ngettext("{n} card", "{n} cards", len(t.card_ids)).format(n=len(t.card_ids))
            dots = ngettext("{n} dot", "{n} dots", n).format(n=n)
            st.markdown(f"**{md(t.label)}** · {kind_name(t.kind)} · {cards} · **{dots}**")
            if t.id != retro.focus_theme_id:
                st.button(_("Show to everyone: {theme}").format(theme=md(t.label)), key=f"focus:{t.id}", on_click=safely, args=(svc.set_focus, retro.id, t.id))
            for x in a.actions:
                if t.id in x.theme_ids:
                    st.caption(_("Action: {title} — {owner}, due {due}").format(
                        title=md(x.title), owner=md(x.owner_role), due=x.due.isoformat()))
    st.page_link(page="app_pages/review.py", label=_("Edit themes and actions"), icon=":material/edit_note:",
                 query_params=facilitator_params(retro, key))
elif phase == "publish":
    publish_panel(svc, retro)
    destinations_panel(svc, retro, added_by=logged_in_email() or "facilitator (link)")
elif phase == "published":
    pub = svc.publication_of(retro.id)
    st.success(_("Published. The summary can no longer change."))
    if pub:
        st.markdown(_("Read-only link to share:"))
        st.code(summary_link(pub.id), language=None)
        st.page_link(page="app_pages/summary.py", label=_("Open the summary"), icon=":material/description:",
                     query_params={"s": pub.id})
        deliveries_panel(svc, retro, pub, send_now=lambda: runner().deliver(svc, retro.id))
    destinations_panel(svc, retro, added_by=logged_in_email() or "facilitator (link)")
