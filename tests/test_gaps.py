"""The trust loop: the board of gaps across teams (k rule, no card text), owners'
answers, what-if on a drafted register, and the answer reaching the next retro."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from facilitator.errors import InputError
from facilitator.inputs.register import parse_register
from facilitator.models import Analysis, Candidate, Coverage, Meta, Theme
from facilitator.publishing.gaps import (
    GapGroup,
    GapItem,
    PublishedRetro,
    build_board,
    people_overall,
    what_if_changes,
)
from facilitator.publishing.preview import PublishedSummary
from tests.retro_helpers import demo_register_text, make_service, seeded_retro

DAY = dt.date(2026, 11, 2)


def _published(svc, team: str, people: int = 4):
    """A retro of ``team`` run to the end with the scripted engine (one fear theme,
    uncovered, with an escalation) and published; returns its id and card texts."""
    created, _ = seeded_retro(svc, people=people, to_phase="publish", team=team)
    rid = created.retro_id
    texts = [c.text for c in svc.revealed_cards(rid)]
    svc.publish(rid, approved=True, rev=svc.preview(rid).rev)
    return rid, texts


def test_a_group_shows_on_its_own_only_from_k_people_across_teams():
    svc = make_service(min_participants=5)
    _published(svc, "Dispatch")
    _published(svc, "Dispatch")  # the same team's people again: not counted twice
    board = svc.gap_board()
    assert board.groups == [] and board.other_items == 2 and board.other_statuses == {"uncovered": 2}

    _published(svc, "Billing")  # 4 more people from another team: 8 >= k
    board = svc.gap_board()
    assert len(board.groups) == 1 and board.other_items == 0
    g = board.groups[0]
    assert (g.people, g.teams, len(g.items), g.commitment_id) == (8, 2, 3, "")
    assert g.statuses == {"uncovered": 3}


def test_no_card_text_ever_reaches_the_board():
    svc = make_service(min_participants=3)
    texts = []
    for team in ("Dispatch", "Billing"):
        texts += _published(svc, team)[1]
    board = svc.gap_board()
    shown = repr(board.groups) + repr(board.fears_by_month) + repr(board.open_by_age)
    assert board.groups and texts
    for text in texts:
        assert text not in shown
    # Nor in anything the board page renders from: every string on a gap item is a label or summary.
    for item in board.groups[0].items:
        assert item.label == "About Worries" and not re.search(r"Person \d", item.summary)


def test_an_answer_reaches_the_next_retro_of_the_team_and_closes_its_escalation():
    svc = make_service(min_participants=3)
    _published(svc, "Dispatch")
    _published(svc, "Billing")
    group = svc.gap_board().groups[0]
    with pytest.raises(InputError, match="reason"):
        svc.answer_gaps(group.commitment_id, group.topic, kind="will_not_promise", text=" ", owner_role="HR")
    with pytest.raises(InputError, match="register version"):
        svc.answer_gaps(group.commitment_id, group.topic, kind="commitment", text="See BL-1", owner_role="HR")
    svc.answer_gaps(group.commitment_id, group.topic, kind="written",
                    text="Worries raised in retros go to the works council every quarter.", owner_role="Head of HR")

    board = svc.gap_board()
    assert board.groups[0].answer.owner_role == "Head of HR" and board.groups[0].open_items() == []
    assert board.answer_times == [{"owner role": "Head of HR", "answers": 1, "median days": 0, "longest days": 0}]

    nxt, _ = seeded_retro(svc, people=3, to_phase="collect", team="Dispatch")
    carried = svc.carryover(nxt.retro_id)
    escalations = [i for i in carried if i.kind == "escalate"]
    answers = svc.carried_answers(carried)
    assert escalations and set(answers) == {i.id for i in escalations}
    got = answers[escalations[0].id]
    assert got.asked == "About Worries" and got.answer.text.startswith("Worries raised in retros")
    svc.mark_action(nxt.retro_id, escalations[0].id, "done")
    assert next(i for i in svc.carryover(nxt.retro_id) if i.id == escalations[0].id).status == "done"

    # Another team's retro sees no answer to a question it never asked.
    other, _ = seeded_retro(svc, people=3, to_phase="collect", team="Stores")
    assert svc.carried_answers(svc.carryover(other.retro_id)) == {}


def test_trends_count_every_fear_raised_per_month():
    svc = make_service(min_participants=3)
    _published(svc, "Dispatch")
    _published(svc, "Billing")
    month = dt.date.today().strftime("%Y-%m")
    assert svc.gap_board().fears_by_month == [
        {"month": month, "raised": 2, "covered": 0, "partial": 0, "needs_review": 0, "uncovered": 2}
    ]
    assert sum(r["open gaps"] for r in svc.gap_board().open_by_age) == 2


# --- pure functions on a fixture ---------------------------------------------


def _summary(team: str, themes: list[tuple[str, str, str, list[Candidate], int]]) -> PublishedSummary:
    analysis = Analysis(
        themes=[Theme(id=tid, label=label, kind="fear", card_ids=[f"{tid}c"]) for tid, label, *_ in themes],
        coverage=[Coverage(theme_id=tid, status=st, candidates=c) for tid, _, st, c, _ in themes],
        actions=[], meta=Meta(engine="local", model="m"),
    )
    return PublishedSummary(
        title="t", team=team, published_on=DAY, participants=9, contributors=9, k=3, analysis=analysis,
        fear_statuses={}, theme_people={tid: n for tid, *_, n in themes},
    )


def _cand(cid: str, flags=()) -> Candidate:
    return Candidate(commitment_id=cid, title=cid, clause="x", similarity=0.5, flags=list(flags))


def test_people_are_counted_once_per_team():
    items = [GapItem("r", team, DAY, "t", "l", "s", "uncovered", False, "", "", "l", n)
             for team, n in (("A", 3), ("A", 5), ("B", 4))]
    assert people_overall(items) == 9


def test_covered_fears_stay_off_the_board_unless_their_review_is_overdue():
    retro = PublishedRetro("r1", "A", DAY, _summary("A", [
        ("t1", "Fear of being blamed", "covered", [_cand("BL-1")], 6),
        ("t2", "Burnout and unsustainable workload", "covered", [_cand("WL-1", ["review overdue"])], 6),
        ("t3", "Fear of work being outsourced", "needs_review", [_cand("OS-1")], 6),
    ]))
    board = build_board([retro], [], k=5, today=DAY)
    got = {(g.commitment_id, g.topic, g.items[0].status, g.items[0].overdue) for g in board.groups}
    assert got == {("WL-1", "burnout and unsustainable workload", "covered", True),
                   ("OS-1", "fear of work being outsourced", "needs_review", False)}


def test_what_if_sorts_groups_by_what_a_draft_changes():
    def group(cid: str) -> GapGroup:
        return GapGroup(cid, cid, "topic " + cid, [], 6)

    gap, related, removed, same = group(""), group("WL-1"), group("OS-1"), group("BL-1")
    out = what_if_changes(
        [gap, related, removed, same],
        [("needs_review", ["BL-9"]), ("covered", ["WL-1"]), ("needs_review", ["JS-1"]), ("needs_review", ["BL-1"])],
        in_force={"BL-9", "WL-1", "JS-1", "BL-1"},
    )
    assert [w.group for w in out["may now be covered"]] == [gap]
    assert [w.group for w in out["now covered"]] == [related]
    assert [w.group for w in out["would stop being covered"]] == [removed]
    assert [w.group for w in out["unchanged"]] == [same]


def test_what_if_with_the_offline_engine_on_a_drafted_register(local_engine):
    """A register without the blameless-review commitment leaves a blame worry a gap;
    the draft that adds it gives the gap a candidate, before anything is saved."""
    svc = make_service(min_participants=3)
    full = parse_register(demo_register_text(), "demo_register.md")
    without = full.model_copy(update={"commitments": [c for c in full.commitments if c.id not in ("BL-1", "AI-1")]})
    item = GapItem("r", "A", DAY, "t1", "Fear of being blamed",
                   "People fear the incident review will be used to blame whoever was on call.",
                   "uncovered", False, "", "", "fear of being blamed", 6)
    group = GapGroup("", "", item.topic, [item], 6)
    before = svc.what_if(local_engine, without, [group])
    after = svc.what_if(local_engine, full, [group])
    assert "BL-1" not in {c for w in before["may now be covered"] for c in w.candidates}
    assert [w.group for w in after["may now be covered"]] == [group]
    assert "BL-1" in after["may now be covered"][0].candidates
    assert svc.registers() == []  # nothing was saved
