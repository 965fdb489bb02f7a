"""Effective settings (read from RETRO_* environment variables; see README)."""

import re

import streamlit as st

from app_ui.common import auth_configured, has_role, role_gate, service, settings, show_new_key
from facilitator.i18n import _

s = settings()
st.title(_("Settings"))
show_new_key("admin")
# Admins only: settings name the database and the model provider.
if not has_role("admin") and not role_gate(service(), "admin", key="admin_gate"):
    st.stop()
st.caption(_("Read from RETRO_* environment variables at start-up; documented in the README's configuration table."))
rows = []
for name, field in type(s).model_fields.items():
    value = getattr(s, name)
    if name == "database_url" and value:
        value = re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", value)  # never show a password
        value = re.sub(r"(password=)[^&\s]+", r"\1***", value)
    if name == "secret_key" and value:
        value = _("set (hidden)")
    rows.append({"setting": f"RETRO_{name.upper()}", "value": "" if value is None else str(value),
                 "meaning": _(field.description) if field.description else ""})
# The rows keep their field names; the headers shown are translated.
st.dataframe(rows, hide_index=True,
             column_config={"setting": _("setting"), "value": _("value"), "meaning": _("meaning")})
st.caption(_("Facilitator login (OIDC): configured") if auth_configured()
           else _("Facilitator login (OIDC): not configured"))
