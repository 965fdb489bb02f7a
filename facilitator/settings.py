"""Configuration from ``RETRO_*`` environment variables, read once per process
(``get_settings()``; build ``Settings(...)`` directly for an explicit override).

Every field here is documented in README.md (``tests/test_docs.py`` keeps the
two in step).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from facilitator.i18n import N_  # descriptions: marked for the catalogue, shown translated on the Settings page


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RETRO_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".retro-data"),
        description=N_("Where the SQLite database and the Chroma index live."),
    )
    database_url: str | None = Field(
        default=None,
        description=N_("SQLAlchemy URL; unset means SQLite in data_dir. "
        "e.g. postgresql+psycopg://user@host/db"),
    )
    db_pool_size: int = Field(
        default=5, ge=1, le=100,
        description=N_("PostgreSQL connections each app process keeps open. Budget: processes x (pool size + "
        "max overflow) must stay under the server's max_connections (100 by default)."),
    )
    db_max_overflow: int = Field(
        default=5, ge=0, le=100, description=N_("Extra PostgreSQL connections a process may open in a burst.")
    )
    analysis_jobs: Literal["in-process", "queue"] = Field(
        default="in-process",
        description=N_("Where analyses run: in-process (a thread of the app process that started it; the "
        "embedded default) or queue (a job on procrastinate's PostgreSQL queue, run by `retro-facilitator worker`)."),
    )
    engine: str = Field(default="local", description=N_("Analysis engine: local or llm."))
    model: str | None = Field(default=None, description=N_("litellm model string for the llm engine."))
    fallback_model: str | None = Field(default=None, description=N_("Second litellm model tried once."))
    embedding_model: str | None = Field(
        default=None, description=N_("litellm embedding model; unset uses the local MiniLM.")
    )
    api_base: str | None = Field(
        default=None,
        description=N_("Base URL of the model server, e.g. http://localhost:11434 for Ollama "
        "or http://localhost:8000/v1 for vLLM; unset uses the provider's default."),
    )
    call_timeout_s: float = Field(default=60.0, gt=0, description=N_("Deadline per model call."))
    retries: int = Field(default=2, ge=0, description=N_("Retries on transient provider errors."))
    repair_attempts: int = Field(default=2, ge=0, le=5, description=N_("Repairs of invalid replies."))
    token_budget: int = Field(default=200_000, gt=0, description=N_("Max tokens per retro analysis."))
    max_card_chars: int = Field(default=500, gt=0, description=N_("Longest card accepted."))
    max_cards_per_participant: int = Field(default=15, gt=0, description=N_("Cards per participant."))
    max_cards_per_retro: int = Field(default=200, gt=0, description=N_("Cards per retro."))
    max_participants_per_retro: int = Field(
        default=60, gt=0, description=N_("Browser sessions that may join one retro (bounds what reloads can inflate).")
    )
    min_participants: int = Field(default=5, ge=3, description=N_("Default anonymity threshold k."))
    top_k: int = Field(default=5, gt=0, description=N_("Candidate commitments shown per fear."))
    # --- the browser app (facilitator.service.retros, app.py) ---
    max_cards_per_minute: int = Field(
        default=10, gt=0, description=N_("Cards one participant may submit per minute.")
    )
    max_joins_per_minute: int = Field(
        default=40, gt=0, description=N_("New participants one retro accepts per minute (a room arriving at once fits).")
    )
    votes_per_participant: int = Field(
        default=3, gt=0, le=20, description=N_("Default dot-voting budget per participant.")
    )
    secret_key: str | None = Field(
        default=None,
        description=N_("Fernet key sealing the secrets of the teams' destinations (tokens, webhook URLs). "
        "Unset on SQLite: one is made in data_dir. Required on PostgreSQL."),
    )
    public_url: str | None = Field(
        default=None,
        description=N_("Base URL put in shared links, e.g. https://retro.example.org; "
        "unset uses the address the browser used."),
    )
    owner_emails: str = Field(
        default="",
        description=N_("With login on: comma-separated e-mails of the commitment owners (may change the register)."),
    )
    admin_emails: str = Field(
        default="", description=N_("With login on: comma-separated e-mails of the admins (may read Settings).")
    )
    facilitator_login: bool = Field(
        default=False,
        description=N_("Require st.login (OIDC, configured in secrets.toml [auth]) "
        "for facilitator pages instead of the secret link alone."),
    )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "retro.sqlite3"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"



@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once (``cache_clear()`` to re-read)."""
    return Settings()
