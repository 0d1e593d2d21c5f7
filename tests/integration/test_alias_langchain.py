"""Alias scenarios through the LangChain classes: the newest entry wins (the seed's oldest)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation
from langchain_elasticsearch.cache import ElasticsearchCache as SeedCache

from langchain_elasticsearch_cache import (
    AsyncElasticsearchEmbeddingsCache,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    EMBEDDING_RECORDS,
    LLM_RECORDS,
    RecordKind,
)

pytestmark = pytest.mark.elasticsearch

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _two_indices_behind_alias(
    es: Elasticsearch, alias: str, kind: RecordKind[Any]
) -> tuple[str, str]:
    """A rolled-over alias: two indices with the cache mapping, the second one written."""
    old, new = f"{alias}-000001", f"{alias}-000002"
    es.indices.create(index=old, mappings=kind.mappings, aliases={alias: {}})
    es.indices.put_alias(index=old, name=alias, is_write_index=False)
    es.indices.create(index=new, mappings=kind.mappings, aliases={alias: {"is_write_index": True}})
    return old, new


def _clock(moment: datetime):  # type: ignore[no-untyped-def]
    return lambda: moment


def test_latest_llm_entry_wins_across_the_alias(es_client: Elasticsearch, index_name: str) -> None:
    old, new = _two_indices_behind_alias(es_client, index_name, LLM_RECORDS)
    # the same key, written into the old index first (older) then through the alias (newer)
    older = ElasticsearchCache(old, client=es_client, key_scheme="legacy", clock=_clock(T0))
    older.update("prompt", "llm", [Generation(text="stale answer")])
    newer = ElasticsearchCache(
        index_name, client=es_client, key_scheme="legacy", clock=_clock(T0 + timedelta(days=1))
    )
    newer.update("prompt", "llm", [Generation(text="fresh answer")])
    es_client.indices.refresh(index=index_name)
    assert es_client.count(index=old)["count"] == 1
    assert es_client.count(index=new)["count"] == 1

    reader = ElasticsearchCache(index_name, client=es_client, key_scheme="legacy")
    assert reader.lookup("prompt", "llm") == [Generation(text="fresh answer")]
    # the seed, on the same alias, answers with the oldest copy: the bug this fixes
    assert SeedCache(index_name, client=es_client).lookup("prompt", "llm") == [
        Generation(text="stale answer")
    ]


def test_latest_embedding_wins_for_mget_across_the_alias(
    es_client: Elasticsearch, index_name: str
) -> None:
    old, _ = _two_indices_behind_alias(es_client, index_name, EMBEDDING_RECORDS)
    ElasticsearchEmbeddingsCache(old, client=es_client, clock=_clock(T0)).mset(
        [("a", b"old a"), ("b", b"old b")]
    )
    ElasticsearchEmbeddingsCache(
        index_name, client=es_client, clock=_clock(T0 + timedelta(hours=1))
    ).mset([("a", b"new a")])
    reader = ElasticsearchEmbeddingsCache(
        index_name, client=es_client, maximum_duplicates_allowed=2
    )
    assert reader.mget(["a", "b", "c", "a"]) == [b"new a", b"old b", None, b"new a"]
    # listing streams documents: a key held by both indices is listed once per copy
    assert sorted(reader.yield_keys()) == ["a", "a", "b"]
    reader.mdelete(["a"])
    assert reader.mget(["a", "b"]) == [None, b"old b"]


async def test_async_latest_embedding_wins_across_the_alias(
    es_client: Elasticsearch, index_name: str
) -> None:
    from elasticsearch import AsyncElasticsearch

    old, _ = _two_indices_behind_alias(es_client, index_name, EMBEDDING_RECORDS)
    ElasticsearchEmbeddingsCache(old, client=es_client, clock=_clock(T0)).mset([("k", b"old")])
    ElasticsearchEmbeddingsCache(
        index_name, client=es_client, clock=_clock(T0 + timedelta(seconds=1))
    ).mset([("k", b"new")])
    async with AsyncElasticsearch(es_client.transport.node_pool.get().base_url) as client:
        reader = AsyncElasticsearchEmbeddingsCache(index_name, client=client)
        assert await reader.amget(["k"]) == [b"new"]


def test_clear_on_an_alias_empties_every_index(es_client: Elasticsearch, index_name: str) -> None:
    old, new = _two_indices_behind_alias(es_client, index_name, LLM_RECORDS)
    ElasticsearchCache(old, client=es_client).update("p1", "l", [Generation(text="1")])
    cache = ElasticsearchCache(index_name, client=es_client)
    cache.update("p2", "l", [Generation(text="2")])
    cache.clear()
    es_client.indices.refresh(index=index_name)
    assert es_client.count(index=old)["count"] == 0
    assert es_client.count(index=new)["count"] == 0
    assert cache.lookup("p1", "l") is None
