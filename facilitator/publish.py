"""What leaves the room: the publish preview, its flags, and the exports.

Before anything is published the facilitator sees a preview built here and
approves it. The preview is already the anonymised summary:

- a theme is shown on its own only if its cards come from at least
  ``MIN_PEOPLE_PER_THEME`` different people; smaller themes are merged into one
  "Other concerns" theme (their coverage is dropped and every action linked to
  one of them is re-worded, so the theme cannot be read back out of it); if the
  merged bucket itself comes from fewer than that many people it is withheld
  (no subgroup below the floor is ever published). The bucket's id
  ``OTHER_ID`` is reserved: an analysis theme with that id is renamed;
- the model transcript (every prompt, with the card texts) is dropped;
- every text that came from a card or a model is scrubbed (names from the
  roster, e-mail addresses, handles, phone numbers, links);
- flags list what could still identify someone: names found (and replaced),
  verbatim fear text (a run of words copied from a fear card), tiny themes.
  Verbatim fear text blocks publication (``Preview.blocking``) until the
  facilitator paraphrases it.

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

FlagKind = Literal["name", "verbatim", "tiny_theme", "action_reworded", "action_withheld"]


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
    rev: int = 0
    """The retro revision the preview was built from; approval is for this one."""

    @property
    def blocking(self) -> list[Flag]:
        """Flags that refuse publication until fixed (verbatim fear text)."""
        return [f for f in self.flags if f.kind == "verbatim"]


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
    rev: int = 0,
) -> Preview:
    """Anonymise ``analysis`` for publication and say what was changed or looks risky.

    The model transcript is dropped. ``rev`` is the retro revision the preview
    is built from (``RetroService.publish`` checks approval against it).

    ``authors`` maps card id to an opaque per-retro author tag; it is only
    used to count distinct people per theme and is not part of the result.
    """
    # The model transcript (every prompt, with the card texts) never leaves the room.
    a = analysis.model_copy(deep=True, update={"transcript": None})
    flags: list[Flag] = []
    votes = dict(votes or {})

    # 0. OTHER_ID is reserved for the merged bucket: a theme the analysis happened
    # to call that is renamed in the published copy (with everything pointing at it).
    _free_reserved_id(a, votes)

    # 1. Tiny themes go into "Other concerns" -- and if even that bucket comes
    # from fewer than MIN_PEOPLE_PER_THEME people, it is withheld altogether.
    def people_of(card_ids: Sequence[str]) -> int:
        return len({authors.get(c) for c in card_ids if authors.get(c)})

    tiny = [t for t in a.themes if people_of(t.card_ids) < MIN_PEOPLE_PER_THEME]
    tiny_ids = {t.id for t in tiny}
    keep_bucket = False
    if tiny:
        other_cards = [c for t in tiny for c in t.card_ids]
        keep_bucket = people_of(other_cards) >= MIN_PEOPLE_PER_THEME
        fate = f'merged into "{OTHER_LABEL}"' if keep_bucket else "withheld"
        for t in tiny:
            flags.append(
                Flag(
                    kind="tiny_theme",
                    where=f"theme {t.id}",
                    detail=f"raised by fewer than {MIN_PEOPLE_PER_THEME} people: {fate} "
                    f"({t.kind}, {len(t.card_ids)} card(s))",
                )
            )
        if not keep_bucket:
            flags.append(
                Flag(
                    kind="tiny_theme",
                    where=f'"{OTHER_LABEL}"',
                    detail=f"the smaller themes together come from fewer than {MIN_PEOPLE_PER_THEME} people, "
                    "so they are left out of the summary entirely (no label, count or card ids)",
                )
            )
        kept = [t for t in a.themes if t.id not in tiny_ids]
        if keep_bucket:
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
        cited = {c.theme_id: set(c.commitment_ids) for c in a.coverage}
        actions = []
        for act in a.actions:
            if not set(act.theme_ids) & tiny_ids:
                actions.append(act)
                continue
            big = [x for x in act.theme_ids if x not in tiny_ids]
            if not big and not keep_bucket:
                flags.append(
                    Flag(
                        kind="action_withheld",
                        where=f"action {act.id}",
                        detail=f"it only concerns themes raised by fewer than {MIN_PEOPLE_PER_THEME} people, "
                        "which are withheld; it is left out of the summary (keep it in the team's own notes)",
                    )
                )
                continue
            # Any link to a tiny theme rewords the action, even next to a large
            # theme: its title could name what the small group raised.
            flags.append(
                Flag(
                    kind="action_reworded",
                    where=f"action {act.id}",
                    detail="it named a theme raised by fewer than "
                    f"{MIN_PEOPLE_PER_THEME} people; its title is replaced by a neutral one",
                )
            )
            act.title = _neutral_title(act.kind, linked=bool(big), other=keep_bucket)
            act.theme_ids = big + ([OTHER_ID] if keep_bucket else [])
            # Commitments cited only for a tiny fear would say what it was about.
            allowed = set().union(*(cited.get(x, set()) for x in big)) if big else set()
            act.commitment_ids = [c for c in act.commitment_ids if c in allowed]
            actions.append(act)
        a.actions = actions
        tiny_votes = sum(votes.pop(t, 0) for t in tiny_ids)
        if keep_bucket and tiny_votes:
            votes[OTHER_ID] = tiny_votes

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
        merged_themes=len(tiny) if keep_bucket else 0,
    )
    return Preview(summary=summary, flags=flags, rev=rev)


_NEUTRAL = {
    # (linked to a large theme too, the bucket is published)
    (False, True): {
        "fix": "Agree a fix for one of the other concerns raised in the room",
        "reassure": "Share the relevant commitment with the team for one of the other concerns",
        "escalate": "Escalate one of the other concerns to the commitment owner for a written answer",
    },
    (True, True): {
        "fix": "Agree fixes for the linked themes, including one of the other concerns raised in the room",
        "reassure": "Share the relevant commitments with the team for the linked themes and one of the other concerns",
        "escalate": "Escalate the linked themes and one of the other concerns to the commitment owner for a written answer",
    },
    (True, False): {
        "fix": "Agree fixes for the linked themes",
        "reassure": "Share the relevant commitments with the team for the linked themes",
        "escalate": "Escalate the linked themes to the commitment owner for a written answer",
    },
}


def _neutral_title(kind: str, *, linked: bool, other: bool) -> str:
    return _NEUTRAL[(linked, other)][kind]


def _free_reserved_id(a: Analysis, votes: dict[str, int]) -> None:
    """Rename a theme whose id is OTHER_ID (the analysis chose it) so the bucket
    id stays unambiguous; coverage, actions and votes follow."""
    if a.theme(OTHER_ID) is None:
        return
    used = {t.id for t in a.themes}
    n = 1
    while f"{OTHER_ID}-{n}" in used:
        n += 1
    new = f"{OTHER_ID}-{n}"
    a.theme(OTHER_ID).id = new
    for c in a.coverage:
        if c.theme_id == OTHER_ID:
            c.theme_id = new
    for act in a.actions:
        act.theme_ids = [new if x == OTHER_ID else x for x in act.theme_ids]
    if OTHER_ID in votes:
        votes[new] = votes.pop(OTHER_ID)


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
