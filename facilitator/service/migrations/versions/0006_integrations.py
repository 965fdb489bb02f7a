"""Pushing published actions out: a team's destinations and one delivery row per
(destination, action).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes.get("schema")
    op.create_table(
        "integrations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("team_norm", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("config_json", sa.Text, nullable=False),
        sa.Column("secret_sealed", sa.Text, nullable=False),
        sa.Column("secret_hint", sa.String(8), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("added_on", sa.Date, nullable=False),
        schema=schema,
    )
    op.create_index("ix_integrations_team_norm", "integrations", ["team_norm"], schema=schema)
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("integration_id", sa.String(32), sa.ForeignKey("integrations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("retro_id", sa.String(32), sa.ForeignKey("retros.id"), nullable=False),
        sa.Column("action_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_at", sa.Float, nullable=False, server_default="0"),
        sa.Column("claimed_at", sa.Float, nullable=True),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("external_url", sa.Text, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.UniqueConstraint("integration_id", "retro_id", "action_id", name="uq_deliveries_once"),
        schema=schema,
    )
    op.create_index("ix_deliveries_retro_id", "deliveries", ["retro_id"], schema=schema)


def downgrade() -> None:
    schema = context.config.attributes.get("schema")
    op.drop_table("deliveries", schema=schema)
    op.drop_table("integrations", schema=schema)
