"""The trust-gap board: fears no commitment answers, across teams; owners answer
them; a drafted register is checked against them before it is saved.

Built from published summaries only: labels and paraphrased summaries, never a card."""

import csv
import datetime as dt
import io

import streamlit as st

from app_ui.common import approver, has_role, login_required, md, role_gate, runner, service, show_new_key
from facilitator.errors import FacilitatorError
from facilitator.i18n import N_, _, ngettext
from facilitator.inputs.register import parse_register
from facilitator.publishing.charts import STATUS_WORDS, fears_by_month_chart, open_by_age_chart
from facilitator.publishing.gaps import ANSWER_WORDS, NO_COMMITMENT, WHAT_IF_BUCKETS
from facilitator.publishing.summary import status_count
from facilitator.text import capitalised

svc = service()
st.title(_("Trust gaps"))
st.caption(
    _("Worries that no commitment answers in full, from every team's published summaries. A group shows on its own "
      "only when at least k people raised it overall; no card is ever shown here.")
)
if login_required():
    st.stop()
show_new_key("owner")
if not has_role("admin") and not role_gate(svc, "owner", key="gaps_gate"):
    st.stop()

board = svc.gap_board()
registers = svc.registers()


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    if rows:
        w = csv.DictWriter(out, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return out.getvalue()


def _themes(n: int) -> str:
    return ngettext("{n} theme", "{n} themes", n).format(n=n)


def _statuses(counts) -> str:
    """``2 trust gaps, 1 partly covered``: a group's themes by coverage status."""
    return ", ".join(status_count(s, v) for s, v in counts.most_common())


def _answer_word(kind: str) -> str:
    return capitalised(_(ANSWER_WORDS[kind]))


# The trend tables' columns (the CSV's field names) and the headers shown for them.
HEADERS = {"month": N_("month"), "raised": N_("raised"), "covered": N_("covered"), "partial": N_("partial"),
           "needs_review": N_("needs_review"), "uncovered": N_("uncovered"), "age": N_("age"),
           "open gaps": N_("open gaps"), "owner role": N_("owner role"), "answers": N_("answers"),
           "median days": N_("median days"), "longest days": N_("longest days")}


def _table(rows: list[dict]) -> None:
    st.dataframe(rows, hide_index=True, column_config={k: _(v) for k, v in HEADERS.items() if rows and k in rows[0]})


m1, m2, m3 = st.columns(3)
m1.metric(_("Open gaps"), board.open_gaps)
m2.metric(_("Groups"), len(board.groups))
m3.metric(_("Answered groups"), sum(1 for g in board.groups if g.answer is not None))

tab_open, tab_trends, tab_whatif = st.tabs([_("Gaps"), _("Trends"), _("What if we change the register?")])

with tab_open:
    if not board.groups and not board.other_items:
        st.info(_("No open trust gaps: every published worry is answered by a commitment, or nothing is published "
                  "yet."))
    for n, g in enumerate(board.groups):
        about = f"{md(g.commitment_id)} {md(g.commitment_title)}".strip() if g.commitment_id else _("No commitment")
        with st.container(border=True):
            st.markdown(_("**{label}** · related commitment: {about}").format(label=md(g.items[0].label), about=about))
            st.caption(
                _("{themes} ({statuses}) from {teams}, {people}; first published {date}").format(
                    themes=_themes(len(g.items)), statuses=_statuses(g.statuses),
                    teams=ngettext("{n} team", "{n} teams", g.teams).format(n=g.teams),
                    people=ngettext("at least {n} person", "at least {n} people", g.people).format(n=g.people),
                    date=f"{g.first_seen:%Y-%m-%d}")
                + (" · " + _("a related commitment is past its review date") if any(i.overdue for i in g.items) else "")
            )
            st.dataframe(
                [{_("team"): i.team, _("published"): i.published_on.isoformat(), _("theme"): i.label,
                  _("summary"): i.summary, _("status"): _(STATUS_WORDS[i.status])} for i in g.items],
                hide_index=True,
            )
            if g.answer is not None:
                st.success(
                    _("{answer} by {owner} on {date}: {text}").format(
                        answer=_answer_word(g.answer.kind), owner=md(g.answer.owner_role),
                        date=f"{g.answer.answered_on:%Y-%m-%d}", text=md(g.answer.text))
                    + (" " + _("(register version {version})").format(version=md(g.answer.register_version))
                       if g.answer.register_version else "")
                )
                if g.open_items():
                    st.warning(ngettext("{n} theme published since the answer.", "{n} themes published since the answer.",
                                        len(g.open_items())).format(n=len(g.open_items())))
            with st.expander(_("Answer this group") if g.answer is None else _("Answer again")):
                with st.form(f"answer:{n}"):
                    kind = st.radio(_("Answer"), list(ANSWER_WORDS), format_func=_answer_word,
                                    key=f"kind:{n}", horizontal=True)
                    text = st.text_area(_("What the teams will read (for '{will_not}': the reason)").format(
                                            will_not=_(ANSWER_WORDS["will_not_promise"])),
                                        key=f"text:{n}")
                    version = st.selectbox(
                        _("Register version with the new or changed commitment (for '{with_commitment}')").format(
                            with_commitment=_(ANSWER_WORDS["commitment"])),
                        [None] + [r.id for r in registers],
                        format_func=lambda rid: "—" if rid is None else next(
                            f"{r.name} {r.version}" for r in registers if r.id == rid),
                        key=f"version:{n}",
                    )
                    role = st.text_input(_("Your role"), value=_("Commitment owner"), key=f"role:{n}")
                    if st.form_submit_button(_("Save the answer"), type="primary"):
                        try:
                            svc.answer_gaps(g.commitment_id or NO_COMMITMENT, g.topic, kind=kind, text=text,
                                            owner_role=role, register_id=version)
                        except FacilitatorError as e:
                            st.error(str(e))
                        else:
                            st.rerun()
    if board.other_items:
        st.caption(
            _("Other: {themes} ({statuses}) in groups raised by fewer than {k} people overall; counted, not shown, "
              "so that nobody can be singled out.").format(
                themes=_themes(board.other_items), statuses=_statuses(board.other_statuses), k=board.k)
        )

with tab_trends:
    st.altair_chart(fears_by_month_chart(board.fears_by_month))
    with st.expander(_("Fears per month as a table")):
        _table(board.fears_by_month)
    st.download_button(_("Download fears per month (CSV)"), _csv(board.fears_by_month), file_name="fears-by-month.csv",
                       mime="text/csv", key="dl_months")
    st.altair_chart(open_by_age_chart(board.open_by_age))
    with st.expander(_("Open gaps by age as a table")):
        _table([{**r, "age": _(r["age"])} for r in board.open_by_age])
    st.download_button(_("Download open gaps by age (CSV)"), _csv(board.open_by_age),
                       file_name="open-gaps-by-age.csv", mime="text/csv", key="dl_age")
    st.markdown(_("**Time from the first published gap to the answer, per owner role**"))
    if board.answer_times:
        _table(board.answer_times)
        st.download_button(_("Download answer times (CSV)"), _csv(board.answer_times), file_name="answer-times.csv",
                           mime="text/csv", key="dl_times")
    else:
        st.caption(_("No answers yet."))

with tab_whatif:
    st.caption(_("Paste or edit a draft register. It is checked against the open groups with the same coverage "
                 "engine as the analysis, and nothing is saved here: save it on the Commitments page."))
    base = svc.register_raw(registers[0].id) if registers else ""
    fmt = "md" if not registers or registers[0].filename.lower().endswith((".md", ".markdown")) else "json"
    draft_text = st.text_area(_("Draft register"), value=base, height=260, key="draft")
    if st.button(_("Check the draft"), key="check_draft") and draft_text.strip():
        try:
            draft = parse_register(draft_text, f"draft.{fmt}")
            with st.spinner(_("Checking the open gaps against the draft…")):
                changes = svc.what_if(runner(), draft, [g for g in board.groups if g.open_items()])
        except FacilitatorError as e:
            st.error(str(e))
        else:
            for bucket in WHAT_IF_BUCKETS:
                found = changes[bucket]
                groups = ngettext("{n} group", "{n} groups", len(found)).format(n=len(found))
                st.markdown(f"**{capitalised(_(bucket))}**: {groups}")
                for w in found:
                    cands = ", ".join(w.candidates) or _("none")
                    st.markdown("- " + _("{label} (now related: {candidates})").format(
                        label=md(w.group.items[0].label), candidates=md(cands)))
    st.caption(_("Checked on {date}. Approving a register version records {approver}.").format(
        date=f"{dt.date.today():%Y-%m-%d}", approver=repr(approver())))
