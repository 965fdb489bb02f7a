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

from facilitator.checks import required_action_kinds, required_action_title
from facilitator.errors import InputError
from facilitator.i18n import N_, _
from facilitator.inputs.register import DEFAULT_OWNER, default_owner, health
from facilitator.models import (
    Action,
    ActionKind,
    Analysis,
    Candidate,
    Coverage,
    CoverageStatus,
    Kind,
    Quote,
    Register,
    Theme,
)
from facilitator.text import clauses

# Marked for the catalogue; written in the retro's language where they are stored.
FACILITATOR_NOTE = N_("Set by the facilitator; not checked against the register.")
CHANGED_NOTE = N_("The cards of this worry changed; check which commitments answer it.")
ACTION_DAYS = {"fix": 14, "reassure": 7, "escalate": 21}


def _copy(a: Analysis) -> Analysis:
    return a.model_copy(deep=True)


def _theme(a: Analysis, theme_id: str) -> Theme:
    t = a.theme(theme_id)
    if t is None:
        raise InputError(_("Theme {theme} does not exist; reload the page").format(theme=repr(theme_id)))
    return t


_MIXED = N_(
    "fears and flaws never share a theme: a fear is its own object. Keep them apart, "
    "or change one theme's kind first if it was mislabelled"
)


def _no_fear_flaw_mix(kinds: Iterable[Kind]) -> None:
    kinds = set(kinds)
    if {"fear", "flaw"} <= kinds:
        raise InputError(_(_MIXED))


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
        # Nobody has checked a fear that an edit created: it needs review, it is not a gap.
        a.coverage.append(Coverage(theme_id=tid, status="needs_review", rationale=_(CHANGED_NOTE)))
    kept = []
    for act in a.actions:
        act.theme_ids = [x for x in act.theme_ids if x in ids]
        if act.theme_ids:
            kept.append(act)
    a.actions = kept
    status = {c.theme_id: c.status for c in a.coverage}
    for t in a.themes:  # a fear an edit created still reaches an owner
        if t.kind == "fear" and "escalate" in required_action_kinds(status.get(t.id)):
            if not any(x.kind == "escalate" and t.id in x.theme_ids for x in a.actions):
                used = {x.id for x in a.actions}
                n = len(a.actions) + 1
                while f"a{n}" in used:
                    n += 1
                title = required_action_title("escalate", status.get(t.id), label=t.label, commitment_ids=[],
                                              owner=DEFAULT_OWNER)
                a.actions.append(Action(id=f"a{n}", title=title, kind="escalate", theme_ids=[t.id],
                                        owner_role=DEFAULT_OWNER, due=dt.date.today() + dt.timedelta(21)))
    return a


def rename_theme(a: Analysis, theme_id: str, label: str) -> Analysis:
    """Rename a theme; the titles of its actions that name it follow."""
    label = label.strip()
    if not label:
        raise InputError(_("A theme needs a label; type a few words"))
    if len(label) > 120:
        raise InputError(_("Theme label has {n} characters; keep it under 120").format(n=len(label)))
    out = _copy(a)
    t = _theme(out, theme_id)
    old = t.label
    t.label = label
    for act in out.actions:
        if theme_id in act.theme_ids:
            for form_old, form_new in ((old, label), (old.lower(), label.lower())):
                if form_old and form_old in act.title:
                    act.title = act.title.replace(form_old, form_new)
                    break
    return out


def set_summary(a: Analysis, theme_id: str, summary: str) -> Analysis:
    summary = " ".join(summary.split())
    if len(summary) > 600:
        raise InputError(_("The summary has {n} characters; keep it under 600").format(n=len(summary)))
    out = _copy(a)
    _theme(out, theme_id).summary = summary
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
    if not others:
        return out
    if target.kind == "fear":
        _refresh_fear(out, into, [*[into], *others])
    for oid in others:
        src = _theme(out, oid)
        target.card_ids.extend(src.card_ids)
        src.card_ids = []
        for act in out.actions:
            if oid in act.theme_ids:
                act.theme_ids = [into if x == oid else x for x in act.theme_ids]
                act.theme_ids = list(dict.fromkeys(act.theme_ids))
    _dedupe_actions(out)
    return _tidy(out)


def _refresh_fear(a: Analysis, theme_id: str, sources: list[str]) -> None:
    """A fear theme whose cards changed: its candidates are those of the themes
    its cards came from, and its status goes back to needs_review (what was
    judged was another set of cards), unless the facilitator set it."""
    cov = {c.theme_id: c for c in a.coverage}
    merged: dict[str, Candidate] = {}
    for sid in sources:
        for c in cov[sid].candidates if sid in cov else []:
            if c.commitment_id not in merged or c.similarity > merged[c.commitment_id].similarity:
                merged[c.commitment_id] = c
    for sid in sources:
        if sid in cov:
            for cid in cov[sid].commitment_ids:
                merged.setdefault(cid, next((c for c in cov[sid].candidates if c.commitment_id == cid), None))
    candidates = sorted((c for c in merged.values() if c is not None), key=lambda c: -c.similarity)
    mine = cov.get(theme_id)
    if mine is not None and mine.set_by == "facilitator":
        mine.candidates = candidates
        return
    a.coverage = [c for c in a.coverage if c.theme_id != theme_id]
    a.coverage.append(Coverage(theme_id=theme_id, status="needs_review", candidates=candidates,
                               rationale=_(CHANGED_NOTE)))


def _dedupe_actions(a: Analysis) -> None:
    """Two actions of one kind on the same themes are one action."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    kept = []
    for act in a.actions:
        key = (act.kind, tuple(sorted(act.theme_ids)))
        if key in seen:
            continue
        seen.add(key)
        kept.append(act)
    a.actions = kept


def split_theme(a: Analysis, theme_id: str, card_ids: Iterable[str], label: str) -> Analysis:
    """Take ``card_ids`` out of a theme into a new theme of the same kind."""
    card_ids = list(dict.fromkeys(card_ids))
    out = _copy(a)
    src = _theme(out, theme_id)
    if not card_ids:
        raise InputError(_("Pick at least one card to split off"))
    if set(card_ids) - set(src.card_ids):
        raise InputError(_("Only cards of the theme being split can be split off"))
    if set(card_ids) == set(src.card_ids):
        raise InputError(_("Leave at least one card in the original theme; to rename it, use Rename"))
    new = Theme(id=_new_theme_id(out), label=label.strip() or f"{src.label} (split)", kind=src.kind, card_ids=card_ids)
    src.card_ids = [c for c in src.card_ids if c not in set(card_ids)]
    out.themes.insert(out.themes.index(src) + 1, new)
    if src.kind == "fear":
        _refresh_fear(out, new.id, [theme_id])
        _refresh_fear(out, theme_id, [theme_id])
    return _tidy(out)


def move_cards(a: Analysis, card_ids: Iterable[str], to_theme: str) -> Analysis:
    moving = set(card_ids)
    out = _copy(a)
    target = _theme(out, to_theme)
    known = {cid for t in out.themes for cid in t.card_ids}
    if moving - known:
        raise InputError(_("Some of those cards are in no theme; reload the page"))
    _no_fear_flaw_mix([target.kind, *(t.kind for t in out.themes if moving & set(t.card_ids))])
    touched = [t.id for t in out.themes if t is not target and moving & set(t.card_ids)]
    if target.kind == "fear":
        _refresh_fear(out, target.id, [target.id, *touched])
    for tid in touched:
        if _theme(out, tid).kind == "fear":
            _refresh_fear(out, tid, [tid])
    for t in out.themes:
        if t is not target:
            t.card_ids = [c for c in t.card_ids if c not in moving]
    target.card_ids.extend(c for c in card_ids if c not in target.card_ids)
    return _tidy(out)


def set_coverage(
    a: Analysis,
    theme_id: str,
    *,
    status: CoverageStatus,
    commitment_ids: list[str],
    quotes: list[tuple[str, str]],
    rationale: str,
    register: Register,
    today: dt.date,
) -> Analysis:
    """The facilitator's verdict on a fear: status, the commitments and the clauses
    that answer it (picked from the commitments' own clauses, never typed), and why.

    Marked as the facilitator's (``set_by``), so it survives a re-run with "keep
    my edits". The actions the status needs are added if missing, and a
    reassurance that no longer fits is dropped."""
    out = _copy(a)
    cov = next((c for c in out.coverage if c.theme_id == theme_id), None)
    if cov is None:
        raise InputError(_("Theme {theme} is not a fear, so it has no coverage to set").format(theme=repr(theme_id)))
    commitment_ids = list(dict.fromkeys(commitment_ids))
    for cid in commitment_ids:
        c = register.get(cid)
        if c is None:
            raise InputError(_("Commitment {id} is not in this retro's register; pick one from the list").format(id=cid))
        if not health(c, today).usable:
            raise InputError(_("Commitment {id} is not in force ({problems}); "
                               "a promise that is not in force cannot answer a fear").format(
                id=cid, problems="; ".join(health(c, today).problems)))
    picked: list[Quote] = []
    for cid, text in quotes:
        c = register.get(cid)
        if c is None or cid not in commitment_ids:
            raise InputError(_("A quote must come from a chosen commitment; choose {id} first").format(id=cid))
        if text not in clauses(c.text):
            raise InputError(_("Pick the quote from the clauses of {id}; it cannot be typed or changed").format(id=cid))
        picked.append(Quote(commitment_id=cid, text=text))
    if status in ("covered", "partial") and not picked:
        raise InputError(_("A fear marked covered needs the clause that answers it: pick one") if status == "covered"
                         else _("A fear marked partial needs the clause that answers it: pick one"))
    if status in ("uncovered", "needs_review") and (picked or commitment_ids):
        raise InputError(_("A trust gap (or a fear still to review) cites no commitment: clear the choices, "
                           "or mark it covered or partly covered"))
    cov.status, cov.commitment_ids, cov.quotes = status, commitment_ids, picked
    cov.rationale = " ".join(rationale.split())[:800] or _(FACILITATOR_NOTE)
    cov.set_by = "facilitator"
    _actions_follow_status(out, theme_id, register)
    return out


def _actions_follow_status(a: Analysis, theme_id: str, register: Register) -> None:
    cov = next(c for c in a.coverage if c.theme_id == theme_id)
    need = required_action_kinds(cov.status)
    theme = _theme(a, theme_id)
    if "reassure" not in need:
        a.actions = [x for x in a.actions if not (x.kind == "reassure" and x.theme_ids == [theme_id])]
    have = {x.kind for x in a.actions if theme_id in x.theme_ids}
    for kind in need:
        if kind in have:
            continue
        if kind == "reassure":
            owner = _("Facilitator")
        else:
            related = cov.commitment_ids + [c.commitment_id for c in cov.candidates]
            owner = next((c.owner_role for cid in related if (c := register.get(cid)) and c.owner_role),
                         default_owner(register))
        title = required_action_title(kind, cov.status, label=theme.label, commitment_ids=cov.commitment_ids,
                                      owner=owner)
        used = {x.id for x in a.actions}
        n = len(a.actions) + 1
        while f"a{n}" in used:
            n += 1
        a.actions.append(Action(id=f"a{n}", title=title, kind=kind, theme_ids=[theme_id],
                                commitment_ids=cov.commitment_ids if kind == "reassure" else [],
                                owner_role=owner, due=dt.date.today() + dt.timedelta(ACTION_DAYS[kind])))
    for x in a.actions:
        if theme_id in x.theme_ids and x.kind == "reassure":
            x.commitment_ids = [c for c in x.commitment_ids if c in cov.commitment_ids] or list(cov.commitment_ids)


def restore_fear(a: Analysis, card_id: str) -> Analysis:
    """Put a card the model took out of the fears back among them (one click in review)."""
    if not any(r.card_id == card_id for r in a.meta.reclassified):
        raise InputError(_("That card was not taken out of the fears; reload the page"))
    out = _own_worry(a, card_id, _("Restored worry"),
                     _("A worry the model had moved out of the fears; restored by the facilitator."))
    out.meta.reclassified = [r for r in out.meta.reclassified if r.card_id != card_id]
    return out


def mark_fear(a: Analysis, card_id: str) -> Analysis:
    """Make a card the analysis kept out of the fears, but that voices a worry, a worry
    of its own (one click in review); its coverage then needs review, and it reaches an owner."""
    if card_id not in a.meta.may_be_fears:
        raise InputError(_("That card is not on the list of possible worries; reload the page"))
    out = _own_worry(a, card_id, _("A worry the facilitator marked"),
                     _("A card the analysis had kept out of the fears; marked as a worry by the facilitator."))
    out.meta.may_be_fears = [c for c in out.meta.may_be_fears if c != card_id]
    return out


def _own_worry(a: Analysis, card_id: str, label: str, summary: str) -> Analysis:
    out = _copy(a)
    for t in out.themes:
        t.card_ids = [c for c in t.card_ids if c != card_id]
    out.themes.append(Theme(id=_new_theme_id(out), label=label, kind="fear", card_ids=[card_id], summary=summary))
    return _tidy(out)


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
        raise InputError(_("An action needs a title saying what will be done"))
    if not owner_role:
        raise InputError(_("An action needs an owner role (a role, not a person's name)"))
    out = _copy(a)
    ids = {t.id for t in out.themes}
    theme_ids = [t for t in theme_ids if t in ids]
    if not theme_ids:
        raise InputError(_("Link the action to at least one theme"))
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
    raise InputError(_("Action {action} does not exist; reload the page").format(action=repr(action_id)))


def remove_action(a: Analysis, action_id: str) -> Analysis:
    out = _copy(a)
    out.actions = [x for x in out.actions if x.id != action_id]
    return out
