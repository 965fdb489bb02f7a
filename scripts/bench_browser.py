"""Browser benchmark: how long until every participant's page follows a phase change
(not part of the test run; needs Debian's Chromium, which scripts/test installs).

    uv run python scripts/bench_browser.py                 # 30 participants, 6 changes
    uv run python scripts/bench_browser.py --people 15 --changes 4

It starts ``streamlit run app.py`` on a free port with its own data directory,
opens one real Chromium page per participant (each its own browser context, so
its own session), moves the retro between Review and Vote through the service
on the same database, and times, for every page, the change until the page
shows the new phase. Prints p50 / p95 / max over all pages and changes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic",
        # each participant has their own browser in front of them: no background-tab timer throttling
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows"]

STUCK_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETRO_")}
    env |= {"RETRO_DATA_DIR": str(data), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=open(data / "streamlit.log", "w"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("streamlit did not start")


def _seed(data: Path):
    """A retro with an analysis, in Review, and the service that moves it."""
    from facilitator.demo import DEMO_REGISTER
    from facilitator.service.db import Database
    from facilitator.service.retros import RetroService, new_token
    from facilitator.settings import Settings
    from facilitator.wiring import get_engine

    settings = Settings(data_dir=data, max_cards_per_minute=1000)
    svc = RetroService(Database.from_settings(settings), settings)
    reg = svc.add_register(DEMO_REGISTER.read_text(encoding="utf-8"), "demo_register.md", name="Harbourline")
    c = svc.create_retro(team="Bench", title="Browser benchmark", columns=["Went well", "To improve", "Worries"],
                         register_id=reg, k=3)
    for n in range(3):
        tok = new_token()
        svc.join(c.retro_id, tok)
        for col in ("Went well", "To improve", "Worries"):
            svc.add_card(c.retro_id, tok, col, f"Card {n} about {col.lower()} and the deploy approvals", new_token())
    svc.advance(c.retro_id, "reveal")
    svc.advance(c.retro_id, "analyse")
    svc.run_analysis(c.retro_id, svc.start_analysis(c.retro_id), get_engine(settings, engine="local"))
    svc.advance(c.retro_id, "review")
    return svc, c


async def _run(base: str, svc, created, people: int, changes: int) -> list[float]:
    from playwright.async_api import async_playwright

    join = f"{base}/join?code={created.join_code}"
    async with async_playwright() as pw:
        # One browser per ten participants (people bring their own; one Chromium stops
        # opening pages to one host somewhere past 25).
        browsers = [await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                    for _ in range((people + 9) // 10)]
        pages = []
        for n in range(people):
            ctx = await browsers[n // 10].new_context(viewport={"width": 800, "height": 700})
            page = await ctx.new_page()
            await page.goto(join, wait_until="commit", timeout=120_000)
            try:
                await page.get_by_text("reviewing the themes").wait_for(timeout=120_000)
            except Exception:
                log = Path(os.environ["BENCH_LOG"]).read_text()[-1500:] if os.environ.get("BENCH_LOG") else ""
                raise SystemExit(f"page {n + 1} did not open: " + (await page.inner_text("body"))[:500] + log) from None
            pages.append(page)
            if (n + 1) % 10 == 0:
                print(f"{n + 1} pages open", flush=True)
        samples: list[float] = []
        for n in range(changes):
            to = "vote" if n % 2 == 0 else "review"
            await asyncio.sleep(1.5)  # let every page settle between changes
            t0 = time.perf_counter()
            if to == "vote":
                svc.advance(created.retro_id, "vote")
            else:
                svc.go_back(created.retro_id, "review")
            word = "you have 3 dots" if to == "vote" else "reviewing the themes"

            async def seen(i: int, page) -> float:
                try:
                    # visible: a stale copy of the text left from an earlier run must not count (or block)
                    await page.get_by_text(word).filter(visible=True).first.wait_for(timeout=STUCK_S * 1000)
                except Exception:  # a page that never followed: reported, counted as STUCK_S
                    body = " ".join((await page.inner_text("body")).split())[-400:]
                    print(f"  page {i + 1} did not follow within {STUCK_S} s; it shows: {body}", flush=True)
                    return float(STUCK_S)
                return time.perf_counter() - t0

            got = await asyncio.gather(*(seen(i, p) for i, p in enumerate(pages)))
            samples += got
            print(f"change {n + 1} to {to}: p50 {statistics.median(got):.2f} s, max {max(got):.2f} s", flush=True)
        for b in browsers:
            await b.close()
    return samples


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=30)
    ap.add_argument("--changes", type=int, default=6)
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM}")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        svc, created = _seed(data)
        os.environ["BENCH_LOG"] = str(data / "streamlit.log")
        proc, base = _start(data)
        try:
            samples = sorted(asyncio.run(_run(base, svc, created, args.people, args.changes)))
        finally:
            proc.terminate()
            proc.wait(10)
            if os.environ.get("BENCH_KEEP_LOG"):  # the server's log, for a run that went wrong
                Path(os.environ["BENCH_KEEP_LOG"]).write_text((data / "streamlit.log").read_text())
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    print(f"\n{args.people} pages x {args.changes} phase changes = {len(samples)} samples: "
          f"p50 {statistics.median(samples):.2f} s, p95 {p95:.2f} s, max {samples[-1]:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
