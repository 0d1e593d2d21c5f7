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
from .adapters.memory_vector import AsyncInMemoryVectorRepository, InMemoryVectorRepository
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
    ListedLlmEntry,
    LlmRecord,
    PermissionDeniedError,
    Repository,
    Sha256KeyScheme,
    TlsVerificationError,
    UncacheableAnswerError,
)
from .domain.semantic import (
    PromptParts,
    combine_guards,
    default_hit_guard,
    number_guard,
    split_prompt,
)
from .interfaces.langchain import (
    AsyncInMemoryEmbeddingsCache,
    AsyncInMemoryLlmCache,
    AsyncRepositoryByteStore,
    AsyncRepositoryLlmCache,
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
    RepositoryByteStore,
    RepositoryLlmCache,
)
from .interfaces.langchain.cached_chat_model import CachedChatModel
from .interfaces.langchain.elasticsearch_caches import AsyncElasticsearchCache, ElasticsearchCache
from .interfaces.langchain.elasticsearch_embeddings import (
    AsyncElasticsearchEmbeddingsCache,
    ElasticsearchEmbeddingsCache,
)
from .interfaces.langchain.elasticsearch_semantic import (
    AsyncElasticsearchSemanticCache,
    ElasticsearchSemanticCache,
)
from .interfaces.langchain.semantic_cache import (
    AsyncRepositorySemanticCache,
    RepositorySemanticCache,
)
from .interfaces.langchain.semantic_memory import AsyncInMemorySemanticCache, InMemorySemanticCache
from .interfaces.langchain.statistics import (
    CacheStatistics,
    OperationStatistics,
    SemanticCacheStatistics,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncElasticsearchCache",
    "AsyncElasticsearchEmbeddingsCache",
    "AsyncElasticsearchRepository",
    "AsyncElasticsearchSemanticCache",
    "AsyncInMemoryEmbeddingsCache",
    "AsyncInMemoryLlmCache",
    "AsyncInMemoryRepository",
    "AsyncInMemorySemanticCache",
    "AsyncInMemoryVectorRepository",
    "AsyncRepository",
    "AsyncRepositoryByteStore",
    "AsyncRepositoryLlmCache",
    "AsyncRepositorySemanticCache",
    "AuthenticationError",
    "BackendError",
    "BackendUnavailableError",
    "BulkOperationError",
    "CacheError",
    "CacheStatistics",
    "CachedChatModel",
    "ConfigurationError",
    "EntryRefusedError",
    "ElasticsearchCache",
    "ElasticsearchEmbeddingsCache",
    "ElasticsearchRepository",
    "ElasticsearchSemanticCache",
    "EmbeddingRecord",
    "InMemoryEmbeddingsCache",
    "InMemoryLlmCache",
    "InMemoryRepository",
    "InMemorySemanticCache",
    "InMemoryVectorRepository",
    "InvalidIndexNameError",
    "KeyScheme",
    "KeysNotStoredError",
    "PermissionDeniedError",
    "LegacyMd5KeyScheme",
    "ListedLlmEntry",
    "LlmRecord",
    "OperationStatistics",
    "PromptParts",
    "Repository",
    "RepositoryByteStore",
    "RepositoryLlmCache",
    "RepositorySemanticCache",
    "SemanticCacheStatistics",
    "Sha256KeyScheme",
    "TlsVerificationError",
    "UncacheableAnswerError",
    "combine_guards",
    "create_async_elasticsearch_client",
    "create_elasticsearch_client",
    "default_hit_guard",
    "number_guard",
    "split_prompt",
]
