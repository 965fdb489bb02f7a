"""AppTest: a participant joins by link, writes cards blind, follows phases, votes."""

from __future__ import annotations

from tests.retro_helpers import app_page, make_service, seeded_retro


def _join(code: str):
    at = app_page("join", code=code).run()
    assert not at.exception
    return at


def _add(at, text: str, column: str | None = None):
    if column:
        at.selectbox(key="new_column").select(column)
    at.text_area(key="new_text").input(text)
    at.button[0].click().run()  # "Add card" (the form submit is first on the page)
    return at


def test_join_write_edit_delete_blind():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3)
    me = _join(c.join_code)
    assert svc.counts(c.retro_id).participants == 4
    assert me.query_params["me"]  # the session secret survives a refresh
    _add(me, "My worry about the new bot", "Worries")
    assert any(t.value == "My worry about the new bot" for t in me.text)
    # Another participant never sees it before reveal.
    other = _join(c.join_code)
    assert not any("new bot" in t.value for t in other.text)
    # Edit then delete my own card.
    card_id = svc.my_cards(c.retro_id, me.query_params["me"])[0].id
    me.text_area(key=f"edit_text:{card_id}").input("My worry, edited")
    me.button(key=f"save:{card_id}").click().run()
    assert svc.my_cards(c.retro_id, me.query_params["me"])[0].text == "My worry, edited"
    me.button(key=f"del:{card_id}").click().run()
    assert svc.my_cards(c.retro_id, me.query_params["me"]) == []


def test_a_refresh_keeps_the_same_participant():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3)
    me = _join(c.join_code)
    _add(me, "Written before the refresh")
    token = me.query_params["me"]
    again = app_page("join", code=c.join_code, me=token).run()  # a new session, same address
    assert svc.counts(c.retro_id).participants == 4
    assert any(t.value == "Written before the refresh" for t in again.text)


def test_limits_show_friendly_messages(monkeypatch):
    monkeypatch.setenv("RETRO_MAX_CARDS_PER_PARTICIPANT", "1")
    svc = make_service()
    c, _ = seeded_retro(svc, people=0)
    me = _join(c.join_code)
    _add(me, "first")
    _add(me, "second")
    assert "the most one person can (1)" in me.warning[0].value
    assert me.text_area(key="new_text").max_chars == 500


def test_page_follows_the_phase_and_voting_works():
    svc = make_service()
    c, toks = seeded_retro(svc, people=3)
    me = _join(c.join_code)
    svc.advance(c.retro_id, "reveal")
    me.run()
    assert sum("Person" in t.value for t in me.text) == 9  # everyone's cards, no authors
    for phase in ("analyse",):
        svc.advance(c.retro_id, phase)
    from tests.retro_helpers import ColumnEngine

    svc.run_analysis(c.retro_id, svc.start_analysis(c.retro_id), ColumnEngine())
    svc.advance(c.retro_id, "review")
    svc.advance(c.retro_id, "vote")
    me.run()
    me.number_input(key="dots:t3").set_value(2)
    me.number_input(key="dots:t1").set_value(1)
    me.button[0].click().run()
    assert "Saved: 3 of 3 dots" in me.success[0].value
    me.number_input(key="dots:t2").set_value(2)
    me.button[0].click().run()
    assert "you used 5 dots but have 3" in me.warning[0].value
    svc.advance(c.retro_id, "discuss")
    me.run()
    first_theme = [m.value for m in me.markdown if "dots**" in m.value][0]
    assert "About Worries" in first_theme and "2 dots" in first_theme


def test_unknown_code_and_published_retro():
    at = app_page("join", code="nope").run()
    assert "no retro has this join code" in at.error[0].value
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="publish")
    svc.publish(c.retro_id, approved=True)
    at = app_page("join", code=c.join_code).run()
    assert "published" in at.success[0].value
