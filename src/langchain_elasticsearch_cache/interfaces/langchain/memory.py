"""One-line in-memory caches: ``set_llm_cache(InMemoryLlmCache())``."""

from __future__ import annotations

from typing import Any

from ...adapters.memory import AsyncInMemoryRepository, InMemoryRepository
from ...domain.entries import EmbeddingRecord, LlmRecord
from .byte_store import AsyncRepositoryByteStore, RepositoryByteStore
from .llm_cache import AsyncRepositoryLlmCache, RepositoryLlmCache


class InMemoryLlmCache(RepositoryLlmCache):
    """The LLM cache on a process-local, thread-safe in-memory repository."""

    def __init__(self, **options: Any) -> None:
        super().__init__(InMemoryRepository[LlmRecord](), **options)


class AsyncInMemoryLlmCache(AsyncRepositoryLlmCache):
    """The async LLM cache on a process-local in-memory repository."""

    def __init__(self, **options: Any) -> None:
        super().__init__(AsyncInMemoryRepository[LlmRecord](), **options)


class InMemoryEmbeddingsCache(RepositoryByteStore):
    """The embeddings byte store on a process-local, thread-safe in-memory repository."""

    def __init__(self, **options: Any) -> None:
        super().__init__(InMemoryRepository[EmbeddingRecord](), **options)


class AsyncInMemoryEmbeddingsCache(AsyncRepositoryByteStore):
    """The async embeddings byte store on a process-local in-memory repository."""

    def __init__(self, **options: Any) -> None:
        super().__init__(AsyncInMemoryRepository[EmbeddingRecord](), **options)
