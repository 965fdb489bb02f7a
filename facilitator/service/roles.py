"""Commitment owners and admins, when login is off: one key per role, stored as a hash.

The first person to open an owner or admin page on a fresh install creates its
key and is shown it once (like a retro's facilitator key); from then on the
key is asked for. With login on, roles come from configuration instead
(``RETRO_OWNER_EMAILS``, ``RETRO_ADMIN_EMAILS``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from facilitator.i18n import _
from facilitator.service import db as t
from facilitator.service.base import NotAllowed, ServiceBase, _now

ROLES = ("owner", "admin")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class RolesMixin(ServiceBase):
    def has_role_key(self, role: str) -> bool:
        with self.db.read() as conn:
            return conn.execute(select(t.role_keys.c.role).where(t.role_keys.c.role == role)).first() is not None

    def create_role_key(self, role: str) -> str:
        """Make the key of ``role`` and return it (shown once); refused when one exists."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        key = secrets.token_urlsafe(24)  # 192 bits
        try:
            with self.db.write() as conn:
                conn.execute(insert(t.role_keys).values(role=role, key_hash=_hash(key), created_at=_now()))
        except IntegrityError:
            raise NotAllowed(_("The owner key already exists; ask whoever holds it") if role == "owner"
                             else _("The admin key already exists; ask whoever holds it")) from None
        return key

    def check_role_key(self, role: str, key: str | None) -> bool:
        if not key:
            return False
        with self.db.read() as conn:
            stored = conn.execute(select(t.role_keys.c.key_hash).where(t.role_keys.c.role == role)).scalar()
        return stored is not None and hmac.compare_digest(stored, _hash(key.strip()))
