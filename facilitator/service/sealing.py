"""Sealing the secrets of a team's destinations (tokens, webhook URLs) at rest.

Fernet (the ``cryptography`` package): a database dump or backup holds no usable
token. The key is ``RETRO_SECRET_KEY``; with SQLite and no key set, one is made
once in the data directory (readable by this user only). Several processes on
PostgreSQL must share one key, so there it must be set.
"""

from __future__ import annotations

import os
from pathlib import Path

from facilitator.errors import ConfigError
from facilitator.settings import Settings

KEY_FILE = "secret.key"


def _key(settings: Settings, is_sqlite: bool) -> bytes:
    from cryptography.fernet import Fernet

    if settings.secret_key:
        return settings.secret_key.encode()
    if not is_sqlite:
        raise ConfigError("set RETRO_SECRET_KEY (any 32-byte url-safe base64 key, e.g. from "
                          "`python -c \"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\"`)"
                          " so every process can read the destinations' secrets")
    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
    return path.read_bytes().strip()


def seal(settings: Settings, is_sqlite: bool, secret: str) -> str:
    from cryptography.fernet import Fernet

    try:
        return Fernet(_key(settings, is_sqlite)).encrypt(secret.encode()).decode()
    except ValueError:
        raise ConfigError("RETRO_SECRET_KEY is not a Fernet key (32 bytes, url-safe base64)") from None


def unseal(settings: Settings, is_sqlite: bool, sealed: str) -> str:
    from cryptography.fernet import Fernet, InvalidToken

    try:
        return Fernet(_key(settings, is_sqlite)).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        raise ConfigError("a destination's secret cannot be read with this RETRO_SECRET_KEY; "
                          "enter the secret again") from None


def hint(secret: str) -> str:
    """What the page shows of a secret: its last four characters."""
    return "…" + secret.strip()[-4:] if len(secret.strip()) > 8 else "…"
