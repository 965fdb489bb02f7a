"""The retro service: create, join, phases, cards, analysis, review, votes,
publish and carry-over. Pure Python over ``facilitator.service.db``; the Streamlit
pages only call this.

Anonymity, and why the tables look the way they do
---------------------------------------------------
A participant has no account and no name. Each browser session makes a random
secret (``new_token()``) and keeps it in its server-side session state only.
It is never read from or written to the page address: a secret taken from a
link could be pre-set by whoever hands out the link (who could then read and
edit those cards before reveal). The price is that a full page reload starts a
new participant session (cards already written stay in the retro, but can no
longer be edited from the new session). The database only ever sees
``HMAC(retro salt, secret)``, the *tag*; the salt is per retro, so tags cannot
be linked across retros and the secret cannot be recovered from them.

- ``participants`` holds one tag per joined session: it gives the participant
  count and the rate-limit window (one overwritten counter, not a log).
- ``cards.author_tag`` lets the writer edit or delete their own cards before
  reveal, enforces cards-per-participant, and lets the publish gate count how
  many *different people* a theme comes from (the anonymity rule: a theme is shown on its
  own only if at least 3 people raised it). Keeping only a list of owned card
  ids in the browser could do the first, but not the last two. The tag is
  never returned by this module (``my_cards`` takes the secret and compares),
  never exported, and it is erased (set to NULL), together with votes and
  participant rows (which hold a per-person rate-limit timestamp), when the
  retro is published.
- cards have no timestamps (time of writing identifies people); ``seq`` orders
  the analysis input; the revealed board lists cards by their random id, so
  nobody sees the order in which they were written (a run of cards is often
  one person's).

Concurrency: every write runs in one transaction that first locks the retro
row (``FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), so limits
hold with many simultaneous writers; card submissions carry an idempotency key
so a retried submit never creates a duplicate.
"""

from __future__ import annotations

from facilitator.models import PHASES
from facilitator.service.analysis import AnalysisMixin
from facilitator.service.base import (
    STALE_RUN_S,
    ActionItem,
    AnalysisState,
    CardView,
    Counts,
    Created,
    LimitReached,
    NotAllowed,
    Publication,
    RegisterInfo,
    Retro,
    RetroNotFound,
    new_token,
)
from facilitator.service.gaps import CarriedAnswer, GapsMixin
from facilitator.service.integrations import Delivery, Destination, IntegrationsMixin
from facilitator.service.meeting import SHORT_ALPHABET, SHORT_LEN, Done, MeetingMixin
from facilitator.service.participation import ParticipationMixin
from facilitator.service.phases import FORMATS, PHASE_LABELS, PhasesMixin
from facilitator.service.publication import PublicationMixin
from facilitator.service.registers import RegistersMixin
from facilitator.service.roles import ROLES, RolesMixin
from facilitator.service.votes import VotesMixin


class RetroService(
    RegistersMixin, RolesMixin, ParticipationMixin, PhasesMixin, AnalysisMixin, VotesMixin, PublicationMixin,
    GapsMixin, MeetingMixin, IntegrationsMixin,
):
    """The whole service API; each part lives in the module named for its noun."""


def database_key(settings) -> str:
    """Identifies the database the settings point at (for caching one per process)."""
    from facilitator.service.db import database_url

    return database_url(settings)


def open_database(settings):
    """The database the settings point at, migrated to the current schema."""
    from facilitator.service.db import Database

    return Database.from_settings(settings)


__all__ = [
    "FORMATS", "PHASES", "PHASE_LABELS", "STALE_RUN_S", "ActionItem", "AnalysisState", "CarriedAnswer", "Done", "SHORT_ALPHABET", "SHORT_LEN", "CardView", "Counts", "Created",
    "LimitReached", "NotAllowed", "Publication", "RegisterInfo", "Retro", "RetroNotFound", "RetroService", "new_token",
    "database_key", "open_database", "ROLES", "Delivery", "Destination",
]
