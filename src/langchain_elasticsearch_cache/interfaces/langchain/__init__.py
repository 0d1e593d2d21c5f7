"""LangChain-facing classes: ``BaseCache`` and ``ByteStore`` over any repository."""

from .byte_store import AsyncRepositoryByteStore, RepositoryByteStore
from .elasticsearch_semantic import AsyncElasticsearchSemanticCache, ElasticsearchSemanticCache
from .llm_cache import AsyncRepositoryLlmCache, RepositoryLlmCache
from .memory import (
    AsyncInMemoryEmbeddingsCache,
    AsyncInMemoryLlmCache,
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
)
from .semantic_cache import AsyncRepositorySemanticCache, RepositorySemanticCache
from .semantic_memory import AsyncInMemorySemanticCache, InMemorySemanticCache
from .statistics import CacheStatistics, OperationStatistics, SemanticCacheStatistics

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
