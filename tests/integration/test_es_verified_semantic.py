"""Verified semantic hits (``max_error_rate``) on the real node, sync and async: explore,
judge, learn, serve; observations written with optimistic concurrency (no observation
lost to concurrent writers); indices and documents of earlier versions, which have no
``observations`` field; a failed observation write under ``fail_open``.

The embedding model is a deterministic dial (``"q@0.95#3"`` is at cosine 0.95 to
``"base"``) and the "LLM answers" are given to ``update`` directly, so every similarity
and every verdict is known in advance. The one fault the node cannot be asked for (a
writer racing every attempt) is made by handing the repository a stale sequence number:
the 409s are the node's own.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.embeddings import Embeddings
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchSemanticCache,
    BackendUnavailableError,
    ElasticsearchSemanticCache,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    SEMANTIC_PROPERTIES,
    AsyncElasticsearchVectorRepository,
    ElasticsearchVectorRepository,
)
from langchain_elasticsearch_cache.adapters.elasticsearch._sync import (
    vector_observations as sync_vector_observations,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import (
    CACHE_MARKER,
    identify_mapping,
)
from langchain_elasticsearch_cache.domain.semantic_records import (
    SemanticRecord,
    semantic_record_to_document,
)

pytestmark = pytest.mark.elasticsearch

LLM = "fake-llm"
DELTA = 0.1  # served after 8 right answers at one similarity (see domain/semantic/verified.py)
OBSERVATIONS_FIELD = {"type": "object", "enabled": False}
#: the semantic mapping of the versions before verified hits
PREVIOUS_PROPERTIES = {name: v for name, v in SEMANTIC_PROPERTIES.items() if name != "observations"}
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


class DialEmbeddings(Embeddings):
    """``"base"`` is (1, 0, 0); ``"q@0.95#7"`` is a unit vector at cosine 0.95 to it (the
    ``#`` part turns it around the base axis, so the queries differ from each other)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        if "@" not in text:
            return [1.0, 0.0, 0.0]
        cosine = float(text.split("@")[1].split("#")[0])
        turn = float(text.split("#")[1]) if "#" in text else 0.0
        rest = math.sqrt(max(0.0, 1.0 - cosine * cosine))
        return [cosine, rest * math.cos(turn), rest * math.sin(turn)]


def _answer(text: str) -> list[Generation]:
    return [Generation(text=text)]


def _options(**options: Any) -> dict[str, Any]:
    return {
        "max_error_rate": DELTA,
        "similarity_threshold": 0.5,
        "hit_guard": None,
        "refresh": True,  # the kNN search sees each observation at once
        **options,
    }


def _bins(record: SemanticRecord | None) -> list[tuple[float, int, int]]:
    assert record is not None
    return [(item.similarity, item.right, item.wrong) for item in record.observations]


def _total(record: SemanticRecord | None) -> int:
    assert record is not None
    return sum(item.total for item in record.observations)


def _properties(client: Elasticsearch, index: str) -> dict[str, Any]:
    mappings = client.indices.get_mapping(index=index)[index]["mappings"]
    return dict(mappings.get("properties") or {})


def _entry(key: str, *, timestamp: datetime = T0) -> SemanticRecord:
    return SemanticRecord(
        key=key,
        llm_output=('[{"text": "Paris"}]',),
        timestamp=timestamp,
        llm_string_hash="m",
        context_hash="c",
        vector=(1.0, 0.0, 0.0),
    )


@pytest.fixture
def cache(es_client: Elasticsearch, index_name: str) -> Iterator[ElasticsearchSemanticCache]:
    with ElasticsearchSemanticCache(
        index_name, DialEmbeddings(), client=es_client, **_options()
    ) as semantic_cache:
        yield semantic_cache


def _learn_until_served(cache: ElasticsearchSemanticCache, prefix: str, limit: int) -> int:
    """Explore with paraphrases at 0.95 whose fresh answer equals the entry's; the number
    of the lookup that was served."""
    for index in range(1, limit + 1):
        prompt = f"{prefix}@0.95#{index}"
        if cache.lookup(prompt, LLM) is not None:
            return index
        cache.update(prompt, LLM, _answer("Paris"))
    pytest.fail(f"no hit after {limit} right answers at 0.95")


def test_explore_learn_then_serve_with_observations_persisted(
    cache: ElasticsearchSemanticCache, es_client: Elasticsearch, index_name: str
) -> None:
    cache.update("base", LLM, _answer("Paris"))
    key = cache.policy.key("base", LLM)
    written = cache.repository.get(key)
    assert written is not None and written.observations == ()
    assert "observations" not in es_client.get(index=index_name, id=key)["_source"]
    assert cache.lookup("q@0.95#1", LLM) is None  # nothing known yet: explored
    cache.update("q@0.95#1", LLM, _answer(" paris"))  # the same answer, normalised
    assert _bins(cache.repository.get(key)) == [(0.95, 1, 0)]

    served_at = _learn_until_served(cache, "r", 30)
    stats = cache.statistics
    assert stats.semantic_hits == 1 and cache.lookup("q@0.95#99", LLM) == _answer("Paris")
    assert stats.explorations == stats.observations == served_at
    assert _bins(cache.repository.get(key)) == [(0.95, served_at, 0)]
    # far below the evidence the entry is explored; a wrong answer there is observed in
    # another bin, and the prompt becomes an entry of its own (with its vector)
    assert cache.lookup("q@0.7#1", LLM) is None
    cache.update("q@0.7#1", LLM, _answer("Lyon"))
    assert cache.statistics.wrong_observations == 1
    wrong = cache.repository.get(cache.policy.key("q@0.7#1", LLM))
    assert wrong is not None and wrong.vector is not None and wrong.observations == ()
    entry = cache.repository.get(key)
    assert _bins(entry) == [(0.7, 0, 1), (0.95, served_at, 0)]
    # the partial updates kept the rest of the document: vector, answer, hashes, time
    assert entry is not None and entry.vector == (1.0, 0.0, 0.0)
    assert entry == attrs.evolve(written, observations=entry.observations)
    # stored, not indexed: the field is mapped as a disabled object in a marked index
    assert _properties(es_client, index_name)["observations"] == OBSERVATIONS_FIELD
    mappings = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert identify_mapping(mappings).kind == "semantic"


async def test_async_explore_learn_then_serve(es_url: str, index_name: str) -> None:
    # built from a URL: the connection-checked repository is the one that observes
    cache = AsyncElasticsearchSemanticCache(
        index_name, DialEmbeddings(), es_url=es_url, **_options()
    )
    try:
        await cache.aupdate("base", LLM, _answer("Paris"))
        key = cache.policy.key("base", LLM)
        served_at = None
        for index in range(1, 31):
            prompt = f"q@0.95#{index}"
            if await cache.alookup(prompt, LLM) is not None:
                served_at = index
                break
            await cache.aupdate(prompt, LLM, _answer("PARIS"))
        assert served_at is not None, "right answers at 0.95 never made the entry servable"
        assert _bins(await cache.repository.get(key)) == [(0.95, served_at - 1, 0)]
        stats = cache.statistics
        assert (stats.explorations, stats.observations, stats.semantic_hits) == (
            served_at - 1,
            served_at - 1,
            1,
        )
    finally:
        await cache.aclose()


def test_eight_threads_lose_no_observation(es_client: Elasticsearch, index_name: str) -> None:
    """A repository object per thread, as eight worker processes would have: nothing but
    the node's sequence numbers keeps their writes apart."""
    ElasticsearchVectorRepository(es_client, index_name).put(_entry("k"))
    results: list[bool] = []
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        repository = ElasticsearchVectorRepository(es_client, index_name)
        try:
            for index in range(15):
                similarity = 0.8 + (offset + index) % 20 / 100
                results.append(repository.add_observation("k", similarity, index % 3 != 0))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [True] * 120
    entry = ElasticsearchVectorRepository(es_client, index_name).get("k")
    assert _total(entry) == 120
    assert sum(item.right for item in entry.observations) == 8 * 10  # type: ignore[union-attr]
    assert entry is not None and entry.vector == (1.0, 0.0, 0.0)


async def test_eight_tasks_lose_no_observation(
    async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    """One repository shared by the tasks (one process), and a second one writing too
    (another process)."""
    repository = AsyncElasticsearchVectorRepository(async_es_client, index_name)
    other = AsyncElasticsearchVectorRepository(async_es_client, index_name)
    await repository.put(_entry("k"))

    async def work(offset: int) -> list[bool]:
        writer = other if offset % 4 == 0 else repository
        return [
            await writer.add_observation("k", 0.8 + (offset + i) % 20 / 100, i % 2 == 0)
            for i in range(25)
        ]

    results = await asyncio.gather(*(work(n) for n in range(8)))
    assert [flag for batch in results for flag in batch] == [True] * 200
    entry = await repository.get("k")
    assert _total(entry) == 200
    assert sum(item.wrong for item in entry.observations) == 8 * 12  # type: ignore[union-attr]
    assert await repository.add_observation("absent", 0.9, True) is False


def test_a_document_without_observations_and_an_absent_entry(
    es_client: Elasticsearch, index_name: str
) -> None:
    repository = ElasticsearchVectorRepository(es_client, index_name, refresh=True)
    repository.put(_entry("k"))  # creates the index
    # a document an earlier version wrote: no observations field at all
    document = semantic_record_to_document(_entry("old"))
    assert "observations" not in document
    es_client.index(index=index_name, id="old", document=document, refresh=True)
    assert repository.get("old").observations == ()  # type: ignore[union-attr]
    assert repository.add_observation("old", 0.93, False) is True
    assert _bins(repository.get("old")) == [(0.93, 0, 1)]
    assert repository.add_observation("absent", 0.93, True) is False
    with pytest.raises(ValueError, match="similarity"):
        repository.add_observation("old", 1.5, True)
    # an entry deleted behind the repository's back is no entry either
    es_client.delete(index=index_name, id="old", refresh=True)
    assert repository.add_observation("old", 0.93, True) is False
    # the index deleted behind its back: no entry, and it is created again by a write
    es_client.indices.delete(index=index_name)
    assert repository.add_observation("k", 0.93, True) is False
    repository.put(_entry("k"))
    assert repository.add_observation("k", 0.93, True) is True


@pytest.mark.parametrize("dynamic", [None, "strict"])
def test_an_index_of_the_previous_version_works_and_gains_the_field(
    es_client: Elasticsearch, index_name: str, dynamic: str | None
) -> None:
    mappings: dict[str, Any] = {"properties": dict(PREVIOUS_PROPERTIES)}
    if dynamic is not None:
        mappings["dynamic"] = dynamic
    es_client.indices.create(index=index_name, mappings=mappings)
    before = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert identify_mapping(before).kind == "semantic"  # recognised without a marker

    with ElasticsearchSemanticCache(
        index_name, DialEmbeddings(), client=es_client, **_options()
    ) as cache:
        cache.update("base", LLM, _answer("Paris"))
        assert "observations" not in _properties(es_client, index_name)  # not needed yet
        served_at = _learn_until_served(cache, "q", 30)
        key = cache.policy.key("base", LLM)
        assert _bins(cache.repository.get(key)) == [(0.95, served_at - 1, 0)]

    after = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert after["properties"]["observations"] == OBSERVATIONS_FIELD
    # the first use records the embedding model in the index (issue 18: the model is part
    # of the index's identity), and with it the marker of the kind it was recognised as
    marker = (after.get("_meta") or {}).get(CACHE_MARKER)
    assert marker is not None and marker["kind"] == "semantic", marker
    assert marker["embedding"]["class"].endswith("DialEmbeddings"), marker
    assert identify_mapping(after).kind == "semantic"
    # a new cache object on the index, now with the field, reads what was learned
    with ElasticsearchSemanticCache(
        index_name, DialEmbeddings(), client=es_client, **_options()
    ) as again:
        assert again.lookup("q@0.95#500", LLM) == _answer("Paris")


def test_through_an_alias_the_newest_copy_learns(es_client: Elasticsearch, index_name: str) -> None:
    alias = f"{index_name}-alias"
    first, second = f"{index_name}-000001", f"{index_name}-000002"
    # the first index as the previous version made it, the second one the write index
    es_client.indices.create(
        index=first, mappings={"properties": dict(PREVIOUS_PROPERTIES)}, aliases={alias: {}}
    )
    es_client.indices.create(
        index=second,
        mappings={"properties": dict(PREVIOUS_PROPERTIES)},
        aliases={alias: {"is_write_index": True}},
    )
    older, newer = _entry("k", timestamp=T0), _entry("k", timestamp=T0.replace(hour=13))
    es_client.index(index=first, id="k", document=semantic_record_to_document(newer))
    es_client.index(index=second, id="k", document=semantic_record_to_document(older))
    repository = ElasticsearchVectorRepository(es_client, alias, maximum_duplicates_allowed=2)
    assert repository.add_observation("k", 0.97, True) is True
    assert _bins(repository.get("k")) == [(0.97, 1, 0)]
    stored = {
        index: es_client.get(index=index, id="k")["_source"].get("observations")
        for index in (first, second)
    }
    assert stored == {first: [[0.97, 1, 0]], second: None}  # the copy get returns
    for index in (first, second):  # every index behind the alias can hold the field
        assert _properties(es_client, index)["observations"] == OBSERVATIONS_FIELD


@pytest.fixture
def racing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every observation write conflicts: the repository reads a sequence number that
    another writer has (as if) already moved past, so the node answers 409 each time.
    Fewer retries, so the test does not wait for sixteen."""
    monkeypatch.setattr(sync_vector_observations, "OBSERVATION_RETRIES", 3)
    real = ElasticsearchVectorRepository._versioned_copy

    def stale(self: ElasticsearchVectorRepository, key: str, is_alias: bool) -> Any:
        found = real(self, key, is_alias)
        if found is None:
            return None
        index, record, seq_no, primary_term = found
        return index, record, seq_no + 1000, primary_term

    monkeypatch.setattr(ElasticsearchVectorRepository, "_versioned_copy", stale)


@pytest.mark.usefixtures("racing")
def test_a_write_that_keeps_conflicting_is_backend_unavailable(
    es_client: Elasticsearch, index_name: str
) -> None:
    repository = ElasticsearchVectorRepository(es_client, index_name)
    repository.put(_entry("k"))
    with pytest.raises(BackendUnavailableError, match="4 times in a row") as raised:
        repository.add_observation("k", 0.9, True)
    assert "'k'" in str(raised.value)
    assert repository.get("k").observations == ()  # type: ignore[union-attr]


@pytest.mark.usefixtures("racing")
def test_fail_open_a_failed_observation_keeps_the_answer(
    es_client: Elasticsearch, index_name: str
) -> None:
    with ElasticsearchSemanticCache(
        index_name, DialEmbeddings(), client=es_client, **_options(fail_open=True)
    ) as cache:
        cache.update("base", LLM, _answer("Paris"))
        assert cache.lookup("q@0.95#1", LLM) is None
        cache.update("q@0.95#1", LLM, _answer("Paris"))  # must not raise
        assert cache.lookup("q@0.95#1", LLM) == _answer("Paris")  # the user's answer kept
        stats = cache.statistics
        assert stats.operations["observe"].failed_open == 1 and stats.observations == 0
        assert cache.repository.get(cache.policy.key("base", LLM)).observations == ()  # type: ignore[union-attr]
    with ElasticsearchSemanticCache(
        f"{index_name}-strict", DialEmbeddings(), client=es_client, **_options()
    ) as strict:
        strict.update("base", LLM, _answer("Paris"))
        assert strict.lookup("q@0.95#1", LLM) is None
        with pytest.raises(BackendUnavailableError, match="other writers"):
            strict.update("q@0.95#1", LLM, _answer("Paris"))
        assert strict.lookup("q@0.95#1", LLM) == _answer("Paris")  # written before
