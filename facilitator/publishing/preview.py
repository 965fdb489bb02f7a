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

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from facilitator.i18n import N_, _, ngettext
from facilitator.models import KINDS, Analysis, Card, Coverage, Register, Strict, Theme
from facilitator.publishing.summary import kind_name, status_count
from facilitator.scrub import scrub, scrub_report
from facilitator.text import copies_card

MIN_PEOPLE_PER_THEME = 3
OTHER_IDS = {"fear": "other-concerns", "flaw": "other-problems", "positive": "other-positives", "other": "other-notes"}
# The words below are marked for the catalogue (facilitator.i18n) and translated with _() where a
# preview is built: in the retro's locale, so its published summary reads in one language.
OTHER_LABELS = {"fear": N_("Other concerns"), "flaw": N_("Other problems"), "positive": N_("Other things that went well"),
                "other": N_("Other notes")}
OTHER_ID, OTHER_LABEL = OTHER_IDS["fear"], OTHER_LABELS["fear"]
KIND_PLURAL = {"fear": N_("worries"), "flaw": N_("problems"), "positive": N_("positives"), "other": N_("notes")}
STATUS_SEVERITY = ("uncovered", "needs_review", "partial", "covered")
"""Worst first: a merged bucket of fears carries the worst status of its members."""


def _smaller(kind: str, n: int) -> str:
    """``2 smaller worries``: the themes of one kind merged into its bucket."""
    if kind == "fear":
        return ngettext("{n} smaller worry", "{n} smaller worries", n).format(n=n)
    if kind == "flaw":
        return ngettext("{n} smaller problem", "{n} smaller problems", n).format(n=n)
    if kind == "positive":
        return ngettext("{n} smaller positive", "{n} smaller positives", n).format(n=n)
    return ngettext("{n} smaller note", "{n} smaller notes", n).format(n=n)


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
    withheld_themes: int = 0
    fear_statuses: dict[str, int] = Field(default_factory=dict)
    """Coverage status of every fear theme of the analysis, merged and withheld ones included."""
    merged_fear_statuses: dict[str, int] = Field(default_factory=dict)
    """The same, for the fear themes merged into "Other concerns" or withheld."""
    theme_people: dict[str, int] = Field(default_factory=dict)
    """How many people raised each published fear theme (a count, at least
    ``MIN_PEOPLE_PER_THEME``): the trust-gap board's k rule across teams needs it."""

    @property
    def trust_gaps(self) -> int:
        """Fears no commitment answers in full: gaps, partial answers and fears still needing review."""
        return sum(n for s, n in self.fear_statuses.items() if s != "covered")


class Preview(Strict):
    summary: PublishedSummary
    flags: list[Flag]
    rev: int = 0
    """The retro revision the preview was built from; approval is for this one."""

    @property
    def blocking(self) -> list[Flag]:
        """Flags that refuse publication until fixed (verbatim fear text)."""
        return [f for f in self.flags if f.kind == "verbatim"]


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

    # 1. Tiny themes are merged, one bucket per kind (a worry never hides among
    # positives), and a bucket that itself comes from fewer than
    # MIN_PEOPLE_PER_THEME people is withheld. A merged fear keeps its coverage:
    # the bucket carries the worst status of its fears, and every count of trust
    # gaps includes them.
    def people_of(card_ids: Sequence[str]) -> int:
        return len({authors.get(c) for c in card_ids if authors.get(c)})

    all_status = {c.theme_id: c.status for c in a.coverage}
    fear_status = [all_status.get(t.id, "uncovered") for t in a.themes if t.kind == "fear"]
    tiny = [t for t in a.themes if people_of(t.card_ids) < MIN_PEOPLE_PER_THEME]
    tiny_ids = {t.id for t in tiny}
    bucket_of: dict[str, str | None] = {}  # tiny theme id -> bucket id, or None when withheld
    merged_fears: dict[str, int] = {}
    buckets: list[Theme] = []
    bucket_coverage: list[Coverage] = []
    for kind in KINDS:
        group = [t for t in tiny if t.kind == kind]
        if not group:
            continue
        cards_here = [c for t in group for c in t.card_ids]
        keep = people_of(cards_here) >= MIN_PEOPLE_PER_THEME
        bid = OTHER_IDS[kind]
        label = _(OTHER_LABELS[kind])
        fate = _('merged into "{label}"').format(label=label) if keep else _("withheld")
        for t in group:
            bucket_of[t.id] = bid if keep else None
            flags.append(
                Flag(
                    kind="tiny_theme",
                    where=_theme_ref(t),
                    detail=_("raised by fewer than {k} people: {fate} ({kind}, {cards})").format(
                        k=MIN_PEOPLE_PER_THEME, fate=fate, kind=kind_name(t.kind),
                        cards=ngettext("{n} card", "{n} cards", len(t.card_ids)).format(n=len(t.card_ids))),
                )
            )
        if kind == "fear":
            for t in group:
                st = all_status.get(t.id, "uncovered")
                merged_fears[st] = merged_fears.get(st, 0) + 1
        if not keep:
            flags.append(
                Flag(
                    kind="tiny_theme",
                    where=f'"{label}"',
                    detail=_("the smaller {things} together come from fewer than {k} people, so they are left out "
                             "of the summary (no label or card ids; a worry still counts in the number of trust "
                             "gaps)").format(things=_(KIND_PLURAL[kind]), k=MIN_PEOPLE_PER_THEME),
                )
            )
            continue
        buckets.append(
            Theme(
                id=bid,
                label=label,
                kind=kind,
                card_ids=cards_here,
                summary=_("{things}, each raised by fewer than {k} people, merged so that nobody can be singled "
                          "out.").format(things=_smaller(kind, len(group)), k=MIN_PEOPLE_PER_THEME),
            )
        )
        if kind == "fear":
            statuses = [all_status.get(t.id, "uncovered") for t in group]
            worst = min(statuses, key=STATUS_SEVERITY.index)
            bucket_coverage.append(
                Coverage(
                    theme_id=bid,
                    status=worst,
                    rationale=_("Merged worries: {counts}. Which commitments they concern is not shown, so that "
                                "nobody can be singled out.").format(counts=", ".join(
                                    status_count(s, statuses.count(s)) for s in STATUS_SEVERITY if s in statuses)),
                )
            )
    if tiny:
        a.themes = [t for t in a.themes if t.id not in tiny_ids] + buckets
        a.coverage = [c for c in a.coverage if c.theme_id not in tiny_ids] + bucket_coverage
        cited = {c.theme_id: set(c.commitment_ids) for c in a.coverage}
        actions = []
        seen_bucket_actions: set[tuple[str, str]] = set()
        for act in a.actions:
            if not set(act.theme_ids) & tiny_ids:
                actions.append(act)
                continue
            big = [x for x in act.theme_ids if x not in tiny_ids]
            into = list(dict.fromkeys(b for x in act.theme_ids if x in tiny_ids and (b := bucket_of[x])))
            if not big and not into:
                flags.append(
                    Flag(
                        kind="action_withheld",
                        where=_action_ref(act),
                        detail=_("it only concerns themes raised by fewer than {k} people, which are withheld; it "
                                 "is left out of the summary (keep it in the team's own notes)").format(
                                     k=MIN_PEOPLE_PER_THEME),
                    )
                )
                continue
            if not big and all((b, act.kind) in seen_bucket_actions for b in into):
                continue  # one neutral action per bucket and kind: merging never duplicates an action
            seen_bucket_actions.update((b, act.kind) for b in into)
            # Any link to a tiny theme rewords the action, even next to a large
            # theme: its title could name what the small group raised.
            flags.append(
                Flag(
                    kind="action_reworded",
                    where=_action_ref(act),
                    detail=_("it named a theme raised by fewer than {k} people; its title is replaced by a "
                             "neutral one").format(k=MIN_PEOPLE_PER_THEME),
                )
            )
            act.title = _neutral_title(act.kind, linked=bool(big), other=bool(into))
            act.theme_ids = big + into
            # Commitments cited only for a tiny fear would say what it was about.
            allowed = set().union(*(cited.get(x, set()) for x in big)) if big else set()
            act.commitment_ids = [c for c in act.commitment_ids if c in allowed]
            actions.append(act)
        a.actions = actions
        for tid in tiny_ids:
            n = votes.pop(tid, 0)
            if n and (b := bucket_of.get(tid)):
                votes[b] = votes.get(b, 0) + n

    # 2. Scrub every free text that came from a card or a model; flag what changed.
    def clean(text: str, where: str) -> str:
        out, replaced = scrub_report(text, roster)
        if replaced:
            flags.append(Flag(kind="name", where=where,
                              detail=_("contained a name or contact detail, replaced: {text}").format(text=repr(out))))
        return out

    for t in a.themes:
        ref = _theme_ref(t)
        t.label = clean(t.label, _("the label of {theme}").format(theme=ref))
        t.summary = clean(t.summary, _("the summary of {theme}").format(theme=ref))
    for c in a.coverage:
        c.rationale = clean(c.rationale, _("the coverage note of {theme}").format(
            theme=_theme_ref(a.theme(c.theme_id), c.theme_id)))
    for act in a.actions:
        act.title = clean(act.title, _action_ref(act))
        act.owner_role = clean(act.owner_role, _("the owner of {action}").format(action=_action_ref(act)))
    a.meta.warnings = [scrub(w, roster) for w in a.meta.warnings]
    a.meta.fallback_reason = scrub(a.meta.fallback_reason, roster) if a.meta.fallback_reason else None

    # 3. Verbatim fear text (fears must be paraphrased).
    text_of = {c.id: c.text for c in cards}
    fear_cards = [text_of[cid] for t in analysis.themes if t.kind == "fear" for cid in t.card_ids if cid in text_of]
    published_texts: list[tuple[str, str]] = []
    for t in a.themes:
        published_texts += [(_("the label of {theme}").format(theme=_theme_ref(t)), t.label),
                            (_("the summary of {theme}").format(theme=_theme_ref(t)), t.summary)]
    published_texts += [(_("the coverage note of {theme}").format(theme=_theme_ref(a.theme(c.theme_id), c.theme_id)),
                         c.rationale) for c in a.coverage]
    published_texts += [(_action_ref(x), x.title) for x in a.actions]
    for where, txt in published_texts:
        if any(copies_card(txt, card) for card in fear_cards):
            flags.append(
                Flag(kind="verbatim", where=where, detail=_("repeats the words of a fear card; paraphrase it in Review"))
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
        merged_themes=sum(1 for t in tiny if bucket_of.get(t.id)),
        withheld_themes=sum(1 for t in tiny if not bucket_of.get(t.id)),
        fear_statuses={s_: fear_status.count(s_) for s_ in STATUS_SEVERITY if s_ in fear_status},
        merged_fear_statuses=merged_fears,
        theme_people={t.id: people_of(t.card_ids) for t in a.themes if t.kind == "fear"},
    )
    return Preview(summary=summary, flags=flags, rev=rev)


def _theme_ref(theme: Theme | None, fallback: str = "") -> str:
    """How a flag names a theme to the facilitator: by its label, never an internal id."""
    if theme is None:
        return _("a theme ({id})").format(id=fallback) if fallback else _("a theme")
    label = theme.label if len(theme.label) <= 60 else theme.label[:59] + "\u2026"
    return _("theme \u201c{label}\u201d").format(label=label)


def _action_ref(action) -> str:
    title = action.title if len(action.title) <= 60 else action.title[:59] + "\u2026"
    return _("action \u201c{title}\u201d").format(title=title)


_NEUTRAL = {
    # (linked to a large theme too, the bucket is published)
    (False, True): {
        "fix": N_("Agree a fix for one of the other concerns raised in the room"),
        "reassure": N_("Share the relevant commitment with the team for one of the other concerns"),
        "escalate": N_("Escalate one of the other concerns to the commitment owner for a written answer"),
    },
    (True, True): {
        "fix": N_("Agree fixes for the linked themes, including one of the other concerns raised in the room"),
        "reassure": N_("Share the relevant commitments with the team for the linked themes and one of the other "
                       "concerns"),
        "escalate": N_("Escalate the linked themes and one of the other concerns to the commitment owner for a "
                       "written answer"),
    },
    (True, False): {
        "fix": N_("Agree fixes for the linked themes"),
        "reassure": N_("Share the relevant commitments with the team for the linked themes"),
        "escalate": N_("Escalate the linked themes to the commitment owner for a written answer"),
    },
}


def _neutral_title(kind: str, *, linked: bool, other: bool) -> str:
    return _(_NEUTRAL[(linked, other)][kind])


def _free_reserved_id(a: Analysis, votes: dict[str, int]) -> None:
    """Rename a theme whose id is a bucket id (the analysis chose it) so the bucket
    ids stay unambiguous; coverage, actions and votes follow."""
    for reserved in OTHER_IDS.values():
        if a.theme(reserved) is None:
            continue
        used = {t.id for t in a.themes}
        n = 1
        while f"{reserved}-{n}" in used:
            n += 1
        new = f"{reserved}-{n}"
        a.theme(reserved).id = new
        for c in a.coverage:
            if c.theme_id == reserved:
                c.theme_id = new
        for act in a.actions:
            act.theme_ids = [new if x == reserved else x for x in act.theme_ids]
        if reserved in votes:
            votes[new] = votes.pop(reserved)
