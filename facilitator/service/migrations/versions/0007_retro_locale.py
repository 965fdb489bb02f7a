"""The language of a retro's pages (facilitator.i18n), chosen when it is created.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN with a server default: existing retros stay English, no table rebuild on SQLite.
    op.add_column("retros", sa.Column("locale", sa.String(8), nullable=False, server_default="en"),
                  schema=context.config.attributes.get("schema"))


def downgrade() -> None:
    op.drop_column("retros", "locale", schema=context.config.attributes.get("schema"))
