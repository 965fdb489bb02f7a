"""The participant's page: join by link, write cards blind, follow the phases, vote.

The participant's secret is kept in this session's server-side state and in a
cookie the app sets, so a reload, a new tab or a brief disconnect resumes the
same participant with their own cards editable. It is never taken from the
page address (a link with a preset secret would let whoever handed it out read
and edit those cards before reveal) nor written to it. On a shared device,
"Not you?" starts a new participant.
"""

import uuid

import streamlit as st

from app_ui.common import (
    apply_locale,
    localised,
    board,
    cookie_secret,
    md,
    page_shown,
    phase_bar,
    service,
    set_cookie_once,
    settings,
    watch_and_rerun,
)
from app_ui.meeting import done_toggle, focus_panel, timer
from facilitator.errors import FacilitatorError
from facilitator.i18n import _, ngettext
from facilitator.publishing.exports import ordered_by_votes
from facilitator.publishing.summary import kind_name
from facilitator.service.retros import RetroNotFound, new_token

svc = service()
s = settings()

# The kind of a theme as this page names it (marked for the catalogue, shown through _()).

code = st.query_params.get("code", "")
if not code:
    st.title(_("Join a retrospective"))
    entered = st.text_input(_("Code (the six letters on the facilitator's screen, or the code from the link)"),
                            key="join_code")
    if st.button(_("Join"), type="primary", key="join_btn") and entered.strip():
        try:
            st.query_params["code"] = svc.by_short_code(entered).join_code
        except RetroNotFound:
            st.query_params["code"] = entered.strip()  # the code of a join link
        st.rerun()
    st.stop()

try:
    retro = svc.by_join_code(code)
except RetroNotFound as e:
    st.error(str(e))
    st.stop()
apply_locale(retro)  # the retro's language, before anything of it is shown (and before the cookie is set)

# The participant's secret: in this session's state and in a cookie the app sets
# (so a reload or a new tab resumes the same participant), never in or from the
# address, where whoever hands out a link could pre-set it. The server only
# stores a salted hash of it.
COOKIE = f"retro_p_{retro.id}"

if st.session_state.pop(f"fresh:{retro.id}", False):  # "Not you? Start as a new participant"
    st.session_state.pop(f"token:{retro.id}", None)
    token = new_token()
else:
    token = st.session_state.get(f"token:{retro.id}") or cookie_secret(COOKIE) or new_token()
st.session_state[f"token:{retro.id}"] = token
set_cookie_once(COOKIE, token, 86400)  # a day
if "me" in st.query_params:  # links from older versions carried it: drop, never adopt
    del st.query_params["me"]

if retro.published:
    st.title(md(retro.title))
    pub = svc.publication_of(retro.id)
    st.success(_("This retro is published."))
    if pub:
        st.page_link(page="app_pages/summary.py", label=_("Read the summary"), icon=":material/description:",
                     query_params={"s": pub.id})
    st.stop()

if not svc.is_participant(retro.id, token):
    svc.join(retro.id, token)

st.title(md(retro.title))
st.caption(_("Team {team} · anonymous: your name is never stored with your cards").format(team=md(retro.team)))
phase_bar(retro.phase)
watch_and_rerun(svc, retro)
timer(svc, retro)


@localised
def _submit_card() -> None:
    """Runs before the rerun, so it may still clear the text box on success."""
    try:
        svc.add_card(retro.id, token, st.session_state.get("new_column") or retro.columns[0],
                     st.session_state.get("new_text", ""), st.session_state[f"idem:{retro.id}"])
    except FacilitatorError as e:
        st.session_state["card_error"] = str(e)
    else:
        st.session_state[f"idem:{retro.id}"] = uuid.uuid4().hex
        st.session_state["new_text"] = ""
        st.session_state["card_added"] = True


def collect() -> None:
    mine = svc.my_cards(retro.id, token)
    up_to = ngettext("Up to {n} character.", "Up to {n} characters.", s.max_card_chars).format(n=s.max_card_chars)
    st.subheader(_("Write your cards"))
    if mine and st.button(_("Not you? Start as a new participant"), key="fresh", type="tertiary"):
        st.session_state[f"fresh:{retro.id}"] = True  # a shared device: the cards above belong to someone else
        st.rerun()
    st.caption(
        _("Only you can see your cards until the facilitator reveals them. "
          "You have written {n} of {limit}.").format(n=len(mine), limit=s.max_cards_per_participant)
    )
    st.session_state.setdefault(f"idem:{retro.id}", uuid.uuid4().hex)
    # No clear_on_submit: a refused card (limit, rate, phase change) stays in the
    # box; the callback clears it only once the card is stored.
    with st.form("new_card"):
        st.selectbox(_("Column"), retro.columns, key="new_column")
        # No max_chars: the browser would cut or drop an over-long paste silently; the service
        # refuses it with a message instead, and the text stays in the box to be shortened.
        st.text_area(_("Your card"), key="new_text", placeholder=_("One thought per card. Don't name people."),
                     help=up_to)
        st.form_submit_button(_("Add card"), type="primary", on_click=_submit_card)
    if err := st.session_state.pop("card_error", None):
        st.warning(err)
    if st.session_state.pop("card_added", False):
        # A message in the page, not a toast: Streamlit's toast is a dialog without an accessible name (axe).
        st.success(_("Card added"), icon=":material/check:")
    done_toggle(svc, retro, token)
    if not mine:
        return
    st.subheader(_("Your cards"))
    for card in mine:
        with st.container(border=True):
            st.caption(md(card.column))
            st.text(card.text)
            c1, c2, _unused = st.columns([1, 1, 4])
            with c1.popover(_("Edit"), icon=":material/edit:"):
                new_text = st.text_area(_("Card"), value=card.text, key=f"edit_text:{card.id}", help=up_to)
                new_col = st.selectbox(_("Column"), retro.columns, index=retro.columns.index(card.column)
                                       if card.column in retro.columns else 0, key=f"edit_col:{card.id}")
                if st.button(_("Save"), key=f"save:{card.id}", type="primary"):
                    try:
                        svc.edit_card(retro.id, token, card.id, new_text, new_col)
                    except FacilitatorError as e:
                        st.warning(str(e))
                    else:
                        st.rerun()
            if c2.button(_("Delete"), key=f"del:{card.id}", icon=":material/delete:"):
                try:
                    svc.delete_card(retro.id, token, card.id)
                except FacilitatorError as e:
                    st.warning(str(e))
                else:
                    st.rerun()


def themes_view(with_votes: bool) -> None:
    state = svc.analysis(retro.id)
    a = state.current
    if a is None:
        st.info(_("The themes will appear here after the analysis."))
        return
    votes = svc.vote_totals(retro.id) if with_votes else {}
    rows = ordered_by_votes(a, votes) if with_votes else [(t, 0) for t in a.themes]
    for t, n in rows:
        with st.container(border=True):
            cards = ngettext("{n} card", "{n} cards", len(t.card_ids)).format(n=len(t.card_ids))
            head = f"**{md(t.label)}** · {kind_name(t.kind)} · {cards}"
            if with_votes:
                head += " · **" + ngettext("{n} dot", "{n} dots", n).format(n=n) + "**"
            st.markdown(head)
            acts = [x for x in a.actions if t.id in x.theme_ids]
            for x in acts:
                st.caption(_("Action: {title} — {owner}, due {due}").format(
                    title=md(x.title), owner=md(x.owner_role), due=x.due.isoformat()))


def vote() -> None:
    a = svc.analysis(retro.id).current
    if a is None:
        st.info(_("Waiting for the themes."))
        return
    mine = svc.my_votes(retro.id, token)
    text_of = {c.id: c.text for c in svc.revealed_cards(retro.id)}
    st.subheader(ngettext("Vote: you have {n} dot", "Vote: you have {n} dots", retro.vote_budget).format(
        n=retro.vote_budget))
    note = st.empty()  # filled below, once a submitted form is saved, so it never shows the old count
    with st.form("votes"):
        dots = {}
        for t in a.themes:
            cards = ngettext("{n} card", "{n} cards", len(t.card_ids)).format(n=len(t.card_ids))
            dots[t.id] = st.number_input(
                f"{md(t.label)} ({kind_name(t.kind)}, {cards})", min_value=0, max_value=retro.vote_budget,
                value=int(mine.get(t.id, 0)), step=1, key=f"dots:{t.id}",
            )
            with st.expander(_("The cards in this theme")):
                for cid in t.card_ids:
                    st.text("• " + text_of.get(cid, ""))
        sent = st.form_submit_button(_("Save my dots"), type="primary")
    if sent:
        try:
            svc.cast_votes(retro.id, token, dots)
        except FacilitatorError as e:
            st.warning(str(e))
        else:
            st.success(ngettext("Saved: {n} of {budget} dot used.", "Saved: {n} of {budget} dots used.",
                                retro.vote_budget).format(n=sum(dots.values()), budget=retro.vote_budget))
            mine = dict(dots)
    saved = sum(mine.values())
    left = retro.vote_budget - saved
    note.caption(_("Put your dots on the themes you most want to discuss (+ and - beside each). You can change them "
                   "until voting closes. Saved so far: {saved}, {left}.").format(
        saved=saved, left=ngettext("{n} dot left", "{n} dots left", left).format(n=left)))
    done_toggle(svc, retro, token)


if retro.phase == "collect":
    collect()
elif retro.phase == "reveal":
    st.subheader(_("All cards"))
    board(svc, retro)
elif retro.phase == "analyse":
    state = svc.analysis(retro.id)
    st.info(_("The facilitator is grouping the cards into themes. This page updates by itself."))
    if state.running:
        st.progress(state.progress, text=state.step or _("working"))
    board(svc, retro)
elif retro.phase == "review":
    st.info(_("The facilitator is reviewing the themes the analysis suggested. Voting opens next."))
    themes_view(with_votes=False)
elif retro.phase == "vote":
    vote()
elif retro.phase in ("discuss", "publish"):
    if retro.phase == "publish":
        st.info(_("The facilitator is preparing the summary for publication."))
    else:
        register = svc.register_info(retro.register_id).register if retro.register_id else None
        focus_panel(retro, svc.analysis(retro.id).current, register)
    st.subheader(_("Results: most voted first"))
    themes_view(with_votes=True)

page_shown(retro)  # last: the page's clock compares it with the state the server ran
