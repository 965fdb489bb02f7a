"""The trust-gap board: fears no commitment answers, across teams; owners answer
them; a drafted register is checked against them before it is saved.

Built from published summaries only: labels and paraphrased summaries, never a card."""

import csv
import datetime as dt
import io

import streamlit as st

from app_ui.common import approver, has_role, login_required, md, role_gate, runner, service, show_new_key
from facilitator.errors import FacilitatorError
from facilitator.inputs.register import parse_register
from facilitator.publishing.charts import STATUS_WORDS, fears_by_month_chart, open_by_age_chart
from facilitator.publishing.gaps import ANSWER_WORDS, NO_COMMITMENT, WHAT_IF_BUCKETS

svc = service()
st.title("Trust gaps")
st.caption(
    "Worries that no commitment answers in full, from every team's published summaries. A group shows on its own "
    "only when at least k people raised it overall; no card is ever shown here."
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


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


m1, m2, m3 = st.columns(3)
m1.metric("Open gaps", board.open_gaps)
m2.metric("Groups", len(board.groups))
m3.metric("Answered groups", sum(1 for g in board.groups if g.answer is not None))

tab_open, tab_trends, tab_whatif = st.tabs(["Gaps", "Trends", "What if we change the register?"])

with tab_open:
    if not board.groups and not board.other_items:
        st.info("No open trust gaps: every published worry is answered by a commitment, or nothing is published yet.")
    for n, g in enumerate(board.groups):
        about = f"{md(g.commitment_id)} {md(g.commitment_title)}".strip() if g.commitment_id else "No commitment"
        statuses = ", ".join(f"{v} {STATUS_WORDS[s]}" for s, v in g.statuses.most_common())
        with st.container(border=True):
            st.markdown(f"**{md(g.items[0].label)}** · related commitment: {about}")
            st.caption(
                f"{_plural(len(g.items), 'theme')} ({statuses}) from {_plural(g.teams, 'team')}, "
                f"at least {g.people} people; first published {g.first_seen:%Y-%m-%d}"
                + (" · a related commitment is past its review date" if any(i.overdue for i in g.items) else "")
            )
            st.dataframe(
                [{"team": i.team, "published": i.published_on.isoformat(), "theme": i.label, "summary": i.summary,
                  "status": STATUS_WORDS[i.status]} for i in g.items],
                hide_index=True,
            )
            if g.answer is not None:
                st.success(
                    f"{ANSWER_WORDS[g.answer.kind].capitalize()} by {md(g.answer.owner_role)} on "
                    f"{g.answer.answered_on:%Y-%m-%d}: {md(g.answer.text)}"
                    + (f" (register version {md(g.answer.register_version)})" if g.answer.register_version else "")
                )
                if g.open_items():
                    st.warning(f"{_plural(len(g.open_items()), 'theme')} published since the answer.")
            with st.expander("Answer this group" if g.answer is None else "Answer again"):
                with st.form(f"answer:{n}"):
                    kind = st.radio("Answer", list(ANSWER_WORDS), format_func=lambda k: ANSWER_WORDS[k].capitalize(),
                                    key=f"kind:{n}", horizontal=True)
                    text = st.text_area("What the teams will read (for 'not something we will promise': the reason)",
                                        key=f"text:{n}")
                    version = st.selectbox(
                        "Register version with the new or changed commitment (for 'answered with a commitment')",
                        [None] + [r.id for r in registers],
                        format_func=lambda rid: "—" if rid is None else next(
                            f"{r.name} {r.version}" for r in registers if r.id == rid),
                        key=f"version:{n}",
                    )
                    role = st.text_input("Your role", value="Commitment owner", key=f"role:{n}")
                    if st.form_submit_button("Save the answer", type="primary"):
                        try:
                            svc.answer_gaps(g.commitment_id or NO_COMMITMENT, g.topic, kind=kind, text=text,
                                            owner_role=role, register_id=version)
                        except FacilitatorError as e:
                            st.error(str(e))
                        else:
                            st.rerun()
    if board.other_items:
        statuses = ", ".join(f"{v} {STATUS_WORDS[s]}" for s, v in board.other_statuses.most_common())
        st.caption(
            f"Other: {_plural(board.other_items, 'theme')} ({statuses}) in groups raised by fewer than {board.k} "
            "people overall; counted, not shown, so that nobody can be singled out."
        )

with tab_trends:
    st.altair_chart(fears_by_month_chart(board.fears_by_month))
    with st.expander("Fears per month as a table"):
        st.dataframe(board.fears_by_month, hide_index=True)
    st.download_button("Download fears per month (CSV)", _csv(board.fears_by_month), file_name="fears-by-month.csv",
                       mime="text/csv", key="dl_months")
    st.altair_chart(open_by_age_chart(board.open_by_age))
    with st.expander("Open gaps by age as a table"):
        st.dataframe(board.open_by_age, hide_index=True)
    st.download_button("Download open gaps by age (CSV)", _csv(board.open_by_age), file_name="open-gaps-by-age.csv",
                       mime="text/csv", key="dl_age")
    st.markdown("**Time from the first published gap to the answer, per owner role**")
    if board.answer_times:
        st.dataframe(board.answer_times, hide_index=True)
        st.download_button("Download answer times (CSV)", _csv(board.answer_times), file_name="answer-times.csv",
                           mime="text/csv", key="dl_times")
    else:
        st.caption("No answers yet.")

with tab_whatif:
    st.caption("Paste or edit a draft register. It is checked against the open groups with the same coverage "
               "engine as the analysis, and nothing is saved here: save it on the Commitments page.")
    base = svc.register_raw(registers[0].id) if registers else ""
    fmt = "md" if not registers or registers[0].filename.lower().endswith((".md", ".markdown")) else "json"
    draft_text = st.text_area("Draft register", value=base, height=260, key="draft")
    if st.button("Check the draft", key="check_draft") and draft_text.strip():
        try:
            draft = parse_register(draft_text, f"draft.{fmt}")
            with st.spinner("Checking the open gaps against the draft…"):
                changes = svc.what_if(runner(), draft, [g for g in board.groups if g.open_items()])
        except FacilitatorError as e:
            st.error(str(e))
        else:
            for bucket in WHAT_IF_BUCKETS:
                found = changes[bucket]
                st.markdown(f"**{bucket.capitalize()}**: {_plural(len(found), 'group')}")
                for w in found:
                    cands = ", ".join(w.candidates) or "none"
                    st.markdown(f"- {md(w.group.items[0].label)} (now related: {md(cands)})")
    st.caption(f"Checked on {dt.date.today():%Y-%m-%d}. Approving a register version records {approver()!r}.")
