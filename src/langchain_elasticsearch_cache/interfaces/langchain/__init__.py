"""LangChain-facing classes: ``BaseCache`` and ``ByteStore`` over any repository."""

from ._runtime import CacheStatistics, OperationStatistics
from .byte_store import AsyncRepositoryByteStore, RepositoryByteStore
from .llm_cache import AsyncRepositoryLlmCache, RepositoryLlmCache
from .memory import (
    AsyncInMemoryEmbeddingsCache,
    AsyncInMemoryLlmCache,
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
)

__all__ = [
    "AsyncInMemoryEmbeddingsCache",
    "AsyncInMemoryLlmCache",
    "AsyncRepositoryByteStore",
    "AsyncRepositoryLlmCache",
    "CacheStatistics",
    "InMemoryEmbeddingsCache",
    "InMemoryLlmCache",
    "OperationStatistics",
    "RepositoryByteStore",
    "RepositoryLlmCache",
]
