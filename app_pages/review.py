"""Review page: correct the analysis (same editor as in the console)."""

import streamlit as st

from app_ui.common import facilitator_params, facilitator_retro, md, phase_bar
from app_ui.review_editor import review_editor
from facilitator.i18n import _

svc, retro, key = facilitator_retro()  # also sets the retro's language
st.title(_("Review: {title}").format(title=md(retro.title)))
phase_bar(retro.phase)
st.page_link(page="app_pages/facilitate.py", label=_("Back to the console"), icon=":material/arrow_back:",
             query_params=facilitator_params(retro, key))
if retro.published:
    st.info(_("This retro is published; its summary can no longer change."))
    st.stop()
review_editor(svc, retro)
