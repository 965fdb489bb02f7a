"""The two pictures of a retro (Altair): themes by size and kind, and how the
register covers the fears raised. Built from an (anonymised) analysis only.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from facilitator.i18n import N_, _
from facilitator.models import Analysis

KIND_COLOURS = {"flaw": "#e8833a", "fear": "#7b5ea7", "positive": "#3a9d5d", "other": "#9aa5b1"}
KIND_WORDS = {"flaw": N_("process flaw"), "fear": N_("fear"), "positive": N_("positive"), "other": N_("other")}
STATUS_COLOURS = {"covered": "#3a9d5d", "partial": "#e0b000", "needs review": "#5b7db8", "gap": "#d64545"}
# Keyed by status; the words (the keys of STATUS_COLOURS) are marked for the catalogue and shown through _().
STATUS_WORDS = {"covered": N_("covered"), "partial": N_("partial"), "needs_review": N_("needs review"),
                "uncovered": N_("gap")}


def themes_chart(analysis: Analysis, votes: Mapping[str, int] | None = None) -> alt.Chart:
    """Horizontal bars: one per theme, length = cards, colour = kind."""
    votes = votes or {}
    rows = [
        {
            "theme": t.label if len(t.label) <= 48 else t.label[:47] + "…",
            "cards": len(t.card_ids),
            "kind": _(KIND_WORDS[t.kind]),
            "dots": int(votes.get(t.id, 0)),
        }
        for t in analysis.themes
    ]
    kinds = [_(KIND_WORDS[k]) for k in KIND_COLOURS]
    return (
        alt.Chart(pd.DataFrame(rows, columns=["theme", "cards", "kind", "dots"]), title=_("Themes by size and kind"))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=alt.X("cards:Q", title=_("cards"), axis=alt.Axis(tickMinStep=1, format="d")),
            # Labels cut at 180 px (the tooltip and "The charts as tables" give them whole): on a
            # 390 px phone a wider label column pushed the bars and the legend off the screen.
            y=alt.Y("theme:N", sort="-x", title=None, axis=alt.Axis(labelLimit=180)),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=kinds, range=list(KIND_COLOURS.values())),
                legend=alt.Legend(orient="bottom", title=None, columns=2, labelLimit=100),
            ),
            tooltip=[alt.Tooltip("theme:N", title=_("theme")), alt.Tooltip("kind:N", title=_("kind")),
                     alt.Tooltip("cards:Q", title=_("cards")), alt.Tooltip("dots:Q", title=_("dots"))],
        )
        # A step height (not a fixed one): Streamlit fits fixed heights to the
        # container, which squashes the bars once the title and legend take their share.
        .properties(height=alt.Step(30))
    )


def coverage_chart(analysis: Analysis) -> alt.Chart:
    """One bar per status: how many fear themes are covered, partly covered, still to review, gaps."""
    counts = {k: 0 for k in STATUS_COLOURS}
    for c in analysis.coverage:
        counts[STATUS_WORDS[c.status]] += 1
    rows = [{"status": _(k), "fears": v} for k, v in counts.items()]
    statuses = [_(k) for k in STATUS_COLOURS]
    return (
        alt.Chart(pd.DataFrame(rows, columns=["status", "fears"]), title=_("Fears vs. commitments"))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=alt.X("fears:Q", title=_("fear themes"), axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("status:N", sort=statuses, title=None),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=statuses, range=list(STATUS_COLOURS.values())),
                legend=None,
            ),
            tooltip=[alt.Tooltip("status:N", title=_("status")), alt.Tooltip("fears:Q", title=_("fears"))],
        )
        .properties(height=alt.Step(30))
    )


# --- the trust-gap board (rows from facilitator.publishing.gaps) ----------------


def fears_by_month_chart(rows: list[dict]) -> alt.Chart:
    """Stacked bars per month: fears raised, by how the register answered them."""
    long = [
        {"month": r["month"], "status": _(STATUS_WORDS[s]), "fears": r[s]}
        for r in rows for s in ("covered", "partial", "needs_review", "uncovered")
    ]
    statuses = [_(k) for k in STATUS_COLOURS]
    return (
        alt.Chart(pd.DataFrame(long, columns=["month", "status", "fears"]), title=_("Fears raised per month"))
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("fears:Q", title=_("fear themes"), axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color("status:N", title=_("status"),
                            scale=alt.Scale(domain=statuses, range=list(STATUS_COLOURS.values()))),
            order=alt.Order("status:N"),
            tooltip=[alt.Tooltip("month:O", title=_("month")), alt.Tooltip("status:N", title=_("status")),
                     alt.Tooltip("fears:Q", title=_("fears"))],
        )
    )


def open_by_age_chart(rows: list[dict]) -> alt.Chart:
    """One bar per age bucket: open gaps waiting for an answer (the bucket names are
    facilitator.publishing.gaps.AGE_BUCKETS, marked for the catalogue)."""
    shown = [{"age": _(r["age"]), "open gaps": r["open gaps"]} for r in rows]
    return (
        alt.Chart(pd.DataFrame(shown, columns=["age", "open gaps"]), title=_("Open gaps by age"))
        .mark_bar(cornerRadiusEnd=3, color=STATUS_COLOURS["gap"])
        .encode(
            x=alt.X("open gaps:Q", title=_("open gaps"), axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("age:N", sort=[r["age"] for r in shown], title=None),
            tooltip=[alt.Tooltip("age:N", title=_("age")), alt.Tooltip("open gaps:Q", title=_("open gaps"))],
        )
        .properties(height=alt.Step(30))
    )
