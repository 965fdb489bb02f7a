"""Invariants every analysis must satisfy, whichever engine produced it.

The messages are written to be read by a model too: the LLM engine sends them
back verbatim in its repair prompt.
"""

from __future__ import annotations

from collections import Counter

from .models import Analysis, CardSet, Register


def problems(analysis: Analysis, cards: CardSet, register: Register) -> list[str]:
    """Return every broken invariant (empty list means the analysis is valid)."""
    out: list[str] = []
    card_ids = [c.id for c in cards.cards]
    known_cards = set(card_ids)
    placed = Counter(cid for t in analysis.themes for cid in t.card_ids)
    for cid in card_ids:
        if placed[cid] == 0:
            out.append(f"card {cid} is in no theme; put every card in exactly one theme")
        elif placed[cid] > 1:
            out.append(f"card {cid} is in {placed[cid]} themes; put it in exactly one")
    for cid in placed:
        if cid not in known_cards:
            out.append(f"card id {cid} does not exist; use only the given card ids")

    theme_ids = [t.id for t in analysis.themes]
    for tid, n in Counter(theme_ids).items():
        if n > 1:
            out.append(f"theme id {tid} is used {n} times; theme ids must be unique")
    for t in analysis.themes:
        if not t.card_ids:
            out.append(f"theme {t.id} has no cards; drop it")
        if not t.label.strip():
            out.append(f"theme {t.id} has an empty label")
    kinds = {t.id: t.kind for t in analysis.themes}

    ids = register.ids
    covered_themes = set()
    for cov in analysis.coverage:
        if cov.theme_id not in kinds:
            out.append(f"coverage refers to theme {cov.theme_id}, which does not exist")
            continue
        if kinds[cov.theme_id] != "fear":
            out.append(f"coverage given for theme {cov.theme_id}, which is not a fear theme")
        covered_themes.add(cov.theme_id)
        for cid in cov.commitment_ids:
            if cid not in ids:
                out.append(
                    f"commitment id {cid} (coverage of {cov.theme_id}) is not in the register; "
                    "cite only ids from the register"
                )
        for q in cov.quotes:
            c = register.get(q.commitment_id)
            if c is None:
                out.append(f"quote cites commitment {q.commitment_id}, which is not in the register")
            elif not q.text or q.text not in c.text:
                out.append(
                    f"quote for {q.commitment_id} is not an exact substring of its text; "
                    "copy the clause character for character"
                )
            if q.commitment_id not in cov.commitment_ids:
                out.append(f"quote cites {q.commitment_id} but commitment_ids of {cov.theme_id} omit it")
        if cov.status in ("covered", "partial") and not cov.quotes:
            out.append(f"coverage of {cov.theme_id} is {cov.status} but quotes no clause; quote one")
        if cov.status == "uncovered" and cov.quotes:
            out.append(f"coverage of {cov.theme_id} is uncovered but quotes a clause; drop the quote")

    fear_ids = [t.id for t in analysis.themes if t.kind == "fear"]
    status = {c.theme_id: c.status for c in analysis.coverage}
    for tid in fear_ids:
        if tid not in covered_themes:
            out.append(f"fear theme {tid} has no coverage entry; judge it against the register")

    action_ids = Counter(a.id for a in analysis.actions)
    for aid, n in action_ids.items():
        if n > 1:
            out.append(f"action id {aid} is used {n} times")
    linked: dict[str, set[str]] = {}
    for a in analysis.actions:
        if not a.theme_ids:
            out.append(f"action {a.id} links no theme")
        for tid in a.theme_ids:
            if tid not in kinds:
                out.append(f"action {a.id} links theme {tid}, which does not exist")
            linked.setdefault(tid, set()).add(a.kind)
        for cid in a.commitment_ids:
            if cid not in ids:
                out.append(f"action {a.id} cites commitment {cid}, which is not in the register")
    for t in analysis.themes:
        kinds_here = linked.get(t.id, set())
        if t.kind == "flaw" and "fix" not in kinds_here:
            out.append(f"flaw theme {t.id} has no fix action")
        if t.kind == "fear":
            need = "escalate" if status.get(t.id) == "uncovered" else "reassure"
            if need not in kinds_here:
                out.append(f"fear theme {t.id} ({status.get(t.id, 'no coverage')}) needs a {need} action")
    return out
