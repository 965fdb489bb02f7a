"""What leaves the room: the publish preview, its flags, and the exports.

Before anything is published the facilitator sees a preview built here and
approves it. The preview is already the anonymised summary:

- a theme is shown on its own only if its cards come from at least
  ``MIN_PEOPLE_PER_THEME`` different people; smaller themes are merged into one
  "Other concerns" theme (their coverage is dropped and their actions are
  re-worded so the theme cannot be read back out of them);
- every text that came from a card or a model is scrubbed (names from the
  roster, e-mail addresses, handles, phone numbers, links);
- flags list what could still identify someone: names found (and replaced),
  verbatim fear text (a run of words copied from a fear card), tiny themes.

The exports (Markdown, JSON, actions as CSV) are produced from the published
summary only; card text never appears in them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from .models import Analysis, Card, Register, Strict, Theme
from .scrub import scrub
from .summary import render_markdown

MIN_PEOPLE_PER_THEME = 3
OTHER_ID = "other-concerns"
OTHER_LABEL = "Other concerns"
VERBATIM_WORDS = 6
"""A run of this many words copied from a fear card counts as verbatim."""

FlagKind = Literal["name", "verbatim", "tiny_theme", "action_reworded"]


class Flag(Strict):
    kind: FlagKind
    where: str
    detail: str


class PublishedSummary(Strict):
    """The immutable, anonymised result of one retro."""

    title: str
    team: str
    published_on: dt.date
    participants: int
    contributors: int
    k: int
    register_name: str | None = None
    register_version: str | None = None
    analysis: Analysis
    votes: dict[str, int] = Field(default_factory=dict)
    merged_themes: int = 0


class Preview(Strict):
    summary: PublishedSummary
    flags: list[Flag]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _verbatim(card_text: str, published: str) -> bool:
    cw, pw = _words(card_text), _words(published)
    if not cw or not pw:
        return False
    n = min(VERBATIM_WORDS, len(cw))
    if n < 3:
        return False
    grams = {tuple(cw[i : i + n]) for i in range(len(cw) - n + 1)}
    return any(tuple(pw[i : i + n]) in grams for i in range(len(pw) - n + 1))


def build_preview(
    analysis: Analysis,
    cards: Sequence[Card],
    authors: Mapping[str, str | None],
    *,
    title: str,
    team: str,
    participants: int,
    k: int,
    today: dt.date,
    roster: Sequence[str] = (),
    votes: Mapping[str, int] | None = None,
    register: Register | None = None,
) -> Preview:
    """Anonymise ``analysis`` for publication and say what was changed or looks risky.

    ``authors`` maps card id to an opaque per-retro author tag; it is only
    used to count distinct people per theme and is not part of the result.
    """
    a = analysis.model_copy(deep=True)
    flags: list[Flag] = []
    votes = dict(votes or {})

    # 1. Tiny themes go into "Other concerns".
    def people(t: Theme) -> int:
        return len({authors.get(c) for c in t.card_ids if authors.get(c)})

    tiny = [t for t in a.themes if people(t) < MIN_PEOPLE_PER_THEME]
    tiny_ids = {t.id for t in tiny}
    if tiny:
        other_cards = [c for t in tiny for c in t.card_ids]
        for t in tiny:
            flags.append(
                Flag(
                    kind="tiny_theme",
                    where=f"theme {t.id}",
                    detail=f"raised by fewer than {MIN_PEOPLE_PER_THEME} people: merged into "
                    f'"{OTHER_LABEL}" ({t.kind}, {len(t.card_ids)} card(s))',
                )
            )
        kept = [t for t in a.themes if t.id not in tiny_ids]
        kept.append(
            Theme(
                id=OTHER_ID,
                label=OTHER_LABEL,
                kind="other",
                card_ids=other_cards,
                summary=f"{len(tiny)} smaller theme(s), each raised by fewer than "
                f"{MIN_PEOPLE_PER_THEME} people, merged so that nobody can be singled out.",
            )
        )
        a.themes = kept
        a.coverage = [c for c in a.coverage if c.theme_id not in tiny_ids]
        for act in a.actions:
            if set(act.theme_ids) & tiny_ids:
                act.theme_ids = list(dict.fromkeys(OTHER_ID if x in tiny_ids else x for x in act.theme_ids))
                if act.theme_ids == [OTHER_ID]:
                    flags.append(
                        Flag(
                            kind="action_reworded",
                            where=f"action {act.id}",
                            detail="it named a theme raised by fewer than "
                            f"{MIN_PEOPLE_PER_THEME} people; its title is replaced by a neutral one",
                        )
                    )
                    act.title = {
                        "fix": "Agree a fix for one of the other concerns raised in the room",
                        "reassure": "Share the relevant commitment with the team for one of the other concerns",
                        "escalate": "Escalate one of the other concerns to the commitment owner for a written answer",
                    }[act.kind]
        votes[OTHER_ID] = sum(votes.pop(t, 0) for t in tiny_ids)
        if not votes[OTHER_ID]:
            votes.pop(OTHER_ID)

    # 2. Scrub every free text that came from a card or a model; flag what changed.
    def clean(text: str, where: str) -> str:
        out = scrub(text, roster)
        if out != text:
            flags.append(Flag(kind="name", where=where, detail=f"contained a name or contact detail, replaced: {out!r}"))
        return out

    for t in a.themes:
        t.label = clean(t.label, f"theme {t.id} label")
        t.summary = clean(t.summary, f"theme {t.id} summary")
    for c in a.coverage:
        c.rationale = clean(c.rationale, f"coverage of {c.theme_id}")
    for act in a.actions:
        act.title = clean(act.title, f"action {act.id}")
        act.owner_role = clean(act.owner_role, f"action {act.id} owner")
    a.meta.warnings = [scrub(w, roster) for w in a.meta.warnings]
    a.meta.fallback_reason = scrub(a.meta.fallback_reason, roster) if a.meta.fallback_reason else None

    # 3. Verbatim fear text (fears must be paraphrased).
    text_of = {c.id: c.text for c in cards}
    fear_cards = [text_of[cid] for t in analysis.themes if t.kind == "fear" for cid in t.card_ids if cid in text_of]
    published_texts: list[tuple[str, str]] = []
    for t in a.themes:
        published_texts += [(f"theme {t.id} label", t.label), (f"theme {t.id} summary", t.summary)]
    published_texts += [(f"coverage of {c.theme_id}", c.rationale) for c in a.coverage]
    published_texts += [(f"action {x.id}", x.title) for x in a.actions]
    for where, txt in published_texts:
        if any(_verbatim(card, txt) for card in fear_cards):
            flags.append(
                Flag(kind="verbatim", where=where, detail="repeats the words of a fear card; paraphrase it in Review")
            )

    summary = PublishedSummary(
        title=scrub(title, roster),
        team=team,
        published_on=today,
        participants=participants,
        contributors=len({v for v in authors.values() if v}),
        k=k,
        register_name=register.name if register else None,
        register_version=register.version if register else None,
        analysis=a,
        votes=votes,
        merged_themes=len(tiny),
    )
    return Preview(summary=summary, flags=flags)


def to_markdown(summary: PublishedSummary, register: Register | None = None) -> str:
    md = render_markdown(summary.analysis, title=summary.title, register=register)
    head, _, rest = md.partition("\n\n")
    meta = (
        f"Team {_esc(summary.team)}, published {summary.published_on.isoformat()}; "
        f"{summary.contributors} people wrote cards (anonymity threshold {summary.k})."
    )
    if summary.merged_themes:
        meta += f" {summary.merged_themes} small theme(s) merged into {OTHER_LABEL}."
    out = f"{head}\n\n{meta}\n\n{rest}"
    if summary.votes:
        labels = {t.id: t.label for t in summary.analysis.themes}
        lines = ["", "## Votes", "", "| Theme | Dots |", "|---|---|"]
        for tid, n in sorted(summary.votes.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {_esc(labels.get(tid, tid))} | {n} |")
        out = out.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    return out


def _esc(text: str) -> str:
    from .scrub import safe_markdown_text

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
