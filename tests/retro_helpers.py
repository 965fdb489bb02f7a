"""Helpers shared by the retro service, concurrency, AppTest and browser tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from facilitator.models import Action, Analysis, Coverage, Meta, Theme

DATA = Path(__file__).resolve().parent.parent / "facilitator" / "demo"


class ColumnEngine:
    """A scripted engine: one theme per column (a "Worries" column is a fear).

    Registered through the same seam as the real engines (``analyze``/``cover``),
    it records its calls and can be told to fail, to test that a failing model
    loses nothing."""

    name = "fake"

    def __init__(self, fail: Exception | None = None):
        self.fail = fail
        self.calls: list[int] = []

    def analyze(self, cards, register, *, today, roster=(), progress=None):
        self.calls.append(len(cards.cards))
        if progress:
            progress("grouping", 0.5)
        if self.fail:
            raise self.fail
        by_col: dict[str, list[str]] = {}
        for c in cards.cards:
            by_col.setdefault(c.column or "Other", []).append(c.id)
        themes, coverage, actions = [], [], []
        # Themes in the board's column order (cards arrive in random-id order, never writing order).
        order = {"Went well": 0, "To improve": 1, "Worries": 2}
        for i, (col, ids) in enumerate(sorted(by_col.items(), key=lambda kv: (order.get(kv[0], 9), kv[0])), start=1):
            kind = "fear" if col.lower() in ("worries", "sad") else "positive" if "well" in col.lower() else "flaw"
            themes.append(Theme(id=f"t{i}", label=f"About {col}", kind=kind, card_ids=ids, summary=f"{len(ids)} cards"))
            if kind == "fear":
                coverage.append(Coverage(theme_id=f"t{i}", status="uncovered", rationale="nothing answers it"))
                actions.append(Action(id=f"a{len(actions)+1}", title=f"Escalate {col}", kind="escalate",
                                      theme_ids=[f"t{i}"], owner_role="HR", due=today + dt.timedelta(21)))
            elif kind == "flaw":
                actions.append(Action(id=f"a{len(actions)+1}", title=f"Fix {col}", kind="fix",
                                      theme_ids=[f"t{i}"], owner_role="Team", due=today + dt.timedelta(14)))
        return Analysis(themes=themes, coverage=coverage, actions=actions, meta=Meta(engine="local", model="fake"))

    def cover(self, statements, register, *, today):
        raise NotImplementedError


def demo_register_text() -> str:
    return (DATA / "demo_register.md").read_text(encoding="utf-8")


def make_service(**overrides):
    """A service on the test's own data directory (RETRO_DATA_DIR, see conftest)."""
    from facilitator.service.db import Database
    from facilitator.service.retros import RetroService
    from facilitator.settings import Settings

    settings = Settings(**overrides)
    return RetroService(Database.from_settings(settings), settings)


def seeded_retro(svc, *, people: int = 4, to_phase: str = "collect", k: int = 3, engine=None, team: str = "Dispatch"):
    """A retro with ``people`` participants who each wrote one card per column,
    moved forward to ``to_phase`` (running the scripted engine on the way)."""
    from facilitator.service.retros import PHASES, new_token

    reg = svc.add_register(demo_register_text(), "demo_register.md", name="Harbourline")
    created = svc.create_retro(team=team, title="Sprint 42", columns=["Went well", "To improve", "Worries"],
                               register_id=reg, k=k)
    rid = created.retro_id
    tokens = [new_token() for _ in range(people)]
    for n, tok in enumerate(tokens):
        svc.join(rid, tok)
        for col in ("Went well", "To improve", "Worries"):
            svc.add_card(rid, tok, col, f"Person {n} says something about {col.lower()}", f"{n}-{col}")
    for phase in PHASES[1 : PHASES.index(to_phase) + 1]:
        svc.advance(rid, phase)
        if phase == "analyse":
            svc.run_analysis(rid, svc.start_analysis(rid), engine or ColumnEngine())
    return created, tokens


APP = str(Path(__file__).resolve().parent.parent / "app.py")


def app_page(page: str, **query):
    """An AppTest of one page of the real app, with query parameters set."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(f"app_pages/{page}.py")
    for k, v in query.items():
        at.query_params[k] = v
    return at


def use_engine(monkeypatch, engine) -> None:
    """Make the app use ``engine`` (AppTest runs in this process): it is
    registered in the wiring under a name of its own, the way real engines are."""
    from facilitator import wiring
    from facilitator.settings import get_settings

    name = f"test-scripted-{id(engine)}"  # a new name per engine: the app caches one runner per engine name
    monkeypatch.setitem(wiring.ENGINES, name, lambda settings: engine)
    monkeypatch.setenv("RETRO_ENGINE", name)
    get_settings.cache_clear()
