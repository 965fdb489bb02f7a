"""Streamlit pages (UI only); shared helpers in ``app_ui.common``."""
