"""The one seam for the vector store: the commitments register in embedded Chroma.

Only the register is ever written here, never a card. Each commitment is split
into clauses (sentences and semicolon parts); each clause is one document whose
text is an exact slice of the commitment text, so whatever retrieval returns
can be quoted verbatim. A collection is named after the register's content
hash and the embedder: the index is rebuilt only when either changes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facilitator.inputs.register import register_hash
from facilitator.models import Commitment, Register
from facilitator.seams import Embedder
from facilitator.text import clauses as text_clauses

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clause:
    commitment_id: str
    index: int
    text: str  # exact substring of the commitment text


@dataclass(frozen=True)
class Hit:
    clause: Clause
    similarity: float  # cosine similarity, -1..1


def clauses(c: Commitment) -> list[Clause]:
    """The commitment's clauses (``facilitator.text.clauses``), numbered."""
    return [Clause(c.id, i, piece) for i, piece in enumerate(text_clauses(c.text))]


def _chroma_embedding_function(embedder: Embedder):
    from chromadb import EmbeddingFunction

    class RegisterEmbedding(EmbeddingFunction):
        """Chroma adapter over our embedder; Chroma's default one would download a model."""

        def __init__(self, inner: Embedder):
            self._inner = inner

        def __call__(self, input):  # noqa: A002 - Chroma's protocol names it so
            return [row for row in self._inner.embed(list(input))]

        @staticmethod
        def name() -> str:
            return "retro-facilitator-local"

        def get_config(self) -> dict[str, Any]:
            return {"model": self._inner.name}

        @staticmethod
        def build_from_config(config: dict[str, Any]):
            from facilitator.offline.embeddings import local_embedder

            return RegisterEmbedding(local_embedder())

        def default_space(self):
            return "cosine"

    return RegisterEmbedding(embedder)


class CommitmentStore:
    """Index and search one register's clauses.

    ``path=None`` gives an in-memory store (tests, one-shot CLI runs can use it);
    otherwise Chroma persists under ``path`` and reuses the index across runs.
    """

    def __init__(self, embedder: Embedder, path: Path | None = None):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self._embedder = embedder
        self._ef = _chroma_embedding_function(embedder)
        self._path = path
        self._chroma = chromadb
        self._chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self._lock = threading.Lock()
        self.last_sync_indexed = False
        self.rebuilt_from: Path | None = None  # where a corrupt index was moved, if it was
        try:
            self._client = self._open()
            self._client.list_collections()  # a corrupt file fails here, not mid-analysis
        except Exception as e:  # noqa: BLE001 - any failure to open: the index is derived data
            self._rebuild(e)

    def _open(self):
        if self._path is None:
            return self._chroma.EphemeralClient(settings=self._chroma_settings)
        self._path.mkdir(parents=True, exist_ok=True)
        return self._chroma.PersistentClient(path=str(self._path), settings=self._chroma_settings)

    def _rebuild(self, error: BaseException) -> None:
        """The index holds nothing but the register's clauses, so a missing or
        corrupt one is moved aside and rebuilt from the register at the next sync."""
        if self._path is None:
            raise error
        aside = self._path.with_name(f"{self._path.name}.corrupt-{int(time.time())}")
        log.warning("the commitments index at %s could not be read (%s); rebuilding it", self._path,
                    type(error).__name__)
        if self._path.exists():
            self._path.rename(aside)
            self.rebuilt_from = aside
        # Chroma keeps one client per path for the process; it would go on using the moved files.
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        self._client = self._open()

    def _collection_name(self, register: Register) -> str:
        # The embedder is part of the name: vectors from another model (or of
        # another size) must never be searched with this one's queries.
        digest = hashlib.sha256(f"{register_hash(register)}:{self._embedder.name}".encode()).hexdigest()
        return f"register-{digest[:32]}"

    def sync(self, register: Register):
        """Make sure the register is indexed; index it only if its content is new."""
        try:
            return self._sync(register)
        except Exception as e:  # noqa: BLE001 - a broken index is rebuilt once, then errors surface
            if self._path is None or self.rebuilt_from is not None:
                raise
            self._rebuild(e)
            return self._sync(register)

    def _sync(self, register: Register):
        name = self._collection_name(register)
        with self._lock:
            existing = {c.name if hasattr(c, "name") else str(c) for c in self._client.list_collections()}
            col = self._client.get_or_create_collection(
                name, embedding_function=self._ef, metadata={"hnsw:space": "cosine"}
            )
            self.last_sync_indexed = name not in existing or col.count() == 0
            if self.last_sync_indexed:
                items = [cl for c in register.commitments for cl in clauses(c)]
                titles = {c.id: c.title for c in register.commitments}
                # Embed "title: clause" so a short clause keeps its context;
                # the stored document stays the exact clause.
                vectors = self._embedder.embed([f"{titles[cl.commitment_id]}: {cl.text}" for cl in items])
                # upsert: two app processes indexing the same new register at once stay consistent.
                col.upsert(
                    ids=[f"{cl.commitment_id}#{cl.index}" for cl in items],
                    documents=[cl.text for cl in items],
                    embeddings=[v for v in vectors],
                    metadatas=[{"commitment_id": cl.commitment_id, "clause": cl.index} for cl in items],
                )
            return col

    def search(self, register: Register, queries: list[str] | np.ndarray, k: int = 4) -> list[list[Hit]]:
        """Top-k clauses per query (texts, or precomputed unit vectors)."""
        col = self.sync(register)
        n = min(k, col.count())
        if n == 0:
            return [[] for _ in queries]
        vectors = queries if isinstance(queries, np.ndarray) else self._embedder.embed(list(queries))
        res = col.query(query_embeddings=[v for v in vectors], n_results=n, include=["documents", "metadatas", "distances"])
        out = []
        for docs, metas, dists in zip(res["documents"], res["metadatas"], res["distances"]):
            out.append(
                [
                    Hit(Clause(m["commitment_id"], int(m["clause"]), d), 1.0 - float(dist))
                    for d, m, dist in zip(docs, metas, dists)
                ]
            )
        return out
