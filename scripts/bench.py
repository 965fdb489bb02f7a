"""Speed benchmark of the offline engine (not part of the test run).

    uv run python scripts/bench.py            # 50, 200 and 1000 cards
    uv run python scripts/bench.py --sizes 200

For each size it reports embedding, grouping and coverage times, warm (model
loaded, new cards) and cold (a fresh process: imports, model load, index),
and the peak resident memory of the cold process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TODAY = dt.date(2026, 11, 28)


def make_cards(n: int, variant: int):
    """n realistic cards from the eval retros; the variant suffix makes every
    run's texts new, so the embedding cache cannot flatter warm timings."""
    from evals.dataset import load_retros
    from facilitator.models import Card, CardSet

    pool = [c for r in load_retros() for c in r.cards]
    cards = []
    for i in range(n):
        src = pool[i % len(pool)]
        text = src.text if i < len(pool) and variant == 0 else f"{src.text} ({variant}.{i // len(pool)})"
        cards.append(Card(id=f"c{i}", text=text[:500], column=src.column))
    return CardSet(cards=cards)


def one_run(engine, register, n: int, variant: int) -> dict:
    cards = make_cards(n, variant)
    t0 = time.perf_counter()
    a = engine.analyze(cards, register, today=TODAY)
    total = (time.perf_counter() - t0) * 1000
    return {**a.meta.timings_ms, "total": round(total, 1), "themes": len(a.themes)}


def cold(n: int, data_dir: str | None) -> dict:
    """Child process: everything from interpreter start. With the parent's data
    dir the classifier and register index are on disk, as on any run but the first."""
    t0 = time.perf_counter()
    from facilitator.wiring import get_engine
    from facilitator.inputs.register import load_register
    from facilitator.settings import Settings

    engine = get_engine(Settings(engine="local", data_dir=Path(data_dir or tempfile.mkdtemp())))
    register = load_register(ROOT / "facilitator" / "demo" / "demo_register.md")
    r = one_run(engine, register, n, variant=0)
    r["process_total"] = round((time.perf_counter() - t0) * 1000, 1)
    r["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cold_child:
        print(json.dumps(cold(args.cold_child, args.data_dir)))
        return

    from facilitator.wiring import get_engine
    from facilitator.inputs.register import load_register
    from facilitator.settings import Settings

    data_dir = tempfile.mkdtemp()
    engine = get_engine(Settings(engine="local", data_dir=Path(data_dir)))
    register = load_register(ROOT / "facilitator" / "demo" / "demo_register.md")
    one_run(engine, register, 20, variant=99)  # load model, train/cached classifier, index register
    rows = []
    for n in args.sizes:
        warm = [one_run(engine, register, n, variant=v + 1) for v in range(args.repeat)]
        med = {k: statistics.median(r[k] for r in warm) for k in ("embed", "group", "coverage", "total")}
        child = subprocess.run(
            [sys.executable, __file__, "--cold-child", str(n), "--data-dir", data_dir],
            capture_output=True, text=True, check=True,
        )
        c = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append((n, med, c))
    first = subprocess.run(
        [sys.executable, __file__, "--cold-child", str(args.sizes[0])], capture_output=True, text=True, check=True
    )
    f = json.loads(first.stdout.strip().splitlines()[-1])
    print(f"first run ever ({args.sizes[0]} cards; empty data dir, so the register is indexed too): "
          f"{f['process_total']:.0f} ms, peak RSS {f['peak_rss_mb']:.0f} MB\n")
    print("| cards | warm embed ms | warm group ms | warm coverage ms | warm total ms | cold total ms "
          "(process) | cold peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for n, m, c in rows:
        print(f"| {n} | {m['embed']:.0f} | {m['group']:.0f} | {m['coverage']:.0f} | {m['total']:.0f} | "
              f"{c['process_total']:.0f} | {c['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
