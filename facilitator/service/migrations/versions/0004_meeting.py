"""The meeting: short join codes, a phase timer, the presenter's focus, "I'm done",
and a per-retro join rate limit.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    return context.config.attributes.get("schema")


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable, or with a server default): no table rebuild on SQLite.
    schema = _schema()
    op.add_column("retros", sa.Column("short_code", sa.String(8), nullable=True), schema=schema)
    op.create_index("ix_retros_short_code", "retros", ["short_code"], unique=True, schema=schema)
    op.add_column("retros", sa.Column("timer_phase", sa.String(16), nullable=True), schema=schema)
    op.add_column("retros", sa.Column("timer_ends_at", sa.Float, nullable=True), schema=schema)
    op.add_column("retros", sa.Column("focus_theme_id", sa.String(64), nullable=True), schema=schema)
    op.add_column("retros", sa.Column("join_window_start", sa.Float, nullable=False, server_default="0"), schema=schema)
    op.add_column("retros", sa.Column("join_window_count", sa.Integer, nullable=False, server_default="0"),
                  schema=schema)
    op.add_column("participants", sa.Column("done_phase", sa.String(16), nullable=True), schema=schema)


def downgrade() -> None:
    schema = _schema()
    op.drop_column("participants", "done_phase", schema=schema)
    for col in ("join_window_count", "join_window_start", "focus_theme_id", "timer_ends_at", "timer_phase"):
        op.drop_column("retros", col, schema=schema)
    op.drop_index("ix_retros_short_code", "retros", schema=schema)
    op.drop_column("retros", "short_code", schema=schema)
