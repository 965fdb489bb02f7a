"""The facilitator's corrections to an analysis, as pure functions.

Each function takes an ``Analysis`` and returns a new one; nothing is changed
in place, so the original (the AI's suggestion) is always there to restore.
The edits keep the structural invariants of ``facilitator.checks``: every card
in exactly one theme, no empty theme, coverage only for fears, actions only
linking themes that exist; and fears and flaws never end up in one theme
(merging or moving cards across them is refused).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from facilitator.errors import InputError
from facilitator.models import Action, ActionKind, Analysis, Coverage, Kind, Theme

FACILITATOR_NOTE = "Set by the facilitator; not checked against the register."


def _copy(a: Analysis) -> Analysis:
    return a.model_copy(deep=True)


def _theme(a: Analysis, theme_id: str) -> Theme:
    t = a.theme(theme_id)
    if t is None:
        raise InputError(f"theme {theme_id!r} does not exist; reload the page")
    return t


_MIXED = (
    "fears and flaws never share a theme: a fear is its own object. Keep them apart, "
    "or change one theme's kind first if it was mislabelled"
)


def _no_fear_flaw_mix(kinds: Iterable[Kind]) -> None:
    kinds = set(kinds)
    if {"fear", "flaw"} <= kinds:
        raise InputError(_MIXED)


def _new_theme_id(a: Analysis) -> str:
    used = {t.id for t in a.themes}
    n = len(a.themes) + 1
    while f"t{n}" in used:
        n += 1
    return f"t{n}"


def _tidy(a: Analysis) -> Analysis:
    """Drop empty themes and whatever pointed at them; keep coverage for fears only."""
    a.themes = [t for t in a.themes if t.card_ids]
    ids = {t.id for t in a.themes}
    fears = {t.id for t in a.themes if t.kind == "fear"}
    a.coverage = [c for c in a.coverage if c.theme_id in fears]
    have = {c.theme_id for c in a.coverage}
    for tid in sorted(fears - have):
        a.coverage.append(Coverage(theme_id=tid, status="uncovered", rationale=FACILITATOR_NOTE))
    kept = []
    for act in a.actions:
        act.theme_ids = [x for x in act.theme_ids if x in ids]
        if act.theme_ids:
            kept.append(act)
    a.actions = kept
    return a


def rename_theme(a: Analysis, theme_id: str, label: str) -> Analysis:
    label = label.strip()
    if not label:
        raise InputError("a theme needs a label; type a few words")
    if len(label) > 120:
        raise InputError(f"theme label has {len(label)} characters; keep it under 120")
    out = _copy(a)
    _theme(out, theme_id).label = label
    return out


def set_kind(a: Analysis, theme_id: str, kind: Kind) -> Analysis:
    out = _copy(a)
    _theme(out, theme_id).kind = kind
    return _tidy(out)


def merge_themes(a: Analysis, into: str, others: Iterable[str]) -> Analysis:
    """Move every card of ``others`` into ``into``; actions follow their cards."""
    out = _copy(a)
    target = _theme(out, into)
    others = [o for o in others if o != into]
    _no_fear_flaw_mix([target.kind, *(_theme(out, o).kind for o in others)])
    for oid in others:
        src = _theme(out, oid)
        target.card_ids.extend(src.card_ids)
        src.card_ids = []
        for act in out.actions:
            if oid in act.theme_ids:
                act.theme_ids = [into if x == oid else x for x in act.theme_ids]
                act.theme_ids = list(dict.fromkeys(act.theme_ids))
    return _tidy(out)


def split_theme(a: Analysis, theme_id: str, card_ids: Iterable[str], label: str) -> Analysis:
    """Take ``card_ids`` out of a theme into a new theme of the same kind."""
    card_ids = list(dict.fromkeys(card_ids))
    out = _copy(a)
    src = _theme(out, theme_id)
    if not card_ids:
        raise InputError("pick at least one card to split off")
    if set(card_ids) - set(src.card_ids):
        raise InputError("only cards of the theme being split can be split off")
    if set(card_ids) == set(src.card_ids):
        raise InputError("leave at least one card in the original theme; to rename it, use Rename")
    new = Theme(id=_new_theme_id(out), label=label.strip() or f"{src.label} (split)", kind=src.kind, card_ids=card_ids)
    src.card_ids = [c for c in src.card_ids if c not in set(card_ids)]
    out.themes.insert(out.themes.index(src) + 1, new)
    return _tidy(out)


def move_cards(a: Analysis, card_ids: Iterable[str], to_theme: str) -> Analysis:
    moving = set(card_ids)
    out = _copy(a)
    target = _theme(out, to_theme)
    known = {cid for t in out.themes for cid in t.card_ids}
    if moving - known:
        raise InputError("some of those cards are in no theme; reload the page")
    _no_fear_flaw_mix([target.kind, *(t.kind for t in out.themes if moving & set(t.card_ids))])
    for t in out.themes:
        if t is not target:
            t.card_ids = [c for c in t.card_ids if c not in moving]
    target.card_ids.extend(c for c in card_ids if c not in target.card_ids)
    return _tidy(out)


def set_coverage_note(a: Analysis, theme_id: str, rationale: str) -> Analysis:
    out = _copy(a)
    for cov in out.coverage:
        if cov.theme_id == theme_id:
            cov.rationale = rationale.strip()
            return out
    raise InputError(f"theme {theme_id!r} is not a fear, so it has no coverage to note")


def upsert_action(
    a: Analysis,
    *,
    action_id: str | None,
    title: str,
    kind: ActionKind,
    owner_role: str,
    due: dt.date,
    theme_ids: list[str],
    commitment_ids: list[str] | None = None,
) -> Analysis:
    """Edit the action ``action_id`` or, when it is None, add a new one."""
    title, owner_role = title.strip(), owner_role.strip()
    if not title:
        raise InputError("an action needs a title saying what will be done")
    if not owner_role:
        raise InputError("an action needs an owner role (a role, not a person's name)")
    out = _copy(a)
    ids = {t.id for t in out.themes}
    theme_ids = [t for t in theme_ids if t in ids]
    if not theme_ids:
        raise InputError("link the action to at least one theme")
    if action_id is None:
        used = {x.id for x in out.actions}
        n = len(out.actions) + 1
        while f"a{n}" in used:
            n += 1
        out.actions.append(
            Action(
                id=f"a{n}", title=title, kind=kind, owner_role=owner_role, due=due,
                theme_ids=theme_ids, commitment_ids=commitment_ids or [],
            )
        )
        return out
    for act in out.actions:
        if act.id == action_id:
            act.title, act.kind, act.owner_role, act.due, act.theme_ids = title, kind, owner_role, due, theme_ids
            if commitment_ids is not None:
                act.commitment_ids = commitment_ids
            return out
    raise InputError(f"action {action_id!r} does not exist; reload the page")


def remove_action(a: Analysis, action_id: str) -> Analysis:
    out = _copy(a)
    out.actions = [x for x in out.actions if x.id != action_id]
    return out
