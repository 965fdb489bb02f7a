"""The Publish panel: the preview, its flags, the gate's refusals and the approval."""

from __future__ import annotations

import streamlit as st

from app_ui.common import md, runner
from facilitator.errors import FacilitatorError
from facilitator.publishing import gate
from facilitator.publishing.charts import coverage_chart, themes_chart
from facilitator.publishing.exports import to_markdown
from facilitator.publishing.preview import MIN_PEOPLE_PER_THEME
from facilitator.service.retros import Retro, RetroService
from facilitator.text import plural


def publish_panel(svc: RetroService, retro: Retro) -> None:
    try:
        preview = svc.preview(retro.id)
    except FacilitatorError as e:
        st.error(md(str(e)))
        return
    s = preview.summary
    st.subheader("Preview of what will be published")
    refused = gate.standing_refusals(svc.gate_state(retro.id, preview))
    for why in refused:
        st.error(md(why))
    if preview.flags:
        st.warning(f"{plural(len(preview.flags), 'thing')} could identify someone. Check them before you approve:")
        for f in preview.flags:
            st.markdown(f"- **{f.kind.replace('_', ' ')}** in {md(f.where)}: {md(f.detail)}")
    else:
        st.success("Nothing in the preview looks identifying.")
    st.caption(
        f"Themes raised by fewer than {MIN_PEOPLE_PER_THEME} people are merged, by kind, into “Other concerns”, "
        "“Other problems” and the like (their worries still count as trust gaps); "
        "names and contact details are replaced; no card text is published."
    )
    c1, c2 = st.columns(2)
    c1.altair_chart(themes_chart(s.analysis, s.votes))
    if s.analysis.coverage:
        c2.altair_chart(coverage_chart(s.analysis))
    with st.container(border=True):
        st.markdown(to_markdown(s))
    # The approval is for this preview's revision: the checkbox is per revision,
    # and the button's callback carries the revision it was shown with, so an
    # edit made meanwhile (another tab) makes publish refuse instead of
    # publishing something nobody read.
    st.checkbox("I have read this preview and approve publishing it", key=f"approve:{preview.rev}")
    st.button("Publish", type="primary", key="publish", on_click=_publish, args=(svc, retro.id, preview.rev),
              disabled=bool(refused))
    if err := st.session_state.pop("publish_error", None):
        st.warning(err)


def _publish(svc: RetroService, retro_id: str, rev: int) -> None:
    try:
        svc.publish(retro_id, approved=bool(st.session_state.get(f"approve:{rev}")), rev=rev)
    except FacilitatorError as e:
        st.session_state["publish_error"] = str(e)
    else:
        runner().deliver(svc, retro_id)  # the team's tracker and chat; after the commit, never blocking it
