"""Eval metrics. Each returns numbers plus per-case records with a reason, so a
reader can see why a score moved, not only that it did."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import combinations

from facilitator.checks import problems, required_action_kinds
from facilitator.models import Analysis, CardSet, Register

from .dataset import CoverageCase, Retro


def _assignment(themes: Sequence, card_ids: list[str]) -> list[str]:
    where = {cid: t.id for t in themes for cid in t.card_ids}
    return [where.get(cid, f"missing:{cid}") for cid in card_ids]


def pairwise_f1(gold: list[str], pred: list[str]) -> tuple[float, float, float]:
    """Precision, recall and F1 over pairs of cards put together."""
    gp = {(i, j) for i, j in combinations(range(len(gold)), 2) if gold[i] == gold[j]}
    pp = {(i, j) for i, j in combinations(range(len(pred)), 2) if pred[i] == pred[j]}
    if not gp and not pp:
        return 1.0, 1.0, 1.0
    tp = len(gp & pp)
    p = tp / len(pp) if pp else 0.0
    r = tp / len(gp) if gp else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def grouping_scores(retro: Retro, themes: Sequence) -> dict:
    from sklearn.metrics import adjusted_rand_score

    ids = [c.id for c in retro.cards]
    gold = _assignment(retro.themes, ids)
    pred = _assignment(themes, ids)
    p, r, f = pairwise_f1(gold, pred)
    gold_kind = {cid: t.kind for t in retro.themes for cid in t.card_ids}
    pred_kind = {cid: t.kind for t in themes for cid in t.card_ids}
    kind_ok = sum(gold_kind[c] == pred_kind.get(c) for c in ids)
    fear_tp = sum(gold_kind[c] == "fear" and pred_kind.get(c) == "fear" for c in ids)
    fear_gold = sum(gold_kind[c] == "fear" for c in ids)
    fear_pred = sum(pred_kind.get(c) == "fear" for c in ids)
    flaw_gold = sum(gold_kind[c] == "flaw" for c in ids)
    flaw_as_fear = sum(gold_kind[c] == "flaw" and pred_kind.get(c) == "fear" for c in ids)
    wrong = [
        f"{c}: gold {gold_kind[c]}, got {pred_kind.get(c)}"
        for c in ids
        if gold_kind[c] != pred_kind.get(c)
    ]
    return {
        "retro": retro.name,
        "cards": len(ids),
        "gold_themes": len(retro.themes),
        "pred_themes": len(themes),
        "ari": adjusted_rand_score(gold, pred),
        "pair_precision": p,
        "pair_recall": r,
        "pair_f1": f,
        "kind_correct": kind_ok,
        "fear_tp": fear_tp,
        "fear_gold": fear_gold,
        "fear_pred": fear_pred,
        "flaw_gold": flaw_gold,
        "flaw_as_fear": flaw_as_fear,
        "reason": "; ".join(wrong[:8]) + (f"; +{len(wrong) - 8} more" if len(wrong) > 8 else ""),
    }


def integrity(analysis: Analysis, cards: CardSet, register: Register) -> dict:
    """Hallucinated ids, inexact quotes, action grounding, from the shared invariants."""
    ids = register.ids
    cited = [cid for c in analysis.coverage for cid in c.commitment_ids]
    cited += [q.commitment_id for c in analysis.coverage for q in c.quotes]
    cited += [cid for a in analysis.actions for cid in a.commitment_ids]
    hallucinated = [c for c in cited if c not in ids]
    inexact = [
        q.text
        for c in analysis.coverage
        for q in c.quotes
        if (reg := register.get(q.commitment_id)) is None or q.text not in reg.text
    ]
    fear_ids = [t.id for t in analysis.themes if t.kind == "fear"]
    status = {c.theme_id: c.status for c in analysis.coverage}
    kinds_for: dict[str, set[str]] = {}
    for a in analysis.actions:
        for tid in a.theme_ids:
            kinds_for.setdefault(tid, set()).add(a.kind)
    grounded = 0
    for tid in fear_ids:  # the same rule as the invariant: every action the status needs
        grounded += set(required_action_kinds(status.get(tid))) <= kinds_for.get(tid, set())
    theme_ids = {t.id for t in analysis.themes}
    dangling = [tid for a in analysis.actions for tid in a.theme_ids if tid not in theme_ids]
    return {
        "hallucinated_ids": hallucinated,
        "inexact_quotes": inexact,
        "fear_themes": len(fear_ids),
        "fear_themes_grounded": grounded,
        "dangling_links": dangling,
        "problems": problems(analysis, cards, register),
    }


def name_leaks(roster: Sequence[str], *texts: str) -> list[str]:
    out = []
    for name in roster:
        pat = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.I)
        if any(pat.search(t) for t in texts):
            out.append(name)
    return out


def coverage_scores(cases: Sequence[CoverageCase], answers: Sequence) -> dict:
    """Accuracy (``needs_review`` is never right: it is not a verdict), false
    assurances (``covered``/``partial`` for a fear no commitment answers: the
    dangerous error, target 0) and candidate recall (for a fear a commitment
    answers, is one of the right commitments among those shown?)."""
    labels = ("covered", "partial", "uncovered")
    rows = []
    for case, ans in zip(cases, answers):
        ok = case.status == ans.status
        shown = list(ans.commitment_ids) + [c.commitment_id for c in getattr(ans, "candidates", [])]
        ids_ok = True
        if case.status != "uncovered" and ans.status in ("covered", "partial"):
            ids_ok = bool(set(case.commitment_ids) & set(ans.commitment_ids))
        rows.append(
            {
                "id": case.id,
                "trap": case.trap,
                "gold": case.status,
                "got": ans.status,
                "ok": ok,
                "ids_ok": ids_ok,
                "false_assurance": case.status == "uncovered" and ans.status in ("covered", "partial"),
                "candidate_hit": bool(set(case.commitment_ids) & set(shown)) if case.status != "uncovered" else None,
                "gold_ids": case.commitment_ids,
                "got_ids": ans.commitment_ids,
                "shown_ids": shown,
                "reason": case.reason if ok else f"gold: {case.reason} | engine: {ans.rationale}",
            }
        )
    f1s = []
    for lab in labels:
        tp = sum(r["gold"] == lab and r["got"] == lab for r in rows)
        fp = sum(r["gold"] != lab and r["got"] == lab for r in rows)
        fn = sum(r["gold"] == lab and r["got"] != lab for r in rows)
        p = tp / (tp + fp) if tp + fp else 0.0
        r_ = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * p * r_ / (p + r_) if p + r_ else 0.0)
    traps = [r for r in rows if r["trap"]]
    supported = [r for r in rows if r["gold"] != "uncovered" and r["got"] in ("covered", "partial")]
    answerable = [r for r in rows if r["candidate_hit"] is not None]
    return {
        "accuracy": sum(r["ok"] for r in rows) / len(rows),
        "macro_f1": sum(f1s) / len(f1s),
        "trap_accuracy": sum(r["ok"] for r in traps) / len(traps) if traps else 1.0,
        "id_agreement": sum(r["ids_ok"] for r in supported) / len(supported) if supported else 1.0,
        "false_assurances": sum(r["false_assurance"] for r in rows),
        # The other way to mislead: a promise the register makes, reported as a gap.
        "promises_called_gaps": sum(r["gold"] != "uncovered" and r["got"] == "uncovered" for r in rows),
        "candidate_recall": sum(r["candidate_hit"] for r in answerable) / len(answerable) if answerable else 1.0,
        "decided": sum(r["got"] != "needs_review" for r in rows) / len(rows),
        "cases": rows,
    }
