"""Shared test set-up.

- Sockets are refused except to loopback (pytest-socket, see pyproject), so a
  test that tries the network fails at once instead of hanging.
- Every test gets its own data directory (SQLite file, Chroma index).
- litellm is configured for offline use before anything imports it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before any import of litellm: no remote cost-map download, no aiohttp
# transport (respx only sees httpx).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["ANONYMIZED_TELEMETRY"] = "False"
for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "RETRO_ENGINE", "RETRO_MODEL", "RETRO_DATABASE_URL",
            "RETRO_EMBEDDING_MODEL", "RETRO_API_BASE", "RETRO_FALLBACK_MODEL"):
    os.environ.pop(var, None)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "facilitator" / "demo"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    from facilitator.settings import get_settings

    monkeypatch.setenv("RETRO_DATA_DIR", str(tmp_path / "retro-data"))
    get_settings.cache_clear()  # settings are read once per process; each test has its own environment
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def local_engine(tmp_path_factory):
    """One offline engine per session: loading the model and Chroma costs ~1 s."""
    from facilitator.settings import Settings
    from facilitator.wiring import get_engine

    return get_engine(Settings(data_dir=tmp_path_factory.mktemp("engine"), engine="local"))


@pytest.fixture(scope="session")
def demo_register():
    from facilitator.inputs.register import load_register

    return load_register(DATA / "demo_register.md")


@pytest.fixture(scope="session")
def demo_cards():
    from facilitator.inputs.cards import load_cards

    return load_cards(DATA / "demo_retro.json")
