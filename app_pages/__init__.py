"""Streamlit pages (UI only); shared helpers in ``app_pages.common``."""
