"""AppTest: the facilitator console, review editor, publish gate and login."""

from __future__ import annotations

import re
import time

from tests.retro_helpers import ColumnEngine, app_page, make_service, seeded_retro, use_engine


def _console(c, **extra):
    return app_page("facilitate", retro=c.retro_id, key=c.facilitator_key, **extra)


def _wait_done(svc, retro_id, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if not svc.analysis(retro_id).running:
            return svc.analysis(retro_id)
        time.sleep(0.05)
    raise AssertionError("analysis did not finish")


def test_wrong_or_missing_key_is_refused():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3)
    at = app_page("facilitate", retro=c.retro_id, key="wrong").run()
    assert "not valid" in at.error[0].value
    assert not at.metric
    at = app_page("facilitate").run()
    assert "facilitator link" in at.warning[0].value


def _page_dump(at) -> str:
    """Every element of the rendered page (all element types, their full protos)."""
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def test_live_counts_never_show_who_wrote_what():
    from sqlalchemy import select

    from facilitator.service import db as t

    svc = make_service(max_cards_per_minute=100)
    c, toks = seeded_retro(svc, people=4)
    svc.add_card(c.retro_id, toks[0], "Worries", "An extra worry from the first person", "extra-1")
    svc.add_card(c.retro_id, toks[0], "Worries", "Another extra worry from the first person", "extra-2")
    with svc.db.read() as conn:
        tags = set(conn.execute(select(t.cards.c.author_tag).where(t.cards.c.retro_id == c.retro_id)).scalars())
    secrets = tags | set(toks)
    at = _console(c).run()
    assert not at.exception
    # Collect: totals only, and not a word of any card (blind for the facilitator too).
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Participants": "4", "Cards": "14", "People who wrote cards": "4", "Voted": "0"}
    page = _page_dump(at)
    assert "Person" not in page and "extra worry" not in page
    assert not any(x in page for x in secrets)
    # Reveal: every card is on the board, still with nothing that ties it to a writer.
    at.button(key="next_phase").click().run()
    page = _page_dump(at)
    assert sum("Person" in x.value for x in at.text) == 12 and "Another extra worry" in page
    assert not any(x in page for x in secrets)
    assert {m.label for m in at.metric} == set(metrics)  # no per-person breakdown appeared


def test_phases_analysis_in_background_and_review(monkeypatch):
    svc = make_service()
    c, _ = seeded_retro(svc, people=3)
    engine = ColumnEngine()
    use_engine(monkeypatch, engine)
    at = _console(c).run()
    at.button(key="next_phase").click().run()  # reveal
    assert sum("Person" in t.value for t in at.text) == 9
    at.button(key="next_phase").click().run()  # analyse: starts the background run
    assert svc.get(c.retro_id).phase == "analyse"
    state = _wait_done(svc, c.retro_id)
    assert state.status == "done" and engine.calls == [9]
    at.run()
    assert "Analysis done: 3 themes" in at.success[0].value
    at.button(key="next_phase").click().run()  # review
    at.text_input(key="label:t1").input("Things that went well")
    at.button(key="FormSubmitter:theme:t1-Save theme").click().run()
    assert svc.analysis(c.retro_id).current.theme("t1").label == "Things that went well"
    at.selectbox(key="kind:t2").select("fear")
    at.button(key="FormSubmitter:theme:t2-Save theme").click().run()
    assert svc.analysis(c.retro_id).current.theme("t2").kind == "fear"
    # move two cards, then split, then merge
    t3 = svc.analysis(c.retro_id).current.theme("t3").card_ids
    at.multiselect(key="pick:t3").set_value(t3[:1])
    at.selectbox(key="target:t3").set_value("t1")
    at.button(key="FormSubmitter:cards:t3-Move cards").click().run()
    assert t3[0] in svc.analysis(c.retro_id).current.theme("t1").card_ids
    at.multiselect(key="pick:t3").set_value(t3[1:2])
    at.text_input(key="split:t3").input("Split theme")
    at.button(key="FormSubmitter:cards:t3-Split into new theme").click().run()
    assert any(t.label == "Split theme" for t in svc.analysis(c.retro_id).current.themes)
    at.selectbox(key="merge_into").set_value("t1")
    at.multiselect(key="merge_others").set_value(["t2"])
    at.button(key="FormSubmitter:merge-Merge").click().run()
    assert svc.analysis(c.retro_id).current.theme("t2") is None
    # add an action with an owner role
    at.text_input(key="a_title:new").input("Pair on the runbook")
    at.text_input(key="a_owner:new").input("Tech lead")
    at.multiselect(key="a_themes:new").set_value(["t1"])
    at.button(key="FormSubmitter:action:new-Add action").click().run()
    assert any(a.title == "Pair on the runbook" for a in svc.analysis(c.retro_id).current.actions)
    # restoring the original asks first (inside a popover), then discards every edit
    at.button(key="restore").click().run()
    assert svc.analysis(c.retro_id).edited is None
    assert not at.exception


def test_a_failure_message_is_shown_as_text_not_markdown(monkeypatch):
    from facilitator.scrub import safe_markdown_text

    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="reveal")
    use_engine(monkeypatch, ColumnEngine(fail=RuntimeError("**boom** <img src=x onerror=alert(1)> [click](http://evil.example)")))
    at = _console(c).run()
    at.button(key="next_phase").click().run()
    state = _wait_done(svc, c.retro_id)
    at.run()
    shown = at.error[0].value
    assert shown == safe_markdown_text(state.error)
    assert "**boom**" not in shown
    assert re.search(r"(?<!\\)\]\(", shown) is None  # "](" only after an escaped "\]": no link
    assert re.search(r"(?<!\\)<img", shown) is None  # only as an escaped, literal "\<img"


def test_links_are_collapsed_and_the_key_needs_an_explicit_show():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3)
    at = _console(c).run()
    links = at.expander[0]
    assert links.label == "Links" and not links.proto.expanded
    assert any("/join?code=" in x.value for x in at.code)
    assert not any(c.facilitator_key in x.value for x in at.code)
    at.toggle(key="show_fac_link").set_value(True).run()
    assert any(c.facilitator_key in x.value for x in at.code)


def test_failed_analysis_is_shown_and_retryable(monkeypatch):
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="reveal")
    use_engine(monkeypatch, ColumnEngine(fail=TimeoutError("model call exceeded 60 s")))
    at = _console(c).run()
    at.button(key="next_phase").click().run()
    _wait_done(svc, c.retro_id)
    at.run()
    assert "model call exceeded 60 s" in at.error[0].value
    use_engine(monkeypatch, ColumnEngine())
    at.button(key="run_analysis").click().run()
    assert _wait_done(svc, c.retro_id).status == "done"


def test_publish_is_refused_below_k_and_needs_approval():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, k=4, to_phase="publish")
    at = _console(c).run()
    assert "Only 3 people wrote cards; this retro needs at least 4" in at.error[0].value
    assert at.button(key="publish").disabled


def test_publish_with_approval_gives_a_read_only_link():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="publish")
    at = _console(c).run()
    assert len(at.get("vega_lite_chart")) == 2
    at.button(key="publish").click().run()
    assert "approval" in at.warning[-1].value
    assert svc.get(c.retro_id).phase == "publish"
    _approval(at).check()
    at.button(key="publish").click().run()
    assert svc.get(c.retro_id).phase == "published"
    assert any("/summary?s=" in x.value for x in at.code)


def _approval(at):
    return next(x for x in at.checkbox if x.key.startswith("approve:"))


def test_an_approval_is_for_the_preview_that_was_read():
    from facilitator.service import review

    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="publish")
    at = _console(c).run()
    svc.edit_analysis(c.retro_id, review.rename_theme, "t1", "Renamed in another tab")  # after the preview was read
    _approval(at).check()
    at.button(key="publish").click().run()
    assert svc.get(c.retro_id).phase == "publish"
    assert any("changed since you read this preview" in w.value for w in at.warning)
    assert not _approval(at).value  # the new preview needs its own approval
    assert any("Renamed in another tab" in m.value for m in at.markdown)
    _approval(at).check()
    at.button(key="publish").click().run()
    assert svc.get(c.retro_id).phase == "published"


def test_verbatim_fear_text_disables_publishing_with_a_message():
    from facilitator.service import review

    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="vote")
    fear = next(x.text for x in svc.revealed_cards(c.retro_id) if x.text == "Person 0 says something about worries")
    for phase in ("discuss", "publish"):
        svc.advance(c.retro_id, phase)
    svc.edit_analysis(c.retro_id, review.rename_theme, "t3", fear)
    at = _console(c).run()
    assert any("Publishing is refused: " in e.value and "repeats the words of a fear card" in e.value for e in at.error)
    assert at.button(key="publish").disabled


def test_carry_over_actions_are_marked_in_the_next_retro():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="publish")
    svc.publish(c.retro_id, approved=True, rev=svc.preview(c.retro_id).rev)
    nxt = svc.create_retro(team="Dispatch", title="Sprint 43", columns=["A"], register_id=None)
    at = _console(nxt).run()
    assert "Open actions from earlier retros" in [s.value for s in at.subheader]
    item = svc.carryover(nxt.retro_id)[0]
    at.segmented_control(key=f"item:{item.id}").set_value("done").run()
    assert {i.id: i.status for i in svc.carryover(nxt.retro_id)}[item.id] == "done"


def test_oidc_login_replaces_the_secret_link(monkeypatch):
    monkeypatch.setenv("RETRO_FACILITATOR_LOGIN", "true")
    svc = make_service()
    reg = svc.add_register(__import__("tests.retro_helpers", fromlist=["x"]).demo_register_text(), "r.md")
    c = svc.create_retro(team="T", title="Owned", columns=["A"], register_id=reg, owner_email="fac@example.org")
    auth = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
            "client_id": "id", "client_secret": "s", "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
    at = app_page("facilitate", retro=c.retro_id)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": False}
    at.run()
    assert at.button(key="login")
    at = app_page("facilitate", retro=c.retro_id)  # no key in the link
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": True, "email": "fac@example.org"}
    at.run()
    assert not at.exception and at.title[0].value == "Owned"
    at = app_page("facilitate", retro=c.retro_id)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": True, "email": "someone@example.org"}
    at.run()
    assert "not valid" in at.error[0].value


def test_a_model_fallback_is_shown_to_the_facilitator():
    from facilitator.models import Meta
    from tests.retro_helpers import ColumnEngine, app_page, make_service, seeded_retro

    class FallingBack(ColumnEngine):
        def analyze(self, *args, **kwargs):
            a = super().analyze(*args, **kwargs)
            a.meta = Meta(engine="local", model="all-MiniLM-L6-v2", fallback_reason="no reply within 60 s")
            return a

    svc = make_service()
    c, _ = seeded_retro(svc, to_phase="review", engine=FallingBack())
    at = app_page("facilitate", retro=c.retro_id, key=c.facilitator_key)
    at.run(timeout=30)
    assert any("offline engine analysed" in w.value and "no reply within 60 s" in w.value for w in at.warning)


def test_the_facilitator_is_warned_early_when_k_is_not_reached():
    svc = make_service()
    c, _ = seeded_retro(svc, people=2, k=3, to_phase="collect")
    at = _console(c).run()
    assert any("So far 2 people have written cards" in w.value and "at least 3" in w.value for w in at.warning)


def test_publish_has_a_way_back():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="publish")
    at = _console(c).run()
    at.button(key="back:review").click().run()
    assert not at.exception and svc.get(c.retro_id).phase == "review"


def test_the_facilitator_is_told_before_analysis_when_the_cards_are_not_in_english():
    from facilitator.offline.languages import board_language, offline_language_note
    from facilitator.service.retros import new_token

    assert board_language(["Con el nuevo voicebot, ¿cuántos puestos van a quedar?"])[0] == "es"
    assert offline_language_note(["Deploys wait for a manual approval", "Pairing went well", "CI is flaky"]) is None
    svc = make_service()
    c = svc.create_retro(team="T", title="KPT", columns=["Keep", "Problem", "Try"], register_id=None, k=3)
    for text in ("ピザうまかった", "運営チームで情報共有が全くされていなかった", "もう少し早めに色々準備する",
                 "誰が誰だかわからなかった。名札があると良さそう"):
        tok = new_token()
        svc.join(c.retro_id, tok)
        svc.add_card(c.retro_id, tok, "Problem", text, new_token())
    svc.advance(c.retro_id, "reveal")
    at = _console(c).run()
    assert any(w.value.startswith("Most cards are in Japanese.") for w in at.warning), [w.value for w in at.warning]


def test_the_console_adds_a_destination_with_its_secret_masked_and_shows_how_delivery_went(monkeypatch):
    import httpx
    import respx

    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="publish")
    at = _console(c).run()
    at.selectbox(key="dest_kind").select("slack").run()
    at.text_input(key="dest:slack:secret").input("https://example.org/not-slack")
    at.button[[b.label for b in at.button].index("Add")].click().run()
    assert "starts with https://hooks.slack.com/" in at.warning[-1].value
    hook = "https://hooks.slack.com/services/T0/B0/secretpart1234"
    at.text_input(key="dest:slack:secret").input(hook)
    at.button[[b.label for b in at.button].index("Add")].click().run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "**Slack**" in shown and "secret ...1234" in shown and "secretpart" not in shown

    with respx.mock(assert_all_mocked=True) as router:
        router.post(hook).mock(return_value=httpx.Response(403, text="invalid_token"))
        _approval(at).check()
        at.button(key="publish").click().run()
        assert svc.get(c.retro_id).phase == "published"
        svc.deliver_due(c.retro_id)  # what the background job does, here in the test's thread
        at.run()
    text = " ".join([m.value for m in at.markdown] + [m.value for m in at.caption])
    assert "Not sent" in text and "refused the credentials (403)" in text
    assert any(b.label == "Send again" for b in at.button)


def test_review_lists_cards_that_voice_a_worry_and_makes_one_a_worry_in_one_click():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="review")
    flaw = next(t for t in svc.analysis(c.retro_id).current.themes if t.kind == "flaw")
    card = flaw.card_ids[0]

    def listed(a, cid):
        out = a.model_copy(deep=True)
        out.meta.may_be_fears = [cid]
        return out

    svc.edit_analysis(c.retro_id, listed, card)
    at = _console(c).run()
    assert any("mentions a worry but was kept out of the fears" in m.value for m in at.markdown)
    at.button(key=f"mark_fear:{card}").click().run()
    assert not at.exception
    now = svc.analysis(c.retro_id).current
    assert next(t for t in now.themes if card in t.card_ids).kind == "fear" and now.meta.may_be_fears == []
