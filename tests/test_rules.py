"""The rules the product stands on, each tested in its one home."""

from __future__ import annotations

import datetime as dt

import pytest

from facilitator.errors import InputError
from facilitator.models import Action, Analysis, Candidate, Card, Commitment, Coverage, Meta, Reclassification, Register, Theme
from facilitator.service import review

TODAY = dt.date(2026, 11, 28)


# --- text.copies_card: one rule for the model validator, the publish gate and the evals ---------------


@pytest.mark.parametrize(
    "said, card, copied",
    [
        ("People fear the post-mortem will be used against them", "the post-mortem will be used against me", True),
        ("Worry that reviews are used in ratings", "the post-mortem will be used against me in my review", False),
        ("am i next? really", "Am I next?  Really.", True),  # a short card copied whole
        ("Too short a notice worries people.", "Too short", False),  # under 10 characters may recur
        ("THE NEW BOT WILL REPLACE my job", "the new bot will replace my job", True),  # case and width folded
        ("they don’t tell us anything", "They don't tell us anything about the reorg", True),  # curly apostrophe
    ],
)
def test_copies_card(said, card, copied):
    from facilitator.text import copies_card

    assert copies_card(said, card) is copied


def test_clauses_are_exact_substrings():
    from facilitator.text import clauses

    text = "No one is laid off; savings fund retraining. Reviews are never used in ratings!"
    parts = clauses(text)
    assert parts == ["No one is laid off", "savings fund retraining.", "Reviews are never used in ratings!"]
    assert all(p in text for p in parts)


# --- checks.required_action_kinds -----------------------------------------------------------------------


@pytest.mark.parametrize("status, kinds", [("covered", ("reassure",)), ("partial", ("reassure", "escalate")),
                                           ("uncovered", ("escalate",)), ("needs_review", ("escalate",)), (None, ("escalate",))])
def test_required_action_kinds(status, kinds):
    from facilitator.checks import required_action_kinds

    assert required_action_kinds(status) == kinds


# --- model replies: JSON anywhere, Retry-After both ways, late calls counted ---------------------------


def test_json_is_found_after_prose_without_a_repair():
    from facilitator.model.replies import ActionsReply, parse

    reply = 'Sure! Here is the JSON you asked for:\n\n```json\n{"actions": []}\n```\nLet me know.'
    value, errors = parse(reply, ActionsReply)
    assert errors == [] and value.actions == []
    value, errors = parse('Here you go: {"actions": []} (done)', ActionsReply)
    assert errors == [] and value.actions == []


def test_retry_after_in_seconds_and_as_an_http_date():
    from facilitator.model.client import retry_after_seconds

    now = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.timezone.utc)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds("Tue, 01 Dec 2026 09:00:12 GMT", now) == 12.0
    assert retry_after_seconds("Tue, 01 Dec 2026 08:00:00 GMT", now) == 0.0  # already past
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


def test_a_late_reply_is_still_charged(monkeypatch):
    import threading
    import types

    from facilitator.errors import ModelCallError
    from facilitator.model.client import LLMClient
    from facilitator.settings import Settings

    client = LLMClient(Settings(model="openai/gpt-4o-mini", call_timeout_s=0.05))
    release = threading.Event()

    def slow():
        release.wait(2)
        return types.SimpleNamespace(usage=types.SimpleNamespace(prompt_tokens=100, completion_tokens=20))

    with pytest.raises(ModelCallError, match="no reply within"):
        client._with_deadline(slow)
    release.set()
    for _ in range(100):
        if client.usage.late_calls:
            break
        threading.Event().wait(0.02)
    assert client.usage.late_calls == 1 and client.usage.late_tokens == 120
    assert client.usage.as_meta()["total_tokens"] == 120


# --- scrub: a replacement is a replacement; a date stays a date ------------------------------------------


def test_normalising_unicode_is_not_reported_as_a_name():
    from facilitator.scrub import scrub, scrub_report

    assert scrub_report("Deploys\u00a0are slow, ﬁx the ﬂaky tests", ["Ana"])[1] == 0
    assert scrub_report("Ana fixed it", ["Ana"])[1] == 1
    assert scrub("Review on 2026-06-01 and 01.06.2026; call +44 20 7946 0958") == (
        "Review on 2026-06-01 and 01.06.2026; call [phone]"
    )


# --- columns as people name them -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, role",
    [("Didn't go well", "problem"), ("What didn't go well", "problem"), ("Less well", "problem"),
     ("Not so well", "problem"), ("Could be better", "problem"), ("What Didn't Work", "problem"),
     ("Went well", "positive"), ("what_went_well", "positive"), ("went-well", "positive"), ("Kudos", "positive"),
     ("Wind", "positive"), ("Windows", None), ("Start", "proposal"), ("Stop", "problem"), ("Continue", "positive"),
     ("Liked", "positive"), ("Lacked", "problem"), ("Longed for", "proposal"), ("Rose", "positive"),
     ("Thorn", "problem"), ("Bud", "proposal"), ("Keep", "positive"), ("Problem", "problem"), ("Try", "proposal"),
     ("Mad", "problem"), ("Glad", "positive"), ("Delta", "problem"), ("Ideas", "proposal"),
     ("Action items", "proposal"), ("Worries", "worry"), ("Anchors", "problem"), ("Questions", "other"),
     # KPT by letter, postmortems, moods, and the languages teams write boards in
     ("K", "positive"), ("P", "problem"), ("T", "proposal"), ("Contributing Factors", "problem"),
     ("Humor/Saúde", "worry"), ("Pontos positivos", "positive"), ("Pontos negativos", "problem"),
     ("Sugestões", "proposal"), ("Lo que no salió bien", "problem"), ("良かったこと", "positive"),
     ("問題点", "problem"), ("Staying involved", None),
     # Korean, Spanish starfish, feedback rounds and German formats; "to do" only as a whole name
     ("좋은 점", "positive"), ("안 좋았던 점", "problem"), ("Dejar de hacer", "problem"), ("Hacer más", "proposal"),
     ("Seguir haciendo", "positive"), ("What did you learn?", "positive"), ("What was challenging?", "problem"),
     ("What worked well, we want to do more of it?", "positive"), ("To do", "proposal"), ("Learned", None),
     ("Zu verbessern", "problem"), ("Sorgen", "worry"), ("Dorn", "problem"),
     # Japanese YWT and what-was-fun columns, Korean "what I felt", a bare "What didn't", Italian
     ("楽しかったこと", "positive"), ("できたこと・やったこと", "positive"), ("Y(やったこと)", None),
     ("W(わかったこと)", None), ("つぎやること", "proposal"), ("困ったこと", "problem"), ("느낀 점", None),
     ("What didn't", "problem"), ("What didn't work", "problem"), ("Cosa poteva essere migliorato", "problem"),
     ("Punti positivi", "positive"), ("Lezioni imparate", None),
     ("Keep (유지할 항목)", "positive"), ("Try (Action Items)", "proposal")],
)
def test_column_roles(column, role):
    from facilitator.offline.kinds import column_role

    assert column_role(column) == role


def test_a_column_constrains_the_kind(local_engine):
    from facilitator.offline.kinds import role_mask

    classes = ["fear", "flaw", "other", "positive"]
    # A positive column holds no flaw, and no fear unless the card voices a worry.
    assert list(role_mask(Card(id="1", text="the build", column="Went well"), classes)) == [0, 0, 1, 1]
    assert list(role_mask(Card(id="1", text="Great demo, but I worry it replaces our jobs", column="Went well"),
                          classes)) == [1, 0, 1, 1]
    assert list(role_mask(Card(id="1", text="great pairing", column="Didn't go well"), classes)) == [1, 1, 1, 0]
    assert list(role_mask(Card(id="1", text="Document the release steps", column="Start"), classes)) == [0, 1, 1, 0]
    assert list(role_mask(Card(id="1", text="worried we lose our jobs", column="Start"), classes)) == [1, 1, 1, 0]
    kinds = local_engine.classifier.classify(
        [Card(id="1", text="Nope", column="Didn't go well"), Card(id="2", text="Nothing", column="Went well")],
        local_engine.embedder.embed(["Nope", "Nothing"]),
    )
    assert [k.kind for k in kinds] == ["other", "other"]


def test_fear_evidence_says_whether_the_worry_lands_on_people():
    from facilitator.offline.kinds import fear_evidence

    def ev(text, column=None):
        return fear_evidence(Card(id="1", text=text, column=column))

    assert ev("I'm scared the new bot will replace my job") == "people"
    assert ev("My head hurts by the end of the day.") == "people"
    assert ev("건강 관리에 소홀해지는 것 같다") == "people"  # Korean: neglecting our health
    assert ev("徹夜が続いている") == "people"  # Japanese: one all-nighter after another
    assert ev("Afraid the build is flaky again") == "thing"
    assert ev("the build is flaky", "Worries") == "thing"
    assert ev("QA caught a payment error I made. Afraid it goes into my rating.") == "worry"
    assert ev("sick of the flaky build") is None and ev("CI is slow") is None
    # Worries about one's place said without a worry word, as people write them
    assert ev("Automated checks are great but nobody says what happens to assessors") == "people"
    assert ev("Management asked 'who approved this change' before asking what happened") == "people"
    assert ev("To be told before the organisation chart is redrawn around us") == "people"
    assert ev("Half the team is on fixed-term contracts tied to the funding review") == "people"
    assert ev("Would love to see this written up on the blog") is None
    assert ev("what happens to the tickets after triage?") is None
    # People on their way out (LABELLING.md 1.1: "half the desk is updating their CVs")
    assert ev("half the desk is updating their CVs") == "people"
    assert ev("two people handed in their notice after the on-call change") == "people"
    assert ev("looking for a new job runner for CI") != "people"


def test_the_lexical_channel_reads_cjk_as_character_pairs():
    from facilitator.offline.lexical import similarity, terms

    assert terms("同じTDDの考え方") == ["tdd", "同じ", "の考", "考え", "え方"]
    assert terms("책이 어려웠음, deploys failing") == ["deploy", "fail", "책이", "어려", "려웠", "웠음"]
    # Two Japanese cards about test refactoring share words although no space separates them.
    sim = similarity(["テストのリファクタができた", "テストのリファクタリング", "ペアプロが楽しかった"])
    assert sim[0, 1] > 0.3 > sim[0, 2]


def test_a_label_does_not_open_on_a_connective():
    from facilitator.offline.themes import phrase

    assert phrase("However, the counterpoint is that the remaining work is dull", set()).startswith("The counterpoint")
    assert phrase("This would also make working around PTO easier", set()) == "Make working around PTO easier"
    assert phrase("We should document the release steps", set()) == "Document the release steps"
    assert phrase("So what", set()) == "So what"  # never emptied


# --- offline actions use what the team proposed ----------------------------------------------------------


def test_fix_action_uses_the_teams_proposal_or_says_there_is_none():
    from facilitator.offline.actions import fix_title

    theme = Theme(id="t1", label="Release steps undocumented", kind="flaw", card_ids=["1", "2"])
    cards = [Card(id="1", text="Nobody knows the release steps", column="Didn't go well"),
             Card(id="2", text="Document the release steps in the runbook", column="Start")]
    assert "Document the release steps in the runbook" in fix_title(theme, cards)
    assert fix_title(theme, cards[:1]).startswith("No fix was proposed for \u201cRelease steps undocumented\u201d")
    named = [Card(id="3", text="Ana: automate the release checklist", column="Try")]
    title = fix_title(theme, named, ["Ana"])
    assert "Ana" not in title and "automate the release checklist" in title and "people whose work" in title


# --- review: the facilitator decides coverage ----------------------------------------------------------


REG = Register(
    default_owner_role="Head of People",
    commitments=[
        Commitment(id="JS-1", title="No layoffs from improvements", owner_role="Chief People Officer",
                   text="No permanent employee is made redundant because of an improvement. Savings fund retraining."),
        Commitment(id="OLD-1", title="Retired", status="retired", text="Everyone keeps their job forever."),
    ],
)


def _fear_analysis() -> Analysis:
    cand = Candidate(commitment_id="JS-1", title="No layoffs", clause="Savings fund retraining.", similarity=0.5)
    return Analysis(
        themes=[Theme(id="t1", label="Fear of the bot", kind="fear", card_ids=["a", "b", "c"]),
                Theme(id="t2", label="Slow builds", kind="flaw", card_ids=["d"])],
        coverage=[Coverage(theme_id="t1", status="needs_review", candidates=[cand])],
        actions=[Action(id="a1", title="Ask HR about fear of the bot", kind="escalate", theme_ids=["t1"],
                        owner_role="Chief People Officer", due=TODAY),
                 Action(id="a2", title="Fix slow builds", kind="fix", theme_ids=["t2"], owner_role="Team", due=TODAY)],
        meta=Meta(engine="local", model="x", reclassified=[Reclassification(card_id="d", to_kind="flaw")]),
    )


def test_the_facilitator_sets_coverage_from_the_commitments_own_clauses():
    a = review.set_coverage(_fear_analysis(), "t1", status="covered", commitment_ids=["JS-1"],
                            quotes=[("JS-1", "Savings fund retraining.")], rationale="Our people are permanent.",
                            register=REG, today=TODAY)
    cov = a.coverage[0]
    assert cov.status == "covered" and cov.set_by == "facilitator" and cov.quotes[0].text == "Savings fund retraining."
    assert {x.kind for x in a.actions if "t1" in x.theme_ids} >= {"reassure"}  # the action the status needs
    with pytest.raises(InputError, match="Pick the quote from the clauses"):
        review.set_coverage(_fear_analysis(), "t1", status="covered", commitment_ids=["JS-1"],
                            quotes=[("JS-1", "Everyone is safe")], rationale="", register=REG, today=TODAY)
    with pytest.raises(InputError, match="not in force"):
        review.set_coverage(_fear_analysis(), "t1", status="covered", commitment_ids=["OLD-1"],
                            quotes=[("OLD-1", "Everyone keeps their job forever.")], rationale="", register=REG,
                            today=TODAY)
    with pytest.raises(InputError, match="needs the clause"):
        review.set_coverage(_fear_analysis(), "t1", status="partial", commitment_ids=["JS-1"], quotes=[],
                            rationale="", register=REG, today=TODAY)


def test_splitting_a_fear_gives_a_fear_to_review_not_an_unchecked_gap():
    a = review.split_theme(_fear_analysis(), "t1", ["c"], "Fear of the bot at night")
    new = next(t for t in a.themes if t.label == "Fear of the bot at night")
    cov = next(c for c in a.coverage if c.theme_id == new.id)
    assert cov.status == "needs_review" and [c.commitment_id for c in cov.candidates] == ["JS-1"]
    assert any(x.kind == "escalate" and new.id in x.theme_ids for x in a.actions)


def test_renaming_and_merging_keep_actions_in_step():
    a = review.rename_theme(_fear_analysis(), "t1", "Worry about the routing bot")
    assert a.actions[0].title == "Ask HR about worry about the routing bot"
    two = a.model_copy(deep=True)
    two.themes.append(Theme(id="t3", label="Bot worries", kind="fear", card_ids=["e"]))
    two.coverage.append(Coverage(theme_id="t3", status="uncovered"))
    two.actions.append(Action(id="a3", title="Ask about bot", kind="escalate", theme_ids=["t3"], owner_role="HR", due=TODAY))
    merged = review.merge_themes(two, "t1", ["t3"])
    assert [x.kind for x in merged.actions if "t1" in x.theme_ids] == ["escalate"]  # one, not two


def test_a_card_taken_out_of_the_fears_is_restored_in_one_click():
    a = review.restore_fear(_fear_analysis(), "d")
    restored = next(t for t in a.themes if "d" in t.card_ids)
    assert restored.kind == "fear" and a.meta.reclassified == []
    assert next(c for c in a.coverage if c.theme_id == restored.id).status == "needs_review"


def test_a_card_that_voices_a_worry_but_stayed_out_of_the_fears_is_listed_and_marked_in_one_click(local_engine):
    from facilitator.models import CardSet
    from facilitator.offline.kinds import may_be_fears

    cards = [Card(id="1", text="Deploys to staging still need a manual approval", column="To improve"),
             Card(id="2", text="Honestly I'm a bit worried about what happens to us after the migration",
                  column="To improve"),
             Card(id="3", text="Pairing on the carrier API worked well", column="Went well")]
    themes = [Theme(id="t1", label="Manual approvals", kind="flaw", card_ids=["1", "2"]),
              Theme(id="t2", label="Pairing", kind="positive", card_ids=["3"])]
    assert may_be_fears(cards, themes) == ["2"]
    assert may_be_fears(cards, themes + [Theme(id="t3", label="Worry", kind="fear", card_ids=["2"])]) == []
    # the offline engine lists what it kept out of the fears (here: a worry about a thing, rule 1.1)
    board = CardSet(title="x", cards=[Card(id="a", text="Afraid the build is flaky again", column="To improve"),
                                      Card(id="b", text="Release notes are late every sprint", column="To improve"),
                                      Card(id="c", text="Good pairing this week", column="Went well")])
    analysis = local_engine.analyze(board, REG, today=TODAY)
    fear_ids = {cid for t in analysis.themes if t.kind == "fear" for cid in t.card_ids}
    assert set(analysis.meta.may_be_fears) == {"a"} - fear_ids

    a = _fear_analysis()
    a.meta.may_be_fears = ["d"]
    marked = review.mark_fear(a, "d")
    theme = next(t for t in marked.themes if "d" in t.card_ids)
    assert theme.kind == "fear" and marked.meta.may_be_fears == []
    assert next(c for c in marked.coverage if c.theme_id == theme.id).status == "needs_review"
    assert any(x.kind == "escalate" and theme.id in x.theme_ids for x in marked.actions)  # it reaches an owner
    with pytest.raises(InputError, match="not on the list"):
        review.mark_fear(_fear_analysis(), "d")
