"""Two app replicas behind HAProxy (deploy/haproxy.cfg) on one PostgreSQL, in real
Chromium: a replica is killed with SIGKILL mid-collect, and its participants resume
on the other one with their own cards, counted once, nothing lost."""

from __future__ import annotations

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


@pytest.fixture
def deployment(tmp_path):
    if not (Path(CHROMIUM).exists() and shutil.which("haproxy") and pg_reachable()):
        pytest.skip("needs Chromium, HAProxy and PostgreSQL (scripts/test installs and starts them)")
    from sqlalchemy import create_engine, text

    name = f"retro_deploy_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    procs: dict[str, subprocess.Popen] = {}
    logs = []
    try:
        ports = {"app1": _free_port(), "app2": _free_port()}
        lb_port = _free_port()
        base = f"http://127.0.0.1:{lb_port}"
        for replica, port in ports.items():
            env = {k: v for k, v in os.environ.items() if not k.startswith("RETRO_")}
            env |= {"RETRO_DATABASE_URL": url, "RETRO_DATA_DIR": str(tmp_path / replica), "RETRO_PUBLIC_URL": base,
                    "LITELLM_LOCAL_MODEL_COST_MAP": "True", "ANONYMIZED_TELEMETRY": "False"}
            log = open(tmp_path / f"{replica}.log", "w")
            logs.append(log)
            procs[replica] = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
                 "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
                 "--server.fileWatcherType", "none"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        for replica, port in ports.items():
            _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", procs[replica])
        env = os.environ | {"APP1": f"127.0.0.1:{ports['app1']}", "APP2": f"127.0.0.1:{ports['app2']}",
                            "LISTEN": f"127.0.0.1:{lb_port}"}
        procs["haproxy"] = subprocess.Popen(["haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_healthy(f"{base}/_stcore/health", procs["haproxy"])
        yield base, url, procs
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for log in logs:
            log.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_killed_replica_loses_no_participant_and_no_card(deployment):
    from playwright.sync_api import expect, sync_playwright

    from facilitator.service.db import Database
    from facilitator.service.retros import RetroService
    from facilitator.settings import Settings

    base, url, procs = deployment
    settings = Settings(database_url=url)
    svc = RetroService(Database.from_settings(settings), settings)  # migrates, as the first replica would
    c = svc.create_retro(team="Ops", title="Two replicas", columns=["Went well", "To improve"], register_id=None, k=3)
    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            people = []
            for n in range(4):
                ctx = browser.new_context(viewport={"width": 1000, "height": 800})
                page = ctx.new_page()
                page.goto(f"{base}/join?code={c.join_code}")
                expect(page.get_by_text("Write your cards")).to_be_visible()
                page.get_by_role("textbox", name="Your card").fill(f"Card number {n} about the release checklist")
                page.get_by_role("button", name="Add card").click()
                expect(page.get_by_test_id("stText").filter(has_text=f"Card number {n}")).to_be_visible()
                replica = next(k["value"] for k in ctx.cookies() if k["name"] == "RETRO_REPLICA")
                people.append((page, ctx, replica))
            # Round robin spreads new browsers over both replicas (if not, the killed one held everyone).
            assert svc.counts(c.retro_id).participants == 4 and svc.counts(c.retro_id).cards == 4

            victim = people[0][2]
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait(10)
            for n, (page, ctx, replica) in enumerate(people):
                if replica != victim:
                    continue
                page.reload()  # what a participant does when the page stops answering
                expect(page.get_by_test_id("stText").filter(has_text=f"Card number {n}")).to_be_visible()
                expect(page.get_by_role("button", name="Edit").first).to_be_visible()  # still their own card
                now = next(k["value"] for k in ctx.cookies() if k["name"] == "RETRO_REPLICA")
                assert now != victim
            # The survivors' pages never noticed; nobody was counted twice, nothing was lost.
            for n, (page, _, replica) in enumerate(people):
                if replica != victim:
                    expect(page.get_by_test_id("stText").filter(has_text=f"Card number {n}")).to_be_visible()
            assert svc.counts(c.retro_id).participants == 4 and svc.counts(c.retro_id).cards == 4
        finally:
            browser.close()
            svc.db.dispose()
