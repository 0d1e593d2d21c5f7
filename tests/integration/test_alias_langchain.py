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
    # a key held by both indices is listed once (the seed's store lists nothing at all)
    assert sorted(reader.yield_keys()) == ["a", "b"]
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


def _scattered_copies(es: Elasticsearch, alias: str) -> dict[str, bytes]:
    """Sixty keys over a rolled-over alias: some only in one index, some in both with the
    newer copy in either index or with equal timestamps, one whose newest copy is corrupt.
    Returns what ``mget`` answers for each key."""
    old, new = _two_indices_behind_alias(es, alias, EMBEDDING_RECORDS)
    expected: dict[str, bytes] = {}
    in_old = ElasticsearchEmbeddingsCache(old, client=es, store_input=True, clock=_clock(T0))
    late_old = ElasticsearchEmbeddingsCache(old, client=es, clock=_clock(T0 + timedelta(days=2)))
    in_new = ElasticsearchEmbeddingsCache(new, client=es, clock=_clock(T0 + timedelta(days=1)))
    for i in range(60):
        key, shape = f"k{i:02d}", i % 5
        if shape == 0:  # only in the old index
            in_old.mset([(key, b"old only")])
            expected[key] = b"old only"
        elif shape == 1:  # only in the new index
            in_new.mset([(key, b"new only")])
            expected[key] = b"new only"
        elif shape == 2:  # both, the new index newer
            in_old.mset([(key, b"stale")])
            in_new.mset([(key, b"fresh in new")])
            expected[key] = b"fresh in new"
        elif shape == 3:  # both, the old index newer (written there after a rollback)
            in_new.mset([(key, b"stale")])
            late_old.mset([(key, b"fresh in old")])
            expected[key] = b"fresh in old"
        else:  # both at the same moment: the first index of the alias wins, as in mget
            same = ElasticsearchEmbeddingsCache(old, client=es, clock=_clock(T0))
            same.mset([(key, b"tie")])
            ElasticsearchEmbeddingsCache(new, client=es, clock=_clock(T0)).mset([(key, b"tie")])
            expected[key] = b"tie"
    # the newest copy of k60 has no vector: the older, valid one is the answer
    in_old.mset([("k60", b"valid but older")])
    doc_id = in_old.policy.key("k60")
    es.index(index=new, id=doc_id, document={"timestamp": (T0 + timedelta(days=3)).isoformat()})
    expected["k60"] = b"valid but older"
    return expected


@pytest.mark.parametrize("page_size", [1, 7, 1000])
async def test_listing_an_alias_names_each_key_once_with_the_copy_get_returns(
    es_client: Elasticsearch, index_name: str, page_size: int
) -> None:
    from elasticsearch import AsyncElasticsearch

    from langchain_elasticsearch_cache.adapters.elasticsearch import (
        AsyncElasticsearchRepository,
        ElasticsearchRepository,
    )

    expected = _scattered_copies(es_client, index_name)
    es_client.indices.refresh(index=index_name)
    assert es_client.count(index=index_name)["count"] == len(expected) + 37  # 37 in both
    store = ElasticsearchEmbeddingsCache(index_name, client=es_client, maximum_duplicates_allowed=2)
    assert store.mget(list(expected)) == list(expected.values())

    keys = list(store.yield_keys())
    assert sorted(keys) == sorted(expected)  # each key once, none lost
    assert sorted(store.yield_keys(prefix="k6")) == ["k60"]

    repository = ElasticsearchRepository(es_client, index_name, EMBEDDING_RECORDS)
    old, new = f"{index_name}-000001", f"{index_name}-000002"
    ids = {name: store.policy.key(name) for name in ("k00", "k01", "k02", "k03", "k04", "k60")}
    assert repository.newest_copy_indices([*ids.values(), "absent", ids["k00"]]) == {
        ids["k00"]: old,
        ids["k01"]: new,
        ids["k02"]: new,
        ids["k03"]: old,
        ids["k04"]: old,  # a tie: the index whose name sorts first
        ids["k60"]: old,  # the newer copy is corrupt
    }
    plain = ElasticsearchRepository(es_client, new, EMBEDDING_RECORDS)
    assert plain.newest_copy_indices([ids["k00"], ids["k01"], ids["k60"]]) == {ids["k01"]: new}
    listed = {record.key: record for record in repository.scan(page_size=page_size)}
    assert listed == {key: repository.get(key) for key in listed}
    assert len(listed) == len(expected) == len(list(repository.scan(page_size=page_size)))

    async with AsyncElasticsearch(es_client.transport.node_pool.get().base_url) as client:
        arepository = AsyncElasticsearchRepository(client, index_name, EMBEDDING_RECORDS)
        alisted = [record async for record in arepository.scan(page_size=page_size)]
        assert {record.key: record for record in alisted} == listed
        assert len(alisted) == len(listed)


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
