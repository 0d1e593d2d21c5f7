"""The pool of a semantic index on the real node, sync and async: the one document that
sums every entry's verified-cache observations (``PoolingVectorRepository``).

Checked here: concurrent observations on different entries lose none in the pool (each
writer a repository object of its own, as worker processes would be, so nothing but the
node's sequence numbers keeps their pool writes apart); the pool is no entry for any
listing, count, export, statistics, purge, key lookup or kNN search, and ``clear`` takes
it; a malformed pool reads as empty and is repaired by the next write; an index without
a pool (made by an earlier version) reads as empty; reads are cached for
``pool_cache_seconds``; behind an alias the pools of the indices are summed.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from langchain_elasticsearch_cache import ConfigurationError
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    SEMANTIC_PROPERTIES,
    AsyncElasticsearchVectorRepository,
    ElasticsearchVectorRepository,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import VERIFIED_POOL_ID
from langchain_elasticsearch_cache.domain.ports import (
    AsyncPoolingVectorRepository,
    PoolingVectorRepository,
)
from langchain_elasticsearch_cache.domain.semantic.verified import ObservationBin
from langchain_elasticsearch_cache.domain.semantic_records import (
    SemanticRecord,
    VectorQuery,
    semantic_record_to_document,
)

from .test_cli import cli, environment

pytestmark = pytest.mark.elasticsearch

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
#: the semantic mapping of the versions before verified hits (no ``observations``)
PREVIOUS_PROPERTIES = {name: v for name, v in SEMANTIC_PROPERTIES.items() if name != "observations"}


def _entry(key: str, *, timestamp: datetime = T0, model: str = "m") -> SemanticRecord:
    return SemanticRecord(
        key=key,
        llm_output=('[{"text": "Paris"}]',),
        timestamp=timestamp,
        llm_string_hash=model,
        context_hash="c",
        vector=(1.0, 0.0, 0.0),
        llm_params="[('_type', 'fake-llm'), ('stop', None)]",
    )


def _sums(bins: tuple[ObservationBin, ...]) -> tuple[int, int]:
    return sum(item.right for item in bins), sum(item.wrong for item in bins)


def _raw_pool(client: Elasticsearch, index: str) -> Any:
    answer = client.options(ignore_status=404).get(index=index, id=VERIFIED_POOL_ID)
    return answer.body["_source"] if answer.body.get("found") else None


def test_the_repositories_are_pooling_ones(
    es_client: Elasticsearch, async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    assert isinstance(ElasticsearchVectorRepository(es_client, index_name), PoolingVectorRepository)
    repository = AsyncElasticsearchVectorRepository(async_es_client, index_name)
    assert isinstance(repository, AsyncPoolingVectorRepository)


def test_threads_on_different_entries_lose_no_observation_in_the_pool(
    es_client: Elasticsearch, index_name: str
) -> None:
    writers, each = 6, 12
    ElasticsearchVectorRepository(es_client, index_name).put_many(
        [_entry(f"k{n}") for n in range(writers)]
    )
    repositories = [ElasticsearchVectorRepository(es_client, index_name) for _ in range(writers)]
    results: list[bool] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(each):
                similarity = 0.85 + (n + i) % 10 / 100
                results.append(repositories[n].add_observation(f"k{n}", similarity, i % 3 != 0))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [True] * writers * each
    assert [repository.pool_write_failures for repository in repositories] == [0] * writers
    pool = ElasticsearchVectorRepository(es_client, index_name).pooled_observations()
    assert _sums(pool) == (writers * 8, writers * 4)  # every observation, none twice
    for n in range(writers):  # and each entry has its own
        entry = repositories[0].get(f"k{n}")
        assert entry is not None and sum(item.total for item in entry.observations) == each
    # the stored form is the entries' own field, and nothing else
    assert set(_raw_pool(es_client, index_name)) == {"observations"}


async def test_tasks_on_different_entries_lose_no_observation_in_the_pool(
    async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    """Tasks sharing one repository (one process) and a second repository (another)."""
    repository = AsyncElasticsearchVectorRepository(async_es_client, index_name)
    other = AsyncElasticsearchVectorRepository(async_es_client, index_name)
    await repository.put_many([_entry(f"k{n}") for n in range(8)])

    async def work(n: int) -> list[bool]:
        writer = other if n % 3 == 0 else repository
        return [
            await writer.add_observation(f"k{n}", 0.8 + (n + i) % 20 / 100, i % 2 == 0)
            for i in range(10)
        ]

    results = await asyncio.gather(*(work(n) for n in range(8)))
    assert [flag for batch in results for flag in batch] == [True] * 80
    assert (repository.pool_write_failures, other.pool_write_failures) == (0, 0)
    fresh = AsyncElasticsearchVectorRepository(async_es_client, index_name)
    assert _sums(await fresh.pooled_observations()) == (40, 40)
    # an absent entry adds nothing to the pool
    assert await repository.add_observation("absent", 0.9, True) is False
    fresh.pool_cache_seconds = 0.0
    assert _sums(await fresh.pooled_observations()) == (40, 40)


def test_the_pool_is_no_entry_anywhere(
    es_url: str, es_client: Elasticsearch, index_name: str, tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    repository = ElasticsearchVectorRepository(es_client, index_name, refresh=True)
    old, recent = _entry("old", timestamp=now - timedelta(days=30)), _entry("new", timestamp=now)
    repository.put_many([old, recent, _entry("other", timestamp=now, model="m2")])
    assert repository.add_observation("old", 0.93, True) is True
    assert _raw_pool(es_client, index_name) == {"observations": [[0.93, 1, 0]]}

    assert repository.count() == 3
    assert {record.key for record in repository.scan(page_size=1)} == {"old", "new", "other"}
    for call in (
        lambda: repository.get(VERIFIED_POOL_ID),
        lambda: repository.get_many(["new", VERIFIED_POOL_ID]),
        lambda: repository.add_observation(VERIFIED_POOL_ID, 0.9, True),
        lambda: repository.put(_entry(VERIFIED_POOL_ID)),
        lambda: repository.delete_many([VERIFIED_POOL_ID]),
    ):
        with pytest.raises(ConfigurationError, match="reserved"):
            call()
    query = VectorQuery(
        vector=(1.0, 0.0, 0.0), llm_string_hash="m", context_hash="c", min_similarity=-1.0, k=10
    )
    assert sorted(c.record.key for c in repository.nearest(query)) == ["new", "old"]

    env = environment(ES_URL=es_url)
    stats = cli("stats", index_name, "--json", env=env)
    assert stats.returncode == 0, stats.stderr
    report = json.loads(stats.stdout)
    assert (report["documents"], report["indices"]) == (3, {index_name: 3})
    assert report["models"] == {"fake-llm": 3}  # no "(not stored)" for the pool
    exported = cli("export", index_name, "-o", str(tmp_path / "out.jsonl"), env=env)
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.strip() == f"exported 3 entries from {index_name}"
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ["new", "old", "other"]
    copy = f"{index_name}-copy"
    imported = cli("import", copy, "-i", str(tmp_path / "out.jsonl"), env=env)
    assert imported.returncode == 0, imported.stderr
    assert ElasticsearchVectorRepository(es_client, copy).count() == 3
    assert _raw_pool(es_client, copy) is None  # an import brings no pool

    # a purge selects documents by timestamp, absent counting as the epoch: not the pool
    purged = cli("purge", index_name, "--older-than", "7d", env=env)
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.startswith("purged 1 entries"), purged.stdout
    assert repository.delete_older_than(now + timedelta(days=1)) == 2
    assert repository.count() == 0
    assert _raw_pool(es_client, index_name) == {"observations": [[0.93, 1, 0]]}
    assert _sums(repository.pooled_observations()) == (1, 0)

    # clear counts the entries it deleted, and takes the pool with them
    repository.put(recent)
    assert repository.add_observation("new", 0.95, False) is True
    assert _sums(repository.pooled_observations()) == (1, 1)
    assert repository.clear() == 1
    assert _raw_pool(es_client, index_name) is None
    assert repository.pooled_observations() == ()


@pytest.mark.parametrize(
    "hostile",
    [
        "junk",
        {"similarity": 0.9},
        [[0.9, 1]],
        [[0.9, -1, 0]],
        [[0.9, 1.5, 0]],
        [[0.9, True, 0]],
        [[2.0, 1, 0]],
        [["0.9", 1, 0]],
        [[0.9, 10**30, "x"]],
    ],
)
def test_a_malformed_pool_reads_as_empty_and_is_replaced(
    es_client: Elasticsearch, index_name: str, hostile: Any, caplog: pytest.LogCaptureFixture
) -> None:
    repository = ElasticsearchVectorRepository(es_client, index_name)
    repository.put(_entry("k"))
    es_client.index(index=index_name, id=VERIFIED_POOL_ID, document={"observations": hostile})
    assert repository.pooled_observations() == ()
    assert "malformed" in caplog.text
    assert repository.count() == 1  # still no entry
    assert repository.add_observation("k", 0.91, True) is True
    assert repository.pool_write_failures == 0
    assert _raw_pool(es_client, index_name) == {"observations": [[0.91, 1, 0]]}
    assert _sums(ElasticsearchVectorRepository(es_client, index_name).pooled_observations()) == (
        1,
        0,
    )


def test_an_index_of_an_earlier_version_has_an_empty_pool_then_gains_one(
    es_client: Elasticsearch, index_name: str
) -> None:
    es_client.indices.create(
        index=index_name, mappings={"dynamic": "strict", "properties": dict(PREVIOUS_PROPERTIES)}
    )
    es_client.index(
        index=index_name, id="k", document=semantic_record_to_document(_entry("k")), refresh=True
    )
    repository = ElasticsearchVectorRepository(es_client, index_name)
    assert repository.pooled_observations() == ()
    assert repository.add_observation("k", 0.9, True) is True
    assert _sums(repository.pooled_observations()) == (1, 0)
    properties = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert set(properties["properties"]) == set(SEMANTIC_PROPERTIES)  # no field of its own


async def test_reads_are_cached_for_pool_cache_seconds(
    async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    reader = AsyncElasticsearchVectorRepository(async_es_client, index_name)
    writer = AsyncElasticsearchVectorRepository(async_es_client, index_name)
    await writer.put(_entry("k"))
    reader.pool_cache_seconds = 3600.0
    assert await reader.pooled_observations() == ()  # read: no pool yet
    assert await writer.add_observation("k", 0.9, True) is True
    assert await reader.pooled_observations() == ()  # answered from the last read
    assert _sums(await writer.pooled_observations()) == (1, 0)  # its own write, at once
    reader.pool_cache_seconds = 0.0
    assert _sums(await reader.pooled_observations()) == (1, 0)  # read again


def test_behind_an_alias_the_pools_of_the_indices_are_summed(
    es_client: Elasticsearch, index_name: str
) -> None:
    alias = f"{index_name}-alias"
    first, second = f"{index_name}-000001", f"{index_name}-000002"
    previous = {"properties": dict(PREVIOUS_PROPERTIES)}
    es_client.indices.create(index=first, mappings=previous, aliases={alias: {}})
    es_client.indices.create(
        index=second, mappings=previous, aliases={alias: {"is_write_index": True}}
    )
    for index, key in ((first, "a"), (second, "b")):
        es_client.index(index=index, id=key, document=semantic_record_to_document(_entry(key)))
    repository = ElasticsearchVectorRepository(es_client, alias)
    assert repository.add_observation("a", 0.9, True) is True
    assert repository.add_observation("b", 0.9, False) is True
    assert repository.add_observation("b", 0.95, True) is True
    # each index holds the pool of its own entries; the reader sums them
    assert _raw_pool(es_client, first) == {"observations": [[0.9, 1, 0]]}
    assert _raw_pool(es_client, second) == {"observations": [[0.9, 0, 1], [0.95, 1, 0]]}
    pool = ElasticsearchVectorRepository(es_client, alias).pooled_observations()
    assert [(item.similarity, item.right, item.wrong) for item in pool] == [
        (0.9, 1, 1),
        (0.95, 1, 0),
    ]
    assert repository.count() == 2
    assert repository.clear() == 2
    assert _raw_pool(es_client, first) is None and _raw_pool(es_client, second) is None
