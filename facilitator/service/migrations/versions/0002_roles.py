"""Roles: owner and admin keys (stored as hashes), and who approved each register version.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    # The Database's PostgreSQL schema (None on SQLite): ALTER statements name it explicitly.
    return context.config.attributes.get("schema")


def upgrade() -> None:
    op.create_table(
        "role_keys",
        sa.Column("role", sa.String(20), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Nullable columns: a plain ADD COLUMN on both SQLite and PostgreSQL, no table rebuild
    # (a rebuild would trip the foreign keys that point at registers).
    op.add_column("registers", sa.Column("approved_by", sa.String(200), nullable=True), schema=_schema())
    op.add_column("registers", sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True), schema=_schema())


def downgrade() -> None:
    op.drop_column("registers", "approved_at", schema=_schema())
    op.drop_column("registers", "approved_by", schema=_schema())
    op.drop_table("role_keys")
