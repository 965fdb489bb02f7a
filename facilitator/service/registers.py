"""Commitment register versions stored for retros to use."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from facilitator.i18n import _
from facilitator.inputs.register import parse_register, register_hash
from facilitator.models import Register
from facilitator.service import db as t
from facilitator.service.base import RegisterInfo, RetroNotFound, ServiceBase, _now


class RegistersMixin(ServiceBase):
    # -- registers -------------------------------------------------------------

    def add_register(
        self, raw: str, filename: str, *, name: str | None = None, version: str | None = None,
        approved_by: str = "owner",
    ) -> int:
        """Parse (JSON or Markdown, by extension) and store a new register version,
        recording who approved it (a role, or an owner's login e-mail) and when."""
        reg = parse_register(raw, filename)
        name = (name or reg.name or filename.rsplit(".", 1)[0]).strip()[:200]
        with self.db.write() as conn:
            n = conn.execute(select(func.count()).select_from(t.registers).where(t.registers.c.name == name)).scalar_one()
            version = (version or reg.version or f"v{n + 1}").strip()[:100]
            reg = reg.model_copy(update={"name": name, "version": version})
            return conn.execute(
                insert(t.registers).values(
                    name=name,
                    version=version,
                    filename=filename[:200],
                    raw=raw,
                    register_json=reg.model_dump_json(),
                    sha256=register_hash(reg),
                    created_at=_now(),
                    approved_by=approved_by.strip()[:200] or "owner",
                    approved_at=_now(),
                )
            ).inserted_primary_key[0]

    def registers(self) -> list[RegisterInfo]:
        with self.db.read() as conn:
            rows = conn.execute(select(t.registers).order_by(t.registers.c.id.desc())).mappings().all()
        return [self._register_info(r) for r in rows]

    def register_info(self, register_id: int) -> RegisterInfo:
        with self.db.read() as conn:
            r = conn.execute(select(t.registers).where(t.registers.c.id == register_id)).mappings().first()
        if r is None:
            raise RetroNotFound(_("Register version {id} does not exist; upload it on the Commitments page").format(
                id=register_id))
        return self._register_info(r)

    def register_raw(self, register_id: int) -> str:
        with self.db.read() as conn:
            return conn.execute(select(t.registers.c.raw).where(t.registers.c.id == register_id)).scalar_one()

    @staticmethod
    def _register_info(r) -> RegisterInfo:
        return RegisterInfo(
            id=r["id"], name=r["name"], version=r["version"], filename=r["filename"], sha256=r["sha256"],
            created_at=r["created_at"], register=Register.model_validate_json(r["register_json"]),
            approved_by=r["approved_by"], approved_at=r["approved_at"],
        )

