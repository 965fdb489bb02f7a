"""Two app replicas behind HAProxy (deploy/haproxy.cfg) and two analysis workers
(`retro-facilitator worker`) on one PostgreSQL, in real Chromium:

- a replica is killed with SIGKILL mid-collect, and its participants resume on the
  other one with their own cards, counted once, nothing lost;
- it is restarted, and mid-analysis the worker running the job and a replica are
  killed with SIGKILL: the other worker finishes the job within 60 s, once, and the
  dead replica's participants resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.pg import PG_URL, pg_reachable
from tests.test_e2e_browser import ARGS, CHROMIUM, ROOT, _free_port

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.timeout(300)]


def _wait_healthy(url: str, proc: subprocess.Popen | None = None, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited")
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy")


class Deployment:
    def __init__(self, tmp_path: Path, url: str):
        self.tmp = tmp_path
        self.url = url
        self.ports = {"app1": _free_port(), "app2": _free_port()}
        self.base = f"http://127.0.0.1:{_free_port()}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: list = []

    def _env(self, name: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RETRO_")}
        return env | {"RETRO_DATABASE_URL": self.url, "RETRO_DATA_DIR": str(self.tmp / name),
                      "RETRO_PUBLIC_URL": self.base, "RETRO_ANALYSIS_JOBS": "queue",
                      "LITELLM_LOCAL_MODEL_COST_MAP": "True", "ANONYMIZED_TELEMETRY": "False"}

    def _spawn(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "a")
        self.logs.append(log)
        self.procs[name] = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self.procs[name]

    def start_replica(self, name: str) -> None:
        port = self.ports[name]
        proc = self._spawn(name, [
            sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
            "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none"], self._env(name))
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc)

    def start_worker(self, name: str) -> None:
        self._spawn(name, [sys.executable, "-m", "facilitator", "worker"], self._env(name))

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def start_haproxy(self) -> None:
        lb = self.base.rsplit(":", 1)[1]
        env = os.environ | {"APP1": f"127.0.0.1:{self.ports['app1']}", "APP2": f"127.0.0.1:{self.ports['app2']}",
                            "LISTEN": f"127.0.0.1:{lb}"}
        self.procs["haproxy"] = subprocess.Popen(["haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
                                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_healthy(f"{self.base}/_stcore/health", self.procs["haproxy"])
        # Ready when HAProxy sends new browsers to both replicas (each needs two good checks first).
        seen: set[str] = set()
        deadline = time.time() + 30
        while seen != set(self.ports) and time.time() < deadline:
            with urllib.request.urlopen(f"{self.base}/_stcore/health", timeout=2) as r:
                cookie = " ".join(r.headers.get_all("Set-Cookie") or [])
            seen |= {name for name in self.ports if f"RETRO_REPLICA={name}" in cookie}
            time.sleep(0.1)
        assert seen == set(self.ports), f"HAProxy only routes to {seen}"

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for log in self.logs:
            log.close()


@pytest.fixture
def deployment(tmp_path):
    if not (Path(CHROMIUM).exists() and shutil.which("haproxy") and pg_reachable()):
        pytest.skip("needs Chromium, HAProxy and PostgreSQL (scripts/test installs and starts them)")
    from sqlalchemy import create_engine, text

    from facilitator.service.db import Database

    name = f"retro_deploy_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    Database(url).create_all()  # migrate once up front, as a deploy step would
    d = Deployment(tmp_path, url)
    try:
        for replica in d.ports:
            d.start_replica(replica)
        d.start_worker("worker1")
        d.start_worker("worker2")
        d.start_haproxy()
        yield d
    finally:
        d.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _replica(ctx) -> str:
    return next(k["value"] for k in ctx.cookies() if k["name"] == "RETRO_REPLICA")


def test_killed_replicas_and_a_killed_worker_lose_nothing(deployment):
    from playwright.sync_api import expect, sync_playwright
    from sqlalchemy import text

    from facilitator.service.db import Database
    from facilitator.service.jobs import ANALYSE_TASK, make_runner
    from facilitator.service.retros import RetroService, new_token
    from facilitator.settings import Settings

    from .retro_helpers import DATA, demo_register_text

    d = deployment
    # The test's own service plays a facilitator's replica: same code, same database.
    settings = Settings(database_url=d.url, analysis_jobs="queue", max_cards_per_minute=1000,
                        max_cards_per_participant=100)
    svc = RetroService(Database.from_settings(settings), settings)
    reg = svc.add_register(demo_register_text(), "demo_register.md", name="Harbourline")
    c = svc.create_retro(team="Ops", title="Two replicas", columns=["Went well", "To improve", "Worries", "Ideas"],
                         register_id=reg, k=3)
    rid = c.retro_id
    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            people = []
            for n in range(4):
                ctx = browser.new_context(viewport={"width": 1000, "height": 800})
                page = ctx.new_page()
                page.goto(f"{d.base}/join?code={c.join_code}")
                expect(page.get_by_text("Write your cards")).to_be_visible()
                page.get_by_role("textbox", name="Your card").fill(f"Card number {n} about the release checklist")
                page.get_by_role("button", name="Add card").click()
                # .first: while a rerun is drawing, Streamlit keeps the previous run's copy on
                # screen (marked stale) until the new one is complete, so two can show for a moment
                # (the count below is what says the card is stored once).
                expect(page.get_by_test_id("stText").filter(has_text=f"Card number {n}").first).to_be_visible()
                people.append((page, ctx))
            # Round robin spreads new browsers over both replicas (if not, the killed one held everyone).
            assert {_replica(ctx) for _, ctx in people} == {"app1", "app2"}
            assert svc.counts(rid).participants == 4 and svc.counts(rid).cards == 4

            # 1. A replica dies mid-collect.
            victim = _replica(people[0][1])
            d.kill(victim)
            for n, (page, ctx) in enumerate(people):
                if _replica(ctx) != victim:
                    continue
                page.reload()  # what a participant does when the page stops answering
                # .first: while a rerun is drawing, Streamlit keeps the previous run's copy on
                # screen (marked stale) until the new one is complete, so two can show for a moment
                # (the count below is what says the card is stored once).
                expect(page.get_by_test_id("stText").filter(has_text=f"Card number {n}").first).to_be_visible()
                expect(page.get_by_role("button", name="Edit").first).to_be_visible()  # still their own card
                assert _replica(ctx) != victim
            for n, (page, _) in enumerate(people):  # the survivors' pages never noticed
                # .first: while a rerun is drawing, Streamlit keeps the previous run's copy on
                # screen (marked stale) until the new one is complete, so two can show for a moment
                # (the count below is what says the card is stored once).
                expect(page.get_by_test_id("stText").filter(has_text=f"Card number {n}").first).to_be_visible()
            assert svc.counts(rid).participants == 4 and svc.counts(rid).cards == 4
            d.start_replica(victim)  # as a supervisor would restart it

            # A full board (the demo retro, four times over), so the analysis takes a while.
            demo = json.loads((DATA / "demo_retro.json").read_text(encoding="utf-8"))["cards"]
            writers = [new_token() for _ in range(14)]
            for tok in writers:
                svc.join(rid, tok)
            for i, card in enumerate(demo * 4):
                if svc.counts(rid).cards >= settings.max_cards_per_retro:
                    break
                svc.add_card(rid, writers[i % len(writers)], card.get("column") or "To improve",
                             f"{card['text']} ({i // len(demo) + 1})", f"seed-{i}")
            cards_before = svc.counts(rid).cards
            svc.advance(rid, "reveal")
            svc.advance(rid, "analyse")

            # 2. Mid-analysis, the worker running the job and a replica die.
            assert make_runner(settings, svc.db).start(svc, rid)
            started = f"Starting job {ANALYSE_TASK}"
            deadline = time.time() + 60
            runner_name = None
            while runner_name is None and time.time() < deadline:
                runner_name = next((w for w in ("worker1", "worker2") if started in d.log(w)), None)
                time.sleep(0.02)
            assert runner_name, "no worker took the analysis job"
            d.kill(runner_name)
            killed_at = time.time()
            assert svc.analysis(rid).status == "running", "the job finished before its worker was killed"
            other = "worker2" if runner_name == "worker1" else "worker1"
            victim = _replica(people[0][1])
            d.kill(victim)
            while svc.analysis(rid).status == "running" and time.time() < killed_at + 60:
                time.sleep(0.2)
            took = time.time() - killed_at
            state = svc.analysis(rid)
            assert state.status == "done", (state.status, state.error)
            assert took < 60
            print(f"\nworker killed -> analysis done on the other worker in {took:.1f} s")
            assert started in d.log(other)
            # Done once: one job, retried once after its worker died, succeeded; one result kept.
            with svc.db.engine.connect() as conn:
                jobs = conn.execute(text("SELECT status, attempts FROM procrastinate_jobs WHERE task_name = :t"),
                                    {"t": ANALYSE_TASK}).all()
            assert [j.status for j in jobs] == ["succeeded"], jobs
            assert state.original is not None and state.original.themes
            for n, (page, ctx) in enumerate(people):
                if _replica(ctx) == victim:
                    page.reload()
                    assert _replica(ctx) != victim
                # .first: while a rerun is drawing, Streamlit keeps the previous run's copy on
                # screen (marked stale) until the new one is complete, so two can show for a moment
                # (the count below is what says the card is stored once).
                expect(page.get_by_test_id("stText").filter(has_text=f"Card number {n}").first).to_be_visible()
            assert svc.counts(rid).participants == 4 + len(writers) and svc.counts(rid).cards == cards_before
        finally:
            browser.close()
            svc.db.dispose()
