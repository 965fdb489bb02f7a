"""``python -m facilitator.service.migrations revision "what changed"``: see the package docstring.

A developer tool: it autogenerates the next revision against a scratch SQLite
database, so the package itself never imports the database module back.
"""

import sys
import tempfile
from pathlib import Path

from alembic import command

from facilitator.service.db import Database
from facilitator.service.migrations import config, head, upgrade


def revision(message: str) -> Path:
    """Autogenerate the next revision from the difference between ``db.metadata`` and head."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}")
        try:
            upgrade(db)
            with db.engine.begin() as conn:
                # File name: <rev>_<slug>.py (Alembic's default template).
                script = command.revision(config(conn), message, autogenerate=True, rev_id=f"{int(head()) + 1:04d}")
        finally:
            db.dispose()
    return Path(script.path)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m facilitator.service.migrations revision "what changed"')
    print(f"wrote {revision(sys.argv[2])}; review it (and run it on PostgreSQL) before committing")
