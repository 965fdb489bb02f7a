"""The trust-gap board: the fears no commitment answers, across teams and retros.

Built only from published summaries, which are already anonymised (themes
raised by fewer than ``MIN_PEOPLE_PER_THEME`` people merged or withheld, fear
labels paraphrased, names scrubbed). It never sees a card: an item carries a
theme's label and summary, its coverage status and the commitment it relates
to, nothing else.

A group is (related commitment, topic). Across teams a group shows its own
label only when it comes from at least ``k`` people overall; people are counted
without double-counting one team's retros (the largest count of each team, summed
over teams: a team's members write in each of its retros). Smaller groups are
counted under "other", with their statuses and no label.

An owner answers a group (``GapAnswer``); the answer covers the gaps of that
group published up to the day it was given, and reaches each team's next retro
through the escalation it carried over.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from facilitator.i18n import N_
from facilitator.models import Register
from facilitator.publishing.preview import MIN_PEOPLE_PER_THEME, OTHER_IDS, PublishedSummary

GAP_STATUSES = ("uncovered", "partial", "needs_review")
NO_COMMITMENT = ""
AnswerKind = Literal["written", "commitment", "will_not_promise"]
# Marked for the catalogue (facilitator.i18n); shown through _() by the pages.
ANSWER_WORDS = {
    "written": N_("answered"),
    "commitment": N_("answered with a commitment"),
    "will_not_promise": N_("not something we will promise"),
}


@dataclass(frozen=True)
class PublishedRetro:
    retro_id: str
    team: str
    published_on: dt.date
    summary: PublishedSummary
    register: Register | None = None


@dataclass(frozen=True)
class GapAnswer:
    commitment_id: str  # NO_COMMITMENT for "no commitment"
    topic: str
    kind: AnswerKind
    text: str
    owner_role: str
    answered_on: dt.date
    register_version: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.commitment_id, self.topic)


@dataclass(frozen=True)
class GapItem:
    """One published fear theme that is a gap, partly answered, needs review, or
    rests on a commitment whose review is overdue."""

    retro_id: str
    team: str
    published_on: dt.date
    theme_id: str
    label: str
    summary: str
    status: str
    overdue: bool
    commitment_id: str
    commitment_title: str
    topic: str
    people: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.commitment_id, self.topic)


@dataclass
class GapGroup:
    commitment_id: str
    commitment_title: str
    topic: str
    items: list[GapItem]
    people: int
    answer: GapAnswer | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.commitment_id, self.topic)

    @property
    def statuses(self) -> Counter:
        return Counter(i.status for i in self.items)

    @property
    def teams(self) -> int:
        return len({i.team for i in self.items})

    @property
    def first_seen(self) -> dt.date:
        return min(i.published_on for i in self.items)

    def open_items(self) -> list[GapItem]:
        """Items published after the answer (or all, unanswered): still waiting."""
        if self.answer is None:
            return list(self.items)
        return [i for i in self.items if i.published_on > self.answer.answered_on]


@dataclass
class Board:
    k: int
    groups: list[GapGroup]
    other_items: int = 0
    other_statuses: Counter = field(default_factory=Counter)
    fears_by_month: list[dict] = field(default_factory=list)
    open_by_age: list[dict] = field(default_factory=list)
    answer_times: list[dict] = field(default_factory=list)

    @property
    def open_gaps(self) -> int:
        return sum(len(g.open_items()) for g in self.groups) + self.other_items


def topic_of(label: str) -> str:
    """The topic of a fear theme: its label, normalised (the offline engine labels
    fears by sort, so the same worry has the same label in every team)."""
    return " ".join(label.split()).strip().rstrip(".").casefold()


def gap_items(retro: PublishedRetro) -> list[GapItem]:
    """The gaps of one published retro, from its summary only."""
    s = retro.summary
    a = s.analysis
    coverage = {c.theme_id: c for c in a.coverage}
    titles = {c.id: c.title for c in retro.register.commitments} if retro.register else {}
    out = []
    for t in a.themes:
        if t.kind != "fear":
            continue
        cov = coverage.get(t.id)
        status = cov.status if cov else "uncovered"
        cited = list(cov.commitment_ids) if cov else []
        cands = list(cov.candidates) if cov else []
        # review_overdue is the fact; the flag's English words, for analyses stored before it existed.
        overdue = any(c.review_overdue or any("review overdue" in f for f in c.flags)
                      for c in cands if not cited or c.commitment_id in cited)
        if status not in GAP_STATUSES and not overdue:
            continue
        # The commitment a gap relates to: the one the coverage cites, else the
        # closest candidate; the merged "Other concerns" never names one (that
        # would say what the small group was about).
        related = NO_COMMITMENT
        if t.id != OTHER_IDS["fear"]:
            related = cited[0] if cited else (cands[0].commitment_id if cands and status != "uncovered" else NO_COMMITMENT)
        title = titles.get(related) or next((c.title for c in cands if c.commitment_id == related), "")
        out.append(
            GapItem(
                retro_id=retro.retro_id, team=retro.team, published_on=retro.published_on, theme_id=t.id,
                label=t.label, summary=t.summary, status=status, overdue=overdue, commitment_id=related,
                commitment_title=title if related else "",
                # The merged group is one topic across teams, whatever language its label is in.
                topic=topic_of("Other concerns" if t.id == OTHER_IDS["fear"] else t.label),
                people=int(s.theme_people.get(t.id, MIN_PEOPLE_PER_THEME)),
            )
        )
    return out


def people_overall(items: Iterable[GapItem]) -> int:
    """People behind a group: per team the largest count of one retro, summed over teams."""
    per_team: dict[str, int] = defaultdict(int)
    for i in items:
        per_team[i.team] = max(per_team[i.team], i.people)
    return sum(per_team.values())


def latest_answers(answers: Iterable[GapAnswer]) -> dict[tuple[str, str], GapAnswer]:
    out: dict[tuple[str, str], GapAnswer] = {}
    for a in sorted(answers, key=lambda a: a.answered_on):
        out[a.key] = a
    return out


def build_board(
    retros: Sequence[PublishedRetro], answers: Iterable[GapAnswer], *, k: int, today: dt.date
) -> Board:
    answered = latest_answers(answers)
    by_key: dict[tuple[str, str], list[GapItem]] = defaultdict(list)
    for r in retros:
        for item in gap_items(r):
            by_key[item.key].append(item)
    groups: list[GapGroup] = []
    other: list[GapItem] = []
    for key, items in by_key.items():
        people = people_overall(items)
        if people < k:
            other += items
            continue
        groups.append(
            GapGroup(
                commitment_id=key[0], commitment_title=next((i.commitment_title for i in items if i.commitment_title), ""),
                topic=key[1], items=sorted(items, key=lambda i: (i.published_on, i.team)), people=people,
                answer=answered.get(key),
            )
        )
    groups.sort(key=lambda g: (g.answer is not None and not g.open_items(), -len(g.items), g.commitment_id, g.topic))
    board = Board(k=k, groups=groups, other_items=len(other), other_statuses=Counter(i.status for i in other))
    board.fears_by_month = fears_by_month(retros)
    board.open_by_age = open_by_age([i for g in groups for i in g.open_items()] + other, today)
    board.answer_times = answer_times(groups)
    return board


# --- trends -----------------------------------------------------------------


def fears_by_month(retros: Sequence[PublishedRetro]) -> list[dict]:
    """Fears raised per month and how the register answered them (merged and
    withheld fears included: ``fear_statuses`` counts every fear theme)."""
    rows: dict[str, Counter] = defaultdict(Counter)
    for r in retros:
        rows[r.published_on.strftime("%Y-%m")].update(r.summary.fear_statuses)
    return [
        {"month": m, "raised": sum(c.values()), **{s: c.get(s, 0) for s in ("covered", "partial", "needs_review", "uncovered")}}
        for m, c in sorted(rows.items())
    ]


# The names are the rows' values (and the CSV's); marked for the catalogue, translated where shown.
AGE_BUCKETS = ((30, N_("up to 30 days")), (90, N_("31 to 90 days")), (10**6, N_("over 90 days")))


def open_by_age(items: Sequence[GapItem], today: dt.date) -> list[dict]:
    """Open gaps (unanswered, or published since the answer) by days since publication."""
    counts: Counter = Counter()
    for i in items:
        age = (today - i.published_on).days
        counts[next(name for limit, name in AGE_BUCKETS if age <= limit)] += 1
    return [{"age": name, "open gaps": counts.get(name, 0)} for _limit, name in AGE_BUCKETS]


def answer_times(groups: Sequence[GapGroup]) -> list[dict]:
    """Days from a group's first published gap to its answer, per owner role."""
    days: dict[str, list[int]] = defaultdict(list)
    for g in groups:
        if g.answer is not None:
            days[g.answer.owner_role].append(max(0, (g.answer.answered_on - g.first_seen).days))
    return [
        {"owner role": role, "answers": len(d), "median days": statistics.median(d), "longest days": max(d)}
        for role, d in sorted(days.items())
    ]


# --- what-if ------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIf:
    group: GapGroup
    now: str  # the status the draft gives the group's topic
    candidates: tuple[str, ...]


# The buckets' keys; marked for the catalogue, the page shows them through _().
WHAT_IF_BUCKETS = (N_("now covered"), N_("now partly covered"), N_("may now be covered"), N_("would stop being covered"),
                   N_("unchanged"))


def what_if_changes(
    groups: Sequence[GapGroup], judged: Sequence[tuple[str, Sequence[str]]], in_force: set[str]
) -> dict[str, list[WhatIf]]:
    """Sort each group by what a draft register would change. ``judged[i]`` is the
    (status, candidate commitment ids) the coverage engine gives group i under
    the draft; ``in_force`` the draft's commitments in force.

    - ``now covered`` / ``now partly covered``: the engine says so (the model engine;
      the offline one never asserts coverage);
    - ``may now be covered``: a gap no commitment related to now has candidates:
      the owner reads them before saving;
    - ``would stop being covered``: the commitment the gaps relate to leaves the
      register or is no longer in force, or nothing relates to them any more;
    - ``unchanged``: the rest.
    """
    out: dict[str, list[WhatIf]] = {b: [] for b in WHAT_IF_BUCKETS}
    for g, (status, cands) in zip(groups, judged):
        w = WhatIf(g, status, tuple(dict.fromkeys(cands)))
        related = g.commitment_id != NO_COMMITMENT
        if status == "covered":
            bucket = "now covered"
        elif status == "partial":
            bucket = "now partly covered"
        elif related and (g.commitment_id not in in_force or status == "uncovered"):
            bucket = "would stop being covered"
        elif not related and status == "needs_review" and cands:
            bucket = "may now be covered"
        else:
            bucket = "unchanged"
        out[bucket].append(w)
    return out
