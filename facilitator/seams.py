"""The ports the pipeline is built on: analysis engines, embedders, progress.

Protocols only. Implementations live in the wings (``facilitator.offline``,
``facilitator.model``) and are looked up by name in ``facilitator.wiring``;
nothing else names them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from facilitator.models import Analysis, CardSet, Register, StatementCoverage

Progress = Callable[[str, float], None]
"""Called with a step name and a fraction done (0..1); the app shows it."""


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, d) float32 array of unit-length rows."""
        ...


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
