# Generated from _async/__init__.py by scripts/run_unasync.py: do not edit by hand.
# Change the async source and run `python scripts/run_unasync.py`.
"""The Elasticsearch repository. ``_async`` is the source; ``_sync`` is generated from it."""

from .repository import ElasticsearchRepository
from .vector_repository import ElasticsearchVectorRepository

__all__ = ["ElasticsearchRepository", "ElasticsearchVectorRepository"]
