"""LangChain LLM and embeddings cache stored in Elasticsearch: safe, fast, drop-in.

``from langchain_elasticsearch_cache import ElasticsearchCache`` replaces
``from langchain_elasticsearch import ElasticsearchCache``; ``InMemoryLlmCache`` and friends
need no server; ``RepositoryLlmCache(my_repository)`` plugs in an adapter of your own.
"""

from .adapters.elasticsearch import (
    AsyncElasticsearchRepository,
    ElasticsearchRepository,
    create_async_elasticsearch_client,
    create_elasticsearch_client,
)
from .adapters.memory import AsyncInMemoryRepository, InMemoryRepository
from .domain import (
    AsyncRepository,
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    BulkOperationError,
    CacheError,
    ConfigurationError,
    EmbeddingRecord,
    EntryRefusedError,
    InvalidIndexNameError,
    KeyScheme,
    KeysNotStoredError,
    LegacyMd5KeyScheme,
    LlmRecord,
    Repository,
    Sha256KeyScheme,
    TlsVerificationError,
)
from .interfaces.langchain import (
    AsyncInMemoryEmbeddingsCache,
    AsyncInMemoryLlmCache,
    AsyncRepositoryByteStore,
    AsyncRepositoryLlmCache,
    CacheStatistics,
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
    OperationStatistics,
    RepositoryByteStore,
    RepositoryLlmCache,
)
from .interfaces.langchain.elasticsearch import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncElasticsearchCache",
    "AsyncElasticsearchEmbeddingsCache",
    "AsyncElasticsearchRepository",
    "AsyncInMemoryEmbeddingsCache",
    "AsyncInMemoryLlmCache",
    "AsyncInMemoryRepository",
    "AsyncRepository",
    "AsyncRepositoryByteStore",
    "AsyncRepositoryLlmCache",
    "AuthenticationError",
    "BackendError",
    "BackendUnavailableError",
    "BulkOperationError",
    "CacheError",
    "CacheStatistics",
    "ConfigurationError",
    "EntryRefusedError",
    "ElasticsearchCache",
    "ElasticsearchEmbeddingsCache",
    "ElasticsearchRepository",
    "EmbeddingRecord",
    "InMemoryEmbeddingsCache",
    "InMemoryLlmCache",
    "InMemoryRepository",
    "InvalidIndexNameError",
    "KeyScheme",
    "KeysNotStoredError",
    "LegacyMd5KeyScheme",
    "LlmRecord",
    "OperationStatistics",
    "Repository",
    "RepositoryByteStore",
    "RepositoryLlmCache",
    "Sha256KeyScheme",
    "TlsVerificationError",
    "create_async_elasticsearch_client",
    "create_elasticsearch_client",
]
