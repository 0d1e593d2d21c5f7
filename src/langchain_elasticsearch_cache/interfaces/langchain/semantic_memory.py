"""One-line in-memory semantic caches: ``set_llm_cache(InMemorySemanticCache(embeddings))``."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings

from ...adapters.memory_vector import AsyncInMemoryVectorRepository, InMemoryVectorRepository
from .semantic_cache import AsyncRepositorySemanticCache, RepositorySemanticCache

__all__ = ["AsyncInMemorySemanticCache", "InMemorySemanticCache"]


class InMemorySemanticCache(RepositorySemanticCache):
    """The semantic LLM cache on a process-local, thread-safe in-memory vector store
    (exact search: for tests, notebooks and small workloads).

    Args:
        embedding: The LangChain ``Embeddings`` that embeds each prompt's question.
        **options: The cache options of :class:`RepositorySemanticCache`, by name.

    Raises:
        ConfigurationError: ``embedding`` is not an ``Embeddings``, or an option is not
            valid.
    """

    def __init__(self, embedding: Embeddings, **options: Any) -> None:
        super().__init__(InMemoryVectorRepository(), embedding, **options)


class AsyncInMemorySemanticCache(AsyncRepositorySemanticCache):
    """The async semantic LLM cache on a process-local in-memory vector store.

    Args:
        embedding: The LangChain ``Embeddings`` that embeds each prompt's question.
        **options: The cache options of :class:`RepositorySemanticCache`, by name.

    Raises:
        ConfigurationError: ``embedding`` is not an ``Embeddings``, or an option is not
            valid.
    """

    def __init__(self, embedding: Embeddings, **options: Any) -> None:
        super().__init__(AsyncInMemoryVectorRepository(), embedding, **options)
