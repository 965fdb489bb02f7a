"""AppTest: a participant joins by link, writes cards blind, follows phases, votes."""

from __future__ import annotations

from tests.retro_helpers import app_page, make_service, seeded_retro


def _join(code: str):
    at = app_page("join", code=code).run()
    assert not at.exception
    return at


def _token(at, retro_id: str) -> str:
    return at.session_state[f"token:{retro_id}"]


def _add(at, text: str, column: str | None = None):
    if column:
        at.selectbox(key="new_column").select(column)
    at.text_area(key="new_text").input(text)
    at.button(key="FormSubmitter:new_card-Add card").click().run()
    return at


def test_join_write_edit_delete_blind():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3)
    me = _join(c.join_code)
    assert svc.counts(c.retro_id).participants == 4
    token = _token(me, c.retro_id)
    assert token and "me" not in me.query_params  # the secret is kept in the session, never in the address
    _add(me, "My worry about the new bot", "Worries")
    assert any(t.value == "My worry about the new bot" for t in me.text)
    # Another participant never sees it before reveal.
    other = _join(c.join_code)
    assert not any("new bot" in t.value for t in other.text)
    # Edit then delete my own card.
    card_id = svc.my_cards(c.retro_id, token)[0].id
    me.text_area(key=f"edit_text:{card_id}").input("My worry, edited")
    me.button(key=f"save:{card_id}").click().run()
    assert svc.my_cards(c.retro_id, token)[0].text == "My worry, edited"
    me.button(key=f"del:{card_id}").click().run()
    assert svc.my_cards(c.retro_id, token) == []


def test_a_secret_in_the_link_is_never_adopted():
    """A facilitator handing out join links with a preset ``me=`` must not be
    able to read or edit those participants' cards: the page ignores it (and a
    reload, a new session, is therefore a new participant)."""
    svc = make_service()
    c, _ = seeded_retro(svc, people=3)
    me = _join(c.join_code)
    _add(me, "Written in the first session")
    first = _token(me, c.retro_id)
    svc.join(c.retro_id, "preset-by-the-link-giver")
    for preset in (first, "preset-by-the-link-giver"):
        again = app_page("join", code=c.join_code, me=preset).run()  # a new session with ?me= in the address
        assert not again.exception
        assert _token(again, c.retro_id) not in (first, "preset-by-the-link-giver")
        assert "me" not in again.query_params
        assert not any("first session" in t.value for t in again.text)
        _add(again, f"Mine, not {preset[:8]}'s")
        assert svc.my_cards(c.retro_id, "preset-by-the-link-giver") == []
    assert [x.text for x in svc.my_cards(c.retro_id, first)] == ["Written in the first session"]
    assert svc.counts(c.retro_id).participants == 7  # 3 seeded, me, the preset one, two new sessions


def test_a_refused_card_stays_in_the_box_and_an_accepted_one_is_cleared(monkeypatch):
    monkeypatch.setenv("RETRO_MAX_CARDS_PER_MINUTE", "1")
    svc = make_service()
    c, _ = seeded_retro(svc, people=0)
    me = _join(c.join_code)
    _add(me, "first")
    assert me.text_area(key="new_text").value == ""  # stored: the box is ready for the next card
    _add(me, "a long careful card I do not want to lose")
    assert "try again in" in me.warning[0].value
    assert me.text_area(key="new_text").value == "a long careful card I do not want to lose"
    assert [x.text for x in svc.my_cards(c.retro_id, _token(me, c.retro_id))] == ["first"]


def test_limits_show_friendly_messages(monkeypatch):
    monkeypatch.setenv("RETRO_MAX_CARDS_PER_PARTICIPANT", "1")
    svc = make_service()
    c, _ = seeded_retro(svc, people=0)
    me = _join(c.join_code)
    _add(me, "first")
    _add(me, "second")
    assert "the most one person can (1)" in me.warning[0].value


def test_an_over_long_paste_is_refused_with_a_message_and_kept():
    svc = make_service()
    c, _ = seeded_retro(svc, people=0)
    me = _join(c.join_code)
    long = "x" * 501
    _add(me, long)
    assert "501 characters" in me.warning[0].value and "500" in me.warning[0].value
    assert me.text_area(key="new_text").value == long  # kept, to be shortened, not silently emptied


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
    assert "You used 5 dots but have 3" in me.warning[0].value
    svc.advance(c.retro_id, "discuss")
    me.run()
    first_theme = [m.value for m in me.markdown if "dots**" in m.value][0]
    assert "About Worries" in first_theme and "2 dots" in first_theme


def test_unknown_code_and_published_retro():
    at = app_page("join", code="nope").run()
    assert "No retro has this join code" in at.error[0].value
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="publish")
    svc.publish(c.retro_id, approved=True, rev=svc.preview(c.retro_id).rev)
    at = app_page("join", code=c.join_code).run()
    assert "published" in at.success[0].value


def test_the_short_code_the_timer_and_i_m_done():
    from tests.test_app_facilitator import _console

    svc = make_service()
    c, _ = seeded_retro(svc, people=2)
    console = _console(c).run()
    short = svc.short_code(c.retro_id)
    assert any(f"**{short[:3]} {short[3:]}**" in m.value for m in console.markdown)  # on the console
    assert console.get("image")  # the QR code of the join link
    # A participant types the short code, in lower case with a space, on the Join page.
    me = app_page("join").run()
    me.text_input(key="join_code").input(f"{short[:3].lower()} {short[3:].lower()}")
    me.button(key="join_btn").click().run()
    assert not me.exception and me.query_params["code"] == c.join_code
    me.run()
    assert svc.counts(c.retro_id).participants == 3
    # The facilitator starts a 5-minute timer: every page shows it.
    console.number_input(key="timer_minutes").set_value(5)
    console.button(key="timer:Start the timer").click().run()
    assert not console.exception
    me.run()
    shown = [m.value for m in me.markdown if "left in Collect (blind)" in m.value]
    assert shown and shown[0].startswith(("**:material/timer: 5:00**", "**:material/timer: 4:5")), shown
    # "I'm done": a count on the console, never who.
    me.button(key="done:collect").click().run()
    assert svc.done_count(c.retro_id).done == 1
    console.run()
    assert any(x.value == "1 of 3 says they are done with Collect (blind)." for x in console.caption)
    me.button(key="done:collect").click().run()
    assert svc.done_count(c.retro_id).done == 0


def test_the_presenter_focus_reaches_every_page_with_the_answer_and_the_clause():
    import datetime as dt

    from facilitator.service import review
    from tests.test_app_facilitator import _console

    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="discuss")
    a = svc.analysis(c.retro_id).current
    fear = next(t for t in a.themes if t.kind == "fear")
    reg = svc.register_info(svc.get(c.retro_id).register_id).register
    from facilitator.text import clauses

    clause = clauses(reg.get("BL-1").text)[0]
    svc.edit_analysis(c.retro_id, review.set_coverage, fear.id, status="partial", commitment_ids=["BL-1"],
                      quotes=[("BL-1", clause)], rationale="Only incidents are covered.", register=reg,
                      today=dt.date.today())
    console = _console(c).run()
    console.button(key=f"focus:{fear.id}").click().run()
    assert not console.exception and svc.get(c.retro_id).focus_theme_id == fear.id
    me = _join(c.join_code)
    assert "Now discussing" in [x.value for x in me.caption]
    assert any(w.value == "Partly covered" for w in me.warning)
    assert any(clause[:40] in m.value and "BL-1" in m.value for m in me.markdown)
    console.button(key="focus_clear").click().run()
    assert svc.get(c.retro_id).focus_theme_id is None
