"""Refit the kind classifier's shipped weights: ``uv run python -m evals.fit_kinds``.

The second stage of ``facilitator.offline.kinds`` (flaw, positive or other, once a
card is not a fear) is fitted on the hand-written examples plus the cards of the
real boards' **tune** slice; the holdout slice is never read here. The package does
not carry the boards, only the weights fitted on them, with a digest of those cards
(``tests/test_embeddings.py`` fails when the tune slice changed since the last fit).

``--cv`` prints the leave-one-board-out figures on the tune slice instead (each board
classified by a fit without it), the honest kind accuracy for the slice the fit saw.
"""

from __future__ import annotations

import argparse
import hashlib
import json

from facilitator.models import CardSet

from .dataset import Retro, load_retros


def real_cards(retros: list[Retro]) -> list[dict]:
    gold = {(r.name, cid): t.kind for r in retros for t in r.themes for cid in t.card_ids}
    return [{"text": c.text, "column": c.column, "kind": gold[(r.name, c.id)]} for r in retros for c in r.cards]


def digest(rows: list[dict]) -> str:
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def fit_shipped() -> str:
    from facilitator.offline import kinds, linear
    from facilitator.offline.embeddings import local_embedder

    rows = real_cards(load_retros("real", "tune"))
    clf = kinds.KindClassifier(local_embedder(), real_cards=rows)
    kinds.SHIPPED.unlink(missing_ok=True)
    linear.save(kinds.SHIPPED, clf.models, kinds.model_key(local_embedder().name), real_digest=digest(rows))
    return f"wrote {kinds.SHIPPED} (second stage fitted on {len(rows)} real tune cards)"


def cross_validate() -> str:
    from facilitator.offline import kinds
    from facilitator.offline.embeddings import local_embedder

    boards = load_retros("real", "tune")
    ok = n = fear_tp = fear_pred = fear_gold = flaws = flaw_fear = 0
    for i, board in enumerate(boards):
        clf = kinds.KindClassifier(local_embedder(), real_cards=real_cards(boards[:i] + boards[i + 1:]))
        cards = CardSet(title=board.title, cards=board.cards).cards
        got = [k.kind for k in clf.classify(cards, local_embedder().embed([c.text for c in cards]))]
        gold = [next(t.kind for t in board.themes if c.id in t.card_ids) for c in cards]
        for g, k in zip(gold, got):
            n += 1
            ok += g == k
            fear_tp += g == k == "fear"
            fear_pred += k == "fear"
            fear_gold += g == "fear"
            flaws += g == "flaw"
            flaw_fear += g == "flaw" and k == "fear"
    return (f"tune slice, leave one board out ({len(boards)} boards, {n} cards): kind accuracy {ok / n:.3f}, "
            f"fear recall {fear_tp}/{fear_gold}, precision {fear_tp}/{fear_pred}, flaws called fears "
            f"{flaw_fear / max(flaws, 1):.1%}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.fit_kinds", description=__doc__.splitlines()[0])
    ap.add_argument("--cv", action="store_true", help="print leave-one-board-out figures instead of refitting")
    args = ap.parse_args(argv)
    print(cross_validate() if args.cv else fit_shipped())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
