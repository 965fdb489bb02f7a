"""The meeting: short join codes, the phase timer, "I'm done" counts, the presenter
focus, and the per-retro join rate limit."""

from __future__ import annotations

import pytest

from facilitator.errors import InputError
from facilitator.service.retros import SHORT_ALPHABET, Done, SHORT_LEN, LimitReached, NotAllowed, RetroNotFound, new_token
from tests.retro_helpers import ColumnEngine, make_service, seeded_retro


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_a_short_code_is_stable_unambiguous_and_finds_the_retro():
    svc = make_service()
    c, _ = seeded_retro(svc, people=1)
    code = svc.short_code(c.retro_id)
    assert len(code) == SHORT_LEN and set(code) <= set(SHORT_ALPHABET) and not set(code) & set("0O1IL")
    assert svc.short_code(c.retro_id) == code
    assert svc.by_short_code(code.lower()[:3] + " " + code.lower()[3:]).id == c.retro_id  # as people type it
    for bad in ("", "ABC", "\x00" * 6, code[:-1] + "0"):
        with pytest.raises(RetroNotFound):
            svc.by_short_code(bad)


def test_the_timer_belongs_to_its_phase_and_is_bounded():
    svc = make_service()
    clock = Clock()
    svc.clock = clock
    c, _ = seeded_retro(svc, people=3)
    retro = svc.set_timer(c.retro_id, 5)
    assert svc.seconds_left(retro) == 300
    clock.t += 299.5
    assert svc.seconds_left(svc.get(c.retro_id)) == pytest.approx(0.5)
    clock.t += 10
    assert svc.seconds_left(svc.get(c.retro_id)) == 0  # ran out: shows 0:00, not a negative count
    svc.advance(c.retro_id, "reveal")
    assert svc.seconds_left(svc.get(c.retro_id)) is None  # a Collect timer is not a Reveal timer
    with pytest.raises(NotAllowed, match="Collect, Vote or Discuss"):
        svc.set_timer(c.retro_id, 5)
    other, _ = seeded_retro(svc, people=1)
    for bad in (0, -1, 121):
        with pytest.raises(InputError, match="between 1 and 120 minutes"):
            svc.set_timer(other.retro_id, bad)


def test_done_is_a_count_per_phase_never_a_list():
    svc = make_service()
    c, tokens = seeded_retro(svc, people=4)
    svc.set_done(c.retro_id, tokens[0], True)
    svc.set_done(c.retro_id, tokens[1], True)
    svc.set_done(c.retro_id, tokens[1], True)  # twice is once
    assert svc.done_count(c.retro_id) == Done(2, 4) and svc.is_done(c.retro_id, tokens[0])
    svc.set_done(c.retro_id, tokens[0], False)
    assert svc.done_count(c.retro_id).done == 1
    for phase in ("reveal", "analyse", "review", "vote"):
        svc.advance(c.retro_id, phase)
        if phase == "analyse":
            svc.run_analysis(c.retro_id, svc.start_analysis(c.retro_id), ColumnEngine())
    assert svc.done_count(c.retro_id).done == 0  # done with Collect is not done with Vote
    svc.set_done(c.retro_id, tokens[2], True)
    assert svc.done_count(c.retro_id).done == 1
    svc.go_back(c.retro_id, "review")
    svc.advance(c.retro_id, "vote")
    assert svc.done_count(c.retro_id).done == 0
    svc.advance(c.retro_id, "discuss")
    with pytest.raises(NotAllowed):
        svc.set_done(c.retro_id, tokens[2], True)


def test_the_presenter_focus_is_a_theme_of_the_analysis_in_discuss():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="vote")
    theme = svc.analysis(c.retro_id).current.themes[0].id
    with pytest.raises(NotAllowed):
        svc.set_focus(c.retro_id, theme)
    svc.advance(c.retro_id, "discuss")
    rev = svc.get(c.retro_id).rev
    retro = svc.set_focus(c.retro_id, theme)
    assert retro.focus_theme_id == theme and retro.rev == rev + 1  # pages follow the change
    with pytest.raises(InputError):
        svc.set_focus(c.retro_id, "t99")
    assert svc.set_focus(c.retro_id, None).focus_theme_id is None


def test_joins_are_rate_limited_per_retro():
    svc = make_service(max_joins_per_minute=3)
    clock = Clock()
    svc.clock = clock
    c = svc.create_retro(team="T", title="R", columns=["A"], register_id=None)
    tokens = [new_token() for _ in range(5)]
    for tok in tokens[:3]:
        svc.join(c.retro_id, tok)
    with pytest.raises(LimitReached, match="Wait a minute"):
        svc.join(c.retro_id, tokens[3])
    svc.join(c.retro_id, tokens[0])  # someone already in is never refused
    clock.t += 61
    svc.join(c.retro_id, tokens[3])
    assert svc.counts(c.retro_id).participants == 4
