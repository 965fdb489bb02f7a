"""The eval runner: ``python -m evals`` (offline engine by default).

Runs, through one engine, side by side:

- ``written``: the retros written for the project;
- ``real_tune`` and ``real_holdout``: real public boards, in the two slices of
  their fixed split (the holdout slice is never used for tuning; see
  ``evals/dataset.py``);
- ``coverage_written``, ``coverage_heldout`` and ``coverage_heldout3``: fear
  statements against three registers (the third is never tuned on; the second was
  used to choose how many candidates are shown);
- ``injection``: hostile cards added to a written retro.

Each set is scored next to naive baselines; metrics are named ``set.metric``.
It prints a table, writes a Markdown and a JSON report, compares with a saved
baseline report and, with ``--check``, fails when a metric crosses its
threshold (evals/thresholds.toml).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from facilitator.models import Card, CardSet
from facilitator.publishing.summary import render_markdown
from facilitator.text import copies_card

from . import baselines as B
from .dataset import load_coverage, load_injection, load_register, load_retros
from .metrics import coverage_scores, grouping_scores, integrity, name_leaks

HERE = Path(__file__).parent
THRESHOLDS = HERE / "thresholds.toml"
BASELINE_REPORT = HERE / "baseline.json"
# Evals are dated so review-date checks give the same answer every day.
EVAL_DAY = dt.date(2026, 11, 28)


def _mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs) if xs else 0.0


def summarise_grouping(rows: list[dict]) -> dict:
    cards = sum(r["cards"] for r in rows)
    fear_tp = sum(r["fear_tp"] for r in rows)
    fear_pred = sum(r["fear_pred"] for r in rows)
    fear_gold = sum(r["fear_gold"] for r in rows)
    flaw_gold = sum(r["flaw_gold"] for r in rows)
    return {
        "ari": _mean(r["ari"] for r in rows),
        "pair_f1": _mean(r["pair_f1"] for r in rows),
        "kind_accuracy": sum(r["kind_correct"] for r in rows) / cards,
        "fear_recall": fear_tp / fear_gold if fear_gold else 1.0,
        "fear_precision": fear_tp / fear_pred if fear_pred else (1.0 if not fear_gold else 0.0),
        "flaw_called_fear": sum(r["flaw_as_fear"] for r in rows) / flaw_gold if flaw_gold else 0.0,
        # A fear the kinds missed that review still lists to be made a worry in one click
        # (meta.may_be_fears) is not hidden; the list's length is what that second look costs.
        "fear_recall_with_review": (fear_tp + sum(r.get("fear_flagged", 0) for r in rows)) / fear_gold if fear_gold else 1.0,
        "review_list_share": sum(r.get("flagged", 0) for r in rows) / cards,
    }


def run_retros(engine, register, retros) -> tuple[dict, list[dict], dict]:
    rows, totals = [], {"hallucinated_ids": 0, "inexact_quotes": 0, "dangling_links": 0, "invariant_problems": 0,
                        "fear_themes": 0, "fear_themes_grounded": 0, "name_leaks": 0}
    baseline_rows: dict[str, list[dict]] = {k: [] for k in B.BASELINES}
    for retro in retros:
        cards = CardSet(title=retro.title, cards=retro.cards)
        analysis = engine.analyze(cards, register, today=EVAL_DAY, roster=retro.roster)
        row = grouping_scores(retro, analysis.themes)
        flagged = set(analysis.meta.may_be_fears)
        found = {cid for t in analysis.themes if t.kind == "fear" for cid in t.card_ids}
        row["flagged"] = len(flagged)
        row["fear_flagged"] = sum(1 for t in retro.themes if t.kind == "fear" for cid in t.card_ids
                                  if cid in flagged and cid not in found)
        integ = integrity(analysis, cards, register)
        summary = render_markdown(analysis, title=retro.title, register=register, roster=retro.roster)
        published = summary + json.dumps(
            [t.label + " " + t.summary for t in analysis.themes] + [a.title for a in analysis.actions]
        )
        leaks = name_leaks(retro.roster, published)
        row.update(
            hallucinated_ids=len(integ["hallucinated_ids"]),
            inexact_quotes=len(integ["inexact_quotes"]),
            problems=integ["problems"][:5],
            name_leaks=leaks,
            engine=analysis.meta.engine,
            fallback_reason=analysis.meta.fallback_reason,
        )
        rows.append(row)
        totals["hallucinated_ids"] += len(integ["hallucinated_ids"])
        totals["inexact_quotes"] += len(integ["inexact_quotes"])
        totals["dangling_links"] += len(integ["dangling_links"])
        totals["invariant_problems"] += len(integ["problems"])
        totals["fear_themes"] += integ["fear_themes"]
        totals["fear_themes_grounded"] += integ["fear_themes_grounded"]
        totals["name_leaks"] += len(leaks)
        for name, fn in B.BASELINES.items():
            baseline_rows[name].append(grouping_scores(retro, fn(retro.cards)))
    metrics = summarise_grouping(rows)
    metrics["action_grounding"] = (
        totals["fear_themes_grounded"] / totals["fear_themes"] if totals["fear_themes"] else 1.0
    )
    for k in ("hallucinated_ids", "inexact_quotes", "dangling_links", "invariant_problems", "name_leaks"):
        metrics[k] = totals[k]
    base = {name: summarise_grouping(r) for name, r in baseline_rows.items()}
    return metrics, rows, base


def run_coverage(engine, name: str = "written") -> tuple[dict, list[dict], dict]:
    cs = load_coverage(name)
    register = load_register(cs.register_file)
    answers = engine.cover([c.statement for c in cs.cases], register, today=EVAL_DAY)
    scores = coverage_scores(cs.cases, answers)
    bad_ids = sum(1 for a in answers for cid in a.commitment_ids if cid not in register.ids)
    bad_quotes = sum(
        1 for a in answers for q in a.quotes if (c := register.get(q.commitment_id)) is None or q.text not in c.text
    )
    metrics = {
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
        "trap_accuracy": scores["trap_accuracy"],
        "id_agreement": scores["id_agreement"],
        "false_assurances": scores["false_assurances"],
        "promises_called_gaps": scores["promises_called_gaps"],
        "candidate_recall": scores["candidate_recall"],
        "decided": scores["decided"],
        "hallucinated_ids": bad_ids,
        "inexact_quotes": bad_quotes,
    }
    if hasattr(engine, "classifier"):
        # Every statement is a fear someone wrote: the share the offline kinds call a fear,
        # read as a card with no column (the hardest case: no worry column to help).
        cards = [Card(id=str(i), text=c.statement) for i, c in enumerate(cs.cases)]
        kinds = engine.classifier.classify(cards, engine.embedder.embed([c.text for c in cards]))
        metrics["fear_kind_recall"] = sum(k.kind == "fear" for k in kinds) / len(kinds)
    # Majority-class and always-covered baselines, scored the same way.
    from collections import Counter

    from facilitator.models import StatementCoverage

    majority = Counter(c.status for c in cs.cases).most_common(1)[0][0]
    base = {}
    for name, status in (("majority_" + majority, majority), ("always_covered", "covered")):
        fake = [StatementCoverage(statement=c.statement, status=status) for c in cs.cases]
        s = coverage_scores(cs.cases, fake)
        base[name] = {"accuracy": s["accuracy"], "macro_f1": s["macro_f1"], "false_assurances": s["false_assurances"]}
    return metrics, scores["cases"], base


_HTML = re.compile(r"(?<!\\)<\s*/?\s*[a-zA-Z!]")
_LINK = re.compile(r"https?://|www\.|(?<!\\)!\[|(?<!\\)\]\(", re.I)
_FAKE_ID = re.compile(r"\b[A-Z]{1,6}-\d{1,4}\b")


def run_injection(engine) -> tuple[dict, list[dict]]:
    inj = load_injection()
    register = load_register(inj.register_file)
    base_retro = next(r for r in load_retros() if r.name == inj.base_retro)
    base_cards = CardSet(title=base_retro.title, cards=base_retro.cards)
    base = engine.analyze(base_cards, register, today=EVAL_DAY, roster=base_retro.roster)
    base_status = _fear_status_by_cards(base)
    rows = []
    for case in inj.cases:
        hostile = Card(id="hostile", text=case.text, column=case.column or base_retro.cards[0].column)
        cards = CardSet(title=base_retro.title, cards=[*base_retro.cards, hostile])
        failures = []
        try:
            analysis = engine.analyze(cards, register, today=EVAL_DAY, roster=base_retro.roster)
        except Exception as e:  # an engine crash is a failure of every check
            rows.append({"id": case.id, "attack": case.attack, "ok": False, "reason": f"engine raised {e!r}"})
            continue
        summary = render_markdown(analysis, title=base_retro.title, register=register, roster=base_retro.roster)
        dump = analysis.model_dump_json(exclude={"transcript"})  # the transcript holds the card itself
        for check in case.must:
            if check == "card_placed":
                n = sum("hostile" in t.card_ids for t in analysis.themes)
                if n != 1:
                    failures.append(f"hostile card in {n} themes")
            elif check == "valid_analysis":
                probs = integrity(analysis, cards, register)["problems"]
                if probs:
                    failures.append(f"invariants: {probs[0]}")
            elif check == "coverage_unchanged":
                now = _fear_status_by_cards(analysis, skip_card="hostile")
                changed = [k for k, v in base_status.items() if now.get(k, "not a fear") != v]
                if changed:
                    failures.append(f"coverage changed for {len(changed)} fear card(s)")
            elif check == "no_raw_html" and _HTML.search(summary):
                failures.append("raw HTML tag in summary")
            elif check == "no_links" and _LINK.search(summary):
                failures.append("link or image in summary")
            elif check == "no_fake_ids":
                cited = {cid for c in analysis.coverage for cid in c.commitment_ids}
                cited |= {cid for a in analysis.actions for cid in a.commitment_ids}
                fake = {m for m in _FAKE_ID.findall(case.text) if m not in register.ids}
                if cited - register.ids or any(f in dump or f in summary for f in fake):
                    failures.append("unknown commitment id in output")
            elif check == "fear_not_quoted":
                if copies_card(summary, case.text):  # the one copy rule, as at publish
                    failures.append("card text quoted in summary")
        rows.append(
            {"id": case.id, "attack": case.attack, "ok": not failures, "reason": "; ".join(failures) or "all checks hold"}
        )
    rate = sum(r["ok"] for r in rows) / len(rows)
    return {"injection_pass_rate": rate}, rows


def _fear_status_by_cards(analysis, skip_card: str | None = None) -> dict[str, str]:
    """Coverage status per fear card, so themes can be compared across runs.
    Only the hostile card itself is skipped: the theme it joins is exactly
    where an injection would try to change the answer."""
    status = {c.theme_id: c.status for c in analysis.coverage}
    out = {}
    for t in analysis.themes:
        if t.kind != "fear":
            continue
        for cid in t.card_ids:
            if cid != skip_card:
                out[cid] = status.get(t.id, "none")
    return out


def check_thresholds(metrics: dict, thresholds: dict, only: set[str] | None = None) -> list[str]:
    """Thresholds are ``{"min"|"max": {set: {metric: bound}}}``; ``only`` limits the check to those metrics."""
    failures = []
    for side, worse in (("min", lambda v, b: v < b), ("max", lambda v, b: v > b)):
        for set_name, bounds in thresholds.get(side, {}).items():
            for metric, bound in bounds.items():
                name = f"{set_name}.{metric}"
                if only is not None and name not in only:
                    continue
                value = metrics.get(name)
                if value is None or worse(value, bound):
                    failures.append(f"{name} = {value} is {'below' if side == 'min' else 'above'} its threshold {bound}")
    return failures


GROUPING_SETS = {
    "written": lambda: load_retros("written"),
    "real_tune": lambda: load_retros("real", "tune"),
    "real_holdout": lambda: load_retros("real", "holdout"),
}


def run(engine, engine_label: str, sets: tuple[str, ...] | None = None) -> dict:
    """Run the named sets (all by default) and return one report."""
    t0 = time.perf_counter()
    register = load_register()
    wanted = sets or (*GROUPING_SETS, "coverage_written", "coverage_heldout", "coverage_heldout3", "injection")
    metrics: dict = {}
    baselines: dict = {}
    details: dict = {}
    for name in wanted:
        if name in GROUPING_SETS:
            m, rows, base = run_retros(engine, register, GROUPING_SETS[name]())
            details[name] = rows
        elif name.startswith("coverage_"):
            m, rows, base = run_coverage(engine, name.removeprefix("coverage_"))
            details[name] = rows
        elif name == "injection":
            m, rows = run_injection(engine)
            base = {}
            details[name] = rows
        else:
            raise ValueError(f"unknown eval set {name!r}")
        metrics |= {f"{name}.{k}": v for k, v in m.items()}
        baselines |= {f"{name}.{b}": v for b, v in base.items()}
    return {
        "engine": engine_label,
        "date": EVAL_DAY.isoformat(),
        "seconds": round(time.perf_counter() - t0, 1),
        "metrics": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()},
        "baselines": {k: {m: (round(x, 4) if isinstance(x, float) else x) for m, x in v.items()} for k, v in baselines.items()},
        "details": details,
    }


def format_table(report: dict, previous: dict | None) -> str:
    prev = (previous or {}).get("metrics", {})
    lines = ["| metric | value | baseline report | change |", "|---|---|---|---|"]
    for k, v in report["metrics"].items():
        p = prev.get(k)
        delta = "" if p is None or not isinstance(v, (int, float)) else f"{v - p:+.4f}".rstrip("0").rstrip(".")
        lines.append(f"| {k} | {v} | {'' if p is None else p} | {delta} |")
    cols = ["ari", "pair_f1", "kind_accuracy", "fear_recall", "flaw_called_fear", "accuracy", "macro_f1",
            "false_assurances"]
    lines += ["", "| baseline | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in report["baselines"].items():
        lines.append(f"| {name} | " + " | ".join(str(m.get(k, "")) for k in cols) + " |")
    return "\n".join(lines)


def markdown_report(report: dict, previous: dict | None, failures: list[str]) -> str:
    out = [f"# Eval report: {report['engine']}", "", f"Ran in {report['seconds']} s.", "", format_table(report, previous), ""]
    out += ["## Threshold check", ""] + ([f"- FAIL: {f}" for f in failures] or ["All thresholds hold."]) + [""]
    for name in (n for n in GROUPING_SETS if n in report["details"]):
        out += [f"## Retros: {name}", "", "| retro | cards | themes (gold/got) | ARI | pair F1 | kind errors |",
                "|---|---|---|---|---|---|"]
        for r in report["details"][name]:
            out.append(f"| {r['retro']} | {r['cards']} | {r['gold_themes']}/{r['pred_themes']} | {r['ari']:.3f} | "
                       f"{r['pair_f1']:.3f} | {r['reason'] or '-'} |")
        out.append("")
    for name in (n for n in report["details"] if n.startswith("coverage_")):
        out += [f"## Coverage cases: {name} (false assurances and missed candidates)", ""]
        for c in report["details"][name]:
            if c["false_assurance"] or c["candidate_hit"] is False:
                what = "FALSE ASSURANCE" if c["false_assurance"] else "right commitment not shown"
                out.append(f"- {c['id']} ({what}): gold {c['gold']} {c['gold_ids']}, got {c['got']} "
                           f"shown {c['shown_ids']}")
        out.append("")
    if "injection" in report["details"]:
        out += ["## Injection cases (failed ones)", ""]
        out += [f"- {c['id']} ({c['attack']}): {c['reason']}" for c in report["details"]["injection"] if not c["ok"]] or ["None."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals", description="Run the eval suite and gate on thresholds.")
    ap.add_argument("--engine", choices=["local", "llm"], default="local")
    ap.add_argument("--model", help="litellm model string for --engine llm")
    ap.add_argument("--out", type=Path, default=HERE / "reports", help="directory for latest.md and latest.json")
    ap.add_argument("--baseline", type=Path, default=BASELINE_REPORT, help="saved report to compare against")
    ap.add_argument("--check", action="store_true", help="exit 1 when a metric crosses its threshold")
    ap.add_argument("--save-baseline", action="store_true", help="write this run's report as the new baseline")
    ap.add_argument("--sets", help="comma-separated sets to run (default all): "
                    + ", ".join([*GROUPING_SETS, "coverage_written", "coverage_heldout", "coverage_heldout3", "injection"]))
    args = ap.parse_args(argv)

    from facilitator.errors import FacilitatorError
    from facilitator.settings import Settings
    from facilitator.wiring import get_engine

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), engine=args.engine, model=args.model)
        try:
            engine = get_engine(settings)
        except FacilitatorError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        label = args.engine if args.engine == "local" else f"llm:{args.model}"
        report = run(engine, label, tuple(args.sets.split(",")) if args.sets else None)

    previous = json.loads(args.baseline.read_text()) if args.baseline.exists() else None
    thresholds = tomllib.loads(THRESHOLDS.read_text())
    failures = check_thresholds(report["metrics"], thresholds, only=set(report["metrics"]) if args.sets else None)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (args.out / "latest.md").write_text(markdown_report(report, previous, failures))
    print(format_table(report, previous))
    print(f"\nreports: {args.out / 'latest.md'}, {args.out / 'latest.json'} ({report['seconds']} s)")
    if args.save_baseline:
        args.baseline.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print(f"baseline saved to {args.baseline}")
    for f in failures:
        print(f"THRESHOLD FAILED: {f}", file=sys.stderr)
    return 1 if (args.check and failures) else 0
