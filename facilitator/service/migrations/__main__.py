"""``python -m facilitator.service.migrations revision "what changed"``: see the package docstring."""

import sys

from facilitator.service.migrations import revision

if len(sys.argv) != 3 or sys.argv[1] != "revision":
    sys.exit('usage: python -m facilitator.service.migrations revision "what changed"')
print(f"wrote {revision(sys.argv[2])}; review it (and run it on PostgreSQL) before committing")
