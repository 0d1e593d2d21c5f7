"""Drop-in module: the same names as ``langchain_elasticsearch.cache``."""

from .adapters.elasticsearch import (
    create_async_elasticsearch_client,
    create_elasticsearch_client,
)
from .interfaces.langchain.elasticsearch import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    ElasticsearchCache,
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
