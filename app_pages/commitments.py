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
from facilitator.inputs.register import health
from facilitator.text import plural

svc = service()
st.title("Commitments register")
st.caption("The gain-sharing and job-security commitments every fear is checked against. Each save is a new version.")
if login_required():
    st.stop()

versions = svc.registers()
tab_ask, tab_versions, tab_edit = st.tabs(["Ask the register", "Versions and health", "Upload or edit"])

def _edit() -> None:
    """Upload or edit the register: a new version, recorded with who approved it."""
    up = st.file_uploader("Upload a register (.md or .json)", type=["md", "markdown", "json"], key="upload")
    if up is not None and st.button("Save upload as a new version", key="save_upload"):
        try:
            rid = svc.add_register(up.getvalue().decode("utf-8-sig"), up.name, approved_by=approver())
        except UnicodeDecodeError:
            st.error(f"{up.name} is not UTF-8 text; save it as UTF-8")
        except FacilitatorError as e:
            st.error(str(e))
        else:
            st.success(f"Saved as version {svc.register_info(rid).version}.")
            st.rerun()
    st.markdown("**Or edit the text** (Markdown: one `## ID Title` section per commitment)")
    base = svc.register_raw(versions[0].id) if versions else ""
    fmt = "md" if not versions or versions[0].filename.lower().endswith((".md", ".markdown")) else "json"
    name = st.text_input("Register name", value=versions[0].name if versions else "Commitments", key="reg_name")
    raw = st.text_area("Register", value=base, height=320, key="reg_text")
    if st.button("Save as a new version", key="save_text", type="primary"):
        try:
            rid = svc.add_register(raw, f"register.{fmt}", name=name, approved_by=approver())
        except FacilitatorError as e:
            st.error(str(e))
        else:
            st.success(f"Saved as version {svc.register_info(rid).version}.")
            st.rerun()


with tab_edit:
    show_new_key("owner")
    # Only a commitment owner changes the register: it is what every team's fears are checked against.
    if role_gate(svc, "owner", key="owner_gate"):
        _edit()
    else:
        st.caption("Anyone may read the register and ask it questions; changing it needs the owner key.")

if not versions:
    with tab_ask:
        st.info("No register yet: upload one in the 'Upload or edit' tab.")
    st.stop()

labels = {v.id: f"{v.name} — {v.version} ({v.created_at:%Y-%m-%d})" for v in versions}
chosen = st.sidebar.selectbox("Register version", list(labels), format_func=labels.get, key="reg_version")
info = next(v for v in versions if v.id == chosen)
today = dt.date.today()

with tab_versions:
    rows = []
    for c in info.register.commitments:
        h = health(c, today)
        rows.append({
            "id": c.id, "title": c.title, "owner": c.owner_role or "", "status": c.status,
            "review": c.review_date.isoformat() if c.review_date else "",
            "health": "; ".join(h.problems + h.flags) or "ok",
            "approved by": info.approved_by or "",
            "in force": h.usable,
        })
    out = [r for r in rows if not r["in force"]]
    overdue = [r for r in rows if r["in force"] and "review overdue" in r["health"]]
    if out:
        are = "is" if len(out) == 1 else "are"
        st.warning(f"{plural(len(out), 'commitment')} {are} not in force (draft, suspended, retired, ended or not yet "
                   f"effective) and {are} not used to answer fears.")
    if overdue:
        are = "is" if len(overdue) == 1 else "are"
        st.warning(f"{plural(len(overdue), 'commitment')} {are} past the review date: still in force, but the owners "
                   "should review them.")
    st.dataframe(rows, hide_index=True)
    st.caption(f"{plural(len(versions), 'version')} stored; the retro uses the version chosen when it was created.")

with tab_ask:
    q = st.text_area("What do we answer to…", placeholder="e.g. If I automate my reconciliations, will my job go?",
                     max_chars=500, key="question")
    if st.button("Ask", type="primary", key="ask") and q.strip():
        with st.spinner("Checking the register…"):
            try:
                answers = runner().cover([q.strip()], info.register, today)
            except FacilitatorError as e:
                st.error(str(e))
                answers = []
        for ans in answers:
            word = STATUS_WORDS[ans.status]
            show = {"covered": st.success, "partial": st.warning, "needs_review": st.info}.get(ans.status, st.error)
            show(word)
            candidates_panel(ans.candidates, ans.status, expanded=True)
            for quote in ans.quotes:
                c = info.register.get(quote.commitment_id)
                st.markdown(f"> {md(quote.text)}\n>\n> — {md(quote.commitment_id)}" + (f" ({md(c.title)})" if c else ""))
            if ans.rationale:
                st.caption(md(ans.rationale))
