"""The one seam for analysis engines.

An engine turns validated cards plus a register into an ``Analysis``. The
local engine (embeddings, no network) is the default and the fallback of the
model-backed engine; both return the same shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

from .models import Analysis, CardSet, Register, StatementCoverage

Progress = Callable[[str, float], None]
"""Called with a step name and a fraction done (0..1); the app shows it."""


class Engine(Protocol):
    name: str

    def analyze(
        self,
        cards: CardSet,
        register: Register,
        *,
        today: dt.date,
        roster: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> Analysis: ...

    def cover(
        self, statements: Sequence[str], register: Register, *, today: dt.date
    ) -> list[StatementCoverage]: ...


def get_engine(settings=None, **overrides) -> Engine:
    """Build the engine the settings ask for (``RETRO_ENGINE``, ``--engine``)."""
    from .settings import Settings

    settings = settings or Settings()
    if overrides:
        settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    if settings.engine == "llm":
        from .llm_engine import LLMEngine  # imported lazily: litellm is slow to import

        return LLMEngine(settings)
    from .local_engine import LocalEngine

    return LocalEngine(settings)
