"""Revisions, one file each: ``<rev>_<slug>.py``, numbered in order (Alembic reads them by path)."""
