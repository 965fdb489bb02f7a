"""AppTest: a retro in German, chosen on the start page, reads in German on every
page its people see, from joining to the published summary, and the service's
messages reach them in German too."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from facilitator.i18n import LOCALE_DIR, using
from tests.retro_helpers import ColumnEngine, app_page, demo_register_text, make_service

PO = LOCALE_DIR / "de" / "LC_MESSAGES" / "facilitator.po"


def _english_only() -> set[str]:
    """Catalogue strings whose German differs, without placeholders: if one of these is
    a whole element on a German page, that element was not translated."""
    with PO.open("rb") as f:
        po = read_po(f)
    return {m.id for m in po if isinstance(m.id, str) and m.id and m.string != m.id and "{" not in m.id
            and len(m.id) > 3}


def _shown(at) -> list[str]:
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success",
                 "text"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [e.label for e in at.button] + [e.label for e in at.text_area] + [e.label for e in at.selectbox]
    out += [e.label for e in at.number_input] + [e.label for e in at.text_input]
    return out


def _assert_german(at, *must: str) -> None:
    assert not at.exception, at.exception
    shown = _shown(at)
    english = _english_only()
    assert [s for s in shown if s in english] == [], "English left on a German page"
    page = "\n".join(shown)
    for word in must:
        assert word in page, f"{word!r} not on the page"


def _german_retro(svc, people: int = 3):
    from facilitator.service.retros import new_token

    reg = svc.add_register(demo_register_text(), "demo_register.md", name="Harbourline")
    created = svc.create_retro(team="Leitstelle", title="Sprint 7", columns=["Lief gut", "Zu verbessern", "Sorgen"],
                               register_id=reg, k=3, locale="de")
    tokens = [new_token() for _ in range(people)]
    for n, tok in enumerate(tokens):
        svc.join(created.retro_id, tok)
        svc.add_card(created.retro_id, tok, "Zu verbessern", f"Die Übergabe dauert zu lange, sagt {n}", f"{n}-a")
        svc.add_card(created.retro_id, tok, "Lief gut", f"Das Pairing hat geholfen ({n})", f"{n}-b")
    return created, tokens


def test_the_start_page_follows_the_language_picked_and_the_retro_keeps_it():
    svc = make_service()
    svc.add_register(demo_register_text(), "demo_register.md", name="Harbourline")
    at = app_page("home").run()
    assert not at.exception
    assert any(b.label == "Create retro" for b in at.button)
    at.selectbox(key="new_locale").select("de").run()
    _assert_german(at, "Retro erstellen", "Lief gut")
    # AppTest re-applies the page's format functions in this thread: let them translate as the page did.
    with using("de"):
        at.text_input(key="team").input("Leitstelle")
        at.text_input(key="title").input("Sprint 7")
        at.button(key="FormSubmitter:create-Retro erstellen").click().run()
    assert not at.exception
    retro = svc.get(at.session_state["created"]["retro_id"])
    assert retro.locale == "de"
    assert retro.columns == ("Lief gut", "Zu verbessern", "Sorgen")  # the format's columns, in German


def test_a_participant_of_a_german_retro_reads_german_from_join_to_vote():
    svc = make_service()
    created, _tokens = _german_retro(svc)
    me = app_page("join", code=created.join_code).run()
    _assert_german(me, "Karte hinzufügen", "Schreib deine Karten")
    me.text_area(key="new_text").input("Ich habe Angst, dass mein Job wegfällt")
    me.button(key="FormSubmitter:new_card-Karte hinzufügen").click().run()
    _assert_german(me)
    assert any(t.value == "Ich habe Angst, dass mein Job wegfällt" for t in me.text)

    rid = created.retro_id
    for phase in ("reveal", "analyse"):
        svc.advance(rid, phase)
    svc.run_analysis(rid, svc.start_analysis(rid), ColumnEngine())
    for phase in ("review", "vote"):
        svc.advance(rid, phase)
    me.run()
    _assert_german(me)
    assert re.search(r"Punkte? übrig|Punkt", "\n".join(_shown(me)))


def test_the_facilitator_console_of_a_german_retro_is_german():
    svc = make_service()
    created, _tokens = _german_retro(svc)
    console = app_page("facilitate", retro=created.retro_id, key=created.facilitator_key).run()
    _assert_german(console, "Sammeln")


def test_the_service_answers_in_the_retro_language():
    from facilitator.errors import FacilitatorError

    svc = make_service()
    created, tokens = _german_retro(svc)
    svc.advance(created.retro_id, "reveal")
    with using("de"):
        try:
            svc.add_card(created.retro_id, tokens[0], "Lief gut", "Zu spät", "late-1")
        except FacilitatorError as e:
            message = str(e)
    assert "Karten" in message and "collecting" not in message


def test_what_a_button_does_on_a_german_page_speaks_german():
    """Streamlit runs a button's callback before the page (and app.py) set the locale:
    a refused card, a refused publish and the published summary must still be German."""
    svc = make_service()
    created, _tokens = _german_retro(svc)
    me = app_page("join", code=created.join_code).run()
    me.button(key="FormSubmitter:new_card-Karte hinzufügen").click().run()  # an empty card
    assert [w.value for w in me.warning] == ["Die Karte ist leer; schreib zuerst etwas"]

    rid = created.retro_id
    for phase in ("reveal", "analyse"):
        svc.advance(rid, phase)
    svc.run_analysis(rid, svc.start_analysis(rid), ColumnEngine())
    for phase in ("review", "vote", "discuss", "publish"):
        svc.advance(rid, phase)
    console = app_page("facilitate", retro=rid, key=created.facilitator_key).run()
    console.button(key="publish").click().run()  # not approved yet: refused, in German
    assert console.warning and all("approval" not in w.value for w in console.warning)
    next(x for x in console.checkbox if x.key.startswith("approve:")).check()
    console.button(key="publish").click().run()
    assert svc.get(rid).phase == "published"
    markdown = _published_markdown(svc, rid)
    assert "veröffentlicht am" in markdown and "## Themen" in markdown and "published" not in markdown


def _published_markdown(svc, retro_id: str) -> str:
    from sqlalchemy import select

    from facilitator.service import db as t

    with svc.db.read() as conn:
        return conn.execute(select(t.publications.c.markdown).where(t.publications.c.retro_id == retro_id)).scalar()
