"""Streamlit entry point: ``streamlit run app.py`` (or ``scripts/app``).

Only navigation lives here; each page is a script in ``app_pages/`` and all
logic is in the ``facilitator`` package.
"""

from pathlib import Path

import streamlit as st

from app_ui.common import apply_locale, has_role
from facilitator.i18n import _

apply_locale()  # the pages' language: this session's, else the browser's (a retro's page may change it)
# A local icon file: a Material icon name here would make every page load fetch it from a font CDN.
st.set_page_config(page_title=_("Retro facilitator"), page_icon=str(Path(__file__).parent / "app_ui" / "icon.png"),
                   layout="wide")

pages = [
    st.Page("app_pages/home.py", title=_("Start a retro"), icon=":material/add_circle:", default=True),
    st.Page("app_pages/join.py", title=_("Join a retro"), icon=":material/login:", url_path="join"),
    st.Page("app_pages/facilitate.py", title=_("Facilitate"), icon=":material/tune:", url_path="facilitate",
            visibility="hidden"),
    st.Page("app_pages/review.py", title=_("Review"), icon=":material/edit_note:", url_path="review",
            visibility="hidden"),
    st.Page("app_pages/summary.py", title=_("Summary"), icon=":material/description:", url_path="summary",
            visibility="hidden"),
    # Owner and admin pages are in the navigation only for those roles (the home page links to them).
    st.Page("app_pages/commitments.py", title=_("Commitments"), icon=":material/handshake:", url_path="commitments",
            visibility="visible" if has_role("owner") or has_role("admin") else "hidden"),
    st.Page("app_pages/gaps.py", title=_("Trust gaps"), icon=":material/report:", url_path="gaps",
            visibility="visible" if has_role("owner") or has_role("admin") else "hidden"),
    st.Page("app_pages/settings.py", title=_("Settings"), icon=":material/settings:", url_path="settings",
            visibility="visible" if has_role("admin") else "hidden"),
]
st.navigation(pages).run()
