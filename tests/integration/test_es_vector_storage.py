"""How the semantic repository stores prompt vectors, against the real node (issue 19).

On Elasticsearch 9.1+ a new index keeps vectors out of ``_source`` (stored once, in the
vector index) and the repository reads them back from the index; a vector the index would
not give back bit for bit (not of unit length: a ``cosine`` field stores it normalised) is
also kept exactly in ``_source``. Before 9.1 the mapping leaves the vector out of
``_source`` (``_source.excludes``) and the repository reads it from doc values. Either
way ``get``, ``get_many``, ``scan`` (export) and ``put_many`` (import) give back the
float32 values that were indexed, bit for bit.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import struct
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.embeddings import Embeddings
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import AsyncRepositorySemanticCache, RepositorySemanticCache
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    AsyncElasticsearchVectorRepository,
    ElasticsearchVectorRepository,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import (
    SEMANTIC_PROPERTIES,
    VECTOR_EXACT_FIELD,
    cache_marker,
    vectors_out_of_source,
)
from langchain_elasticsearch_cache.domain.errors import ConfigurationError
from langchain_elasticsearch_cache.domain.semantic_records import SemanticRecord, VectorQuery

pytestmark = pytest.mark.elasticsearch

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
DIMS = 64
#: lengths of the test vectors: unit (as embedding models return), near unit, and others
NORMS = (1.0, 1.0 + 1e-6, 1.0 + 2e-3, 0.7, 3.0)


def _float32(vector: tuple[float, ...]) -> tuple[float, ...]:
    return struct.unpack(f"<{len(vector)}f", struct.pack(f"<{len(vector)}f", *vector))


def _vector(rng: random.Random, norm: float) -> tuple[float, ...]:
    """A random direction of length ``norm``, in float64 (as an embedding API's JSON)."""
    values = [rng.gauss(0.0, 1.0) for _ in range(DIMS)]
    length = math.sqrt(sum(v * v for v in values))
    return tuple(v / length * norm for v in values)


def _record(key: str, vector: tuple[float, ...]) -> SemanticRecord:
    return SemanticRecord(
        key=key,
        llm_output="answer",
        timestamp=T0,
        llm_string_hash="model",
        context_hash="ctx",
        vector=vector,
    )


def _records(seed: int, prefix: str = "k") -> list[SemanticRecord]:
    rng = random.Random(seed)
    return [_record(f"{prefix}{i}-{norm}", _vector(rng, norm)) for i in range(4) for norm in NORMS]


def _excludes_vectors(client: Elasticsearch) -> bool:
    """Whether the node can keep vectors out of ``_source`` (Elasticsearch 9.1+)."""
    nodes = client.nodes.info(filter_path="nodes.*.version")["nodes"]  # GET / may be refused
    number = str(min(node["version"] for node in nodes.values()))
    major, minor = (int(part) for part in number.split(".")[:2])
    return (major, minor) >= (9, 1)


def _raw_source(client: Elasticsearch, index: str, key: str) -> dict[str, Any]:
    """The stored ``_source``, as a plain GET gives it (no vectors put back)."""
    source: dict[str, Any] = client.get(index=index, id=key)["_source"]
    return source


def _is_unit(vector: tuple[float, ...]) -> bool:
    return abs(math.fsum(v * v for v in _float32(vector)) - 1.0) <= 1e-4


def test_a_new_index_stores_each_vector_once(es_client: Elasticsearch, index_name: str) -> None:
    repo = ElasticsearchVectorRepository(es_client, index_name, refresh="wait_for")
    records = _records(1)
    repo.put_many(records)
    excluded = _excludes_vectors(es_client)
    settings = es_client.indices.get_settings(index=index_name, flat_settings=True)
    setting = settings[index_name]["settings"].get("index.mapping.exclude_source_vectors")
    assert setting == ("true" if excluded else None)
    mapping = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    # before 9.1: left out of _source by the mapping
    assert mapping.get("_source") == (None if excluded else {"excludes": ["prompt_vector"]})
    for record in records:
        assert record.vector is not None
        source = _raw_source(es_client, index_name, record.key)
        assert "prompt_vector" not in source, record.key
        # a unit vector is read back from the index; any other is kept exactly as well
        assert (VECTOR_EXACT_FIELD in source) is not _is_unit(record.vector), record.key


def test_vectors_round_trip_as_float32_bit_for_bit(
    es_client: Elasticsearch, index_name: str
) -> None:
    repo = ElasticsearchVectorRepository(es_client, index_name, refresh="wait_for")
    records = _records(2)
    repo.put(records[0])
    repo.put_many(records[1:])
    expected = {record.key: _float32(record.vector or ()) for record in records}
    for record in records:  # get
        found = repo.get(record.key)
        assert found is not None
        assert found.vector == expected[record.key], record.key
    many = repo.get_many([record.key for record in records])  # mget
    assert {r.key: r.vector for r in many if r is not None} == expected
    exported = list(repo.scan())  # what export reads
    assert {r.key: r.vector for r in exported} == expected
    # import into a new index: the same float32 values again
    copy = ElasticsearchVectorRepository(es_client, f"{index_name}-copy", refresh="wait_for")
    copy.put_many(exported)
    assert {r.key: r.vector for r in copy.scan()} == expected
    for record in records:
        found = copy.get(record.key)
        assert found is not None
        assert found.vector == expected[record.key], record.key


async def test_async_reads_give_back_exact_vectors(
    async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    repo = AsyncElasticsearchVectorRepository(async_es_client, index_name, refresh="wait_for")
    records = _records(3)
    await repo.put_many(records)
    for record in records:
        found = await repo.get(record.key)
        assert found is not None
        assert found.vector == _float32(record.vector or ())
    many = await repo.get_many([record.key for record in records])
    assert [r.vector if r else None for r in many] == [_float32(r.vector or ()) for r in records]


def test_observations_keep_the_vector_exact_and_searchable(
    es_client: Elasticsearch, index_name: str
) -> None:
    repo = ElasticsearchVectorRepository(es_client, index_name, refresh="wait_for")
    records = _records(4)
    repo.put_many(records)
    for record in records:
        for similarity, right in ((0.95, True), (0.91, False), (0.97, True)):
            assert repo.add_observation(record.key, similarity, right)
    es_client.indices.refresh(index=index_name)
    for record in records:
        assert record.vector is not None
        found = repo.get(record.key)
        assert found is not None
        assert found.vector == _float32(record.vector), record.key
        assert sum(b.right + b.wrong for b in found.observations) == 3
        assert "prompt_vector" not in _raw_source(es_client, index_name, record.key)
        nearest = repo.nearest(
            VectorQuery(
                vector=record.vector,
                llm_string_hash="model",
                context_hash="ctx",
                k=1,
                min_similarity=0.999,
            )
        )
        assert [c.record.key for c in nearest] == [record.key]
        assert nearest[0].similarity > 0.9999


@pytest.mark.parametrize("exclude", [False, None])
def test_an_index_of_the_old_layout_keeps_working(
    es_client: Elasticsearch, index_name: str, exclude: bool | None
) -> None:
    """An index made by an earlier version (``exclude_source_vectors: false`` on 9.x, no
    exact-copy field), or by another tool with the node's default: read and written."""
    properties = {k: v for k, v in SEMANTIC_PROPERTIES.items() if k != VECTOR_EXACT_FIELD}
    settings: dict[str, Any] = {}
    if exclude is not None and _excludes_vectors(es_client):
        settings["index.mapping.exclude_source_vectors"] = exclude
    es_client.indices.create(
        index=index_name,
        mappings={"_meta": cache_marker("semantic"), "properties": properties},
        settings=settings,
    )
    rng = random.Random(5)
    old = [(f"old-{norm}", _vector(rng, norm)) for norm in NORMS]
    for key, vector in old:  # written as the earlier version wrote them: float64 JSON
        es_client.index(
            index=index_name,
            id=key,
            document={
                "llm_output": "answer",
                "timestamp": T0.isoformat(),
                "llm_string_hash": "model",
                "context_hash": "ctx",
                "prompt_vector": list(vector),
            },
            refresh="wait_for",
        )
    repo = ElasticsearchVectorRepository(es_client, index_name, refresh="wait_for")
    for key, vector in old:
        found = repo.get(key)
        assert found is not None
        if exclude is False or not _excludes_vectors(es_client) or _is_unit(vector):
            assert found.vector == _float32(vector), key
        else:  # in an index that normalised it (not ours): within float32 rounding
            assert found.vector is not None
            assert max(abs(a - b) for a, b in zip(found.vector, vector, strict=True)) < 1e-6
    new = _records(6, prefix="new")
    repo.put_many(new)
    for record in new:
        found = repo.get(record.key)
        assert found is not None
        assert found.vector == _float32(record.vector or ()), record.key
    assert {r.key for r in repo.scan()} == {key for key, _ in old} | {r.key for r in new}
    assert repo.add_observation(new[-1].key, 0.93, True)
    found = repo.get(new[-1].key)
    assert found is not None
    assert found.vector == _float32(new[-1].vector or ())


def test_vectors_written_since_the_last_refresh_are_read_back(
    es_client: Elasticsearch, index_name: str
) -> None:
    """Before 9.1 a vector comes from a search (doc values), which sees refreshed
    documents only: a key written (or rewritten) since the last refresh is still read
    back exactly, the newest copy's vector and not the one searches saw before."""
    repo = ElasticsearchVectorRepository(es_client, index_name)  # no refresh on writes
    assert repo.dimensions() is None  # the index created, by the repository
    es_client.indices.put_settings(index=index_name, settings={"refresh_interval": "-1"})
    first, second = _records(8), _records(9)
    repo.put_many(first)
    for record in first:
        found = repo.get(record.key)
        assert found is not None
        assert found.vector == _float32(record.vector or ()), record.key
    es_client.indices.refresh(index=index_name)
    rewritten = [_record(old.key, new.vector or ()) for old, new in zip(first, second, strict=True)]
    repo.put_many(rewritten)  # not refreshed: searches still see the first vectors
    many = repo.get_many([record.key for record in rewritten])
    assert [r.vector if r else None for r in many] == [_float32(r.vector or ()) for r in rewritten]
    assert repo.add_observation(rewritten[0].key, 0.95, True)
    found = repo.get(rewritten[0].key)
    assert found is not None
    assert found.vector == _float32(rewritten[0].vector or ())


def test_a_force_merge_after_the_lease_sync_drops_the_excluded_vectors(
    es_client: Elasticsearch, index_name: str
) -> None:
    """Before 9.1 the vector left out of ``_source`` is kept as ``_recovery_source`` until
    a merge after a commit (flush) holds the documents and the shard's peer-recovery
    retention lease has passed them (synced every 30 s); what docs/OPERATIONS.md tells
    operators to do, done here."""
    if _excludes_vectors(es_client):
        pytest.skip("9.1+ keeps vectors out of _source by a setting, without _source.excludes")
    repo = ElasticsearchVectorRepository(es_client, index_name)
    records = [r for seed in range(10, 20) for r in _records(seed, prefix=f"s{seed}-")]
    half = len(records) // 2
    repo.put_many(records[:half])
    es_client.indices.refresh(index=index_name)
    repo.put_many(records[half:])  # a second segment: the force merge rewrites both
    es_client.indices.refresh(index=index_name)
    es_client.indices.flush(index=index_name)  # a commit holding every write
    before = _recovery_source_bytes(es_client, index_name)
    assert before > 200 * DIMS  # the 200 vectors' JSON, kept for a recovery
    deadline = time.monotonic() + 180
    while not _leases_passed(es_client, index_name):
        assert time.monotonic() < deadline, "the retention lease did not advance in 180 s"
        time.sleep(2)
    es_client.indices.forcemerge(index=index_name, max_num_segments=1)
    after = _recovery_source_bytes(es_client, index_name)
    assert after < before / 20, (before, after)
    for record in records:
        found = repo.get(record.key)
        assert found is not None
        assert found.vector == _float32(record.vector or ()), record.key


def _recovery_source_bytes(client: Elasticsearch, index: str) -> int:
    """What ``_disk_usage`` reports for ``_recovery_source``, without the flush it does by
    default (which would itself make the commit the drop needs)."""
    usage = client.perform_request(
        "POST",
        f"/{index}/_disk_usage",
        params={"run_expensive_tasks": "true", "flush": "false"},
        headers={"accept": "application/json"},
    ).body
    field = usage[index]["fields"].get("_recovery_source") or {}
    return int(field.get("stored_fields_in_bytes", 0))


def _leases_passed(client: Elasticsearch, index: str) -> bool:
    """Whether every retention lease of the index retains nothing written so far."""
    stats = client.indices.stats(index=index, level="shards")["indices"][index]["shards"]
    for copies in stats.values():
        for copy in copies:
            top = copy["seq_no"]["max_seq_no"]
            leases = copy["retention_leases"]["leases"]
            if not leases or any(lease["retaining_seq_no"] <= top for lease in leases):
                return False
    return True


def test_a_rolled_over_alias_reads_both_layouts(es_client: Elasticsearch, index_name: str) -> None:
    """Behind an alias: an index of the old layout (vectors in ``_source``) and the
    generations the cache's bootstrap and rollover make (before 9.1: vectors out of
    ``_source`` by the mapping); every vector read back exactly, by get, mget and scan."""
    from langchain_elasticsearch_cache.adapters.elasticsearch.retention import (
        bootstrap_alias,
        rollover,
    )

    first = bootstrap_alias(es_client, index_name, "semantic")
    repo = ElasticsearchVectorRepository(es_client, index_name, refresh="wait_for")
    older = _records(20, prefix="gen1-")
    repo.put_many(older)
    result = rollover(es_client, index_name, max_docs=1)
    assert result.rolled_over, result
    for name in (first, result.new_index):
        mapping = es_client.indices.get_mapping(index=name)[name]["mappings"]
        assert vectors_out_of_source(mapping) is not _excludes_vectors(es_client), name
    old = f"{index_name}-old"  # an index of an earlier version, added to the alias
    properties = {k: v for k, v in SEMANTIC_PROPERTIES.items() if k != VECTOR_EXACT_FIELD}
    es_client.indices.create(
        index=old,
        mappings={"_meta": cache_marker("semantic"), "properties": properties},
        aliases={index_name: {}},
    )
    rng = random.Random(21)
    kept = {f"old-{n}": _vector(rng, 1.0) for n in range(3)}
    for key, vector in kept.items():
        es_client.index(
            index=old,
            id=key,
            document={
                "llm_output": "answer",
                "timestamp": T0.isoformat(),
                "llm_string_hash": "model",
                "context_hash": "ctx",
                "prompt_vector": list(vector),
            },
            refresh="wait_for",
        )
    repo = ElasticsearchVectorRepository(es_client, index_name, refresh="wait_for")
    newer = _records(22, prefix="gen2-")
    repo.put_many(newer)
    expected = {r.key: _float32(r.vector or ()) for r in older + newer}
    expected.update({key: _float32(vector) for key, vector in kept.items()})
    assert {r.key: r.vector for r in repo.scan()} == expected
    many = repo.get_many(list(expected))
    assert {r.key: r.vector for r in many if r is not None} == expected
    for key in (older[0].key, newer[0].key, "old-0"):
        assert repo.add_observation(key, 0.95, True)
        found = repo.get(key)
        assert found is not None
        assert found.vector == expected[key], key


def test_a_vector_beyond_float32_is_refused_before_any_request() -> None:
    client = Elasticsearch("http://127.0.0.1:9")  # nothing listens: no request is made
    repo = ElasticsearchVectorRepository(client, "cache")
    with pytest.raises(ConfigurationError, match="cannot be stored as float32"):
        repo.put(_record("k", (1e39, 1.0)))


def test_the_storage_benchmark_reads_back_what_the_repository_wrote(es_url: str) -> None:
    from benchmarks import vector_storage

    client = Elasticsearch(es_url, request_timeout=600)
    try:
        measured = vector_storage.measure(client, "repository", 50, 16)
    finally:
        client.close()
    assert measured["status"] == "ok"
    assert measured["docs"] == 100
    for kind in ("unit", "norm_3"):  # get and scan give back the float32 values written
        read = measured["read_back"][kind]
        assert read["missing"] == 0
        assert read["float32_exact"] == read["checked"] == 50


def test_cli_export_and_import_keep_vectors_bit_for_bit(
    es_url: str, es_client: Elasticsearch, index_name: str, tmp_path: Path
) -> None:
    from .test_cli import cli, environment

    source, target = f"{index_name}-src", f"{index_name}-dst"
    records = _records(7)
    ElasticsearchVectorRepository(es_client, source, refresh="wait_for").put_many(records)
    expected = {record.key: _float32(record.vector or ()) for record in records}
    env = environment(ES_URL=es_url)
    export_file = tmp_path / "semantic.jsonl"
    exported = cli("export", source, "-o", str(export_file), env=env)
    assert exported.returncode == 0, exported.stderr
    lines = export_file.read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    assert {item["id"]: _float32(tuple(item["doc"]["prompt_vector"])) for item in items} == (
        expected
    )
    imported = cli("import", target, "-i", str(export_file), env=env)
    assert imported.returncode == 0, imported.stderr
    copy = ElasticsearchVectorRepository(es_client, target)
    for record in records:
        found = copy.get(record.key)
        assert found is not None
        assert found.vector == expected[record.key], record.key
    again = cli("export", target, env=env)
    assert again.returncode == 0, again.stderr
    assert sorted(again.stdout.splitlines()) == sorted(lines)


def _search_and_refresh_totals(client: Elasticsearch, index: str) -> tuple[int, int]:
    stats = client.indices.stats(index=index, metric="search,refresh")["_all"]["total"]
    # external: refresh requests (a realtime GET of an unrefreshed document makes an internal
    # one on the node, whoever sends it)
    return int(stats["search"]["query_total"]), int(stats["refresh"]["external_total"])


def test_reads_without_vectors_leave_them_out_and_send_no_search(
    es_client: Elasticsearch, index_name: str
) -> None:
    """``get_without_vectors`` (what a semantic lookup's exact-key step uses) gives the
    record as ``get`` does, its unit vector left out: no search for doc values before 9.1,
    no vector put back into ``_source`` on 9.1+, and no refresh for an entry written a
    moment ago (refreshes are off here). A non-unit vector's exact copy is in ``_source``
    anyway and comes with it."""
    repo = ElasticsearchVectorRepository(es_client, index_name)
    assert repo.dimensions() is None  # the index created, by the repository
    es_client.indices.put_settings(index=index_name, settings={"refresh_interval": "-1"})
    records = _records(11)
    repo.put_many(records)
    before = _search_and_refresh_totals(es_client, index_name)
    for record in records:
        found = repo.get_without_vectors(record.key)
        assert found is not None
        assert found.llm_output == record.llm_output
        if _is_unit(_float32(record.vector or ())):
            assert found.vector is None, record.key
    many = repo.get_many_without_vectors([record.key for record in records])
    assert [r.key if r else None for r in many] == [record.key for record in records]
    assert _search_and_refresh_totals(es_client, index_name) == before
    # get still reads every vector back exactly
    for record in records:
        found = repo.get(record.key)
        assert found is not None
        assert found.vector == _float32(record.vector or ()), record.key


def _unit(values: list[float]) -> list[float]:
    length = math.sqrt(sum(v * v for v in values))
    return [v / length for v in values]


class _Unit(Embeddings):
    """An embedding of unit vectors (as real models give), the same for the same text."""

    def embed_query(self, text: str) -> list[float]:
        rng = random.Random(text)
        return _unit([rng.gauss(0.0, 1.0) for _ in range(DIMS)])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)


def test_an_exact_hit_sends_no_search(es_client: Elasticsearch, index_name: str) -> None:
    """A semantic cache's exact hit is one GET: no search (for doc values, before 9.1) and
    no refresh, also for an entry written a moment ago."""
    repo = ElasticsearchVectorRepository(es_client, index_name)
    assert repo.dimensions() is None
    es_client.indices.put_settings(index=index_name, settings={"refresh_interval": "-1"})
    cache = RepositorySemanticCache(repo, _Unit())
    answer = [Generation(text="Paris.")]
    cache.update("What is the capital of France?", "llm", answer)
    before = _search_and_refresh_totals(es_client, index_name)
    assert cache.lookup("What is the capital of France?", "llm") == answer
    assert cache.statistics.exact_hits == 1
    assert _search_and_refresh_totals(es_client, index_name) == before


async def test_an_async_exact_hit_sends_no_search(
    es_client: Elasticsearch, async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    """The same through the async class, whose concurrent exact-key steps share mgets."""
    repo = AsyncElasticsearchVectorRepository(async_es_client, index_name)
    assert await repo.dimensions() is None
    es_client.indices.put_settings(index=index_name, settings={"refresh_interval": "-1"})
    cache = AsyncRepositorySemanticCache(repo, _Unit())
    prompts = [f"Question number {i}?" for i in range(5)]
    for prompt in prompts:
        await cache.aupdate(prompt, "llm", [Generation(text=prompt.upper())])
    before = _search_and_refresh_totals(es_client, index_name)
    found = await asyncio.gather(*(cache.alookup(prompt, "llm") for prompt in prompts))
    assert found == [[Generation(text=prompt.upper())] for prompt in prompts]
    assert cache.statistics.exact_hits == len(prompts)
    assert _search_and_refresh_totals(es_client, index_name) == before
