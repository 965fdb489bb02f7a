"""The Markdown summary: themes, coverage with quotes, trust gaps, actions.

No card text appears here: themes are described by their labels and
summaries, fears are paraphrased, nothing is attributed. Everything that came
from a card or a model is scrubbed and escaped, so it renders as text.
"""

from __future__ import annotations

from collections.abc import Sequence

from .models import Analysis, Register
from .scrub import safe_markdown_text

STATUS_WORDS = {"covered": "Covered", "partial": "Partly covered", "uncovered": "Trust gap"}


def render_markdown(
    analysis: Analysis,
    *,
    title: str | None = None,
    register: Register | None = None,
    roster: Sequence[str] = (),
) -> str:
    def esc(text: str) -> str:
        return safe_markdown_text(text, roster)

    themes = {t.id: t for t in analysis.themes}
    lines = [f"# {esc(title or 'Retrospective summary')}", ""]
    counts = {k: sum(1 for t in analysis.themes if t.kind == k) for k in ("flaw", "fear", "positive", "other")}
    gaps = [c for c in analysis.coverage if c.status == "uncovered"]
    lines += [
        f"{_n(len(analysis.themes), 'theme')}: {_n(counts['flaw'], 'process flaw')}, {_n(counts['fear'], 'fear')}, "
        f"{_n(counts['positive'], 'positive')}, {counts['other']} other. {_n(len(gaps), 'trust gap')}.",
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
    if gaps:
        for cov in gaps:
            t = themes.get(cov.theme_id)
            lines.append(f"- {esc(t.label) if t else cov.theme_id}: no commitment in the register answers this.")
    else:
        lines.append("None: every fear raised is answered, at least in part, by a commitment.")
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
