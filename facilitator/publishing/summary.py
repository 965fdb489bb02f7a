"""The Markdown summary: themes, coverage with quotes, trust gaps, actions.

No card text appears here: themes are described by their labels and
summaries, fears are paraphrased, nothing is attributed. Everything that came
from a card or a model is scrubbed and escaped, so it renders as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from facilitator.models import Analysis, Register
from facilitator.scrub import safe_markdown_text

STATUS_WORDS = {
    "covered": "Covered",
    "partial": "Partly covered",
    "uncovered": "Trust gap",
    "needs_review": "Needs review: not yet checked against the register",
}


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
    lines = [f"# {esc(title or 'Retrospective summary')}", ""]
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
    lines += [
        f"{_n(len(analysis.themes), 'theme')}: {_n(counts['flaw'], 'process flaw')}, {_n(counts['fear'], 'fear')}, "
        f"{_n(counts['positive'], 'positive')}, {counts['other']} other. {_n(n_gaps, 'trust gap')}"
        + (f", {n_partial} partly covered" if n_partial else "")
        + (f", {n_review} still to be checked against the register" if n_review else "")
        + ".",
        "",
        "## Themes",
        "",
        "| Theme | Kind | Cards |",
        "|---|---|---|",
    ]
    for t in analysis.themes:
        lines.append(f"| {esc(t.label)} | {t.kind} | {len(t.card_ids)} |")
    lines.append("")
    for t in analysis.themes:
        if t.summary:
            lines += [f"- **{esc(t.label)}**: {esc(t.summary)}"]
    lines += ["", "## Fears and the commitments that answer them", ""]
    if not analysis.coverage:
        lines += ["No fears were raised.", ""]
    for cov in analysis.coverage:
        t = themes.get(cov.theme_id)
        label = esc(t.label) if t else cov.theme_id
        lines += [f"### {label}: {STATUS_WORDS[cov.status]}", ""]
        if t and t.summary:
            lines += [esc(t.summary), ""]
        for q in cov.quotes:
            name = ""
            if register and (c := register.get(q.commitment_id)):
                name = f" ({esc(c.title)})"
            lines += [f"> {esc(q.text)}", ">", f"> {esc(q.commitment_id)}{name}", ""]
        if cov.rationale:
            lines += [f"*Why:* {esc(cov.rationale)}", ""]
    lines += ["## Trust gaps", ""]
    what = {
        "uncovered": "no commitment in the register answers this.",
        "partial": "a commitment answers only part of this; the rest is a gap.",
        "needs_review": "not yet checked: whether a commitment answers this is open.",
    }
    for cov in gaps:
        if cov.theme_id in themes and themes[cov.theme_id].id.startswith("other-"):
            continue  # the merged bucket is counted below, not listed as one gap
        t = themes.get(cov.theme_id)
        lines.append(f"- {esc(t.label) if t else cov.theme_id}: {what[cov.status]}")
    open_merged = {s: n for s, n in merged.items() if s != "covered" and n}
    if open_merged:
        parts = ", ".join(f"{n} {'trust gap' if s == 'uncovered' else STATUS_WORDS[s].split(':')[0].lower()}"
                          for s, n in open_merged.items())
        lines.append(f"- Among the smaller worries merged or withheld for anonymity: {parts}.")
    total_fears = sum(fear_statuses.values())
    if total_fears == 0:
        lines.append("No fears were raised.")
    elif fear_statuses.get("covered", 0) == total_fears:
        lines.append(f"None: every fear raised ({total_fears}) is answered in full by a commitment.")
    elif not gaps and not open_merged:
        lines.append("None listed here; see the counts above.")
    lines += ["", "## Actions", "", "| Action | Kind | Owner | Due | Themes | Commitments |", "|---|---|---|---|---|---|"]
    for a in analysis.actions:
        tl = ", ".join(esc(themes[x].label) if x in themes else x for x in a.theme_ids)
        lines.append(
            f"| {esc(a.title)} | {a.kind} | {esc(a.owner_role)} | {a.due.isoformat()} | {tl} | "
            f"{', '.join(esc(c) for c in a.commitment_ids) or '-'} |"
        )
    meta = analysis.meta
    note = f"Analysed by the {meta.engine} engine ({esc(meta.model)})."
    if meta.fallback_reason:
        note += f" The model engine failed and the offline engine was used: {esc(meta.fallback_reason)}"
    lines += ["", f"_{note}_", ""]
    return "\n".join(lines)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
