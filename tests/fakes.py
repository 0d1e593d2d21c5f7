"""Fakes for the cache tests (unit and integration): models that count what reached them
(a cache hit must not reach the model, and these say whether it did), and deterministic
embeddings."""

from __future__ import annotations

import hashlib
from typing import Any

from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import Field


class CountingListChatModel(FakeListChatModel):
    """Answers from ``responses`` in turn; ``calls`` is how often the model really ran."""

    calls: int = 0

    def _call(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        return super()._call(*args, **kwargs)


class RecordingEmbeddings(DeterministicFakeEmbedding):
    """Deterministic vectors; ``embedded`` lists the texts given to ``embed_documents``."""

    embedded: list[str] = Field(default_factory=list)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return super().embed_documents(texts)


class CountingEmbeddings(Embeddings):
    """Wraps an embedding model; ``calls`` lists the texts embedded; fails with
    ``failure`` or returns ``garbage`` instead of a vector on demand (a model outage, a
    broken model)."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self.failure: Exception | None = None
        self.garbage: Any = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        self.calls.append(text)
        if self.failure is not None:
            raise self.failure
        if self.garbage is not None:
            return self.garbage  # type: ignore[no-any-return]
        return self.inner.embed_query(text)


class HashEmbeddings(Embeddings):
    """Deterministic 32-dimension vectors from a hash: distinct texts are far apart."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        return [byte / 127.5 - 1.0 for byte in digest]
