"""The retro service on SQLite: blind collection, limits, phases, analysis
state, review edits, votes, publish gate, carry-over and the register."""

from __future__ import annotations

import datetime as dt

import pytest

from facilitator.service import review
from facilitator.errors import InputError
from facilitator.publishing.exports import actions_csv, to_json
from facilitator.publishing.preview import OTHER_ID
from facilitator.service.retros import LimitReached, NotAllowed, RetroNotFound, new_token
from tests.retro_helpers import ColumnEngine, demo_register_text, make_service, seeded_retro


def publish(svc, retro_id):
    """Approve and publish the preview as it is now (the facilitator read it)."""
    return svc.publish(retro_id, approved=True, rev=svc.preview(retro_id).rev)


@pytest.fixture
def svc():
    return make_service()


def test_create_gives_two_links_with_a_strong_key(svc):
    reg = svc.add_register(demo_register_text(), "demo_register.md")
    c = svc.create_retro(team="Ops", title="S1", columns=["A", "B"], register_id=reg)
    assert len(c.facilitator_key) >= 32  # token_urlsafe(24): 192 bits
    assert svc.check_key(c.retro_id, c.facilitator_key)
    assert not svc.check_key(c.retro_id, c.facilitator_key[:-1] + "x")
    assert not svc.check_key(c.retro_id, None)
    assert svc.by_join_code(c.join_code).id == c.retro_id
    assert svc.get(c.retro_id).k == 5  # settings default
    with pytest.raises(RetroNotFound):
        svc.by_join_code("nope")


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"team": " "}, "team a name"),
        ({"title": ""}, "title"),
        ({"columns": []}, "between 1 and 8 columns"),
        ({"k": 2}, "at least 3"),
        ({"vote_budget": 0}, "between 1 and 20"),
    ],
)
def test_create_rejects_bad_input(svc, kw, message):
    args = dict(team="Ops", title="S1", columns=["A"], register_id=None) | kw
    with pytest.raises(InputError, match=message):
        svc.create_retro(**args)


def test_cards_are_blind_and_only_their_writer_can_change_them(svc):
    c, (alice, bob, *_) = seeded_retro(svc, people=3)
    mine = svc.my_cards(c.retro_id, alice)
    assert len(mine) == 3 and all("Person 0" in x.text for x in mine)
    with pytest.raises(NotAllowed, match="hidden until"):
        svc.revealed_cards(c.retro_id)
    svc.edit_card(c.retro_id, alice, mine[0].id, "edited text", "To improve")
    assert svc.my_cards(c.retro_id, alice)[0].text == "edited text"
    with pytest.raises(NotAllowed, match="this browser session"):
        svc.edit_card(c.retro_id, bob, mine[0].id, "hijack")
    with pytest.raises(NotAllowed):
        svc.delete_card(c.retro_id, bob, mine[1].id)
    svc.delete_card(c.retro_id, alice, mine[1].id)
    assert len(svc.my_cards(c.retro_id, alice)) == 2
    svc.advance(c.retro_id, "reveal")
    assert len(svc.revealed_cards(c.retro_id)) == 8
    with pytest.raises(NotAllowed, match="revealed"):
        svc.edit_card(c.retro_id, alice, mine[0].id, "too late")


def test_no_author_identity_is_exposed(svc):
    c, _ = seeded_retro(svc, people=3, to_phase="reveal")
    cards = svc.revealed_cards(c.retro_id)
    assert set(vars(cards[0])) == {"id", "column", "text"}


def test_limits_have_friendly_messages(svc):
    svc.settings = svc.settings.model_copy(update={"max_cards_per_participant": 2, "max_cards_per_retro": 3,
                                                   "max_cards_per_minute": 100})
    reg = svc.add_register(demo_register_text(), "r.md")
    c = svc.create_retro(team="T", title="S", columns=["A"], register_id=reg, k=3)
    a, b = new_token(), new_token()
    svc.join(c.retro_id, a)
    svc.join(c.retro_id, b)
    with pytest.raises(LimitReached, match="limit is 500"):
        svc.add_card(c.retro_id, a, "A", "x" * 501, "k0")
    svc.add_card(c.retro_id, a, "A", "one", "k1")
    svc.add_card(c.retro_id, a, "A", "two", "k2")
    with pytest.raises(LimitReached, match="most one person can"):
        svc.add_card(c.retro_id, a, "A", "three", "k3")
    svc.add_card(c.retro_id, b, "A", "three", "k4")
    with pytest.raises(LimitReached, match="most it takes"):
        svc.add_card(c.retro_id, b, "A", "four", "k5")
    with pytest.raises(InputError, match="Unknown column"):
        svc.add_card(c.retro_id, b, "Z", "four", "k6")
    with pytest.raises(NotAllowed, match="Join the retro"):
        svc.add_card(c.retro_id, new_token(), "A", "stranger", "k7")


def test_submission_rate_is_limited_per_minute():
    now = [1000.0]
    svc = make_service(max_cards_per_minute=2)
    svc.clock = lambda: now[0]
    c = svc.create_retro(team="T", title="S", columns=["A"], register_id=None)
    tok = new_token()
    svc.join(c.retro_id, tok)
    svc.add_card(c.retro_id, tok, "A", "1", "k1")
    svc.add_card(c.retro_id, tok, "A", "2", "k2")
    with pytest.raises(LimitReached, match="try again in"):
        svc.add_card(c.retro_id, tok, "A", "3", "k3")
    now[0] += 61
    svc.add_card(c.retro_id, tok, "A", "3", "k3")


def test_resubmitting_the_same_idempotency_key_creates_no_duplicate(svc):
    c, (alice, *_) = seeded_retro(svc, people=3)
    first = svc.add_card(c.retro_id, alice, "Worries", "retry me", "same-key")
    again = svc.add_card(c.retro_id, alice, "Worries", "retry me", "same-key")
    assert first == again
    assert svc.counts(c.retro_id).cards == 10


def test_phases_move_forward_one_at_a_time(svc):
    c, _ = seeded_retro(svc, people=3)
    with pytest.raises(NotAllowed, match="next phase is Reveal"):
        svc.advance(c.retro_id, "vote")
    svc.advance(c.retro_id, "reveal")
    svc.advance(c.retro_id, "reveal")  # a second click from another tab is harmless
    svc.advance(c.retro_id, "analyse")
    with pytest.raises(NotAllowed, match="Run the analysis first"):
        svc.advance(c.retro_id, "review")


def test_reveal_needs_cards(svc):
    c = svc.create_retro(team="T", title="S", columns=["A"], register_id=None)
    with pytest.raises(NotAllowed, match="No cards yet"):
        svc.advance(c.retro_id, "reveal")


def test_a_failing_model_loses_nothing_and_can_be_retried(svc):
    c, _ = seeded_retro(svc, people=3, to_phase="reveal")
    svc.advance(c.retro_id, "analyse")
    run = svc.start_analysis(c.retro_id)
    assert svc.start_analysis(c.retro_id) is None  # one run at a time
    svc.run_analysis(c.retro_id, run, ColumnEngine(fail=RuntimeError("provider timed out")))
    state = svc.analysis(c.retro_id)
    assert state.status == "failed" and "provider timed out" in state.error and "cards are safe" in state.error
    assert svc.counts(c.retro_id).cards == 9
    run = svc.start_analysis(c.retro_id)
    svc.run_analysis(c.retro_id, run, ColumnEngine())
    assert svc.analysis(c.retro_id).status == "done"


def test_review_edits_are_kept_separately_and_restorable(svc):
    c, _ = seeded_retro(svc, people=3, to_phase="review")
    rid = c.retro_id
    svc.edit_analysis(rid, review.rename_theme, "t1", "What went well")
    svc.edit_analysis(rid, review.set_kind, "t2", "fear")
    state = svc.analysis(rid)
    assert state.original.theme("t1").label == "About Went well"
    assert state.current.theme("t1").label == "What went well"
    assert {x.theme_id for x in state.current.coverage} == {"t2", "t3"}
    # Rerun keeping edits: the edited version stays, the new result is the original.
    svc.run_analysis(rid, svc.start_analysis(rid, keep_edits=True), ColumnEngine())
    assert svc.analysis(rid).current.theme("t1").label == "What went well"
    # Rerun without: edits are replaced.
    svc.run_analysis(rid, svc.start_analysis(rid, keep_edits=False), ColumnEngine())
    assert svc.analysis(rid).edited is None
    svc.edit_analysis(rid, review.rename_theme, "t1", "Again")
    svc.restore_original(rid)
    assert svc.analysis(rid).current.theme("t1").label == "About Went well"


def test_merge_split_move_and_actions(svc):
    c, _ = seeded_retro(svc, people=3, to_phase="review")
    rid = c.retro_id
    svc.edit_analysis(rid, review.set_kind, "t3", "flaw")  # fears and flaws are never merged
    a = svc.edit_analysis(rid, review.merge_themes, "t2", ["t3"])
    assert [t.id for t in a.themes] == ["t1", "t2"] and len(a.theme("t2").card_ids) == 6
    assert all(x.theme_ids == ["t2"] for x in a.actions)
    moving = a.theme("t2").card_ids[:2]
    a = svc.edit_analysis(rid, review.split_theme, "t2", moving, "Split off")
    new = next(t for t in a.themes if t.label == "Split off")
    assert new.card_ids == moving
    a = svc.edit_analysis(rid, review.move_cards, moving[:1], "t1")
    assert moving[0] in a.theme("t1").card_ids
    a = svc.edit_analysis(rid, review.upsert_action, action_id=None, title="Talk to HR", kind="escalate",
                          owner_role="Chief People Officer", due=dt.date(2030, 1, 1), theme_ids=["t2"])
    added = a.actions[-1]
    a = svc.edit_analysis(rid, review.upsert_action, action_id=added.id, title="Talk to HR today", kind="escalate",
                          owner_role="CPO", due=dt.date(2030, 1, 2), theme_ids=["t2"])
    assert a.actions[-1].owner_role == "CPO"
    a = svc.edit_analysis(rid, review.remove_action, added.id)
    assert added.id not in {x.id for x in a.actions}
    with pytest.raises(InputError, match="Leave at least one card"):
        svc.edit_analysis(rid, review.split_theme, "t1", a.theme("t1").card_ids, "all")


def test_votes_respect_the_budget_and_are_replaced_on_resubmit(svc):
    c, toks = seeded_retro(svc, people=3, to_phase="vote")
    rid = c.retro_id
    with pytest.raises(LimitReached, match="have 3"):
        svc.cast_votes(rid, toks[0], {"t1": 4})
    svc.cast_votes(rid, toks[0], {"t1": 2, "t3": 1})
    svc.cast_votes(rid, toks[0], {"t3": 3})
    svc.cast_votes(rid, toks[1], {"t3": 1, "t2": 2})
    assert svc.vote_totals(rid) == {"t3": 4, "t2": 2}
    assert svc.my_votes(rid, toks[0]) == {"t3": 3}
    with pytest.raises(InputError, match="themes changed"):
        svc.cast_votes(rid, toks[2], {"t99": 1})


def test_publish_gate_needs_approval_phase_and_k_people(svc):
    c, toks = seeded_retro(svc, people=3, k=4, to_phase="publish")
    with pytest.raises(NotAllowed, match="approval"):
        svc.publish(c.retro_id, approved=False, rev=svc.preview(c.retro_id).rev)
    with pytest.raises(NotAllowed, match="3 people wrote cards; this retro needs at least 4"):
        publish(svc, c.retro_id)


def test_publish_merges_tiny_themes_and_is_immutable(svc):
    c, toks = seeded_retro(svc, people=3, to_phase="review")
    rid = c.retro_id
    a = svc.analysis(rid).current
    # A theme with cards from only 2 people must not be shown on its own.
    two = [cid for cid in a.theme("t3").card_ids[:2]]
    svc.edit_analysis(rid, review.split_theme, "t3", two, "Fear of being replaced by the bot")
    for phase in ("vote", "discuss", "publish"):
        svc.advance(rid, phase)
    preview = svc.preview(rid)
    kinds = {f.kind for f in preview.flags}
    assert "tiny_theme" in kinds
    labels = [t.label for t in preview.summary.analysis.themes]
    assert "Fear of being replaced by the bot" not in labels and "Other concerns" in labels
    pub = publish(svc, rid)
    assert svc.get(rid).phase == "published"
    assert "Fear of being replaced by the bot" not in pub.markdown
    assert "Person 0" not in pub.markdown and "Person 0" not in to_json(pub.summary)
    assert svc.publication(pub.id).markdown == pub.markdown
    assert any(t.id == OTHER_ID for t in pub.summary.analysis.themes)
    assert actions_csv(pub.summary).startswith("id,title,kind,owner_role,due,themes,commitments")
    with pytest.raises(NotAllowed):
        publish(svc, rid)
    with pytest.raises(NotAllowed):
        svc.edit_analysis(rid, review.rename_theme, "t1", "changed after publish")
    with pytest.raises(NotAllowed):
        svc.join(rid, new_token())
    # The session tags that linked cards were erased.
    from sqlalchemy import select

    from facilitator.service import db as t
    with svc.db.read() as conn:
        assert conn.execute(select(t.cards.c.author_tag).where(t.cards.c.retro_id == rid)).scalars().all() == [None] * 9


def _worries_in_review(svc, roster=()):
    """Three people in one Worries column, one of them with a long, quotable fear."""
    reg = svc.add_register(demo_register_text(), "r.md")
    c = svc.create_retro(team="T", title="S", columns=["Worries"], register_id=reg, k=3, roster=list(roster))
    rid = c.retro_id
    fear = "I am afraid the new routing bot will make my whole night shift redundant"
    for n in range(3):
        tok = new_token()
        svc.join(rid, tok)
        svc.add_card(rid, tok, "Worries", fear if n == 0 else f"Worried about jobs {n}", f"k{n}")
    for phase in ("reveal", "analyse"):
        svc.advance(rid, phase)
    svc.run_analysis(rid, svc.start_analysis(rid), ColumnEngine())
    svc.advance(rid, "review")
    return rid


def test_preview_flags_names_and_verbatim_fear_text(svc):
    rid = _worries_in_review(svc, roster=["Kwame"])
    svc.edit_analysis(rid, review.rename_theme, "t1", "Kwame: the new routing bot will make my whole night shift redundant")
    flags = svc.preview(rid).flags
    assert {"name", "verbatim"} <= {f.kind for f in flags}
    assert svc.preview(rid).summary.analysis.theme("t1").label.startswith("[name]")


def test_carry_over_opens_the_next_retro_of_the_same_team(svc):
    c, _ = seeded_retro(svc, people=3, to_phase="publish", team="Dispatch")
    publish(svc, c.retro_id)
    nxt = svc.create_retro(team=" dispatch ", title="Sprint 43", columns=["A"], register_id=None)
    other = svc.create_retro(team="Finance", title="M1", columns=["A"], register_id=None)
    items = svc.carryover(nxt.retro_id)
    assert len(items) == 2 and all(i.status == "open" for i in items)
    assert svc.carryover(other.retro_id) == []
    svc.mark_action(nxt.retro_id, items[0].id, "done")
    svc.mark_action(nxt.retro_id, items[1].id, "carried")
    shown = {i.id: i for i in svc.carryover(nxt.retro_id)}
    assert shown[items[0].id].status == "done" and shown[items[0].id].reviewed_here
    third = svc.create_retro(team="Dispatch", title="Sprint 44", columns=["A"], register_id=None)
    assert [i.id for i in svc.carryover(third.retro_id)] == [items[1].id]  # carried stays open
    with pytest.raises(InputError):
        svc.mark_action(nxt.retro_id, items[0].id, "open")


def test_register_versions(svc):
    raw = demo_register_text()
    first = svc.add_register(raw, "demo.md", name="Harbourline")
    second = svc.add_register(raw.replace("90 days", "60 days"), "demo.md", name="Harbourline")
    versions = svc.registers()
    assert [v.id for v in versions] == [second, first]
    assert [v.version for v in versions] == ["v2", "v1"]
    assert svc.register_raw(first) == raw
    with pytest.raises(InputError):
        svc.add_register("## nope", "bad.md")


def test_state_survives_a_restart():
    svc = make_service()
    c, toks = seeded_retro(svc, people=3, to_phase="vote")
    svc.cast_votes(c.retro_id, toks[0], {"t1": 1})
    svc.db.dispose()
    again = make_service()  # a new process: same file, fresh engine
    assert again.counts(c.retro_id).cards == 9
    assert again.my_votes(c.retro_id, toks[0]) == {"t1": 1}
    assert len(again.my_cards(c.retro_id, toks[0])) == 3



# --- review findings: anonymity of what is published, and the publish gate ----------


class _TranscriptEngine(ColumnEngine):
    """Like the model engine: the analysis carries the prompts it sent (with card texts)."""

    def analyze(self, cards, register, **kw):
        from facilitator.models import ModelCall, ModelMessage

        a = super().analyze(cards, register, **kw)
        prompt = ModelMessage(role="user", content="\n".join(c.text for c in cards.cards))
        return a.model_copy(update={"transcript": [ModelCall(task="themes", model="m", messages=[prompt], reply="{}")]})


def test_the_model_transcript_is_never_published(svc):
    c, _ = seeded_retro(svc, people=3, to_phase="publish", engine=_TranscriptEngine())
    assert svc.analysis(c.retro_id).current.transcript  # the engine did record it
    preview = svc.preview(c.retro_id)
    assert preview.summary.analysis.transcript is None
    pub = publish(svc, c.retro_id)
    assert "transcript" not in to_json(pub.summary) and "Person 0" not in to_json(pub.summary)
    from sqlalchemy import select

    from facilitator.service import db as t
    with svc.db.read() as conn:
        stored = conn.execute(select(t.publications.c.summary_json, t.publications.c.markdown)).one()
    assert all("transcript" not in x and "Person 0" not in x for x in stored)


def _preview(themes, actions=(), votes=None, authors=None):
    from facilitator.models import Action, Analysis, Card, Coverage, Meta, Theme
    from facilitator.publishing.preview import build_preview

    today = dt.date(2025, 1, 1)
    themes = [Theme(id=i, label=label, kind=kind, card_ids=ids) for i, label, kind, ids in themes]
    cards = [Card(id=cid, text=f"card {cid}", column="x") for th in themes for cid in th.card_ids]
    a = Analysis(
        themes=themes,
        coverage=[Coverage(theme_id=th.id, status="uncovered", rationale="nothing answers it")
                  for th in themes if th.kind == "fear"],
        actions=[Action(id=i, title=title, kind=kind, theme_ids=tids, owner_role="Team", due=today,
                        commitment_ids=cids) for i, title, kind, tids, cids in actions],
        meta=Meta(engine="local", model="x"),
    )
    authors = authors or {cid: cid.split(".")[0] for th in themes for cid in th.card_ids}  # "A.1" -> person A
    return build_preview(a, cards, authors, title="T", team="X", participants=6, k=3, today=today, votes=votes)


BIG = ("t1", "Slow deploys", "flaw", ["A.1", "B.1", "C.1"])


def test_an_action_linked_to_a_tiny_and_a_large_theme_is_reworded():
    p = _preview(
        [BIG, ("t2", "Night shift bot", "fear", ["D.1"]), ("t3", "Pager", "flaw", ["E.1", "F.1"])],
        actions=[("a1", "Speed up deploys and tell the night shift their role is safe from the bot", "fix",
                  ["t1", "t2"], ["JS-1"])],
    )
    act = p.summary.analysis.actions[0]
    assert "night shift" not in act.title.lower() and "bot" not in act.title.lower()
    assert act.theme_ids == ["t1"]  # each small theme is withheld: under 3 people of its kind
    assert act.commitment_ids == []  # cited for the tiny fear only: it would say what it was about
    # Flags name things the way the facilitator sees them: by label or title, never an internal id.
    assert any(f.kind == "action_reworded" and f.where.startswith("action \u201cSpeed up deploys") for f in p.flags)
    assert not any(f.where in ("action a1", "theme t2", "theme t3") for f in p.flags)


def test_an_other_concerns_bucket_from_fewer_than_3_people_is_withheld():
    p = _preview(
        [BIG, ("t2", "Night shift bot", "fear", ["D.1", "D.2"]), ("t3", "Pager", "flaw", ["E.1"])],
        actions=[("a1", "Tell the night shift the bot is safe", "reassure", ["t2"], ["JS-1"]),
                 ("a2", "Speed up deploys, fix the pager", "fix", ["t1", "t3"], [])],
        votes={"t1": 2, "t2": 3, "t3": 1},
    )
    s = p.summary
    assert [t.id for t in s.analysis.themes] == ["t1"]  # no bucket: it would be 2 people
    assert s.merged_themes == 0 and s.votes == {"t1": 2}
    assert [x.id for x in s.analysis.actions] == ["a2"] and s.analysis.actions[0].theme_ids == ["t1"]
    assert "pager" not in s.analysis.actions[0].title.lower()
    js = to_json(s)
    assert all(cid not in js for cid in ("D.1", "D.2", "E.1")) and OTHER_ID not in js
    assert {"tiny_theme", "action_withheld", "action_reworded"} <= {f.kind for f in p.flags}
    # Three people across small themes of different kinds: still no bucket (kinds never mix) ...
    p = _preview([BIG, ("t2", "Bot", "fear", ["D.1"]), ("t3", "Pager", "flaw", ["E.1", "F.1"])])
    assert p.summary.analysis.theme(OTHER_ID) is None
    # ... three people across small fears: the worries bucket is published.
    p = _preview([BIG, ("t2", "Bot", "fear", ["D.1"]), ("t3", "Pager dread", "fear", ["E.1", "F.1"])])
    assert p.summary.analysis.theme(OTHER_ID).card_ids == ["D.1", "E.1", "F.1"]


def test_a_model_theme_called_other_concerns_does_not_collide_with_the_bucket():
    p = _preview(
        [(OTHER_ID, "Misc", "other", ["A.1", "B.1", "C.1"]), ("t2", "Bot", "fear", ["D.1"]),
         ("t3", "Pager dread", "fear", ["E.1", "F.1"])],
        actions=[("a1", "Tidy the misc", "fix", [OTHER_ID], [])],
        votes={OTHER_ID: 5, "t2": 1},
    )
    ids = [t.id for t in p.summary.analysis.themes]
    assert len(ids) == len(set(ids)) == 2
    renamed = next(t for t in p.summary.analysis.themes if t.label == "Misc")
    assert renamed.id != OTHER_ID and p.summary.analysis.theme(OTHER_ID).label == "Other concerns"
    assert p.summary.votes == {renamed.id: 5, OTHER_ID: 1}
    assert p.summary.analysis.actions[0].theme_ids == [renamed.id]


def test_a_late_rerun_never_replaces_the_themes_after_review(svc):
    now = [1000.0]
    svc.clock = lambda: now[0]
    c, toks = seeded_retro(svc, people=3, to_phase="review")
    rid = c.retro_id
    svc.edit_analysis(rid, review.rename_theme, "t1", "Edited in review")
    run = svc.start_analysis(rid, keep_edits=False)  # the facilitator clicks re-run...
    with pytest.raises(NotAllowed, match="still running"):
        svc.advance(rid, "vote")  # ...and cannot open voting while it runs
    now[0] += 10_000  # the worker died (stale): moving on is allowed again
    svc.advance(rid, "vote")
    svc.cast_votes(rid, toks[0], {"t1": 2})
    svc.run_analysis(rid, run, ColumnEngine())  # the stale worker finishes after all
    state = svc.analysis(rid)
    assert state.current.theme("t1").label == "Edited in review" and state.status == "done"
    assert "discarded" in state.error
    assert svc.my_votes(rid, toks[0]) == {"t1": 2}


def test_publish_is_refused_when_the_retro_changed_since_the_preview(svc):
    c, _ = seeded_retro(svc, people=3, to_phase="publish")
    rid = c.retro_id
    read = svc.preview(rid)
    svc.edit_analysis(rid, review.rename_theme, "t1", "Changed in another tab")
    with pytest.raises(NotAllowed, match="changed since you read this preview"):
        svc.publish(rid, approved=True, rev=read.rev)
    assert svc.get(rid).phase == "publish"
    pub = svc.publish(rid, approved=True, rev=svc.preview(rid).rev)
    assert "Changed in another tab" in pub.markdown


def test_publish_erases_participant_rows(svc):
    from sqlalchemy import func, select

    from facilitator.service import db as t

    c, toks = seeded_retro(svc, people=3, to_phase="vote")
    svc.cast_votes(c.retro_id, toks[0], {"t1": 1})
    for phase in ("discuss", "publish"):
        svc.advance(c.retro_id, phase)
    with svc.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.participants)).scalar_one() == 3
    publish(svc, c.retro_id)
    with svc.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.participants)
                            .where(t.participants.c.retro_id == c.retro_id)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(t.votes)
                            .where(t.votes.c.retro_id == c.retro_id)).scalar_one() == 0
        assert conn.execute(select(t.cards.c.author_tag).where(t.cards.c.retro_id == c.retro_id)
                            .where(t.cards.c.author_tag.is_not(None))).all() == []


def test_verbatim_fear_text_refuses_publication_until_paraphrased(svc):
    rid = _worries_in_review(svc)
    svc.edit_analysis(rid, review.rename_theme, "t1", "The new routing bot will make my whole night shift redundant")
    for phase in ("vote", "discuss", "publish"):
        svc.advance(rid, phase)
    assert svc.preview(rid).blocking
    with pytest.raises(NotAllowed, match="repeats the words of a fear card"):
        publish(svc, rid)
    assert svc.get(rid).phase == "publish"
    svc.edit_analysis(rid, review.rename_theme, "t1", "Worry that routing automation removes night roles")
    assert not svc.preview(rid).blocking
    assert publish(svc, rid).summary.analysis.theme("t1").label.startswith("Worry that routing")


def test_fears_and_flaws_never_share_a_theme(svc):
    c, _ = seeded_retro(svc, people=3, to_phase="review")
    rid = c.retro_id
    a = svc.analysis(rid).current
    assert (a.theme("t2").kind, a.theme("t3").kind) == ("flaw", "fear")
    for edit, args in [(review.merge_themes, ("t2", ["t3"])), (review.merge_themes, ("t3", ["t2"])),
                       (review.move_cards, (a.theme("t3").card_ids[:1], "t2")),
                       (review.move_cards, (a.theme("t2").card_ids[:1], "t3"))]:
        with pytest.raises(InputError, match="fears and flaws never share a theme"):
            svc.edit_analysis(rid, edit, *args)
    assert svc.analysis(rid).edited is None  # nothing changed
    # Into a positive/other theme is still a mix if both kinds arrive together.
    with pytest.raises(InputError, match="never share"):
        svc.edit_analysis(rid, review.move_cards, a.theme("t2").card_ids[:1] + a.theme("t3").card_ids[:1], "t1")
    svc.edit_analysis(rid, review.move_cards, a.theme("t3").card_ids[:1], "t1")  # fear into positive: allowed


def test_revealed_cards_do_not_follow_writing_order(svc):
    """Consecutive cards are often one person's: the board must not show the order."""
    c, tokens = seeded_retro(svc, people=5)
    written = [card.text for tok in tokens for card in svc.my_cards(c.retro_id, tok)]
    svc.advance(c.retro_id, "reveal")
    shown = [card.text for card in svc.revealed_cards(c.retro_id)]
    assert sorted(shown) == sorted(written)
    assert shown != written


def test_small_fear_themes_merge_by_kind_and_their_gaps_still_count():
    from facilitator.publishing.exports import to_markdown

    p = _preview(
        [BIG, ("t2", "Bot takes my job", "fear", ["D.1"]), ("t3", "Blame for outages", "fear", ["E.1", "F.1"]),
         ("t4", "Nice offsite", "positive", ["G.1", "H.1", "I.1"]), ("t5", "Pager", "flaw", ["J.1"])],
    )
    s = p.summary
    kinds = {t.id: t.kind for t in s.analysis.themes}
    assert kinds[OTHER_ID] == "fear" and "other-problems" not in kinds  # one person: the flaw is withheld
    bucket_cov = [c for c in s.analysis.coverage if c.theme_id == OTHER_ID]
    assert [c.status for c in bucket_cov] == ["uncovered"] and not bucket_cov[0].commitment_ids
    assert s.fear_statuses == {"uncovered": 2} and s.merged_fear_statuses == {"uncovered": 2} and s.trust_gaps == 2
    md = to_markdown(s)
    assert "2 trust gaps" in md and "every fear raised" not in md
    assert "Among the smaller worries merged or withheld for anonymity: 2 trust gap" in md


@pytest.mark.parametrize("bad", ["a\x00b", "lone \ud800 surrogate"])
def test_unstorable_characters_are_refused_with_a_message_and_nothing_is_stored(bad):
    svc = make_service()
    c, toks = seeded_retro(svc, people=1, to_phase="collect")
    before = len(svc.my_cards(c.retro_id, toks[0]))
    with pytest.raises(InputError, match="cannot be stored"):
        svc.add_card(c.retro_id, toks[0], "Went well", f"Deploys {bad}", new_token())
    assert len(svc.my_cards(c.retro_id, toks[0])) == before
    with pytest.raises(RetroNotFound):
        svc.by_join_code("\x00")
    with pytest.raises(RetroNotFound):
        svc.get("\x00")


def test_the_facilitators_coverage_survives_a_rerun_with_keep_my_edits():
    import datetime as _dt

    from facilitator.inputs.register import parse_register

    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="review")
    register = parse_register(demo_register_text(), "demo_register.md")
    clause = "No permanent employee with three or more years' continuous service will be made redundant as a result of a process improvement, automation or AI tool introduced by Harbourline, including one they proposed or built themselves."
    svc.edit_analysis(c.retro_id, review.set_coverage, "t3", status="partial", commitment_ids=["JS-1"],
                      quotes=[("JS-1", clause)], rationale="Only for 3+ years' service.", register=register,
                      today=_dt.date(2026, 11, 28))
    svc.run_analysis(c.retro_id, svc.start_analysis(c.retro_id, keep_edits=True), ColumnEngine())
    cov = next(x for x in svc.analysis(c.retro_id).current.coverage if x.theme_id == "t3")
    assert cov.set_by == "facilitator" and cov.status == "partial" and cov.quotes[0].text == clause
    svc.run_analysis(c.retro_id, svc.start_analysis(c.retro_id, keep_edits=False), ColumnEngine())
    cov = next(x for x in svc.analysis(c.retro_id).current.coverage if x.theme_id == "t3")
    assert cov.set_by == "engine"  # without "keep my edits" the new analysis replaces them


def test_a_database_error_never_carries_card_text():
    from sqlalchemy import insert
    from sqlalchemy.exc import DBAPIError

    from facilitator.service import db as t

    svc = make_service()
    c, _ = seeded_retro(svc, people=1, to_phase="collect")
    secret = "my very private card text"
    with pytest.raises(DBAPIError) as err:
        with svc.db.write() as conn:  # a duplicate primary key, with card text among the values
            row = conn.execute(t.cards.select().where(t.cards.c.retro_id == c.retro_id)).mappings().first()
            conn.execute(insert(t.cards).values({**row, "text": secret}))
    assert secret not in str(err.value)


def test_an_empty_database_file_is_refused_not_recreated(tmp_path):
    import os

    from facilitator.errors import ConfigError
    from facilitator.service.db import Database

    f = tmp_path / "retro.sqlite3"
    f.write_bytes(b"")
    os.utime(f, (1_000_000_000, 1_000_000_000))  # an old empty file, not one being created right now
    with pytest.raises(ConfigError, match="is empty"):
        Database(f"sqlite:///{f}")
    assert f.stat().st_size == 0  # nothing was written over it


def test_owner_and_admin_keys_are_created_once_and_stored_as_hashes(svc):
    from facilitator.service import db as t

    key = svc.create_role_key("owner")
    with pytest.raises(NotAllowed, match="already exists"):
        svc.create_role_key("owner")
    assert svc.check_role_key("owner", key) and not svc.check_role_key("owner", key + "x")
    assert not svc.check_role_key("admin", key) and not svc.has_role_key("admin")
    with svc.db.read() as conn:
        stored = [r[0] for r in conn.execute(t.role_keys.select().with_only_columns(t.role_keys.c.key_hash))]
    assert key not in stored  # only the hash
    rid = svc.add_register(demo_register_text(), "demo_register.md", approved_by="owner@example.org")
    info = svc.register_info(rid)
    assert info.approved_by == "owner@example.org" and info.approved_at is not None


def test_joins_are_bounded_per_retro():
    svc = make_service(max_participants_per_retro=3)
    c, _ = seeded_retro(svc, people=3, to_phase="collect")
    with pytest.raises(LimitReached, match="already has 3 participants"):
        svc.join(c.retro_id, new_token())


def test_going_back_a_phase_where_it_is_safe(svc):
    c, toks = seeded_retro(svc, people=3, to_phase="vote")
    svc.cast_votes(c.retro_id, toks[0], {"t1": 2})
    for phase in ("discuss", "publish"):
        svc.advance(c.retro_id, phase)
    svc.go_back(c.retro_id, "discuss")  # from Publish: nothing was published
    assert svc.get(c.retro_id).phase == "discuss" and svc.vote_totals(c.retro_id) == {"t1": 2}
    svc.go_back(c.retro_id, "review")  # the themes may change: the votes on them go
    assert svc.get(c.retro_id).phase == "review" and svc.vote_totals(c.retro_id) == {}
    with pytest.raises(NotAllowed, match="Cards once revealed stay revealed"):
        svc.go_back(c.retro_id, "collect")
