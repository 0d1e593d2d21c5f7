"""Retention by index for large caches: roll over to a new index behind the cache's alias
and drop whole indices whose newest entry has expired (no ILM needed).

Example (``client`` from ``create_elasticsearch_client``)::

    bootstrap_alias(client, "llm-cache", "llm")       # once: llm-cache-000001 behind llm-cache
    rollover(client, "llm-cache", max_age="1d")       # on a schedule: a new index when due
    purge_by_index(client, "llm-cache", ttl=timedelta(days=7))   # drop expired indices

See :mod:`langchain_elasticsearch_cache.adapters.elasticsearch.retention` for how it works
and how it maps to an ILM policy.
"""

from .adapters.elasticsearch.retention import (
    AliasIndex,
    DroppedIndex,
    RolloverResult,
    alias_indices,
    bootstrap_alias,
    purge_by_index,
    rollover,
)

__all__ = [
    "AliasIndex",
    "DroppedIndex",
    "RolloverResult",
    "alias_indices",
    "bootstrap_alias",
    "purge_by_index",
    "rollover",
]
