"""Embeddings from a provider through litellm (``RETRO_EMBEDDING_MODEL``).

Text is scrubbed before it leaves the machine (e-mails, handles, phones,
links, and the team's roster); rows are L2-normalised like the local
embedder's. Calls are bounded like completions (``LLMClient.embed``). During
an analysis the model engine binds the embedder to its roster and its client
(``bound``), so embeddings are charged to that retro's usage and token budget;
unbound, each ``embed`` call gets a client of its own. Failures are
``EmbeddingCallError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from facilitator.model.client import LLMClient, check_environment
from facilitator.scrub import scrub


class LiteLLMEmbedder:
    def __init__(
        self,
        settings,
        *,
        batch_size: int = 64,
        sleep: Callable[[float], None] = time.sleep,
        roster: Sequence[str] = (),
        client: LLMClient | None = None,
    ):
        self.settings = settings
        self.name = settings.embedding_model
        self._batch = batch_size
        self._sleep = sleep
        self._roster = tuple(roster)
        self._bound_client = client
        check_environment(self.name, settings.api_base)

    def bound(self, *, roster: Sequence[str] = (), client: LLMClient | None = None) -> LiteLLMEmbedder:
        """This embedder for one analysis: scrub ``roster`` and charge ``client``."""
        return LiteLLMEmbedder(
            self.settings, batch_size=self._batch, sleep=self._sleep, roster=roster, client=client or self._bound_client
        )

    def _client(self) -> LLMClient:
        if self._bound_client is not None:
            return self._bound_client
        return LLMClient(self.settings.model_copy(update={"model": self.name, "fallback_model": None}), sleep=self._sleep)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        clean = [scrub(t, self._roster) for t in texts]
        client = self._client()
        rows: list[list[float]] = []
        for start in range(0, len(clean), self._batch):
            got, _ = client.embed(self.name, clean[start : start + self._batch])
            rows += got
        out = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.clip(norms, 1e-12, None)
