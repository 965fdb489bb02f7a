"""The retro service: the only part of the package that runs SQL.

``RetroService`` (``retros.py``) is the API the pages and tests use; each part
of it lives in the module named for its noun.
"""

from facilitator.service.db import Database, database_url
from facilitator.service.retros import RetroService

__all__ = ["Database", "RetroService", "database_url"]
