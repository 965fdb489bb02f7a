"""The one seam for the vector store: the commitments register in embedded Chroma.

Only the register is ever written here, never a card. Each commitment is split
into clauses (sentences and semicolon parts); each clause is one document whose
text is an exact slice of the commitment text, so whatever retrieval returns
can be quoted verbatim. A collection is named after the register's content
hash and the embedder: the index is rebuilt only when either changes.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facilitator.inputs.register import register_hash
from facilitator.models import Commitment, Register
from facilitator.seams import Embedder
from facilitator.text import clauses as text_clauses


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
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if path is None:
            self._client = chromadb.EphemeralClient(settings=chroma_settings)
        else:
            path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        self._lock = threading.Lock()
        self.last_sync_indexed = False

    def _collection_name(self, register: Register) -> str:
        # The embedder is part of the name: vectors from another model (or of
        # another size) must never be searched with this one's queries.
        digest = hashlib.sha256(f"{register_hash(register)}:{self._embedder.name}".encode()).hexdigest()
        return f"register-{digest[:32]}"

    def sync(self, register: Register):
        """Make sure the register is indexed; index it only if its content is new."""
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
