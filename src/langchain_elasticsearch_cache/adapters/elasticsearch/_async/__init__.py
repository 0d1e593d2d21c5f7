"""The Elasticsearch repository. ``_async`` is the source; ``_sync`` is generated from it."""

from .repository import AsyncElasticsearchRepository

__all__ = ["AsyncElasticsearchRepository"]
