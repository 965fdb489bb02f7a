"""The commitments register: upload or edit, versions, stale entries, and
"what do we answer to …?" (the coverage command's logic)."""

import datetime as dt

import streamlit as st

from app_ui.common import (
    STATUS_WORDS,
    approver,
    candidates_panel,
    login_required,
    md,
    role_gate,
    runner,
    service,
    show_new_key,
)
from facilitator.errors import FacilitatorError
from facilitator.i18n import N_, _, ngettext
from facilitator.inputs.register import health

svc = service()
st.title(_("Commitments register"))
st.caption(_("The gain-sharing and job-security commitments every fear is checked against. Each save is a new "
             "version."))
if login_required():
    st.stop()

versions = svc.registers()
tab_ask, tab_versions, tab_edit = st.tabs([_("Ask the register"), _("Versions and health"), _("Upload or edit")])

def _edit() -> None:
    """Upload or edit the register: a new version, recorded with who approved it."""
    up = st.file_uploader(_("Upload a register (.md or .json)"), type=["md", "markdown", "json"], key="upload")
    if up is not None and st.button(_("Save upload as a new version"), key="save_upload"):
        try:
            rid = svc.add_register(up.getvalue().decode("utf-8-sig"), up.name, approved_by=approver())
        except UnicodeDecodeError:
            st.error(_("{name} is not UTF-8 text; save it as UTF-8").format(name=up.name))
        except FacilitatorError as e:
            st.error(str(e))
        else:
            st.success(_("Saved as version {version}.").format(version=svc.register_info(rid).version))
            st.rerun()
    st.markdown(_("**Or edit the text** (Markdown: one `## ID Title` section per commitment)"))
    base = svc.register_raw(versions[0].id) if versions else ""
    fmt = "md" if not versions or versions[0].filename.lower().endswith((".md", ".markdown")) else "json"
    name = st.text_input(_("Register name"), value=versions[0].name if versions else _("Commitments"), key="reg_name")
    raw = st.text_area(_("Register"), value=base, height=320, key="reg_text")
    if st.button(_("Save as a new version"), key="save_text", type="primary"):
        try:
            rid = svc.add_register(raw, f"register.{fmt}", name=name, approved_by=approver())
        except FacilitatorError as e:
            st.error(str(e))
        else:
            st.success(_("Saved as version {version}.").format(version=svc.register_info(rid).version))
            st.rerun()


with tab_edit:
    show_new_key("owner")
    # Only a commitment owner changes the register: it is what every team's fears are checked against.
    if role_gate(svc, "owner", key="owner_gate"):
        _edit()
    else:
        st.caption(_("Anyone may read the register and ask it questions; changing it needs the owner key."))

if not versions:
    with tab_ask:
        st.info(_("No register yet: upload one in the '{tab}' tab.").format(tab=_("Upload or edit")))
    st.stop()

labels = {v.id: f"{v.name} — {v.version} ({v.created_at:%Y-%m-%d})" for v in versions}
chosen = st.sidebar.selectbox(_("Register version"), list(labels), format_func=labels.get, key="reg_version")
info = next(v for v in versions if v.id == chosen)
today = dt.date.today()

# The table's columns (field names) and the headers shown for them.
COLUMNS = {"id": N_("id"), "title": N_("title"), "owner": N_("owner"), "status": N_("status"), "review": N_("review"),
           "health": N_("health"), "approved by": N_("approved by"), "in force": N_("in force")}

with tab_versions:
    rows, healths = [], []
    for c in info.register.commitments:
        h = health(c, today)
        healths.append(h)
        rows.append({
            "id": c.id, "title": c.title, "owner": c.owner_role or "", "status": c.status,
            "review": c.review_date.isoformat() if c.review_date else "",
            "health": "; ".join(h.problems + h.flags) or _("ok"),
            "approved by": info.approved_by or "",
            "in force": h.usable,
        })
    n_out = sum(1 for h in healths if not h.usable)
    n_overdue = sum(1 for h in healths if h.usable and h.review_overdue)
    if n_out:
        st.warning(ngettext(
            "{n} commitment is not in force (draft, suspended, retired, ended or not yet effective) and is not used "
            "to answer fears.",
            "{n} commitments are not in force (draft, suspended, retired, ended or not yet effective) and are not "
            "used to answer fears.", n_out).format(n=n_out))
    if n_overdue:
        st.warning(ngettext(
            "{n} commitment is past the review date: still in force, but the owners should review it.",
            "{n} commitments are past the review date: still in force, but the owners should review them.",
            n_overdue).format(n=n_overdue))
    st.dataframe(rows, hide_index=True, column_config={k: _(v) for k, v in COLUMNS.items()})
    st.caption(ngettext("{n} version stored; the retro uses the version chosen when it was created.",
                        "{n} versions stored; the retro uses the version chosen when it was created.",
                        len(versions)).format(n=len(versions)))

with tab_ask:
    q = st.text_area(_("What do we answer to…"), placeholder=_("e.g. If I automate my reconciliations, will my job go?"),
                     max_chars=500, key="question")
    if st.button(_("Ask"), type="primary", key="ask") and q.strip():
        with st.spinner(_("Checking the register…")):
            try:
                answers = runner().cover([q.strip()], info.register, today)
            except FacilitatorError as e:
                st.error(str(e))
                answers = []
        for ans in answers:
            word = _(STATUS_WORDS[ans.status])
            show = {"covered": st.success, "partial": st.warning, "needs_review": st.info}.get(ans.status, st.error)
            show(word)
            candidates_panel(ans.candidates, ans.status, expanded=True)
            for quote in ans.quotes:
                c = info.register.get(quote.commitment_id)
                st.markdown(f"> {md(quote.text)}\n>\n> — {md(quote.commitment_id)}" + (f" ({md(c.title)})" if c else ""))
            if ans.rationale:
                st.caption(md(ans.rationale))
