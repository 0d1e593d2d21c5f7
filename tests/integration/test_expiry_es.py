"""Expiry on a real Elasticsearch node: ``ttl`` lookups and ``purge_expired``.

What Elasticsearch decides is tested here: the range query behind ``purge_expired`` (with
its millisecond ``date`` precision), deletion without ``_delete_by_query`` on this node,
and alias routing. Time is a clock the test moves (``clock=``), or a document written with
an old timestamp through the raw client: no sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    EMBEDDING_PROPERTIES,
    LLM_PROPERTIES,
)

pytestmark = pytest.mark.elasticsearch

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
LLM = "[('_type', 'fake-chat'), ('stop', None)]"


def gen(text: str) -> list[Generation]:
    return [Generation(text=text)]


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, when: datetime) -> Clock:
        self.now = when
        return self


def stored_ids(client: Elasticsearch, index: str) -> set[str]:
    """Every document id in ``index`` (an index or alias), after a refresh."""
    client.indices.refresh(index=index)
    answer = client.search(index=index, size=10_000, source=False, query={"match_all": {}})
    return {hit["_id"] for hit in answer["hits"]["hits"]}


def doc_count(client: Elasticsearch, index: str) -> int:
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


# -- lookups ------------------------------------------------------------------------------


def test_llm_entry_is_a_hit_before_its_ttl_and_a_miss_after(
    es_client: Elasticsearch, index_name: str
) -> None:
    clock = Clock()
    cache = ElasticsearchCache(index_name, client=es_client, ttl=60, clock=clock)
    cache.update("prompt", LLM, gen("fresh"))

    assert cache.lookup("prompt", LLM) == gen("fresh")
    clock.at(T0 + timedelta(seconds=59, microseconds=999_999))
    assert cache.lookup("prompt", LLM) == gen("fresh")
    clock.at(T0 + timedelta(seconds=60))
    assert cache.lookup("prompt", LLM) is None  # expired at exactly ttl
    # expiry hides the entry; it is still stored until purged
    assert doc_count(es_client, index_name) == 1
    stats = cache.statistics.operations["lookup"]
    assert (stats.hits, stats.misses) == (2, 1)

    # writing again makes it live again
    cache.update("prompt", LLM, gen("renewed"))
    assert cache.lookup("prompt", LLM) == gen("renewed")


def test_document_with_an_old_timestamp_is_a_miss(
    es_client: Elasticsearch, index_name: str
) -> None:
    """The real clock, and a document aged through the raw client."""
    cache = ElasticsearchCache(index_name, client=es_client, ttl=3600)
    cache.update("old", LLM, gen("old answer"))
    cache.update("new", LLM, gen("new answer"))
    key = cache.policy.key("old", LLM)
    two_hours_ago = datetime.now(timezone.utc) - timedelta(hours=2)
    es_client.update(
        index=index_name, id=key, doc={"timestamp": two_hours_ago.isoformat()}, refresh=True
    )

    assert cache.lookup("old", LLM) is None
    assert cache.lookup("new", LLM) == gen("new answer")
    # the same index without a ttl still answers: expiry is the reader's rule
    assert ElasticsearchCache(index_name, client=es_client).lookup("old", LLM) == gen("old answer")


def test_seed_style_naive_timestamps_and_missing_timestamps_expire(
    es_client: Elasticsearch, index_name: str
) -> None:
    """langchain_elasticsearch writes naive local times; a document may lack one."""
    cache = ElasticsearchCache(index_name, client=es_client, ttl=3600)
    cache.update("naive", LLM, gen("a"))
    cache.update("none", LLM, gen("b"))
    cache.update("fresh", LLM, gen("c"))
    naive_old = (datetime.now(timezone.utc) - timedelta(days=1)).replace(tzinfo=None)
    naive_key, none_key = cache.policy.key("naive", LLM), cache.policy.key("none", LLM)
    es_client.update(index=index_name, id=naive_key, doc={"timestamp": naive_old.isoformat()})
    without_time = dict(es_client.get(index=index_name, id=none_key)["_source"])
    del without_time["timestamp"]
    es_client.index(index=index_name, id=none_key, document=without_time, refresh=True)
    assert cache.lookup("naive", LLM) is None
    assert cache.lookup("none", LLM) is None
    assert cache.lookup("fresh", LLM) == gen("c")

    assert cache.purge_expired() == 2
    assert stored_ids(es_client, index_name) == {cache.policy.key("fresh", LLM)}


def test_embedding_entry_expires(es_client: Elasticsearch, index_name: str) -> None:
    clock = Clock()
    store = ElasticsearchEmbeddingsCache(
        index_name, client=es_client, namespace="m", ttl=timedelta(minutes=5), clock=clock
    )
    store.mset([("a", b"\x00\x01"), ("b", b"\x02")])
    clock.at(T0 + timedelta(minutes=4))
    store.mset([("c", b"\x03")])
    assert store.mget(["a", "b", "c"]) == [b"\x00\x01", b"\x02", b"\x03"]
    clock.at(T0 + timedelta(minutes=5))
    assert store.mget(["a", "b", "c"]) == [None, None, b"\x03"]
    assert list(store.yield_keys()) == ["c"]


async def test_async_entries_expire(
    async_es_client: AsyncElasticsearch, es_client: Elasticsearch, index_name: str
) -> None:
    clock = Clock()
    cache = AsyncElasticsearchCache(
        f"{index_name}-llm", client=async_es_client, ttl=10, clock=clock
    )
    store = AsyncElasticsearchEmbeddingsCache(
        f"{index_name}-emb", client=async_es_client, ttl=10, clock=clock
    )
    await cache.aupdate("p", LLM, gen("x"))
    await store.amset([("k", b"v")])
    clock.at(T0 + timedelta(seconds=9))
    assert await cache.alookup("p", LLM) == gen("x")
    assert await store.amget(["k"]) == [b"v"]
    clock.at(T0 + timedelta(seconds=10))
    assert await cache.alookup("p", LLM) is None
    assert await store.amget(["k"]) == [None]


# -- purge_expired ------------------------------------------------------------------------


def _write_llm_ages(cache: ElasticsearchCache, clock: Clock, ages: dict[str, float]) -> None:
    """Write one entry per prompt, ``ages[prompt]`` seconds before T0."""
    for prompt, age in ages.items():
        clock.at(T0 - timedelta(seconds=age))
        cache.update(prompt, LLM, gen(prompt))


AGES = {
    # prompt: seconds before T0 when it was written; the ttl is 3600 s
    "ancient": 10 * 86400,
    "old": 7200,
    "exactly-ttl": 3600,  # expired at T0 (ttl has passed exactly)
    "ttl-minus-1us": 3600 - 1e-6,  # same millisecond as the cutoff, but one microsecond newer
    "young": 1800,
    "now": 0,
}
EXPIRED = {"ancient", "old", "exactly-ttl"}


def test_purge_expired_removes_exactly_the_expired_llm_entries(
    es_client: Elasticsearch, index_name: str
) -> None:
    clock = Clock()
    cache = ElasticsearchCache(index_name, client=es_client, ttl=3600, clock=clock)
    _write_llm_ages(cache, clock, AGES)
    keys = {prompt: cache.policy.key(prompt, LLM) for prompt in AGES}
    assert doc_count(es_client, index_name) == len(AGES)

    clock.at(T0)
    # what lookups say before the purge is what the purge deletes
    assert {p for p in AGES if cache.lookup(p, LLM) is None} == EXPIRED
    assert cache.purge_expired() == len(EXPIRED)
    assert stored_ids(es_client, index_name) == {keys[p] for p in AGES if p not in EXPIRED}
    for prompt in set(AGES) - EXPIRED:
        assert cache.lookup(prompt, LLM) == gen(prompt)

    assert cache.purge_expired() == 0  # nothing left to purge
    assert cache.statistics.operations["purge_expired"].calls == 2


def test_purge_expired_without_ttl_deletes_nothing(
    es_client: Elasticsearch, index_name: str
) -> None:
    clock = Clock()
    cache = ElasticsearchCache(index_name, client=es_client, clock=clock)
    _write_llm_ages(cache, clock, AGES)
    assert cache.purge_expired() == 0
    assert doc_count(es_client, index_name) == len(AGES)


def test_purge_expired_embeddings(es_client: Elasticsearch, index_name: str) -> None:
    clock = Clock()
    store = ElasticsearchEmbeddingsCache(
        index_name, client=es_client, namespace="ns", ttl=3600, clock=clock
    )
    for key, age in AGES.items():
        clock.at(T0 - timedelta(seconds=age))
        store.mset([(key, key.encode())])
    clock.at(T0)
    assert store.purge_expired() == len(EXPIRED)
    assert stored_ids(es_client, index_name) == {
        store.policy.key(key) for key in AGES if key not in EXPIRED
    }
    assert sorted(store.yield_keys()) == sorted(set(AGES) - EXPIRED)


async def test_async_purge_expired(
    async_es_client: AsyncElasticsearch, es_client: Elasticsearch, index_name: str
) -> None:
    clock = Clock()
    llm_index, emb_index = f"{index_name}-llm", f"{index_name}-emb"
    cache = AsyncElasticsearchCache(llm_index, client=async_es_client, ttl=3600, clock=clock)
    store = AsyncElasticsearchEmbeddingsCache(
        emb_index, client=async_es_client, ttl=3600, clock=clock
    )
    for key, age in AGES.items():
        clock.at(T0 - timedelta(seconds=age))
        await cache.aupdate(key, LLM, gen(key))
        await store.amset([(key, key.encode())])
    clock.at(T0)
    assert await cache.apurge_expired() == len(EXPIRED)
    assert await store.apurge_expired() == len(EXPIRED)
    live = set(AGES) - EXPIRED
    assert stored_ids(es_client, llm_index) == {cache.policy.key(k, LLM) for k in live}
    assert stored_ids(es_client, emb_index) == {store.policy.key(k) for k in live}
    for key in live:
        assert await cache.alookup(key, LLM) == gen(key)


@pytest.fixture
def llm_alias(es_client: Elasticsearch, index_name: str) -> Iterator[tuple[str, str, str]]:
    """``index_name`` as an alias over ``<name>-a`` (older) and ``<name>-b`` (write)."""
    first, second = f"{index_name}-a", f"{index_name}-b"
    for index in (first, second):
        es_client.indices.create(index=index, mappings={"properties": dict(LLM_PROPERTIES)})
    es_client.indices.update_aliases(
        actions=[
            {"add": {"index": first, "alias": index_name}},
            {"add": {"index": second, "alias": index_name, "is_write_index": True}},
        ]
    )
    yield index_name, first, second


def test_purge_expired_through_an_alias_over_two_indices(
    es_client: Elasticsearch, llm_alias: tuple[str, str, str]
) -> None:
    alias, first, second = llm_alias
    clock = Clock()
    # entries written while <name>-a was the write index, then the alias rolled over
    cache_a = ElasticsearchCache(first, client=es_client, clock=clock)
    _write_llm_ages(
        cache_a, clock, {"a-ancient": 86400, "a-old": 7200, "a-young": 60, "both": 9000}
    )
    cache = ElasticsearchCache(alias, client=es_client, ttl=3600, clock=clock)
    _write_llm_ages(cache, clock, {"b-old": 4000, "b-young": 10, "both": 30})

    key = cache.policy.key
    assert stored_ids(es_client, first) == {
        key(p, LLM) for p in ("a-ancient", "a-old", "a-young", "both")
    }
    assert stored_ids(es_client, second) == {key(p, LLM) for p in ("b-old", "b-young", "both")}

    clock.at(T0)
    # the newer copy of "both" (in -b) is what lookups see
    assert cache.lookup("both", LLM) == gen("both")
    assert cache.purge_expired() == 4  # a-ancient, a-old, the old copy of "both", b-old

    assert stored_ids(es_client, first) == {key("a-young", LLM)}
    assert stored_ids(es_client, second) == {key("b-young", LLM), key("both", LLM)}
    for prompt in ("a-young", "b-young", "both"):
        assert cache.lookup(prompt, LLM) == gen(prompt)


def test_purge_expired_embeddings_through_an_alias(
    es_client: Elasticsearch, index_name: str
) -> None:
    first, second = f"{index_name}-a", f"{index_name}-b"
    for index in (first, second):
        es_client.indices.create(index=index, mappings={"properties": dict(EMBEDDING_PROPERTIES)})
    es_client.indices.update_aliases(
        actions=[
            {"add": {"index": first, "alias": index_name}},
            {"add": {"index": second, "alias": index_name, "is_write_index": True}},
        ]
    )
    clock = Clock()
    old_store = ElasticsearchEmbeddingsCache(first, client=es_client, ttl=60, clock=clock)
    clock.at(T0 - timedelta(seconds=120))
    old_store.mset([("x", b"1"), ("y", b"2")])
    store = ElasticsearchEmbeddingsCache(index_name, client=es_client, ttl=60, clock=clock)
    clock.at(T0 - timedelta(seconds=30))
    store.mset([("y", b"3"), ("z", b"4")])
    clock.at(T0)
    assert store.purge_expired() == 2
    assert doc_count(es_client, first) == 0
    assert doc_count(es_client, second) == 2
    assert store.mget(["x", "y", "z"]) == [None, b"3", b"4"]
