"""The exports of a published summary: Markdown, JSON, actions as CSV.

Produced from the published summary only; card text never appears in them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from facilitator.i18n import _, ngettext
from facilitator.models import Analysis, Register, Theme
from facilitator.publishing.preview import PublishedSummary
from facilitator.publishing.summary import render_markdown
from facilitator.scrub import safe_markdown_text


def to_markdown(summary: PublishedSummary, register: Register | None = None) -> str:
    md = render_markdown(
        summary.analysis, title=summary.title, register=register,
        fear_statuses=summary.fear_statuses, merged_fear_statuses=summary.merged_fear_statuses,
    )
    head, _sep, rest = md.partition("\n\n")
    writers = ngettext("{n} person wrote cards", "{n} people wrote cards", summary.contributors).format(
        n=summary.contributors)
    meta = _("Team {team}, published {date}; {writers} (anonymity threshold {k}).").format(
        team=_esc(summary.team), date=summary.published_on.isoformat(), writers=writers, k=summary.k)
    if summary.merged_themes:
        meta += " " + ngettext('{n} small theme merged into the "Other" groups.',
                               '{n} small themes merged into the "Other" groups.',
                               summary.merged_themes).format(n=summary.merged_themes)
    if summary.withheld_themes:
        meta += " " + ngettext("{n} small theme withheld: too few people to show it at all.",
                               "{n} small themes withheld: too few people to show them at all.",
                               summary.withheld_themes).format(n=summary.withheld_themes)
    out = f"{head}\n\n{meta}\n\n{rest}"
    if summary.votes:
        labels = {t.id: t.label for t in summary.analysis.themes}
        lines = ["", "## " + _("Votes"), "", "| " + _("Theme") + " | " + _("Dots") + " |", "|---|---|"]
        for tid, n in sorted(summary.votes.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {_esc(labels.get(tid, tid))} | {n} |")
        out = out.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    return out


def _esc(text: str) -> str:
    return safe_markdown_text(text)


def to_json(summary: PublishedSummary) -> str:
    return summary.model_dump_json(indent=2)


def actions_csv(summary: PublishedSummary) -> str:
    labels = {t.id: t.label for t in summary.analysis.themes}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "title", "kind", "owner_role", "due", "themes", "commitments"])
    for a in summary.analysis.actions:
        w.writerow(
            [
                a.id,
                _csv_safe(a.title),
                a.kind,
                _csv_safe(a.owner_role),
                a.due.isoformat(),
                _csv_safe("; ".join(labels.get(t, t) for t in a.theme_ids)),
                "; ".join(a.commitment_ids),
            ]
        )
    return buf.getvalue()


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ runs as a formula in spreadsheets (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def ordered_by_votes(summary_or_analysis: Analysis, votes: Mapping[str, int]) -> list[tuple[Theme, int]]:
    """Themes with their dots, most voted first (ties keep the analysis order)."""
    themes = list(summary_or_analysis.themes)
    return sorted(((t, int(votes.get(t.id, 0))) for t in themes), key=lambda tv: -tv[1])
