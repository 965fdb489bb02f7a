"""AppTest: creating a retro from the start page."""

from __future__ import annotations

from tests.retro_helpers import app_page, demo_register_text, make_service


def test_create_a_retro_and_get_both_links():
    at = app_page("home").run()
    assert not at.exception
    assert "no commitments register" in at.info[0].value
    at.button(key="sample_register").click().run()
    at.selectbox(key="format").select("Start / Stop / Continue").run()
    at.text_input(key="team").input("Dispatch Platform")
    at.text_input(key="title").input("Sprint 42")
    at.number_input(key="k").set_value(4)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    codes = [c.value for c in at.code]
    assert any("/join?code=" in c for c in codes)
    assert any("/facilitate?retro=" in c and "&key=" in c for c in codes)
    svc = make_service()
    retro = svc.list_retros()[0]
    assert (retro.team, retro.title, retro.k, retro.columns) == ("Dispatch Platform", "Sprint 42", 4, ("Start", "Stop", "Continue"))
    at.button(key="open_console").click().run()
    assert not at.exception
    assert at.title[0].value == "Sprint 42"


def test_missing_team_is_explained():
    svc = make_service()
    svc.add_register((__import__("tests.retro_helpers", fromlist=["x"]).demo_register_text()), "r.md")
    at = app_page("home").run()
    at.text_input(key="title").input("Sprint 42")
    at.button[0].click().run()
    assert "Give the team a name" in at.error[0].value


def test_custom_columns():
    svc = make_service()
    from tests.retro_helpers import demo_register_text

    svc.add_register(demo_register_text(), "r.md")
    at = app_page("home").run()
    at.selectbox(key="format").select("Custom").run()
    at.text_input(key="custom_columns").input("Keep, Drop, Fears")
    at.text_input(key="team").input("T")
    at.text_input(key="title").input("S")
    at.button[0].click().run()
    assert make_service().list_retros()[0].columns == ("Keep", "Drop", "Fears")


def test_a_title_is_text_not_markdown():
    from tests.retro_helpers import make_service

    svc = make_service()
    reg = svc.add_register(demo_register_text(), "demo_register.md", name="Harbourline")
    c = svc.create_retro(team="Ops", title="[click](http://evil.example) ![x](http://evil.example/i.png)",
                         columns=["Went well"], register_id=reg)
    at = app_page("join", code=c.join_code).run()
    assert not at.exception
    shown = at.title[0].value
    assert "\\[click\\]" in shown and "\\!\\[x\\]" not in shown and "\\[x\\]" in shown  # escaped: no link, no image
