"""The Publish panel: the preview, its flags, the gate's refusals and the approval."""

from __future__ import annotations

import streamlit as st

from app_ui.common import localised, md, runner
from facilitator.errors import FacilitatorError
from facilitator.i18n import N_, _, ngettext
from facilitator.publishing import gate
from facilitator.publishing.charts import coverage_chart, themes_chart
from facilitator.publishing.exports import to_markdown
from facilitator.publishing.preview import MIN_PEOPLE_PER_THEME
from facilitator.service.retros import Retro, RetroService

# Marked for the catalogue; shown through _() (facilitator.i18n). What kind of thing a preview flag is.
FLAG_WORDS = {"name": N_("name"), "verbatim": N_("verbatim"), "tiny_theme": N_("tiny theme"),
              "action_withheld": N_("action withheld"), "action_reworded": N_("action reworded")}


def publish_panel(svc: RetroService, retro: Retro) -> None:
    try:
        preview = svc.preview(retro.id)
    except FacilitatorError as e:
        st.error(md(str(e)))
        return
    s = preview.summary
    st.subheader(_("Preview of what will be published"))
    refused = gate.standing_refusals(svc.gate_state(retro.id, preview))
    for why in refused:
        st.error(md(why))
    if preview.flags:
        n = len(preview.flags)
        st.warning(ngettext("{n} thing could identify someone. Check it before you approve:",
                            "{n} things could identify someone. Check them before you approve:", n).format(n=n))
        for f in preview.flags:
            kind = _(FLAG_WORDS[f.kind]) if f.kind in FLAG_WORDS else f.kind.replace("_", " ")
            st.markdown("- " + _("**{kind}** in {where}: {detail}").format(kind=kind, where=md(f.where),
                                                                            detail=md(f.detail)))
    else:
        st.success(_("Nothing in the preview looks identifying."))
    st.caption(
        _("Themes raised by fewer than {n} people are merged, by kind, into “Other concerns”, "
          "“Other problems” and the like (their worries still count as trust gaps); "
          "names and contact details are replaced; no card text is published.").format(n=MIN_PEOPLE_PER_THEME)
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
    st.checkbox(_("I have read this preview and approve publishing it"), key=f"approve:{preview.rev}")
    st.button(_("Publish"), type="primary", key="publish", on_click=_publish, args=(svc, retro.id, preview.rev),
              disabled=bool(refused))
    if err := st.session_state.pop("publish_error", None):
        st.warning(err)


@localised
def _publish(svc: RetroService, retro_id: str, rev: int) -> None:
    try:
        svc.publish(retro_id, approved=bool(st.session_state.get(f"approve:{rev}")), rev=rev)
    except FacilitatorError as e:
        st.session_state["publish_error"] = str(e)
    else:
        runner().deliver(svc, retro_id)  # the team's tracker and chat; after the commit, never blocking it
