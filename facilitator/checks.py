"""Invariants every analysis must satisfy, whichever engine produced it.

The messages are written to be read by a model too: the LLM engine sends them
back verbatim in its repair prompt.
"""

from __future__ import annotations

from collections import Counter

from facilitator.i18n import _
from facilitator.models import ActionKind, Analysis, CardSet, CoverageStatus, Register
from facilitator.text import clause_parts, edge_stripped

MIN_QUOTE_CHARS = 20  # shorter quotes must be a whole sentence or clause of the commitment
ID_SHOWN_CHARS = 40


def required_action_kinds(status: CoverageStatus | None) -> tuple[ActionKind, ...]:
    """The actions a fear theme of this coverage status needs: the one rule.

    Covered: reassure (share the clause, confirm it applies). Partial: reassure
    for the part answered and escalate the rest. Uncovered, needing review or
    not judged: escalate, so a possible gap always reaches an owner.
    """
    if status == "covered":
        return ("reassure",)
    if status == "partial":
        return ("reassure", "escalate")
    return ("escalate",)


def required_action_title(kind: ActionKind, status: CoverageStatus | None, *, label: str,
                          commitment_ids: list[str], owner: str) -> str:
    """The title of a reassurance or an escalation a fear's status needs (the offline
    draft and the review editor both use it), in the locale in force."""
    if kind == "reassure":
        return _("Share {ids} with the team and confirm it applies to them").format(ids=", ".join(commitment_ids))
    what = {"partial": _("the part no commitment answers"),
            "needs_review": _("whether a commitment answers this")}.get(status or "") or _("this trust gap")
    return _("Ask {owner} about {what} (\u201c{label}\u201d) and ask for a written answer").format(
        owner=owner, what=what, label=label)


def show_id(value: object) -> str:
    """An id as it appears in a message: quoted by repr and at most 40 characters,
    so a model-chosen string cannot pass as instructions in a repair prompt."""
    text = str(value)
    return repr(text[:ID_SHOWN_CHARS]) + ("..." if len(text) > ID_SHOWN_CHARS else "")


def quote_problem(quote: str, commitment_text: str) -> str | None:
    """Why ``quote`` cannot stand for ``commitment_text`` (None when it can).

    A quote is an exact substring that starts and ends on word boundaries and is
    either at least ``MIN_QUOTE_CHARS`` long or a whole sentence or clause.
    """
    if not quote or not quote.strip() or quote not in commitment_text:
        return "is not an exact substring of its text; copy the clause character for character"
    core = quote.strip()
    if not _on_word_boundaries(core, commitment_text):
        return "cuts a word in two; start and end the quote on whole words"
    if len(core) < MIN_QUOTE_CHARS:
        if edge_stripped(core) not in clause_parts(commitment_text):
            return (
                f"is too short to stand on its own ({len(core)} characters); quote at least "
                f"{MIN_QUOTE_CHARS} characters or a whole sentence or clause"
            )
    return None


def _on_word_boundaries(core: str, text: str) -> bool:
    start = text.find(core)
    while start != -1:
        end = start + len(core)
        ok_start = start == 0 or not (text[start - 1].isalnum() and core[0].isalnum())
        ok_end = end == len(text) or not (text[end].isalnum() and core[-1].isalnum())
        if ok_start and ok_end:
            return True
        start = text.find(core, start + 1)
    return False


def problems(analysis: Analysis, cards: CardSet, register: Register) -> list[str]:
    """Return every broken invariant (empty list means the analysis is valid)."""
    out: list[str] = []
    card_ids = [c.id for c in cards.cards]
    known_cards = set(card_ids)
    placed = Counter(cid for t in analysis.themes for cid in t.card_ids)
    for cid in card_ids:
        if placed[cid] == 0:
            out.append(f"card {show_id(cid)} is in no theme; put every card in exactly one theme")
        elif placed[cid] > 1:
            out.append(f"card {show_id(cid)} is in {placed[cid]} themes; put it in exactly one")
    for cid in placed:
        if cid not in known_cards:
            out.append(f"card id {show_id(cid)} does not exist; use only the given card ids")

    theme_ids = [t.id for t in analysis.themes]
    for tid, n in Counter(theme_ids).items():
        if n > 1:
            out.append(f"theme id {show_id(tid)} is used {n} times; theme ids must be unique")
    for t in analysis.themes:
        if not t.card_ids:
            out.append(f"theme {show_id(t.id)} has no cards; drop it")
        if not t.label.strip():
            out.append(f"theme {show_id(t.id)} has an empty label")
    kinds = {t.id: t.kind for t in analysis.themes}

    ids = register.ids
    covered_themes = set()
    for cov in analysis.coverage:
        tid = show_id(cov.theme_id)
        if cov.theme_id not in kinds:
            out.append(f"coverage refers to theme {tid}, which does not exist")
            continue
        if kinds[cov.theme_id] != "fear":
            out.append(f"coverage given for theme {tid}, which is not a fear theme")
        covered_themes.add(cov.theme_id)
        for cid in cov.commitment_ids:
            if cid not in ids:
                out.append(
                    f"commitment id {show_id(cid)} (coverage of {tid}) is not in the register; "
                    "cite only ids from the register"
                )
        for q in cov.quotes:
            c = register.get(q.commitment_id)
            if c is None:
                out.append(f"quote cites commitment {show_id(q.commitment_id)}, which is not in the register")
            else:
                why = quote_problem(q.text, c.text)
                if why:
                    out.append(f"quote for {show_id(q.commitment_id)} (coverage of {tid}) {why}")
            if q.commitment_id not in cov.commitment_ids:
                out.append(f"quote cites {show_id(q.commitment_id)} but commitment_ids of {tid} omit it")
        if cov.status in ("covered", "partial") and not cov.quotes:
            out.append(f"coverage of {tid} is {cov.status} but quotes no clause; quote one")
        if cov.status == "uncovered" and cov.quotes:
            out.append(f"coverage of {tid} is uncovered but quotes a clause; drop the quote")

    fear_ids = [t.id for t in analysis.themes if t.kind == "fear"]
    status = {c.theme_id: c.status for c in analysis.coverage}
    cov_ids: dict[str, set[str]] = {}
    for c in analysis.coverage:
        cov_ids.setdefault(c.theme_id, set()).update(c.commitment_ids)
    for tid in fear_ids:
        if tid not in covered_themes:
            out.append(f"fear theme {show_id(tid)} has no coverage entry; judge it against the register")

    action_ids = Counter(a.id for a in analysis.actions)
    for aid, n in action_ids.items():
        if n > 1:
            out.append(f"action id {show_id(aid)} is used {n} times")
    linked: dict[str, set[str]] = {}
    for a in analysis.actions:
        aid = show_id(a.id)
        if not a.theme_ids:
            out.append(f"action {aid} links no theme")
        for tid in a.theme_ids:
            if tid not in kinds:
                out.append(f"action {aid} links theme {show_id(tid)}, which does not exist")
                continue
            linked.setdefault(tid, set()).add(a.kind)
            kind = kinds[tid]
            if a.kind == "fix" and kind != "flaw":
                out.append(f"action {aid} is a fix but links {kind} theme {show_id(tid)}; fix actions link flaw themes only")
            if a.kind in ("reassure", "escalate") and kind != "fear":
                out.append(
                    f"action {aid} is {a.kind} but links {kind} theme {show_id(tid)}; "
                    f"{a.kind} actions link fear themes only"
                )
            if a.kind == "reassure" and kind == "fear" and status.get(tid) not in ("covered", "partial"):
                out.append(
                    f"action {aid} reassures about fear theme {show_id(tid)}, whose coverage is "
                    f"{status.get(tid, 'missing')}: nothing in the register answers it; escalate it instead"
                )
        # A commitment may be cited only where the coverage of a linked fear cites it:
        # an action must not share a stale, draft or unrelated commitment.
        allowed = set().union(*(cov_ids.get(tid, set()) for tid in a.theme_ids if kinds.get(tid) == "fear"))
        for cid in a.commitment_ids:
            if cid not in ids:
                out.append(f"action {aid} cites commitment {show_id(cid)}, which is not in the register")
            elif cid not in allowed:
                out.append(
                    f"action {aid} cites commitment {show_id(cid)}, which the coverage of the fear theme(s) it links "
                    "does not cite; cite only commitments from that coverage"
                )
    for t in analysis.themes:
        kinds_here = linked.get(t.id, set())
        if t.kind == "flaw" and "fix" not in kinds_here:
            out.append(f"flaw theme {show_id(t.id)} has no fix action")
        if t.kind == "fear":
            st = status.get(t.id)
            for kind in required_action_kinds(st):
                if kind not in kinds_here:
                    why = " for the part no commitment answers" if st == "partial" and kind == "escalate" else ""
                    out.append(f"fear theme {show_id(t.id)} ({st or 'no coverage'}) needs a {kind} action{why}")
    return out
