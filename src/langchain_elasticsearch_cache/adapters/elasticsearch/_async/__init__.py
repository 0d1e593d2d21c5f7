"""The Elasticsearch repository. ``_async`` is the source; ``_sync`` is generated from it."""

from .repository import AsyncElasticsearchRepository
from .vector_repository import AsyncElasticsearchVectorRepository

__all__ = ["AsyncElasticsearchRepository", "AsyncElasticsearchVectorRepository"]
