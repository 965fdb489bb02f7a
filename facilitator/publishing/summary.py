"""The Markdown summary: themes, coverage with quotes, trust gaps, actions.

No card text appears here: themes are described by their labels and
summaries, fears are paraphrased, nothing is attributed. Everything that came
from a card or a model is scrubbed and escaped, so it renders as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from facilitator.i18n import N_, _, ngettext
from facilitator.models import Analysis, Register
from facilitator.scrub import safe_markdown_text

# Marked for the catalogue; shown through _() (facilitator.i18n), in the locale in force when published.
STATUS_WORDS = {
    "covered": N_("Covered"),
    "partial": N_("Partly covered"),
    "uncovered": N_("Trust gap"),
    "needs_review": N_("Needs review: not yet checked against the register"),
}
# A theme's and an action's kind as the summary, the PDF and the publish flags name it.
KIND_NAMES = {"flaw": N_("flaw"), "fear": N_("fear"), "positive": N_("positive"), "other": N_("other")}
ACTION_KIND_NAMES = {"fix": N_("fix"), "reassure": N_("reassure"), "escalate": N_("escalate")}


def kind_name(kind: str) -> str:
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def action_kind_name(kind: str) -> str:
    return _(ACTION_KIND_NAMES[kind]) if kind in ACTION_KIND_NAMES else kind


def status_count(status: str, n: int) -> str:
    """``2 trust gaps``: how many fears have one coverage status, in the words every
    view uses (the summary, its PDF, the publish preview, the trust-gap board)."""
    if status == "uncovered":
        return ngettext("{n} trust gap", "{n} trust gaps", n).format(n=n)
    if status == "partial":
        return ngettext("{n} partly covered", "{n} partly covered", n).format(n=n)
    if status == "needs_review":
        return ngettext("{n} needs review", "{n} need review", n).format(n=n)
    if status == "covered":
        return ngettext("{n} covered", "{n} covered", n).format(n=n)
    return f"{n} {status}"


def merged_parts(statuses: Mapping[str, int]) -> str:
    """``2 trust gaps, 1 partly covered``: the open fears merged or withheld for anonymity."""
    return ", ".join(status_count(s, n) for s, n in statuses.items())


def render_markdown(
    analysis: Analysis,
    *,
    title: str | None = None,
    register: Register | None = None,
    roster: Sequence[str] = (),
    fear_statuses: Mapping[str, int] | None = None,
    merged_fear_statuses: Mapping[str, int] | None = None,
) -> str:
    """``fear_statuses`` counts every fear of the retro, merged or withheld ones
    included (a published summary passes it); by default the analysis's own."""
    def esc(text: str) -> str:
        return safe_markdown_text(text, roster)

    themes = {t.id: t for t in analysis.themes}
    lines = ["# " + esc(title or _("Retrospective summary")), ""]
    counts = {k: sum(1 for t in analysis.themes if t.kind == k) for k in ("flaw", "fear", "positive", "other")}
    if fear_statuses is None:
        fear_statuses = {}
        for c in analysis.coverage:
            fear_statuses[c.status] = fear_statuses.get(c.status, 0) + 1
    merged = dict(merged_fear_statuses or {})
    n_gaps = fear_statuses.get("uncovered", 0)
    n_partial = fear_statuses.get("partial", 0)
    n_review = fear_statuses.get("needs_review", 0)
    gaps = [c for c in analysis.coverage if c.status != "covered"]
    open_fears = ngettext("{n} trust gap", "{n} trust gaps", n_gaps).format(n=n_gaps)
    if n_partial:
        open_fears += ", " + ngettext("{n} partly covered", "{n} partly covered", n_partial).format(n=n_partial)
    if n_review:
        open_fears += ", " + ngettext("{n} still to be checked against the register",
                                      "{n} still to be checked against the register", n_review).format(n=n_review)
    n_themes = len(analysis.themes)
    lines += [
        _("{themes}: {flaws}, {fears}, {positives}, {others}. {open_fears}.").format(
            themes=ngettext("{n} theme", "{n} themes", n_themes).format(n=n_themes),
            flaws=ngettext("{n} process flaw", "{n} process flaws", counts["flaw"]).format(n=counts["flaw"]),
            fears=ngettext("{n} fear", "{n} fears", counts["fear"]).format(n=counts["fear"]),
            positives=ngettext("{n} positive", "{n} positives", counts["positive"]).format(n=counts["positive"]),
            others=ngettext("{n} other", "{n} other", counts["other"]).format(n=counts["other"]),
            open_fears=open_fears,
        ),
        "",
        "## " + _("Themes"),
        "",
        "| " + " | ".join((_("Theme"), _("Kind"), _("Cards"))) + " |",
        "|---|---|---|",
    ]
    for t in analysis.themes:
        lines.append(f"| {esc(t.label)} | {kind_name(t.kind)} | {len(t.card_ids)} |")
    lines.append("")
    for t in analysis.themes:
        if t.summary:
            lines += [f"- **{esc(t.label)}**: {esc(t.summary)}"]
    lines += ["", "## " + _("Fears and the commitments that answer them"), ""]
    if not analysis.coverage:
        lines += [_("No fears were raised."), ""]
    for cov in analysis.coverage:
        t = themes.get(cov.theme_id)
        label = esc(t.label) if t else cov.theme_id
        lines += [f"### {label}: {_(STATUS_WORDS[cov.status])}", ""]
        if t and t.summary:
            lines += [esc(t.summary), ""]
        for q in cov.quotes:
            name = ""
            if register and (c := register.get(q.commitment_id)):
                name = f" ({esc(c.title)})"
            lines += [f"> {esc(q.text)}", ">", f"> {esc(q.commitment_id)}{name}", ""]
        if cov.rationale:
            lines += ["*" + _("Why:") + "* " + esc(cov.rationale), ""]
    lines += ["## " + _("Trust gaps"), ""]
    what = {
        "uncovered": _("no commitment in the register answers this."),
        "partial": _("a commitment answers only part of this; the rest is a gap."),
        "needs_review": _("not yet checked: whether a commitment answers this is open."),
    }
    for cov in gaps:
        if cov.theme_id in themes and themes[cov.theme_id].id.startswith("other-"):
            continue  # the merged bucket is counted below, not listed as one gap
        t = themes.get(cov.theme_id)
        lines.append(f"- {esc(t.label) if t else cov.theme_id}: {what[cov.status]}")
    open_merged = {s: n for s, n in merged.items() if s != "covered" and n}
    if open_merged:
        lines.append("- " + _("Among the smaller worries merged or withheld for anonymity: {parts}").format(
            parts=merged_parts(open_merged)) + ".")
    total_fears = sum(fear_statuses.values())
    if total_fears == 0:
        lines.append(_("No fears were raised."))
    elif fear_statuses.get("covered", 0) == total_fears:
        lines.append(_("None: every fear raised ({total}) is answered in full by a commitment.").format(total=total_fears))
    elif not gaps and not open_merged:
        lines.append(_("None listed here; see the counts above."))
    heads = " | ".join(_(h) for h in (N_("Action"), N_("Kind"), N_("Owner"), N_("Due"), N_("Themes"), N_("Commitments")))
    lines += ["", "## " + _("Actions"), "", f"| {heads} |", "|---|---|---|---|---|---|"]
    for a in analysis.actions:
        tl = ", ".join(esc(themes[x].label) if x in themes else x for x in a.theme_ids)
        lines.append(
            f"| {esc(a.title)} | {action_kind_name(a.kind)} | {esc(a.owner_role)} | {a.due.isoformat()} | {tl} | "
            f"{', '.join(esc(c) for c in a.commitment_ids) or '-'} |"
        )
    meta = analysis.meta
    note = _("Analysed by the {engine} engine ({model}).").format(engine=meta.engine, model=esc(meta.model))
    if meta.fallback_reason:
        note += " " + _("The model engine failed and the offline engine was used: {reason}").format(
            reason=esc(meta.fallback_reason))
    lines += ["", f"_{note}_", ""]
    return "\n".join(lines)
