"""Owners' answers to trust gaps, for the trust-gap board.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gap_answers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("commitment_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("owner_role", sa.String(200), nullable=False),
        sa.Column("register_id", sa.Integer, sa.ForeignKey("registers.id"), nullable=True),
        sa.Column("answered_on", sa.Date, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gap_answers")
