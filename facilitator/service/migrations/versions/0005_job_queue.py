"""The analysis job queue: procrastinate's tables and functions, on PostgreSQL only
(SQLite runs analyses in-process and needs nothing).

They go into the app's own schema, so a database holds one app and its queue.
A later procrastinate release that changes its schema ships migration SQL files;
add a revision here that runs them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import context, op
from sqlalchemy import text

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    schema = context.config.attributes.get("schema")
    where = bind.execute(text("SELECT current_schema()")).scalar_one() if schema is None else schema
    if bind.execute(text("SELECT to_regclass(:t)"), {"t": f'"{where}".procrastinate_jobs'}).scalar_one():
        return  # applied by hand before (`procrastinate schema --apply`)
    before = bind.execute(text("SELECT current_setting('search_path')")).scalar_one()
    bind.execute(text("SELECT set_config('search_path', :p, true)"), {"p": f'"{where}"'})
    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))  # no parameters: % is literal
    bind.execute(text("SELECT set_config('search_path', :p, true)"), {"p": before})


def downgrade() -> None:
    # Left in place: older code never reads procrastinate's tables, and dropping them
    # would lose queued jobs if this revision is applied again.
    pass
