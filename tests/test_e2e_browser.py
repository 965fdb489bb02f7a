"""End to end in a real headless Chromium against ``streamlit run app.py``:
a facilitator and three participants (separate browser contexts, so separate
sessions) run a whole retro from creation to the published summary.

Screenshots of the main screens are written to test-artifacts/screenshots/;
with UPDATE_SCREENSHOTS=1 they replace the ones in docs/screenshots/ that the
README links to (so a plain test run never dirties the checkout).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / ("docs" if os.environ.get("UPDATE_SCREENSHOTS") else "test-artifacts") / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

CARDS = [
    [("Went well", "Pairing on the carrier API migration worked really well, far fewer handoffs."),
     ("To improve", "Deploys to staging still need a manual approval that waits for hours."),
     ("Worries", "If the routing bot works, I'm afraid my dispatcher job disappears.")],
    [("Went well", "Pairing with the warehouse team worked well and we shipped early."),
     ("To improve", "The manual staging approval slows every deploy by half a day."),
     ("Worries", "I worry automation will make my role redundant once the bot is live.")],
    [("Went well", "Pair programming on the API made the migration smooth."),
     ("To improve", "Waiting on manual approval for staging deploys again this sprint."),
     ("Worries", "Scared that the routing automation replaces dispatchers like me.")],
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def e2e_data(tmp_path_factory):
    """The data directory of the server below (a test may seed its database)."""
    return tmp_path_factory.mktemp("e2e-data")


@pytest.fixture(scope="module")
def server(e2e_data):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (scripts/test installs it)")
    port = _free_port()
    data = e2e_data
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETRO_")}
    env |= {"RETRO_DATA_DIR": str(data), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "ANONYMIZED_TELEMETRY": "False",
            "RETRO_MIN_PARTICIPANTS": "3"}  # the trust-gap board's k: three people write here
    log = open(data / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("streamlit did not start: " + (data / "streamlit.log").read_text()[-2000:])
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # let Streamlit finish painting
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    _axe(page, name)


# axe-core from its npm package (scripts/test fetches it), injected into every page
# the test photographs: each page and phase. Serious and critical violations fail.
AXE = Path(os.environ.get("AXE_JS") or ROOT / ".tools" / "axe-core-4.14.1" / "axe.min.js")
AXE_RESULTS: dict[str, list[dict]] = {}
_AXE_RUN = """async () => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                                                     'wcag22aa', 'best-practice']}});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))}));
}"""


def _axe(page, name: str) -> None:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}; scripts/test fetches it (or set AXE_JS)")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    AXE_RESULTS[name] = page.evaluate(_AXE_RUN)


def _axe_report() -> list[str]:
    import json

    out = ROOT / "test-artifacts" / "axe.json"  # every violation found, whatever its impact
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(AXE_RESULTS, indent=2))
    return [f"{name}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
            for name, found in AXE_RESULTS.items() for v in found if v["impact"] in ("serious", "critical")]


def _ready(page) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )


def _metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))


def test_full_retro_in_the_browser(server):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        outside: list[str] = []  # an offline tool: no page may fetch anything from another host

        def watch(ctx):
            ctx.on("request", lambda r: None if urlsplit(r.url).hostname in ("127.0.0.1", "localhost", None)
                   or r.url.startswith(("data:", "blob:", "about:")) else outside.append(r.url))
            return ctx

        try:
            fac_ctx = watch(browser.new_context(viewport={"width": 1280, "height": 900}))
            fac = fac_ctx.new_page()
            # 1. Create the retro.
            fac.goto(server + "/")
            fac.get_by_role("button", name="Use the sample register").click()
            fac.get_by_role("textbox", name="Team").fill("Dispatch Platform")
            fac.get_by_role("textbox", name="Title").fill("Sprint 42 retrospective")
            k = fac.get_by_role("spinbutton", name="Anonymity threshold k (people)")
            k.fill("3")
            k.press("Tab")
            _shot(fac, "01-create")
            fac.get_by_role("button", name="Create retro").click()
            expect(fac.get_by_text("Retro created")).to_be_visible()
            expect(fac.locator('[data-testid="stCode"]')).to_have_count(2)
            codes = fac.locator('[data-testid="stCode"]').all_inner_texts()
            assert len(codes) == 2, codes
            join = next(c for c in codes if "/join?code=" in c).strip()
            console = next(c for c in codes if "/facilitate?" in c).strip()
            assert re.search(r"key=[\w-]{32,}", console)  # >= 192 bits
            _shot(fac, "02-links")
            fac.get_by_role("button", name="Open the facilitator console").click()
            expect(fac.get_by_role("heading", name="Sprint 42 retrospective")).to_be_visible()

            # 2. Three participants join (separate contexts) and write blind.
            people = []
            for n, cards in enumerate(CARDS):
                # The third participant is on a phone (390 x 844, touch), the first on a slow network.
                phone = n == 2
                ctx = watch(browser.new_context(viewport={"width": 390, "height": 844} if phone else
                                                {"width": 1100, "height": 900}, is_mobile=phone, has_touch=phone))
                p = ctx.new_page()
                p.goto(join)
                expect(p.get_by_text("Write your cards")).to_be_visible()
                if n == 0:  # loaded; from now on every message takes 0.4 s each way
                    cdp = ctx.new_cdp_session(p)
                    cdp.send("Network.enable")
                    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 400,
                                                                  "downloadThroughput": 200_000,
                                                                  "uploadThroughput": 100_000})
                for column, text in cards:
                    if column != "Went well":
                        p.get_by_role("combobox", name="Column").first.click()
                        p.get_by_role("option", name=column).click()
                    box = p.get_by_role("textbox", name="Your card")
                    box.fill(text)
                    p.get_by_role("button", name="Add card").click()
                    # Stored (listed under "Your cards"), and only then the box is cleared;
                    # the box itself also contains the text until the server answers.
                    expect(p.get_by_test_id("stText").filter(has_text=text)).to_be_visible()
                    expect(box).to_have_value("")
                people.append(p)
            # Blind: participant 0 does not see participant 1's card.
            expect(people[0].get_by_text(CARDS[1][0][1])).to_have_count(0)
            _shot(people[0], "03-participant-collect")
            _shot(people[2], "03b-participant-phone")
            # A paste over the limit is refused with a message and stays in the box (nothing stored).
            box = people[1].get_by_role("textbox", name="Your card")
            box.fill("x" * 501)
            people[1].get_by_role("button", name="Add card").click()
            expect(people[1].get_by_text("Shorten it").first).to_be_visible()
            expect(box).to_have_value("x" * 501)
            box.fill("")
            # Edit own card before reveal.
            people[2].get_by_role("button", name="Edit").first.click()
            people[2].get_by_role("textbox", name="Card", exact=True).fill("Pair programming on the API made the migration smooth and fun.")
            people[2].get_by_role("button", name="Save").click()
            expect(people[2].get_by_test_id("stText").filter(has_text="smooth and fun")).to_be_visible()

            # A reload is the same person: own cards still listed and editable, the count unchanged.
            people[1].reload()
            _ready(people[1])
            expect(people[1].get_by_test_id("stText").filter(has_text=CARDS[1][0][1])).to_be_visible()
            expect(people[1].get_by_role("button", name="Edit").first).to_be_visible()

            # 3. Live counts, a timer and "I'm done", then reveal: every page follows without reload.
            expect(_metric(fac, "Cards")).to_contain_text("9")
            expect(_metric(fac, "Participants")).to_contain_text("3")
            fac.get_by_role("button", name="Start the timer").click()
            for p in people:
                expect(p.get_by_text("left in Collect (blind)")).to_be_visible(timeout=10_000)
            people[2].get_by_role("button", name="I'm done").tap()
            expect(fac.get_by_text("1 of 3 says they are done with Collect (blind).")).to_be_visible(timeout=10_000)
            # A second facilitator tab, opened from the home page's "Your retros on this browser"
            # (the key kept in a cookie: a way back in without the link), follows the phase too.
            fac2 = fac_ctx.new_page()
            fac2.goto(server + "/")
            fac2.get_by_role("link", name=re.compile("Sprint 42 retrospective")).click()
            expect(fac2.get_by_role("heading", name="Sprint 42 retrospective")).to_be_visible()
            assert "key=" not in fac2.url
            # The early k warning follows the counts live: three writers reach k = 3.
            expect(fac.get_by_text("people have written cards;")).to_have_count(0)
            _shot(fac, "04-console-collect")
            fac.get_by_role("button", name="Next: Reveal the cards").click()
            for p in people:
                # .first: while a rerun repaints, Streamlit can briefly show the old and the new element.
                expect(p.get_by_text(CARDS[1][0][1]).first).to_be_visible(timeout=10_000)
            expect(fac2.get_by_text(CARDS[1][0][1]).first).to_be_visible(timeout=10_000)
            fac2.close()
            _shot(people[1], "05-participant-reveal")

            # 4. Analyse in the background, with visible progress.
            fac.get_by_role("button", name="Next: Analyse the cards").click()
            expect(fac.get_by_text("Analysis done")).to_be_visible(timeout=240_000)
            fac.get_by_role("button", name="Next: Review the themes").click()
            expect(fac.get_by_text("Review the analysis")).to_be_visible()
            _shot(fac, "06-review")
            # The fear's candidates, each with the limits that may exclude it, and the facilitator's decision.
            cands = fac.get_by_text("Candidate commitments").first
            cands.scroll_into_view_if_needed()
            cands.click()
            expect(fac.get_by_text("Does not promise:").first).to_be_visible()
            fac.get_by_text("Decide the coverage").first.click()
            expect(fac.get_by_text("Clauses that answer it").first).to_be_visible()
            fac.get_by_text("Does not promise:").first.scroll_into_view_if_needed()
            SHOTS.mkdir(parents=True, exist_ok=True)
            fac.wait_for_timeout(400)
            fac.screenshot(path=str(SHOTS / "06b-review-coverage.png"))
            for p in people:
                expect(p.get_by_text("reviewing the themes")).to_be_visible(timeout=10_000)

            # 5. Vote (after going back once: Vote -> Review is allowed, and pages follow).
            fac.get_by_role("button", name="Next: Open voting").click()
            expect(people[0].get_by_text("you have 3 dots")).to_be_visible(timeout=10_000)
            expect(fac.get_by_text("Participants are voting")).to_be_visible()
            fac.get_by_role("button", name="Back to Review", exact=True).click()  # a popover that asks first
            fac.get_by_role("button", name=re.compile(r"^Back to Review \(the votes are cleared")).click()
            expect(fac.get_by_text("Review the analysis")).to_be_visible()
            expect(people[0].get_by_text("reviewing the themes")).to_be_visible(timeout=10_000)
            fac.get_by_role("button", name="Next: Open voting").click()
            for p in people:
                expect(p.get_by_text("you have 3 dots")).to_be_visible(timeout=10_000)
                box = p.locator('[data-testid="stNumberInput"] input').first
                box.fill("2")
                box.press("Tab")
                p.get_by_role("button", name="Save my dots").click()
                expect(p.get_by_text("Saved: 2 of 3 dots used")).to_be_visible()
                expect(p.get_by_text("Saved so far: 2, 1 dot left.", exact=False)).to_be_visible()
            _shot(people[0], "07-participant-vote")
            expect(_metric(fac, "Voted")).to_contain_text("3")
            fac.get_by_role("button", name="Next: Close voting and discuss").click()
            expect(fac.get_by_text("Results: most voted first")).to_be_visible()
            expect(people[0].get_by_text("6 dots")).to_be_visible(timeout=10_000)
            # The presenter focus: the facilitator puts the fear on every screen, with its answer.
            fac.get_by_role("button", name="Show to everyone: Fear of automation or AI replacing roles").click()
            for p in people:
                expect(p.get_by_text("Now discussing")).to_be_visible(timeout=10_000)
            expect(people[2].get_by_role("heading", name="Fear of automation or AI replacing roles")).to_be_visible()
            people[2].get_by_text("Now discussing").scroll_into_view_if_needed()
            _shot(people[2], "07b-phone-focus")

            # 6. Publish gate: preview, approval, publish.
            fac.get_by_role("button", name="Next: Prepare the summary").click()
            expect(fac.get_by_text("Preview of what will be published")).to_be_visible()
            _shot(fac, "08-publish-preview")
            fac.get_by_text("I have read this preview and approve publishing it").click()
            fac.get_by_role("button", name="Publish", exact=True).click()
            expect(fac.get_by_text("Published. The summary can no longer change.")).to_be_visible()
            summary_code = fac.locator('[data-testid="stCode"]').filter(has_text="/summary?s=")
            expect(summary_code).to_have_count(1)  # wait: the link renders just after the message
            link = summary_code.inner_text().strip()

            # 7. Anyone with the read-only link sees the summary.
            p = people[0]
            p.goto(link)
            expect(p.get_by_role("heading", name="Sprint 42 retrospective")).to_be_visible()
            expect(p.get_by_role("button", name="Download Markdown")).to_be_visible()
            expect(p.get_by_role("button", name="Download actions (CSV)")).to_be_visible()
            expect(p.get_by_text("If the routing bot works")).to_have_count(0)  # no card text
            p.wait_for_selector('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg')
            _shot(p, "09-summary")
            with p.expect_download() as dl:
                p.get_by_role("button", name="Download JSON").click()
            assert '"analysis"' in Path(dl.value.path()).read_text()
            with p.expect_download() as dl:
                p.get_by_role("button", name="Download PDF").click()
            assert Path(dl.value.path()).read_bytes().startswith(b"%PDF-")
            # ... and on the phone (390 x 844, touch): the charts' tables open with a tap.
            phone = people[2]
            phone.goto(link)
            expect(phone.get_by_role("heading", name="Sprint 42 retrospective")).to_be_visible()
            phone.get_by_text("The charts as tables").tap()
            expect(phone.get_by_test_id("stDataFrame").first).to_be_visible()
            width = phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, f"the summary is {width} px wide on a 390 px phone"
            _shot(phone, "09b-phone-summary")

            # 8. A commitment owner opens the trust-gap board (the first one creates the owner key).
            fac.goto(server + "/gaps")
            fac.get_by_role("button", name="Create the commitment owner key").click()
            expect(fac.get_by_text("shown only now")).to_be_visible()
            expect(_metric(fac, "Open gaps")).to_be_visible()
            expect(fac.get_by_text("related commitment:").first).to_be_visible()
            expect(fac.get_by_text("If the routing bot works")).to_have_count(0)  # no card text
            _shot(fac, "10-trust-gaps")
            assert outside == [], f"pages fetched from outside the server: {sorted(set(outside))[:5]}"
            serious = _axe_report()
            assert not serious, "accessibility (axe-core):\n" + "\n".join(serious)
        finally:
            browser.close()


def _tab_to(page, is_target: str, limit: int = 80) -> None:
    """Press Tab until the focused element satisfies ``is_target`` (JS over ``el``)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({is_target}); }}"):
            return
    raise AssertionError(f"Tab never reached: {is_target}")


def _label_is(text: str) -> str:
    return (f"(el.getAttribute('aria-label') || el.innerText || '').trim().startsWith({text!r})"
            f" || (el.labels && el.labels[0] && el.labels[0].innerText.trim().startsWith({text!r}))")


def test_keyboard_only_write_vote_and_publish(server, e2e_data):
    """No mouse: a participant writes a card and spends dots, the facilitator approves
    and publishes, with Tab, typing, arrows, Space and Enter only."""
    from playwright.sync_api import expect, sync_playwright

    from facilitator.service.db import Database
    from facilitator.service.retros import RetroService, new_token
    from facilitator.settings import Settings

    from .retro_helpers import ColumnEngine, demo_register_text

    settings = Settings(data_dir=e2e_data)
    svc = RetroService(Database.from_settings(settings), settings)
    reg = svc.add_register(demo_register_text(), "demo_register.md", name="Harbourline")
    c = svc.create_retro(team="Keyboard", title="Keyboard retro", columns=["Went well", "To improve", "Worries"],
                         register_id=reg, k=3)
    for n in range(2):  # two more people, so the retro reaches k = 3
        tok = new_token()
        svc.join(c.retro_id, tok)
        for col in ("Went well", "To improve", "Worries"):
            svc.add_card(c.retro_id, tok, col, f"Someone {n} notes something on {col.lower()}", f"k{n}{col}")
    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            p = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
            p.goto(f"{server}/join?code={c.join_code}")
            expect(p.get_by_text("Write your cards")).to_be_visible()
            _tab_to(p, "el.tagName === 'TEXTAREA' || " + _label_is("Your card"))
            p.keyboard.type("Keyboard only: the release checklist lives in three places")
            _tab_to(p, "el.tagName === 'BUTTON' && " + _label_is("Add card"))
            p.keyboard.press("Enter")
            expect(p.get_by_test_id("stText").filter(has_text="Keyboard only")).to_be_visible()
            assert svc.counts(c.retro_id).contributors == 3

            for phase in ("reveal", "analyse"):
                svc.advance(c.retro_id, phase)
            svc.run_analysis(c.retro_id, svc.start_analysis(c.retro_id), ColumnEngine())
            for phase in ("review", "vote"):
                svc.advance(c.retro_id, phase)
            expect(p.get_by_text("you have 3 dots")).to_be_visible()
            _tab_to(p, "el.tagName === 'INPUT' && el.type === 'number'")
            p.keyboard.press("ArrowUp")
            p.keyboard.press("ArrowUp")
            _tab_to(p, "el.tagName === 'BUTTON' && " + _label_is("Save my dots"))
            p.keyboard.press("Enter")
            expect(p.get_by_text("Saved: 2 of 3 dots used.")).to_be_visible()

            svc.advance(c.retro_id, "discuss")
            svc.advance(c.retro_id, "publish")
            f = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            f.goto(f"{server}/facilitate?retro={c.retro_id}&key={c.facilitator_key}")
            expect(f.get_by_text("Preview of what will be published")).to_be_visible()
            _tab_to(f, "el.type === 'checkbox' && " + _label_is("I have read this preview"), limit=200)
            f.keyboard.press("Space")
            expect(f.get_by_role("checkbox", name="I have read this preview and approve publishing it")).to_be_checked()
            _tab_to(f, "el.tagName === 'BUTTON' && " + _label_is("Publish"))
            f.keyboard.press("Enter")
            expect(f.get_by_text("Published. The summary can no longer change.")).to_be_visible()
            assert svc.get(c.retro_id).phase == "published"
        finally:
            browser.close()
            svc.db.dispose()


def test_a_german_retro_on_a_phone(server):
    """The start page in German once Deutsch is picked; a participant on a phone joins
    that retro, reads the page in German and writes a card."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            fac = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            fac.goto(server + "/")
            expect(fac.get_by_role("heading", name="Start a retrospective")).to_be_visible()
            _ready(fac)
            sample = fac.get_by_role("button", name="Use the sample register")
            if sample.count():  # run on its own, on a fresh data directory
                sample.click()
            fac.get_by_role("combobox", name="Language of the retro's pages").click()
            fac.get_by_role("option", name="Deutsch").click()
            expect(fac.get_by_role("button", name="Retro erstellen")).to_be_visible()
            fac.get_by_role("textbox", name="Team").fill("Leitstelle")
            fac.get_by_role("textbox", name="Titel").fill("Sprint 7")
            fac.get_by_role("button", name="Retro erstellen").click()
            codes = fac.locator('[data-testid="stCode"]')
            expect(codes).to_have_count(2)
            join = next(c for c in codes.all_inner_texts() if "/join?code=" in c).strip()
            console = next(c for c in codes.all_inner_texts() if "/facilitate?" in c).strip()

            ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                      locale="en-US")  # an English phone: the retro's language wins
            p = ctx.new_page()
            p.goto(join)
            expect(p.get_by_text("Schreib deine Karten")).to_be_visible()
            p.get_by_role("textbox", name="Deine Karte").fill("Die Übergabe an die Nachtschicht dauert zu lange")
            p.get_by_role("button", name="Karte hinzufügen").tap()
            expect(p.get_by_test_id("stText").filter(has_text="Nachtschicht")).to_be_visible()
            _shot(p, "11-phone-collect-german")
            fac.goto(console)
            expect(fac.get_by_role("heading", name="Sprint 7")).to_be_visible()
            expect(_metric(fac, "Karten")).to_contain_text("1")
            _shot(fac, "12-console-german")
            serious = _axe_report()
            assert not serious, "accessibility (axe-core):\n" + "\n".join(serious)
        finally:
            browser.close()
