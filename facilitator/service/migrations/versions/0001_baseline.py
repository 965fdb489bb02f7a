"""Baseline: the tables ``metadata.create_all`` made before migrations existed.

A database made by that code is stamped at this revision instead of running
it (see ``facilitator.service.migrations``). Written out here, not taken from
``db.metadata``: later revisions change the metadata, never this file.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("register_json", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "retros",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("join_code", sa.String(32), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("team", sa.String(120), nullable=False),
        sa.Column("team_norm", sa.String(120), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("columns_json", sa.Text(), nullable=False),
        sa.Column("register_id", sa.Integer(), sa.ForeignKey("registers.id"), nullable=True),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("vote_budget", sa.Integer(), nullable=False),
        sa.Column("roster_json", sa.Text(), nullable=False),
        sa.Column("owner_email", sa.String(320), nullable=True),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
    )
    op.create_index("ix_retros_team_norm", "retros", ["team_norm"])
    op.create_table(
        "participants",
        sa.Column("retro_id", sa.String(32), sa.ForeignKey("retros.id"), primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("window_count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "cards",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("retro_id", sa.String(32), sa.ForeignKey("retros.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("column_name", sa.String(80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_tag", sa.String(64), nullable=True),
        sa.Column("idem_key", sa.String(64), nullable=False),
        sa.UniqueConstraint("retro_id", "idem_key", name="uq_cards_idem"),
    )
    op.create_index("ix_cards_retro_id", "cards", ["retro_id"])
    op.create_table(
        "votes",
        sa.Column("retro_id", sa.String(32), sa.ForeignKey("retros.id"), primary_key=True),
        sa.Column("voter_tag", sa.String(64), primary_key=True),
        sa.Column("theme_id", sa.String(64), primary_key=True),
        sa.Column("dots", sa.Integer(), nullable=False),
    )
    op.create_table(
        "analyses",
        sa.Column("retro_id", sa.String(32), sa.ForeignKey("retros.id"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("keep_edits", sa.Integer(), nullable=False),
        sa.Column("heartbeat", sa.Float(), nullable=False),
        sa.Column("original_json", sa.Text(), nullable=True),
        sa.Column("edited_json", sa.Text(), nullable=True),
    )
    op.create_table(
        "publications",
        sa.Column("id", sa.String(48), primary_key=True),
        sa.Column("retro_id", sa.String(32), sa.ForeignKey("retros.id"), nullable=False, unique=True),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("team_norm", sa.String(120), nullable=False),
        sa.Column("source_retro_id", sa.String(32), sa.ForeignKey("retros.id"), nullable=False),
        sa.Column("action_id", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("owner_role", sa.String(200), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewed_in", sa.String(32), nullable=True),
        sa.UniqueConstraint("source_retro_id", "action_id", name="uq_action_items_source"),
    )
    op.create_index("ix_action_items_team_norm", "action_items", ["team_norm"])


def downgrade() -> None:
    for name in ("action_items", "publications", "analyses", "votes", "cards", "participants", "retros",
                 "registers"):
        op.drop_table(name)
