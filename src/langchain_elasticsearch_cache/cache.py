"""Drop-in module: the same names as ``langchain_elasticsearch.cache``."""

from .adapters.elasticsearch import (
    create_async_elasticsearch_client,
    create_elasticsearch_client,
)
from .interfaces.langchain.elasticsearch_caches import AsyncElasticsearchCache, ElasticsearchCache
from .interfaces.langchain.elasticsearch_embeddings import (
    AsyncElasticsearchEmbeddingsCache,
    ElasticsearchEmbeddingsCache,
)

__all__ = [
    "AsyncElasticsearchCache",
    "AsyncElasticsearchEmbeddingsCache",
    "ElasticsearchCache",
    "ElasticsearchEmbeddingsCache",
    "create_async_elasticsearch_client",
    "create_elasticsearch_client",
]
