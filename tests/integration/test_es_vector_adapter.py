"""The Elasticsearch vector repository (semantic cache storage) on a real node.

Everything Elasticsearch decides is checked here against the node: the kNN filters sit
inside the search, ``similarity`` is the raw cosine, the vector length comes from the
first document, vectors survive ``scan`` on 9.x (where ``_source`` leaves them out),
corrupt documents are skipped, and behind an alias only the newest copy of a key answers.
Every test runs with the sync repository and with the async one.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from langchain_elasticsearch_cache.adapters.elasticsearch import (
    LLM_PROPERTIES,
    SEMANTIC_INDEX_SETTINGS,
    SEMANTIC_PROPERTIES,
    SEMANTIC_RECORDS,
    AsyncElasticsearchVectorRepository,
    ElasticsearchVectorRepository,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.admin import (
    PointInTime,
    vectors_from_doc_values,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import (
    SEMANTIC_RECORDS_DOC_VALUE_VECTORS,
)
from langchain_elasticsearch_cache.domain.errors import ConfigurationError
from langchain_elasticsearch_cache.domain.ports import AsyncVectorRepository, VectorRepository
from langchain_elasticsearch_cache.domain.semantic_records import (
    SemanticCandidate,
    SemanticRecord,
    VectorQuery,
)
from langchain_elasticsearch_cache.testing.contract import T0

pytestmark = pytest.mark.elasticsearch

MODEL, OTHER_MODEL = "model-hash", "other-model-hash"
CONTEXT, OTHER_CONTEXT = "context-hash", "other-context-hash"
DIMS = 8


def unit(index: int, dims: int = DIMS) -> list[float]:
    """The ``index``-th basis vector."""
    return [1.0 if i == index else 0.0 for i in range(dims)]


def at_cosine(cosine: float, dims: int = DIMS, *, towards: int = 1) -> list[float]:
    """A unit vector whose cosine with ``unit(0)`` is ``cosine``."""
    vector = [0.0] * dims
    vector[0] = cosine
    vector[towards] = math.sqrt(max(0.0, 1.0 - cosine * cosine))
    return vector


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def entry(
    key: str,
    vector: list[float] | None,
    *,
    text: str | None = None,
    model: str = MODEL,
    context: str = CONTEXT,
    timestamp: datetime = T0,
) -> SemanticRecord:
    return SemanticRecord(
        key=key,
        llm_output=(text or f"answer {key}",),
        timestamp=timestamp,
        llm_string_hash=model,
        context_hash=context,
        vector=vector,
        prompt_text=f"prompt {key}",
        llm_input=f"input {key}",
        llm_params="params",
    )


def query(
    vector: list[float],
    *,
    min_similarity: float = 0.0,
    k: int = 4,
    model: str = MODEL,
    context: str = CONTEXT,
    not_before: datetime | None = None,
) -> VectorQuery:
    return VectorQuery(
        vector=vector,
        llm_string_hash=model,
        context_hash=context,
        min_similarity=min_similarity,
        k=k,
        not_before=not_before,
    )


def keys(candidates: list[SemanticCandidate]) -> list[str]:
    return [candidate.record.key for candidate in candidates]


class Blocking:
    """The async repository driven from sync test code, on one event loop per test."""

    def __init__(self, repository: AsyncElasticsearchVectorRepository, loop: Any) -> None:
        self.repository = repository
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.repository, name)
        if name == "scan":
            return lambda **options: self._loop.run_until_complete(self._scan(**options))
        if inspect.iscoroutinefunction(attribute):
            return lambda *args, **options: self._loop.run_until_complete(
                attribute(*args, **options)
            )
        return attribute

    async def _scan(self, **options: Any) -> list[SemanticRecord]:
        return [record async for record in self.repository.scan(**options)]


Factory = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def make_repo(request: pytest.FixtureRequest, es_url: str) -> Iterator[Factory]:
    """``make_repo(index, **options)``: a sync repository, or the async one behind
    :class:`Blocking`; both answer the same calls (``scan`` returns a list)."""
    if request.param == "sync":
        client = Elasticsearch(es_url, request_timeout=30)

        def make_sync(index: str, **options: Any) -> Any:
            repository = ElasticsearchVectorRepository(client, index, **options)
            assert isinstance(repository, VectorRepository)
            return repository

        yield make_sync
        client.close()
        return
    loop = asyncio.new_event_loop()
    async_client = AsyncElasticsearch(es_url, request_timeout=30)

    def make_async(index: str, **options: Any) -> Any:
        repository = AsyncElasticsearchVectorRepository(async_client, index, **options)
        assert isinstance(repository, AsyncVectorRepository)
        return Blocking(repository, loop)

    yield make_async
    loop.run_until_complete(async_client.close())
    loop.close()


def refreshed(client: Elasticsearch, index: str) -> None:
    client.indices.refresh(index=index)


# -- mapping and dimensions -------------------------------------------------------------


def test_the_index_gets_the_semantic_mapping_and_dims_from_the_first_vector(
    make_repo: Factory, es_client: Elasticsearch, index_name: str
) -> None:
    repo = make_repo(index_name)
    assert repo.dimensions() is None  # creates the index; no vector yet
    mapping = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    vector_field = mapping["properties"]["prompt_vector"]
    assert "dims" not in vector_field
    assert {k: mapping["properties"][k] for k in LLM_PROPERTIES} == dict(LLM_PROPERTIES)
    assert mapping["properties"]["llm_string_hash"] == {"type": "keyword"}
    assert mapping["properties"]["context_hash"] == {"type": "keyword"}
    assert vector_field["index_options"]["type"] == "hnsw"
    assert vector_field["similarity"] == "cosine"

    repo.put(entry("k", unit(0, dims=5)))
    vector_field = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"][
        "properties"
    ]["prompt_vector"]
    assert vector_field["dims"] == 5
    assert repo.dimensions() == 5
    assert make_repo(index_name).dimensions() == 5  # a new repository reads the mapping


def test_on_9_1_and_later_the_index_turns_the_acorn_filter_heuristic_off(
    make_repo: Factory, es_client: Elasticsearch, index_name: str
) -> None:
    make_repo(index_name).dimensions()  # creates the index
    settings = es_client.indices.get_settings(index=index_name, flat_settings=True)
    heuristic = settings[index_name]["settings"].get("index.dense_vector.hnsw_filter_heuristic")
    versions = {node["version"] for node in es_client.nodes.info()["nodes"].values()}
    major, minor = (int(part) for part in min(versions).split(".")[:2])
    if (major, minor) >= (9, 1):
        assert heuristic == SEMANTIC_INDEX_SETTINGS["index.dense_vector.hnsw_filter_heuristic"]
    else:
        assert heuristic is None  # the node does not know the setting; created without


def test_a_vector_of_another_length_is_a_configuration_error_naming_both(
    make_repo: Factory, index_name: str
) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    repo.put(entry("k", unit(0, dims=8)))
    # known to this repository: refused before any request
    with pytest.raises(ConfigurationError, match=r"has 5 dimensions .* holds vectors of 8") as e:
        repo.put(entry("short", unit(0, dims=5)))
    assert index_name in str(e.value) and "new index_name" in str(e.value)
    with pytest.raises(ConfigurationError, match=r"has 3 dimensions .* holds vectors of 8"):
        repo.nearest(query(unit(0, dims=3)))
    # a fresh repository learns it from Elasticsearch's refusal
    with pytest.raises(ConfigurationError, match=r"has 5 dimensions .* holds vectors of 8"):
        make_repo(index_name).put(entry("short", unit(0, dims=5)))
    with pytest.raises(ConfigurationError, match=r"has 3 dimensions .* holds vectors of 8"):
        make_repo(index_name).nearest(query(unit(0, dims=3)))
    with pytest.raises(ConfigurationError, match=r"vectors of different lengths"):
        make_repo(index_name).put_many([entry("a", unit(0, 8)), entry("b", unit(0, 5))])
    with pytest.raises(ConfigurationError, match=r"has 5 dimensions .* holds vectors of 8"):
        make_repo(index_name).put_many([entry("a", unit(0, 5))])
    assert repo.get("short") is None and repo.get("a") is None


def test_nearest_on_an_index_without_vectors_finds_nothing(
    make_repo: Factory, index_name: str
) -> None:
    repo = make_repo(index_name)
    assert repo.nearest(query(unit(0))) == []
    repo.put(entry("no-vector", None))
    assert repo.dimensions() is None
    assert repo.nearest(query(unit(0))) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"k": 0},
        {"min_similarity": 1.5},
        {"min_similarity": -1.01},
        {"not_before": datetime(2024, 1, 1)},  # naive
    ],
)
def test_a_bad_query_is_refused_before_any_request(
    make_repo: Factory, index_name: str, bad: dict[str, Any]
) -> None:
    repo = make_repo(index_name)
    with pytest.raises(ConfigurationError):
        repo.nearest(query(unit(0), **bad))


# -- filters inside the search ----------------------------------------------------------


def test_nearer_entries_of_another_model_do_not_hide_a_valid_one(
    make_repo: Factory, index_name: str
) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    repo.put_many([entry(f"other-{i}", unit(0), model=OTHER_MODEL) for i in range(30)])
    repo.put(entry("valid", at_cosine(0.9)))
    found = repo.nearest(query(unit(0), min_similarity=0.5, k=1))
    assert keys(found) == ["valid"]
    assert found[0].record.llm_output == ("answer valid",)
    assert found[0].similarity == pytest.approx(0.9, abs=1e-5)


def test_nearer_entries_of_another_context_do_not_hide_a_valid_one(
    make_repo: Factory, index_name: str
) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    repo.put_many([entry(f"other-{i}", unit(0), context=OTHER_CONTEXT) for i in range(30)])
    repo.put(entry("valid", at_cosine(0.8)))
    assert keys(repo.nearest(query(unit(0), min_similarity=0.5, k=1))) == ["valid"]
    (other,) = keys(repo.nearest(query(unit(0), k=1, context=OTHER_CONTEXT)))
    assert other.startswith("other-")
    assert repo.nearest(query(unit(0), context="no-such-context")) == []


def test_expired_neighbours_do_not_hide_live_ones(make_repo: Factory, index_name: str) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    old = T0 - timedelta(days=2)
    repo.put_many([entry(f"expired-{i}", unit(0), timestamp=old) for i in range(30)])
    repo.put(entry("live", at_cosine(0.7)))
    cutoff = T0 - timedelta(days=1)
    found = repo.nearest(query(unit(0), k=1, not_before=cutoff))
    assert keys(found) == ["live"]
    # without the cutoff the expired ones are nearer
    assert keys(repo.nearest(query(unit(0), k=1)))[0].startswith("expired-")


def test_not_before_is_exact_below_the_millisecond(make_repo: Factory, index_name: str) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    repo.put(entry("at", unit(0), timestamp=T0 + timedelta(microseconds=400)))
    assert keys(repo.nearest(query(unit(0), not_before=T0 + timedelta(microseconds=300)))) == ["at"]
    # same millisecond, but the entry is not after the cutoff: filtered afterwards
    assert repo.nearest(query(unit(0), not_before=T0 + timedelta(microseconds=400))) == []
    assert repo.nearest(query(unit(0), not_before=T0 + timedelta(microseconds=900))) == []


# -- similarity semantics and ordering --------------------------------------------------


def test_min_similarity_is_the_raw_cosine_and_results_come_most_similar_first(
    make_repo: Factory, index_name: str
) -> None:
    rng = random.Random(7)
    vectors = {f"e{i}": [rng.gauss(0, 1) for _ in range(DIMS)] for i in range(60)}
    probe = [rng.gauss(0, 1) for _ in range(DIMS)]
    repo = make_repo(index_name, refresh="wait_for")
    repo.put_many([entry(key, vector) for key, vector in vectors.items()])
    exact = {key: cosine(probe, vector) for key, vector in vectors.items()}
    for threshold in (-0.5, 0.0, 0.3, 0.6):
        found = repo.nearest(query(probe, min_similarity=threshold, k=60))
        expected = {key for key, value in exact.items() if value >= threshold}
        clear_margin = {key for key, value in exact.items() if abs(value - threshold) < 1e-4}
        assert set(keys(found)) - clear_margin == expected - clear_margin, threshold
        similarities = [candidate.similarity for candidate in found]
        assert similarities == sorted(similarities, reverse=True)
        for candidate in found:
            assert candidate.similarity == pytest.approx(exact[candidate.record.key], abs=1e-5)
            assert candidate.similarity >= threshold
            assert candidate.record.vector is None  # not sent back: a candidate needs none
    # k bounds the answer, and the k best are the k most similar
    best = sorted(exact, key=lambda key: -exact[key])[:3]
    assert keys(repo.nearest(query(probe, min_similarity=-1.0, k=3))) == best


def test_a_negative_cosine_is_not_rounded_to_zero(make_repo: Factory, index_name: str) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    repo.put(entry("opposite", at_cosine(-0.9)))
    assert repo.nearest(query(unit(0), min_similarity=-0.5)) == []
    (found,) = repo.nearest(query(unit(0), min_similarity=-0.95))
    assert found.similarity == pytest.approx(-0.9, abs=1e-5)


# -- corrupt and hostile documents ------------------------------------------------------


def test_corrupt_candidates_are_skipped_for_the_next(
    make_repo: Factory, es_client: Elasticsearch, index_name: str
) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    repo.put(entry("valid", at_cosine(0.9)))
    good = SEMANTIC_RECORDS.to_document(entry("x", unit(0)))
    hostile: dict[str, dict[str, Any]] = {
        "output-number": {**good, "llm_output": 42},
        "output-number-list": {**good, "llm_output": [1, 2]},
        "context-list": {**good, "context_hash": [CONTEXT, CONTEXT]},
        "model-list": {**good, "llm_string_hash": [MODEL, "x"]},
        "prompt-text-number": {**good, "prompt_text": 5},
        "params-number": {**good, "llm_params": 7},
    }
    for key, document in hostile.items():
        es_client.index(index=index_name, id=key, document=document)
    # a hash stored as a number is coerced to a keyword: it matches a query for "123"
    es_client.index(index=index_name, id="model-number", document={**good, "llm_string_hash": 123})
    es_client.indices.refresh(index=index_name)

    found = repo.nearest(query(unit(0), min_similarity=0.5, k=len(hostile) + 1))
    assert keys(found) == ["valid"]
    assert repo.nearest(query(unit(0), model="123")) == []
    assert [record.key for record in repo.scan()] == ["valid"]


# -- aliases ------------------------------------------------------------------------------


@pytest.fixture
def vector_alias(es_client: Elasticsearch, index_name: str) -> tuple[str, str, str]:
    """``index_name`` as an alias over ``<name>-a`` (older) and ``<name>-b`` (write index)."""
    first, second = f"{index_name}-a", f"{index_name}-b"
    for index in (first, second):
        es_client.indices.create(index=index, mappings=SEMANTIC_RECORDS.mappings)
    es_client.indices.update_aliases(
        actions=[
            {"add": {"index": first, "alias": index_name}},
            {"add": {"index": second, "alias": index_name, "is_write_index": True}},
        ]
    )
    return index_name, first, second


def raw_put(client: Elasticsearch, index: str, record: SemanticRecord) -> None:
    client.index(index=index, id=record.key, document=SEMANTIC_RECORDS.to_document(record))


def test_behind_an_alias_only_the_newest_copy_of_a_key_answers(
    make_repo: Factory, es_client: Elasticsearch, vector_alias: tuple[str, str, str]
) -> None:
    alias, first, second = vector_alias
    newer = T0 + timedelta(hours=1)
    # "both": the older copy (first index) is nearer than the newer one
    raw_put(es_client, first, entry("both", unit(0), text="old"))
    raw_put(es_client, second, entry("both", at_cosine(0.8), text="new", timestamp=newer))
    # "gone": its newer copy is not similar enough, so only the old copy could match
    raw_put(es_client, first, entry("gone", at_cosine(0.95), text="old"))
    raw_put(es_client, second, entry("gone", unit(3), text="new", timestamp=newer))
    raw_put(es_client, first, entry("only-old-index", at_cosine(0.7)))
    es_client.indices.refresh(index=alias)

    repo = make_repo(alias, maximum_duplicates_allowed=2)
    found = repo.nearest(query(unit(0), min_similarity=0.5, k=1))
    assert [(c.record.key, c.record.llm_output) for c in found] == [("both", ("new",))]
    assert found[0].similarity == pytest.approx(0.8, abs=1e-5)
    found = repo.nearest(query(unit(0), min_similarity=0.5, k=5))
    assert [(c.record.key, c.record.llm_output) for c in found] == [
        ("both", ("new",)),
        ("only-old-index", ("answer only-old-index",)),
    ]
    # scan yields each key once, the copy get returns, with its vector
    scanned = {record.key: record for record in repo.scan(page_size=2)}
    assert set(scanned) == {"both", "gone", "only-old-index"}
    assert scanned["both"].llm_output == ("new",)
    assert scanned["both"].vector == pytest.approx(at_cosine(0.8), abs=1e-6)
    assert scanned["gone"].vector == pytest.approx(unit(3), abs=1e-6)


# -- refresh, exact keys, scan -----------------------------------------------------------


def test_knn_sees_a_write_after_a_refresh_and_get_sees_it_at_once(
    make_repo: Factory, es_client: Elasticsearch, index_name: str
) -> None:
    es_client.indices.create(
        index=index_name,
        mappings=SEMANTIC_RECORDS.mappings,
        settings={"refresh_interval": "-1"},
    )
    repo = make_repo(index_name)
    repo.put(entry("k", unit(0)))
    assert repo.get("k") is not None  # realtime
    assert repo.nearest(query(unit(0))) == []  # not refreshed yet
    refreshed(es_client, index_name)
    assert keys(repo.nearest(query(unit(0)))) == ["k"]


def test_with_refresh_wait_for_knn_finds_a_write_at_once(
    make_repo: Factory, index_name: str
) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    repo.put(entry("k", unit(0)))
    assert keys(repo.nearest(query(unit(0)))) == ["k"]


def test_exact_keys_and_scan_round_trip_every_field_and_the_vector(
    make_repo: Factory, index_name: str
) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    records = [entry(f"k{i}", at_cosine(i / 10)) for i in range(7)]
    repo.put_many(records)
    got = repo.get("k3")
    assert got is not None and got.llm_record == records[3].llm_record
    assert (got.llm_string_hash, got.context_hash, got.prompt_text) == (
        MODEL,
        CONTEXT,
        "prompt k3",
    )
    # Elasticsearch 9 leaves vectors out of _source: a GET may not return one
    assert got.vector is None or got.vector == pytest.approx(records[3].vector, abs=1e-6)
    scanned = sorted(repo.scan(page_size=3), key=lambda record: record.key)
    assert [record.key for record in scanned] == [record.key for record in records]
    for record, original in zip(scanned, records, strict=True):
        assert record.vector == pytest.approx(original.vector, abs=1e-6)  # export keeps them
        assert record.llm_record == original.llm_record
    assert repo.count() == 7
    assert repo.delete_many(["k0"]) == 1
    assert repo.delete_older_than(T0) == 6
    assert repo.count() == 0
    assert repo.dimensions() == DIMS  # clearing keeps the mapping


def test_an_index_deleted_behind_the_repository_is_a_miss_then_recreated(
    make_repo: Factory, es_client: Elasticsearch, index_name: str
) -> None:
    repo = make_repo(index_name, refresh="wait_for")
    repo.put(entry("k", unit(0)))
    es_client.indices.delete(index=index_name)
    assert repo.nearest(query(unit(0))) == []
    repo.put(entry("k", unit(0, dims=4)))  # a new index: any length again
    assert keys(repo.nearest(query(unit(0, dims=4)))) == ["k"]


def test_semantic_properties_extend_the_llm_mapping() -> None:
    assert {k: SEMANTIC_PROPERTIES[k] for k in LLM_PROPERTIES} == dict(LLM_PROPERTIES)
    assert SEMANTIC_RECORDS.source_fields == [
        name for name in SEMANTIC_PROPERTIES if name != "prompt_vector"
    ]


def test_the_export_scan_returns_vectors_through_fields(
    es_client: Elasticsearch, index_name: str
) -> None:
    """What the CLI's export reads (``PointInTime.pages``): ``_source`` of an index the
    cache made has no vector, so it is asked for with ``fields`` (9.x) or
    ``docvalue_fields`` (before 9.1, where ``fields`` reads ``_source``) and put back by
    ``RecordKind.source_of``."""
    repo = ElasticsearchVectorRepository(es_client, index_name, refresh="wait_for")
    records = [entry(f"k{i}", at_cosine(i / 5)) for i in range(4)]
    repo.put_many(records)
    kind = (
        SEMANTIC_RECORDS_DOC_VALUE_VECTORS
        if vectors_from_doc_values(es_client, index_name)
        else SEMANTIC_RECORDS
    )
    with PointInTime(es_client, index_name) as pit:
        hits = [
            hit
            for page in pit.pages(
                source=kind.source_fields,
                page_size=3,
                fields=kind.fetched_fields,
                doc_values=kind.fetched_from_doc_values,
            )
            for hit in page
        ]
    decoded = {hit["_id"]: kind.from_document(hit["_id"], kind.source_of(hit)) for hit in hits}
    for original in records:
        got = decoded[original.key]
        assert got is not None and got.vector == pytest.approx(original.vector, abs=1e-6)
