"""LangChain-facing classes: ``BaseCache`` and ``ByteStore`` over any repository."""

from ._runtime import CacheStatistics, OperationStatistics
from .byte_store import AsyncRepositoryByteStore, RepositoryByteStore
from .elasticsearch_semantic import AsyncElasticsearchSemanticCache, ElasticsearchSemanticCache
from .llm_cache import AsyncRepositoryLlmCache, RepositoryLlmCache
from .memory import (
    AsyncInMemoryEmbeddingsCache,
    AsyncInMemoryLlmCache,
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
)
from .semantic_cache import (
    AsyncRepositorySemanticCache,
    RepositorySemanticCache,
    SemanticCacheStatistics,
)
from .semantic_memory import AsyncInMemorySemanticCache, InMemorySemanticCache

__all__ = [
    "AsyncElasticsearchSemanticCache",
    "AsyncInMemoryEmbeddingsCache",
    "AsyncInMemoryLlmCache",
    "AsyncInMemorySemanticCache",
    "AsyncRepositoryByteStore",
    "AsyncRepositoryLlmCache",
    "AsyncRepositorySemanticCache",
    "CacheStatistics",
    "ElasticsearchSemanticCache",
    "InMemoryEmbeddingsCache",
    "InMemoryLlmCache",
    "InMemorySemanticCache",
    "OperationStatistics",
    "RepositoryByteStore",
    "RepositoryLlmCache",
    "RepositorySemanticCache",
    "SemanticCacheStatistics",
]
