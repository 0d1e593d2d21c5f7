"""One-line in-memory caches: ``set_llm_cache(InMemoryLlmCache())``."""

from __future__ import annotations

from typing import Any

from ...adapters.memory import AsyncInMemoryRepository, InMemoryRepository
from ...domain.entries import EmbeddingRecord, LlmRecord
from .byte_store import AsyncRepositoryByteStore, RepositoryByteStore
from .llm_cache import AsyncRepositoryLlmCache, RepositoryLlmCache


class InMemoryLlmCache(RepositoryLlmCache):
    """The LLM cache on a process-local, thread-safe in-memory repository.

    ``maxsize=N`` keeps at most N entries, evicting the least recently used (a lookup hit
    makes an entry recent), like LangChain's ``InMemoryCache(maxsize=N)``; ``None`` (the
    default) keeps everything.

    Args:
        maxsize: Most entries kept (least recently used evicted first); ``None`` keeps all.
        **options: The cache options of :class:`RepositoryLlmCache`, by name.

    Raises:
        ConfigurationError: ``maxsize`` is not a positive integer, or an option is not
            valid.
    """

    def __init__(self, *, maxsize: int | None = None, **options: Any) -> None:
        super().__init__(InMemoryRepository[LlmRecord](maxsize=maxsize), **options)


class AsyncInMemoryLlmCache(AsyncRepositoryLlmCache):
    """The async LLM cache on a process-local in-memory repository.

    Args:
        maxsize: Most entries kept (least recently used evicted first); ``None`` keeps all.
        **options: The cache options of :class:`RepositoryLlmCache`, by name.

    Raises:
        ConfigurationError: ``maxsize`` is not a positive integer, or an option is not
            valid.
    """

    def __init__(self, *, maxsize: int | None = None, **options: Any) -> None:
        super().__init__(AsyncInMemoryRepository[LlmRecord](maxsize=maxsize), **options)


class InMemoryEmbeddingsCache(RepositoryByteStore):
    """The embeddings byte store on a process-local, thread-safe in-memory repository.

    Args:
        **options: The cache options of :class:`RepositoryByteStore`, by name.

    Raises:
        ConfigurationError: An option is not valid.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(InMemoryRepository[EmbeddingRecord](), **options)


class AsyncInMemoryEmbeddingsCache(AsyncRepositoryByteStore):
    """The async embeddings byte store on a process-local in-memory repository.

    Args:
        **options: The cache options of :class:`RepositoryByteStore`, by name.

    Raises:
        ConfigurationError: An option is not valid.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(AsyncInMemoryRepository[EmbeddingRecord](), **options)
