"""Load benchmark of the service layer (not part of the test run): R retros of P
participants each, spread over several app processes, on one database.

    uv run python scripts/bench_load.py --db postgres   # 20 x 30, 4 app processes, 2 workers
    uv run python scripts/bench_load.py --db sqlite     # 20 x 30, 2 app processes, analyses in-process

Each app process is what a `streamlit run app.py` process does for its sessions:
the same RetroService with the same connection pools (RETRO_DB_POOL_SIZE and
RETRO_DB_MAX_OVERFLOW as configured), one thread per browser session (Streamlit
runs each session's script in a thread). Every session polls the retro the way
the page does (`watch` every 2 s); a participant joins, writes cards at a human
pace (1 in 10 is clicked twice with the same submission key, as an impatient
person does), waits for Vote, spends their dots and waits for Discuss. Each
retro's facilitator session advances the phases and starts the analysis, which
on PostgreSQL runs as a job on `retro-facilitator worker` processes
(RETRO_ANALYSIS_JOBS=queue) and on SQLite in the app process.

It reports failed calls (any exception a page would have had to show, by type),
p50/p95 submit latency, cards lost or duplicated (checked in the database), the
analyses done and jobs run more than once, and the peak number of PostgreSQL
connections. The browser itself is not in the loop: scripts/bench_browser.py
measures pages.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("RETRO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
POLL_S = 2.0


def _env(url: str, data_dir: Path, queue: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETRO_")}
    env |= {"RETRO_DATABASE_URL": url, "RETRO_DATA_DIR": str(data_dir), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "ANONYMIZED_TELEMETRY": "False", "RETRO_ANALYSIS_JOBS": "queue" if queue else "in-process"}
    return env


# --- one app process ----------------------------------------------------------------


def app_process(retros: list[dict], cards_each: int, seed: int) -> dict:
    from facilitator.errors import FacilitatorError
    from facilitator.service.base import LimitReached
    from facilitator.service.jobs import make_runner
    from facilitator.service.retros import RetroService, new_token
    from facilitator.settings import get_settings
    from facilitator.service.db import Database

    settings = get_settings()
    db = Database.from_settings(settings)
    svc = RetroService(db, settings)
    runner = make_runner(settings, db)
    lock = threading.Lock()
    stats: dict = {"calls": 0, "failed": Counter(), "submit_ms": [], "refused": Counter(), "analysis_s": [],
                   "written": 0, "double_clicks": 0}
    rng = random.Random(seed)

    def call(fn, *a, **kw):
        with lock:
            stats["calls"] += 1
        try:
            return fn(*a, **kw)
        except LimitReached as e:  # a clear message a page shows; the person tries again
            with lock:
                stats["refused"][str(e)[:40]] += 1
            raise
        except FacilitatorError:
            raise
        except Exception as e:  # what would have been an error on a page
            with lock:
                stats["failed"][type(e).__name__] += 1
            raise

    def wait_phase(rid: str, phases: tuple[str, ...], limit: float = 900) -> str:
        deadline = time.time() + limit
        while time.time() < deadline:
            try:
                phase, _ = call(svc.watch, rid)
            except Exception:  # noqa: BLE001 - counted; the page polls again
                phase = None
            if phase in phases:
                return phase
            time.sleep(POLL_S)
        raise TimeoutError(f"retro never reached {phases}")

    def participant(r: dict, n: int, prng: random.Random) -> None:
        rid = r["retro_id"]
        token = new_token()
        time.sleep(prng.uniform(0, 5))  # people open the link over a few seconds
        while True:
            try:
                call(svc.join, rid, token)
                break
            except LimitReached:
                time.sleep(5)
            except Exception:  # noqa: BLE001
                time.sleep(1)
        for i in range(cards_each):
            time.sleep(prng.uniform(1.0, 4.0))  # typing
            text = f"Card {i} of person {n} in {r['title']}: the handover notes were late ({uuid.uuid4().hex[:6]})"
            key = uuid.uuid4().hex
            column = r["columns"][i % len(r["columns"])]
            clicks = 2 if prng.random() < 0.1 else 1
            for c in range(clicks):
                while True:
                    t0 = time.perf_counter()
                    try:
                        call(svc.add_card, rid, token, column, text, key)
                    except LimitReached:
                        time.sleep(5)
                        continue
                    except Exception:  # noqa: BLE001 - the page keeps the text; the person clicks again
                        time.sleep(1)
                        continue
                    with lock:
                        stats["submit_ms"].append((time.perf_counter() - t0) * 1000)
                        if c == 0:
                            stats["written"] += 1
                        else:
                            stats["double_clicks"] += 1
                    break
            try:
                call(svc.watch, rid)  # the page's poll between cards
            except Exception:  # noqa: BLE001
                pass
        wait_phase(rid, ("vote",))
        themes = None
        while themes is None:
            try:
                state = call(svc.analysis, rid)
                themes = [t.id for t in state.current.themes]
            except Exception:  # noqa: BLE001
                time.sleep(1)
        dots = Counter(prng.choice(themes) for _ in range(r["budget"]))
        while True:
            try:
                call(svc.cast_votes, rid, token, dict(dots))
                break
            except Exception:  # noqa: BLE001
                time.sleep(1)
        wait_phase(rid, ("discuss",))

    def facilitator(r: dict) -> None:
        rid = r["retro_id"]
        expected = r["people"] * cards_each
        while call(svc.counts, rid).cards < expected:
            time.sleep(POLL_S)
        for phase in ("reveal", "analyse"):
            call(svc.advance, rid, phase)
        t0 = time.time()
        call(runner.start, svc, rid)
        while (state := call(svc.analysis, rid)).status == "running":
            time.sleep(POLL_S)
        if state.status != "done":
            raise RuntimeError(f"analysis {state.status}: {state.error}")
        with lock:
            stats["analysis_s"].append(time.time() - t0)
        for phase in ("review", "vote"):
            call(svc.advance, rid, phase)
        while call(svc.counts, rid).voters < r["people"]:
            time.sleep(POLL_S)
        call(svc.advance, rid, "discuss")

    threads = []
    for r in retros:
        threads.append(threading.Thread(target=facilitator, args=(r,), daemon=True))
        for n in range(r["people"]):
            threads.append(threading.Thread(target=participant, args=(r, n, random.Random(rng.random())), daemon=True))
    errors = []

    def guard(t):
        try:
            t._target(*t._args)  # noqa: SLF001
        except Exception as e:  # noqa: BLE001
            errors.append(f"{type(e).__name__}: {e}")

    runs = [threading.Thread(target=guard, args=(t,), daemon=True) for t in threads]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    db.dispose()
    stats["errors"] = errors
    stats["failed"] = dict(stats["failed"])
    stats["refused"] = dict(stats["refused"])
    return stats


def _app_main() -> None:
    spec = json.loads(sys.stdin.read())
    out = app_process(spec["retros"], spec["cards"], spec["seed"])
    print(json.dumps(out))


# --- the conductor --------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("--retros", type=int, default=20)
    p.add_argument("--people", type=int, default=30)
    p.add_argument("--cards", type=int, default=5, help="cards each participant writes")
    p.add_argument("--procs", type=int, help="app processes (default 4 on PostgreSQL, 2 on SQLite)")
    p.add_argument("--workers", type=int, help="analysis workers (default 2 on PostgreSQL; SQLite has none)")
    p.add_argument("--app-process", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.app_process:
        _app_main()
        return 0
    procs = args.procs or (4 if args.db == "postgres" else 2)
    workers = (args.workers if args.workers is not None else 2) if args.db == "postgres" else 0

    from sqlalchemy import create_engine, text

    from facilitator.service.db import Database
    from facilitator.service.retros import RetroService
    from facilitator.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    admin = None
    if args.db == "postgres":
        name = f"retro_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            max_conn = conn.execute(text("SHOW max_connections")).scalar_one()
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp / 'retro.sqlite3'}"
        max_conn = None
    settings = Settings(database_url=url, data_dir=tmp / "conductor")
    svc = RetroService(Database.from_settings(settings), settings)
    reg = svc.add_register((ROOT / "facilitator" / "demo" / "demo_register.md").read_text(encoding="utf-8"),
                           "demo_register.md", name="Harbourline")
    columns = ["Went well", "To improve", "Worries"]
    retros = []
    for i in range(args.retros):
        c = svc.create_retro(team=f"Team {i}", title=f"Sprint {i}", columns=columns, register_id=reg, k=3)
        retros.append({"retro_id": c.retro_id, "title": f"Sprint {i}", "columns": columns, "people": args.people,
                       "budget": svc.get(c.retro_id).vote_budget})

    children = []
    try:
        for w in range(workers):
            log = open(tmp / f"worker{w}.log", "w")
            children.append(subprocess.Popen([sys.executable, "-m", "facilitator", "worker"], cwd=ROOT,
                                             env=_env(url, tmp / f"worker{w}", True), stdout=log, stderr=log))
        time.sleep(8 if workers else 0)  # the workers load the model before taking jobs
        apps = []
        t0 = time.time()
        for i in range(procs):
            spec = {"retros": retros[i::procs], "cards": args.cards, "seed": i}
            proc = subprocess.Popen([sys.executable, __file__, "--app-process"], cwd=ROOT, text=True,
                                    env=_env(url, tmp / f"app{i}", args.db == "postgres"),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            proc.stdin.write(json.dumps(spec))
            proc.stdin.close()
            apps.append(proc)
        peak = 0
        while any(a.poll() is None for a in apps):
            if admin is not None:
                with admin.connect() as conn:
                    n = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                                     {"d": name}).scalar_one()
                peak = max(peak, n)
            time.sleep(0.5)
        wall = time.time() - t0
        results = [json.loads(a.stdout.read().strip().splitlines()[-1]) for a in apps]
    finally:
        for ch in children:
            ch.terminate()
            ch.wait(30)

    # What the database holds.
    from sqlalchemy import func, select

    from facilitator.service import db as t

    expected = args.retros * args.people * args.cards
    with svc.db.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(t.cards)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(t.cards.c.text)))).scalar_one()
        done = conn.execute(select(func.count()).select_from(t.analyses).where(t.analyses.c.status == "done")
                            ).scalar_one()
        phases = Counter(r[0] for r in conn.execute(select(t.retros.c.phase)))
        jobs = None
        if args.db == "postgres":
            jobs = dict(Counter((r[0], r[1]) for r in conn.execute(text(
                "SELECT status, attempts FROM procrastinate_jobs WHERE task_name = 'facilitator.analyse'"))))
    submit = sorted(x for r in results for x in r["submit_ms"])
    failed = Counter()
    refused = Counter()
    for r in results:
        failed.update(r["failed"])
        refused.update(r["refused"])
    written = sum(r["written"] for r in results)
    report = {
        "db": args.db, "app_processes": procs, "workers": workers, "max_connections": max_conn,
        "pool": f"{settings.db_pool_size}+{settings.db_max_overflow}",
        "retros": args.retros, "people": args.people, "cards_expected": expected,
        "calls": sum(r["calls"] for r in results), "failed_calls": dict(failed), "refused_calls": dict(refused),
        "session_errors": [e for r in results for e in r["errors"]][:5],
        "cards_written": written, "cards_stored": stored, "cards_lost": expected - distinct,
        "cards_duplicated": stored - distinct, "double_clicks": sum(r["double_clicks"] for r in results),
        "submit_ms_p50": round(statistics.median(submit), 1) if submit else None,
        "submit_ms_p95": round(submit[int(0.95 * (len(submit) - 1))], 1) if submit else None,
        "analyses_done": done, "analysis_s_p50": round(statistics.median(
            [x for r in results for x in r["analysis_s"]] or [0]), 1),
        "analysis_jobs_by_status_attempts": {f"{k[0]}/{k[1]}": v for k, v in (jobs or {}).items()},
        "retros_by_phase": dict(phases), "peak_connections": peak or None, "wall_s": round(wall, 1),
    }
    print(json.dumps(report, indent=2))
    svc.db.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    ok = not failed and not report["session_errors"] and report["cards_lost"] == 0 and report["cards_duplicated"] == 0
    return 0 if ok and done == args.retros else 1


if __name__ == "__main__":
    sys.exit(main())
