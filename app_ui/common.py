"""Helpers shared by the pages: the cached service and engine, links, access
checks and safe text display. No per-user data is kept outside
``st.session_state``; ``st.cache_resource`` holds only the database engine and
the analysis engine, which are safe to share between sessions.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlencode, urlsplit

import streamlit as st
import streamlit.components.v1 as components

from facilitator.errors import FacilitatorError
from facilitator.i18n import N_, _, current_locale, set_locale, supported
from facilitator.scrub import safe_markdown_text
from facilitator.service.phases import PHASE_LABELS, PHASES
from facilitator.service.retros import Retro, RetroNotFound, RetroService, database_key, open_database
from facilitator.service.jobs import AnalysisRunner, make_runner
from facilitator.settings import Settings, get_settings
from facilitator.text import capitalised


def settings() -> Settings:
    return get_settings()


# --- language ----------------------------------------------------------------


def apply_locale(retro: Retro | None = None) -> str:
    """Set this run's UI language (facilitator.i18n): the retro's on its pages, else
    the one this session last used, else the browser's. Call it first in app.py, on
    every page that loads a retro, and at the top of every fragment (a fragment's
    rerun does not pass through app.py). A session that meets a retro in another
    language reruns once, so the navigation is in that language too."""
    if retro is None:
        code = st.session_state.get("locale") or supported(st.context.locale)
        return set_locale(code)
    locale = supported(retro.locale)
    st.session_state["locale"] = locale
    if current_locale() != locale:  # this run started in another language
        set_locale(locale)
        st.rerun()
    return set_locale(locale)


@st.cache_resource(show_spinner=False)
def _database(key: str):
    """One database handle per process and database (keyed by its URL)."""
    return open_database(settings())


def service() -> RetroService:
    s = settings()
    try:
        db = _database(database_key(s))
    except FacilitatorError as e:  # e.g. an empty database file: one line, no traceback
        _stop_with(e)
    return RetroService(db, s)


@st.cache_resource(show_spinner=False)
def _runner(engine: str, model: str | None, data_dir: str, jobs: str) -> AnalysisRunner:
    return make_runner(settings(), service().db)


def runner() -> AnalysisRunner:
    """Where this process sends analyses: a thread here, or the job queue (RETRO_ANALYSIS_JOBS)."""
    s = settings()
    try:
        return _runner(s.engine, s.model, str(s.data_dir), s.analysis_jobs)
    except FacilitatorError as e:  # e.g. the queue asked for on SQLite: one line, no traceback
        _stop_with(e)


def _stop_with(e: FacilitatorError) -> None:
    st.error(capitalised(str(e)))
    st.stop()


def localised(callback):
    """A widget callback that speaks the session's language. Streamlit runs callbacks
    before the script, so before app.py has set the locale, in a thread whose locale is
    still the default: without this, a German page's "Publish" would publish in English
    and a refused card would say why in English."""
    @functools.wraps(callback)
    def run(*args, **kwargs):
        apply_locale()
        return callback(*args, **kwargs)

    return run


# --- links -------------------------------------------------------------------


def base_url() -> str:
    s = settings()
    if s.public_url:
        return s.public_url.rstrip("/")
    url = None
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 - not available in every runtime
        url = None
    if url:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return "http://localhost:8501"


def join_link(retro: Retro) -> str:
    return f"{base_url()}/join?{urlencode({'code': retro.join_code})}"


def facilitator_link(retro_id: str, key: str) -> str:
    return f"{base_url()}/facilitate?{urlencode({'retro': retro_id, 'key': key})}"


def summary_link(pub_id: str) -> str:
    return f"{base_url()}/summary?{urlencode({'s': pub_id})}"


# --- access ------------------------------------------------------------------


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets.toml at all
        return False


def logged_in_email() -> str | None:
    try:
        if st.user.get("is_logged_in"):
            return st.user.get("email")
    except Exception:  # noqa: BLE001
        return None
    return None


def login_required() -> bool:
    """True (and the page should stop) when facilitator login is on but missing."""
    if not settings().facilitator_login:
        return False
    if not auth_configured():
        st.error(
            _("{setting} is on but no identity provider is configured: add an [auth] "
              "section to .streamlit/secrets.toml (see README), or unset {setting}.").format(
                setting="RETRO_FACILITATOR_LOGIN")
        )
        return True
    if logged_in_email():
        return False
    st.info(_("Facilitator pages need you to log in."))
    if st.button(_("Log in"), type="primary", key="login"):
        st.login()
    return True


_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,64}")
FACILITATOR_COOKIE = "retro_f_"  # + retro id: the facilitator key, kept by this browser


def cookie_secret(name: str) -> str | None:
    """A secret the app set in this browser's cookie ``name``, if it has the shape of one."""
    value = st.context.cookies.get(name)
    return value if isinstance(value, str) and _SECRET_SHAPE.fullmatch(value) else None


def set_cookie_once(name: str, value: str, max_age_s: int) -> None:
    """Set a cookie from the app (this site only, Strict, Secure over https); a component's
    frame shares the page's origin. Once per session: pages rerun every few seconds, and
    the cookies a session reads only change when the browser reconnects."""
    if cookie_secret(name) == value or st.session_state.get(f"cookie_set:{name}") == value:
        return
    st.session_state[f"cookie_set:{name}"] = value
    components.html(
        f"<script>const s = location.protocol === 'https:' ? '; Secure' : '';"
        f"window.parent.document.cookie = '{name}={value}; path=/; max-age={max_age_s}; SameSite=Strict' + s;</script>",
        height=0,
    )


def remembered_retros(svc: RetroService) -> list[Retro]:
    """Retros this browser facilitates (their key is in a cookie and still valid), newest first."""
    out = []
    for name in list(st.context.cookies):
        if name.startswith(FACILITATOR_COOKIE) and (key := cookie_secret(name)):
            rid = name[len(FACILITATOR_COOKIE):]
            try:
                if svc.check_key(rid, key):
                    out.append(svc.get(rid))
            except RetroNotFound:
                continue
    return sorted(out, key=lambda r: (r.created_on, r.id), reverse=True)


def facilitator_retro() -> tuple[RetroService, Retro, str | None]:
    """The retro of a facilitator page, or stop the page with a clear message.

    Access is the secret link (``?retro=…&key=…``), the key this browser kept
    in a cookie when it last opened that link (a way back without login), or,
    with RETRO_FACILITATOR_LOGIN, a logged-in facilitator who created the retro."""
    svc = service()
    retro_id = st.query_params.get("retro", "")
    key = st.query_params.get("key") or (cookie_secret(FACILITATOR_COOKIE + retro_id) if retro_id else None)
    if not retro_id:
        st.warning(_("This page needs the facilitator link you got when you created the retro."))
        st.page_link(page="app_pages/home.py", label=_("Start a new retro"), icon=":material/add_circle:")
        st.stop()
    if login_required():
        st.stop()
    try:
        retro = svc.get(retro_id)
    except RetroNotFound as e:
        st.error(str(e))
        st.stop()
    apply_locale(retro)  # before anything is sent to the browser: it may rerun the page
    email = logged_in_email()
    ok = svc.check_key(retro_id, key)
    if settings().facilitator_login:
        ok = bool(email) and (ok or (retro.owner_email is not None and email == retro.owner_email))
    if not ok:
        st.error(_("This facilitator link is not valid (the key is missing or wrong). "
                   "Use the link you got when you created the retro."))
        st.stop()
    if key and svc.check_key(retro_id, key):
        set_cookie_once(FACILITATOR_COOKIE + retro_id, key, 30 * 86400)  # "Retros on this browser" on the home page
    return svc, retro, key


def facilitator_params(retro: Retro, key: str | None) -> dict[str, str]:
    return {"retro": retro.id, **({"key": key} if key else {})}


# --- display -----------------------------------------------------------------


def md(text: str) -> str:
    """Escape card or model text for a Markdown context (labels, headers)."""
    return safe_markdown_text(text)


def phase_bar(phase: str) -> None:
    shown = [p for p in PHASES if p != "published"]
    current = "publish" if phase == "published" else phase
    parts = []
    for p in shown:
        label = _(PHASE_LABELS[p])
        if p == current:
            parts.append(f":blue-background[**{label}**]")
        elif PHASES.index(p) < PHASES.index(current):
            parts.append(f":gray[{label}]")
        else:
            parts.append(label)
    st.markdown(" → ".join(parts))


def card_box(text: str) -> None:
    with st.container(border=True):
        st.text(text)


def board(svc: RetroService, retro: Retro) -> None:
    """The revealed cards, one column per retro column; text only, no authors."""
    cards = svc.revealed_cards(retro.id)
    cols = st.columns(len(retro.columns))
    for col, name in zip(cols, retro.columns):
        with col:
            here = [c for c in cards if c.column == name]
            st.subheader(f"{md(name)} ({len(here)})")
            for c in here:
                card_box(c.text)


# The page's clock, in the browser: a tiny component whose script sends a trigger every
# few seconds, which reruns only the watcher fragment it sits in (rather than
# ``run_every``, whose timer lives in Streamlit's frontend).
#
# It also heals a page left behind. Under load (30 pages on 2 cores,
# scripts/bench_browser.py) Streamlit sometimes loses a full rerun's output: the server
# ran the page for the new phase, the browser still shows the old one, and every later
# tick finds nothing to do. ``page_shown`` at the end of the page records in the
# browser the state it drew; the clock knows the state the server last ran. When they
# differ for longer than a slow rerun could take, the page reloads (a participant
# resumes from their cookie).
_CLOCK_JS = """
export default function (component) {
  const d = component.data || {};
  if (d.shown !== undefined) { window.__retroShown = d.shown; return; }
  // Called on every render: the interval always uses the latest mount and data.
  window.__retroRan = d.ran;
  window.__retroTick = component;
  window.__retroHealMs = d.heal_ms;
  if (window.__retroClock) return;  // one clock per page, whatever Streamlit re-mounts
  window.__retroClock = true;
  let behind = null;
  setInterval(() => {
    window.__retroTick.setTriggerValue("tick", Date.now());
    if (window.__retroShown === undefined || window.__retroShown === window.__retroRan) { behind = null; return; }
    behind = behind || Date.now();
    if (Date.now() - behind > window.__retroHealMs) window.location.reload();
  }, d.every_ms);
}
"""
_clock = st.components.v2.component("retro_phase_clock", html="<span></span>", js=_CLOCK_JS)
HEAL_AFTER_S = 20.0


def watch_and_rerun(svc: RetroService, retro: Retro, every: float = 2.0) -> None:
    """Poll (phase, rev) every ``every`` seconds and rerun the whole page when
    the facilitator changed something, so nobody has to reload. Pair with
    ``page_shown`` as the page's last call.

    Two seconds, measured (scripts/bench_browser.py, 30 pages on 2 cores): at one
    second the extra ticks overloaded the server."""
    seen = (retro.phase, retro.rev)

    @st.fragment
    def _watch() -> None:
        apply_locale()
        _clock(key=f"clock:{retro.id}", on_tick_change=_no_op,
               data={"ran": f"{seen[0]}:{seen[1]}", "every_ms": int(every * 1000), "heal_ms": int(HEAL_AFTER_S * 1000)})
        try:
            now = svc.watch(retro.id)
        except RetroNotFound:
            return
        if now != seen:
            st.rerun(scope="app")

    # In a container of its own, so the watcher's slot on the page never moves.
    with st.container():
        _watch()


def page_shown(retro: Retro) -> None:
    """The page's last element: tells the clock which state the browser shows."""
    _clock(key=f"shown:{retro.id}", data={"shown": f"{retro.phase}:{retro.rev}"})


def _no_op() -> None:
    """The clock's trigger only has to rerun the watcher."""


# Marked for the catalogue; shown through _() (facilitator.i18n).
STATUS_WORDS = {"covered": N_("Covered"), "partial": N_("Partly covered"),
                "uncovered": N_("Trust gap: nothing answers this"),
                "needs_review": N_("Needs review: related commitments below; check their scope and limits")}


def candidates_panel(candidates, status: str, *, expanded: bool = False) -> None:
    """The commitments that might answer a fear, each with its closest clause and,
    beside it, the scope, limits and notes that may exclude the fear (the same
    list the analysis, the ``coverage`` command and the Commitments page show)."""
    if not candidates:
        if status == "uncovered":
            st.caption(_("No commitment in force is related to this worry."))
        return
    with st.expander(_("Candidate commitments ({n})").format(n=len(candidates)), expanded=expanded):
        for cand in candidates:
            st.markdown(f"**{md(cand.commitment_id)}** {md(cand.title)}")
            st.caption(f"“{md(cand.clause)}”")
            for head, text in cand.limits_shown():
                st.caption(f"{_(head)}: {md(text)}")


# --- roles: commitment owners and admins -----------------------------------------

# Whole sentences per role (marked for the catalogue, shown through _()), so that a
# translation can inflect the role's name.
ROLE_TEXTS = {
    "owner": {
        "login": N_("Only a commitment owner may do this. Sign in with an e-mail listed in {setting}."),
        "no_key": N_("Only a commitment owner may do this, and this installation has no commitment owner key yet."),
        "create": N_("Create the commitment owner key"),
        "input": N_("The commitment owner key"),
        "wrong": N_("That is not the commitment owner key."),
        "new": N_("The commitment owner key. Keep it somewhere safe: it is shown only now."),
    },
    "admin": {
        "login": N_("Only an admin may do this. Sign in with an e-mail listed in {setting}."),
        "no_key": N_("Only an admin may do this, and this installation has no admin key yet."),
        "create": N_("Create the admin key"),
        "input": N_("The admin key"),
        "wrong": N_("That is not the admin key."),
        "new": N_("The admin key. Keep it somewhere safe: it is shown only now."),
    },
}


def has_role(role: str) -> bool:
    """Whether this browser session holds ``role``: by key (login off) or by login e-mail."""
    if role in st.session_state.get("roles", set()):
        return True
    if settings().facilitator_login:
        emails = {e.strip().lower() for e in getattr(settings(), f"{role}_emails").split(",") if e.strip()}
        email = (logged_in_email() or "").lower()
        return bool(email) and email in emails
    return False


def role_gate(svc: RetroService, role: str, *, key: str) -> bool:
    """True when the session holds ``role``; else show how to get it (create the key once, or enter it)."""
    if has_role(role):
        return True
    texts = ROLE_TEXTS[role]
    if settings().facilitator_login:
        st.info(_(texts["login"]).format(setting=f"RETRO_{role.upper()}_EMAILS"))
        return False
    if not svc.has_role_key(role):
        st.info(_(texts["no_key"]))
        if st.button(_(texts["create"]), key=f"{key}:create"):
            try:
                st.session_state[f"new_key:{role}"] = svc.create_role_key(role)
            except FacilitatorError as e:
                st.warning(str(e))
            else:
                st.session_state.setdefault("roles", set()).add(role)
                st.rerun()
        return False
    with st.form(f"{key}:form"):
        entered = st.text_input(_(texts["input"]), type="password", key=f"{key}:input")
        if st.form_submit_button(_("Unlock")):
            if svc.check_role_key(role, entered):
                st.session_state.setdefault("roles", set()).add(role)
                st.rerun()
            st.warning(_(texts["wrong"]))
    return False


def show_new_key(role: str) -> None:
    """The key just created, shown once: it is stored only as a hash."""
    new = st.session_state.pop(f"new_key:{role}", None)
    if new:
        st.success(_(ROLE_TEXTS[role]["new"]))
        st.code(new, language=None)


def approver() -> str:
    """Who approves a register change, as recorded with the version."""
    return logged_in_email() or "owner (key)"
