"""Start a retro: team, title, columns, register version, anonymity threshold."""

import streamlit as st

from app_ui.common import (
    facilitator_link,
    join_link,
    logged_in_email,
    login_required,
    md,
    remembered_retros,
    service,
    settings,
)
from facilitator.errors import FacilitatorError
from facilitator.i18n import LOCALES, _, current_locale, ngettext
from facilitator.service.phases import PHASE_LABELS
from facilitator.service.retros import FORMATS

svc = service()
s = settings()

st.title(_("Start a retrospective"))
st.caption(
    _("Participants write cards anonymously; nobody sees them until you reveal them. "
      "The analysis groups them into themes, checks every fear against your commitments register "
      "and drafts actions; you review everything before anything is published.")
)

if login_required():
    st.stop()

created = st.session_state.get("created")
if created:
    retro = svc.get(created["retro_id"])
    st.success(_("Retro created: {title}").format(title=md(retro.title)))
    st.markdown(_("**1. Share this link with participants** (no account needed):"))
    st.code(join_link(retro), language=None)
    st.markdown(_("**2. Keep this facilitator link to yourself**: it opens the console from any device. This browser "
                  "also remembers it: the home page lists your retros on it."))
    st.code(facilitator_link(retro.id, created["key"]), language=None)
    c1, c2 = st.columns([1, 3])
    if c1.button(_("Open the facilitator console"), type="primary", key="open_console"):
        st.switch_page("app_pages/facilitate.py", query_params={"retro": retro.id, "key": created["key"]})
    if c2.button(_("Start another retro"), key="another"):
        del st.session_state["created"]
        st.rerun()
    st.stop()

registers = svc.registers()
if not registers:
    st.info(_("There is no commitments register yet. Fears are checked against it, so add one first."))
    c1, c2 = st.columns(2)
    if c1.button(_("Use the sample register (Harbourline)"), key="sample_register"):
        from facilitator.demo import DEMO_REGISTER

        raw = DEMO_REGISTER.read_text(encoding="utf-8")
        # Only on a fresh install with no register: a first run needs something to check fears against.
        svc.add_register(raw, "demo_register.md", name="Harbourline commitments", approved_by="sample (first run)")
        st.rerun()
    c2.page_link(page="app_pages/commitments.py", label=_("Upload your own register"), icon=":material/upload:")
    st.stop()

locales = list(LOCALES)


def _use_locale() -> None:  # the page follows the language picked, before the form is filled in
    st.session_state["locale"] = st.session_state["new_locale"]
    st.session_state.pop("custom_columns", None)  # its default columns are in the language left behind


locale = st.selectbox(_("Language of the retro's pages"), locales, format_func=LOCALES.get,
                      index=locales.index(current_locale()), key="new_locale", on_change=_use_locale)
fmt = st.selectbox(_("Format"), [*FORMATS, "Custom"], key="format",
                   format_func=lambda f: _("Custom") if f == "Custom" else _(f))
with st.form("create"):
    team = st.text_input(_("Team"), placeholder=_("e.g. Dispatch Platform"), key="team",
                         help=_("Open actions from this team's previous retros are carried into the new one."))
    title = st.text_input(_("Title"), placeholder=_("e.g. Sprint 42 retrospective"), key="title")
    if fmt == "Custom":
        custom = st.text_input(_("Columns (comma-separated)"), value=_("Went well, To improve, Worries"),
                               key="custom_columns")
        columns = [c.strip() for c in custom.split(",")]
    else:
        columns = [_(c) for c in FORMATS[fmt]]
        st.caption(_("Columns: {columns}").format(columns=", ".join(md(c) for c in columns)))
    reg_labels = {
        r.id: ngettext("{name} — {version} ({n} commitment)", "{name} — {version} ({n} commitments)",
                       len(r.register.commitments)).format(name=r.name, version=r.version, n=len(r.register.commitments))
        for r in registers
    }
    register_id = st.selectbox(_("Commitments register version"), list(reg_labels), format_func=reg_labels.get,
                               key="register")
    c1, c2 = st.columns(2)
    k = c1.number_input(_("Anonymity threshold k (people)"), min_value=3, max_value=30, value=s.min_participants,
                        step=1, key="k",
                        help=_("Nothing is published unless at least k people wrote cards. Fixed once the retro opens."))
    budget = c2.number_input(_("Dots per participant"), min_value=1, max_value=20, value=s.votes_per_participant,
                             step=1, key="budget")
    roster = st.text_area(_("Names to keep out of the summary (optional, one per line)"), key="roster", height=80,
                          help=_("Team members' names are replaced by [name] in everything published or sent to a "
                                 "model."))
    submitted = st.form_submit_button(_("Create retro"), type="primary")

if submitted:
    try:
        c = svc.create_retro(
            team=team, title=title, columns=columns, register_id=register_id, k=int(k), vote_budget=int(budget),
            roster=roster.splitlines(), owner_email=logged_in_email(), locale=locale,
        )
    except FacilitatorError as e:
        st.error(str(e))
    else:
        st.session_state["created"] = {"retro_id": c.retro_id, "key": c.facilitator_key}
        st.rerun()

email = logged_in_email()
mine = svc.list_retros(owner_email=email) if email else remembered_retros(svc)
if mine:
    # With login: the retros this facilitator created. Without: the ones this browser
    # opened with their facilitator link (the key is kept in a cookie), a way back in.
    st.subheader(_("Your retros") if email else _("Your retros on this browser"))
    for r in mine[:20]:
        st.page_link(page="app_pages/facilitate.py", label=md(f"{r.title} · {r.team} · {_(PHASE_LABELS[r.phase])}"),
                     query_params={"retro": r.id})

st.divider()
c1, c2, c3 = st.columns(3)
c1.page_link(page="app_pages/commitments.py", label=_("Commitment owners: the register"), icon=":material/handshake:")
c2.page_link(page="app_pages/gaps.py", label=_("Commitment owners: trust gaps"), icon=":material/report:")
c3.page_link(page="app_pages/settings.py", label=_("Admins: settings"), icon=":material/settings:")
