"""Where a team's published actions go (Slack, Teams, Jira, GitHub, Azure DevOps,
a signed webhook), and how each delivery went. Shown to the retro's facilitator."""

from __future__ import annotations

import streamlit as st

from app_ui.common import md
from facilitator.errors import FacilitatorError
from facilitator.i18n import N_, _
from facilitator.integrations.targets import TARGETS
from facilitator.service.retros import Publication, Retro, RetroService
from facilitator.text import capitalised

# Marked for the catalogue; shown through _() (facilitator.i18n).
STATUS_WORDS = {"pending": N_("Waiting to send"), "sending": N_("Sending"), "sent": N_("Sent"),
                "failed": N_("Not sent"), "unknown": N_("Outcome unknown")}
STATUS_ICONS = {"pending": ":material/schedule:", "sending": ":material/sync:", "sent": ":material/check_circle:",
                "failed": ":material/error:", "unknown": ":material/help:"}


def destinations_panel(svc: RetroService, retro: Retro, added_by: str) -> None:
    """The team's destinations: listed with their secret masked, added, removed."""
    with st.expander(_("Send the published actions to the team's tracker or chat")):
        st.caption(_("Only what you publish leaves: each action's title, owner role and due date, the themes it is "
                     "for and how the register answers them. Never a card, a vote or a name. Destinations are per "
                     "team; secrets are stored sealed and never shown again."))
        if added := st.session_state.pop("dest_added", None):
            st.success(added)
        for d in svc.destinations(retro.team):
            c1, c2 = st.columns([4, 1], vertical_alignment="center")
            where = ", ".join(f"{k}: {v}" for k, v in d.config.items())
            masked = _("secret {hint}").format(hint=md(d.secret_hint))
            shown_where = md(where) if where else _("webhook")
            c1.markdown(f"**{md(d.label)}** · {shown_where} · {masked}")
            if c2.button(_("Remove"), key=f"dest_rm:{d.id}"):
                svc.remove_destination(retro.team, d.id)
                st.rerun()
        kind = st.selectbox(_("Add a destination"), list(TARGETS), format_func=lambda k: _(TARGETS[k].label),
                            key="dest_kind", index=None, placeholder=_("Choose a service"))
        if kind is None:
            return
        tg = TARGETS[kind]
        with st.form(f"dest_add:{kind}", clear_on_submit=True):
            # The targets' own words (labels, help) are translated here, where they are shown.
            config = {f.name: st.text_input(_(f.label), value=f.default, help=_(f.help) if f.help else None,
                                            key=f"dest:{kind}:{f.name}")
                      for f in tg.fields}
            secret = st.text_input(_(tg.secret_label), type="password", key=f"dest:{kind}:secret")
            if st.form_submit_button(_("Add")):
                try:
                    svc.add_destination(retro.team, kind, config, secret, added_by=added_by)
                except FacilitatorError as e:
                    st.warning(capitalised(str(e)))
                else:
                    st.session_state["dest_added"] = _("Added {target}. The next published retro of team "
                                                       "{team} sends its actions there.").format(
                                                           target=_(tg.label), team=md(retro.team))
                    st.rerun()


def deliveries_panel(svc: RetroService, retro: Retro, pub: Publication, send_now) -> None:
    """How each action's delivery went, with "Send again" where it failed."""
    rows = svc.deliveries(retro.id)
    if not rows:
        return
    titles = {a.id: a.title for a in pub.summary.analysis.actions}
    st.markdown("**" + _("Actions sent to the team's tools") + "**")
    for d in rows:
        line = (f"{STATUS_ICONS[d.status]} {_(STATUS_WORDS[d.status])} · {md(d.destination)} · "
                f"{md(titles.get(d.action_id, ''))}")
        if d.external_url:
            link_text = md(d.external_id or _("open"))
            line += f" · [{link_text}]({d.external_url})"
        elif d.external_id:
            line += f" · {md(d.external_id)}"
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.markdown(line)
        if d.error and d.status != "sent":
            c1.caption(md(d.error))
        if d.status in ("failed", "unknown") and c2.button(_("Send again"), key=f"resend:{d.id}"):
            try:
                svc.send_again(retro.id, d.id)
            except FacilitatorError as e:
                st.warning(str(e))
            else:
                send_now()
                st.rerun()
