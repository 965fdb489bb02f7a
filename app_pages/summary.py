"""The published summary: read-only, shareable, downloadable."""

import streamlit as st

from app_ui.common import STATUS_WORDS, apply_locale, md, service
from facilitator.i18n import _, ngettext
from facilitator.publishing.charts import coverage_chart, themes_chart
from facilitator.publishing.exports import actions_csv, ordered_by_votes, to_json
from facilitator.publishing.pdf import to_pdf
from facilitator.publishing.summary import action_kind_name, kind_name
from facilitator.service.retros import RetroNotFound

svc = service()
pub_id = st.query_params.get("s", "")
if not pub_id:
    st.warning(_("This page shows a published retro summary; open it from the link you were given."))
    st.stop()
try:
    pub = svc.publication(pub_id)
except RetroNotFound as e:
    st.error(str(e))
    st.stop()
retro = svc.get(pub.retro_id)
apply_locale(retro)

s = pub.summary
a = s.analysis
st.title(md(s.title))
st.caption(
    _("Team {team} · published {date} · {writers} · read-only").format(
        team=md(s.team), date=s.published_on.isoformat(),
        writers=ngettext("{n} person wrote cards", "{n} people wrote cards", s.contributors).format(n=s.contributors))
)
# Counts over every fear raised, including those merged or withheld for anonymity.
statuses = s.fear_statuses or {c.status: sum(1 for x in a.coverage if x.status == c.status) for c in a.coverage}
merged = sum(n for k, n in s.merged_fear_statuses.items() if k != "covered")
m1, m2, m3, m4 = st.columns(4)
m1.metric(_("Themes"), len(a.themes))
m2.metric(_("Fears raised"), sum(statuses.values()))
m3.metric(_("Trust gaps"), statuses.get("uncovered", 0),
          help=_("Fears no commitment answers; partly answered and still-to-check fears are listed below.")
          + (" " + ngettext("{n} of the open ones was merged for anonymity.",
                            "{n} of the open ones were merged for anonymity.", merged).format(n=merged)
             if merged else ""))
m4.metric(_("Actions"), len(a.actions))

c1, c2 = st.columns([3, 2])
c1.altair_chart(themes_chart(a, s.votes))
if a.coverage:
    c2.altair_chart(coverage_chart(a))
else:
    c2.info(_("No fears were raised."))
with st.expander(_("The charts as tables")):  # for screen readers, and for reading exact numbers
    st.dataframe([{_("Theme"): t.label, _("Kind"): kind_name(t.kind), _("Cards"): len(t.card_ids),
                   _("Dots"): s.votes.get(t.id, 0)} for t in a.themes], hide_index=True)
    if a.coverage:
        st.dataframe([{_("Coverage"): _(STATUS_WORDS[k]).split(":")[0], _("Fears"): n}
                      for k, n in statuses.items() if n], hide_index=True)

st.subheader(_("Themes, most voted first"))
for t, n in ordered_by_votes(a, s.votes):
    cards = ngettext("{n} card", "{n} cards", len(t.card_ids)).format(n=len(t.card_ids))
    dots = " · " + ngettext("{n} dot", "{n} dots", n).format(n=n) if s.votes else ""
    st.markdown(f"- **{md(t.label)}** · {kind_name(t.kind)} · {cards}{dots}")

st.subheader(_("Actions"))
if a.actions:
    labels = {t.id: t.label for t in a.themes}
    st.dataframe(
        [
            {_("Action"): x.title, _("Kind"): action_kind_name(x.kind), _("Owner"): x.owner_role,
             _("Due"): x.due, _("Themes"): ", ".join(labels.get(i, i) for i in x.theme_ids),
             _("Commitments"): ", ".join(x.commitment_ids)}
            for x in a.actions
        ],
        hide_index=True,
    )
else:
    st.caption(_("No actions."))

with st.expander(_("Full summary (as downloaded)")):
    st.markdown(pub.markdown)

d0, d1, d2, d3 = st.columns(4)


@st.cache_data(show_spinner=False, max_entries=64)
def _pdf(pub_id: str, locale: str) -> bytes:  # a publication never changes: made once per process and language
    register_id = retro.register_id
    return to_pdf(s, svc.register_info(register_id).register if register_id else None)


d0.download_button(_("Download PDF"), _pdf(pub.id, retro.locale), file_name="retro-summary.pdf", mime="application/pdf",
                   key="dl_pdf", icon=":material/picture_as_pdf:", on_click="ignore")
d1.download_button(_("Download Markdown"), pub.markdown, file_name="retro-summary.md", mime="text/markdown",
                   key="dl_md", icon=":material/download:")
d2.download_button(_("Download JSON"), to_json(s), file_name="retro-summary.json", mime="application/json",
                   key="dl_json", icon=":material/download:")
d3.download_button(_("Download actions (CSV)"), actions_csv(s), file_name="retro-actions.csv", mime="text/csv",
                   key="dl_csv", icon=":material/download:")
