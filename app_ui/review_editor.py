"""The review editor (used by the console and the review page): themes, the
facilitator's coverage verdicts, cards the model took out of the fears, actions."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app_ui.common import candidates_panel, md, runner
from facilitator.service import review
from facilitator.errors import FacilitatorError
from facilitator.i18n import N_, _, ngettext
from facilitator.publishing.summary import action_kind_name, kind_name
from facilitator.models import KINDS
from facilitator.service.retros import Retro, RetroService

ACTION_KINDS = ("fix", "reassure", "escalate")
# Marked for the catalogue; shown through _() (facilitator.i18n).
# A theme's and an action's kind as the facilitator's screens show it (the stored word, in English).
STATUS_BADGE = {"covered": N_(":green-badge[covered]"), "partial": N_(":orange-badge[partial]"),
                "uncovered": N_(":red-badge[trust gap]"), "needs_review": N_(":blue-badge[needs review]")}
STATUSES = ("needs_review", "covered", "partial", "uncovered")
STATUS_CHOICE = {"needs_review": N_("Needs review"), "covered": N_("Covered"), "partial": N_("Partly covered"),
                 "uncovered": N_("Trust gap: nothing answers it")}


def _apply(svc: RetroService, retro: Retro, edit, *args, **kwargs) -> None:
    try:
        svc.edit_analysis(retro.id, edit, *args, **kwargs)
    except FacilitatorError as e:
        st.session_state["review_error"] = str(e)


def review_editor(svc: RetroService, retro: Retro) -> None:
    state = svc.analysis(retro.id)
    a = state.current
    if a is None:
        st.info(_("No analysis yet: run it first."))
        return
    cards = {c.id: c for c in svc.revealed_cards(retro.id)}

    def card_label(cid: str) -> str:
        c = cards.get(cid)
        text = c.text if c else cid
        return text if len(text) <= 90 else text[:89] + "…"

    st.subheader(_("Review the analysis"))
    st.caption(
        _("The analysis is a suggestion. Rename, re-kind, merge, split and move cards until it says what the room "
          "said.")
        + " " + (_("You have edited it.") if state.edited else _("Unedited: this is the engine's original."))
    )
    if err := st.session_state.pop("review_error", None):
        st.warning(err)

    c1, c2, c3 = st.columns([1.2, 1.2, 1])
    keep = c2.checkbox(_("Keep my edits when re-running"), key="keep_edits", value=False,
                       help=_("Off: the new analysis replaces your edits. On: your edited version stays; "
                              "the new result becomes the 'original' you can restore."))
    if c1.button(_("Re-run the analysis"), key="rerun_analysis", icon=":material/refresh:"):
        try:
            runner().start(svc, retro.id, keep_edits=keep)
        except FacilitatorError as e:
            st.warning(str(e))
        st.rerun()
    if state.edited:
        # Restoring discards every edit: it asks first.
        with c3.popover(_("Restore the original"), icon=":material/undo:"):
            st.caption(_("This discards every edit you made to the analysis."))
            if st.button(_("Discard my edits and restore"), key="restore", type="primary"):
                svc.restore_original(retro.id)
                st.rerun()

    theme_ids = [t.id for t in a.themes]
    labels = {t.id: t.label for t in a.themes}
    cov = {c.theme_id: c for c in a.coverage}
    register = svc.register_info(retro.register_id).register if retro.register_id else None

    if a.meta.reclassified:
        with st.container(border=True):
            n = len(a.meta.reclassified)
            took = ngettext("The model took {n} card out of the fears.",
                            "The model took {n} cards out of the fears.", n).format(n=n)
            st.markdown(f"**{took}** " + _("Check each; Restore puts it back among the worries."))
            for r in a.meta.reclassified:
                c1, c2 = st.columns([5, 1])
                c1.text(f"“{card_label(r.card_id)}” → {kind_name(r.to_kind)}: {r.reason}")
                if c2.button(_("Restore"), key=f"restore_fear:{r.card_id}"):
                    _apply(svc, retro, review.restore_fear, r.card_id)
                    st.rerun()

    fears_now = {cid for t in a.themes if t.kind == "fear" for cid in t.card_ids}
    maybe = [cid for cid in a.meta.may_be_fears if cid not in fears_now]
    if maybe:
        with st.container(border=True):
            st.markdown("**" + ngettext("{n} card mentions a worry but was kept out of the fears.",
                                        "{n} cards mention a worry but were kept out of the fears.",
                                        len(maybe)).format(n=len(maybe)) + "** "
                        + _("Check each: a hidden worry costs more than a second look. "
                            "Make it a worry moves the card into a worry of its own."))
            for cid in maybe:
                c1, c2 = st.columns([5, 1])
                c1.text(f"“{card_label(cid)}”")
                if c2.button(_("Make it a worry"), key=f"mark_fear:{cid}"):
                    _apply(svc, retro, review.mark_fear, cid)
                    st.rerun()

    tab_themes, tab_actions, tab_merge = st.tabs([_("Themes"), _("Actions ({n})").format(n=len(a.actions)),
                                                   _("Merge themes")])
    with tab_themes:
        for t in a.themes:
            with st.container(border=True):
                n = len(t.card_ids)
                head = f"**{md(t.label)}** · {kind_name(t.kind)} · " + ngettext("{n} card", "{n} cards", n).format(n=n)
                if t.id in cov:
                    head += " · " + _(STATUS_BADGE[cov[t.id].status])
                st.markdown(head)
                for cid in t.card_ids:
                    st.text("• " + card_label(cid))
                if t.id in cov:
                    c = cov[t.id]
                    for q in c.quotes:
                        st.caption(f"{md(q.commitment_id)}: “{md(q.text)}”")
                    if c.set_by == "facilitator":
                        st.caption(_("Coverage set by you."))
                    candidates_panel(c.candidates, c.status)
                    if register is not None:
                        _coverage_form(svc, retro, t.id, c, register)
                with st.expander(_("Edit this theme")):
                    with st.form(f"theme:{t.id}"):
                        new_label = st.text_input(_("Label"), value=t.label, key=f"label:{t.id}")
                        new_kind = st.selectbox(_("Kind"), KINDS, index=KINDS.index(t.kind), format_func=kind_name,
                                                key=f"kind:{t.id}")
                        new_summary = st.text_area(_("Summary"), value=t.summary, key=f"summary:{t.id}")
                        if st.form_submit_button(_("Save theme")):
                            if new_label != t.label:
                                _apply(svc, retro, review.rename_theme, t.id, new_label)
                            if new_summary != t.summary:
                                _apply(svc, retro, review.set_summary, t.id, new_summary)
                            if new_kind != t.kind:
                                _apply(svc, retro, review.set_kind, t.id, new_kind)
                            st.rerun()
                    with st.form(f"cards:{t.id}"):
                        picked = st.multiselect(_("Cards"), t.card_ids, format_func=card_label, key=f"pick:{t.id}")
                        others = [x for x in theme_ids if x != t.id]
                        target = st.selectbox(_("Move them to"), others, format_func=lambda x: labels[x],
                                              key=f"target:{t.id}") if others else None
                        split_label = st.text_input(_("…or split them into a new theme called"), key=f"split:{t.id}")
                        m, s_ = st.columns(2)
                        move = m.form_submit_button(_("Move cards"))
                        split = s_.form_submit_button(_("Split into new theme"))
                        if move and picked and target:
                            _apply(svc, retro, review.move_cards, picked, target)
                            st.rerun()
                        if split and picked:
                            _apply(svc, retro, review.split_theme, t.id, picked, split_label)
                            st.rerun()

    with tab_merge:
        with st.form("merge"):
            into = st.selectbox(_("Keep this theme"), theme_ids, format_func=lambda x: labels[x], key="merge_into")
            others = st.multiselect(_("…and merge these into it"), theme_ids, format_func=lambda x: labels[x], key="merge_others")
            if st.form_submit_button(_("Merge")):
                _apply(svc, retro, review.merge_themes, into, others)
                st.rerun()

    with tab_actions:
        for x in a.actions:
            with st.expander(_("{title} — {owner}, due {due}").format(
                    title=md(x.title), owner=md(x.owner_role), due=x.due.isoformat())):
                _action_form(svc, retro, theme_ids, labels, x)
        st.markdown("**" + _("Add an action") + "**")
        _action_form(svc, retro, theme_ids, labels, None)


def _action_form(svc, retro, theme_ids, labels, x) -> None:
    key = x.id if x else "new"
    with st.form(f"action:{key}", clear_on_submit=x is None):
        title = st.text_input(_("What will be done"), value=x.title if x else "", key=f"a_title:{key}")
        c1, c2, c3 = st.columns(3)
        kind = c1.selectbox(_("Kind"), ACTION_KINDS, index=ACTION_KINDS.index(x.kind) if x else 0,
                            format_func=action_kind_name, key=f"a_kind:{key}")
        owner = c2.text_input(_("Owner role"), value=x.owner_role if x else _("Team"), key=f"a_owner:{key}",
                              help=_("A role, not a person's name."))
        due = c3.date_input(_("Due"), value=x.due if x else dt.date.today() + dt.timedelta(14), key=f"a_due:{key}")
        themes = st.multiselect(_("Themes"), theme_ids, default=[t for t in (x.theme_ids if x else []) if t in theme_ids],
                                format_func=lambda t: labels[t], key=f"a_themes:{key}")
        b1, b2 = st.columns(2)
        save = b1.form_submit_button(_("Save action") if x else _("Add action"))
        remove = b2.form_submit_button(_("Remove action")) if x else False
    if save:
        _apply(svc, retro, review.upsert_action, action_id=x.id if x else None, title=title, kind=kind,
               owner_role=owner, due=due, theme_ids=themes)
        st.rerun()
    if remove:
        _apply(svc, retro, review.remove_action, x.id)
        st.rerun()


def _coverage_form(svc, retro, theme_id, c, register) -> None:
    today = svc.today()
    from facilitator.inputs.register import health

    in_force = [x.id for x in register.commitments if health(x, today).usable]
    suggested = [x.commitment_id for x in c.candidates if x.commitment_id in in_force]
    options = suggested + [x for x in in_force if x not in suggested]
    with st.expander(_("Decide the coverage")):
        with st.form(f"coverage:{theme_id}"):
            status = st.selectbox(_("Status"), STATUSES, index=STATUSES.index(c.status),
                                  format_func=lambda s: _(STATUS_CHOICE[s]), key=f"cov_status:{theme_id}")
            chosen = st.multiselect(_("Commitments that answer it"), options,
                                    default=[x for x in c.commitment_ids if x in options],
                                    format_func=lambda x: f"{x} {register.get(x).title}", key=f"cov_ids:{theme_id}")
            # A form does not rerun until submitted: offer the clauses of every suggested or cited commitment.
            offered = list(dict.fromkeys(suggested + [x for x in c.commitment_ids if x in in_force]))
            clause_options = [(cid, cl) for cid in offered for cl in _clauses(register, cid)]
            current = [(q.commitment_id, q.text) for q in c.quotes if (q.commitment_id, q.text) in clause_options]
            quotes = st.multiselect(_("Clauses that answer it (from the commitments' own text)"), clause_options,
                                    default=current, format_func=lambda q: f"{q[0]}: {q[1]}", key=f"cov_quotes:{theme_id}")
            rationale = st.text_area(_("Why"), value=c.rationale, key=f"cov_why:{theme_id}")
            if st.form_submit_button(_("Save coverage")):
                _apply(svc, retro, review.set_coverage, theme_id, status=status, commitment_ids=chosen,
                       quotes=list(quotes), rationale=rationale, register=register, today=today)
                st.rerun()


def _clauses(register, cid: str) -> list[str]:
    from facilitator.text import clauses

    c = register.get(cid)
    return clauses(c.text) if c else []
