"""The index is checked at the first lookup, before any model is paid for (real node).

An existing index whose mapping cannot hold the cache's entries, or that belongs to the
other cache kind, is refused by the first lookup: the model is never called, and the
index (documents and mapping) is left as it was. ``fail_open`` does not hide it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    ElasticsearchRepository,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    EMBEDDING_PROPERTIES,
    LLM_PROPERTIES,
    LLM_RECORDS,
)
from tests.fakes import CountingListChatModel, RecordingEmbeddings

pytestmark = pytest.mark.elasticsearch


def _mapped(
    field: str, mapping: dict[str, Any], properties: Any = LLM_PROPERTIES
) -> Callable[[Elasticsearch, str], None]:
    """An index with a cache's fields, one mapped otherwise, holding an operator's
    document (of the cache's fields only: an extra field makes it no cache at all)."""

    def make(client: Elasticsearch, index: str) -> None:
        client.indices.create(index=index, mappings={"properties": {**properties, field: mapping}})
        document = {"metadata": {"note": "kept"}}
        client.index(index=index, id="operator-doc", document=document, refresh=True)

    return make


def _ordinary_documents(client: Elasticsearch, index: str) -> None:
    document = {"message": "kept", "host": "web-1", "@timestamp": "2024-05-01T12:00:00Z"}
    client.index(index=index, id="log-1", document=document, refresh=True)


def _embeddings_index(client: Elasticsearch, index: str) -> None:
    ElasticsearchEmbeddingsCache(index, client=client, refresh=True).mset([("k", b"vector")])


def _llm_index(client: Elasticsearch, index: str) -> None:
    ElasticsearchCache(index, client=client, refresh=True).update(
        "p", "l", [Generation(text="an answer")]
    )


# (make the index, cache kind, what the message must name)
CONFLICTS: dict[str, tuple[Callable[[Elasticsearch, str], None], str, list[str]]] = {
    "llm_output integer": (
        _mapped("llm_output", {"type": "integer"}),
        "llm",
        ["'llm_output'", "'integer'", "'text'", "new index name", "reindex"],
    ),
    "timestamp keyword": (
        _mapped("timestamp", {"type": "keyword"}),
        "llm",
        ["'timestamp'", "'keyword'", "'date'", "new index name", "reindex"],
    ),
    "vector_dump indexed text": (
        _mapped("vector_dump", {"type": "text", "index": True}, EMBEDDING_PROPERTIES),
        "embeddings",
        ["'vector_dump'", "'text'", "'binary'", "new index name", "reindex"],
    ),
    "ordinary documents used by an LLM cache": (
        _ordinary_documents,
        "llm",
        [
            "is not an LLM cache index",
            "@timestamp, host, message",
            "no cache marker",
            "nothing was changed",
        ],
    ),
    "ordinary documents used by an embeddings cache": (
        _ordinary_documents,
        "embeddings",
        ["is not an embeddings cache index", "no cache marker", "nothing was changed"],
    ),
    "embeddings index used by an LLM cache": (
        _embeddings_index,
        "llm",
        ["embeddings cache entries", "vector_dump", "index of their own", "clear()"],
    ),
    "LLM index used by an embeddings cache": (
        _llm_index,
        "embeddings",
        ["LLM cache entries", "llm_output", "index of their own", "clear()"],
    ),
}


def _state(client: Elasticsearch, index: str) -> tuple[int, Any]:
    client.indices.refresh(index=index)
    count = int(client.count(index=index)["count"])
    return count, client.indices.get_mapping(index=index).body


@pytest.mark.parametrize("case", list(CONFLICTS))
def test_conflicting_index_is_refused_at_the_first_lookup(
    es_client: Elasticsearch, index_name: str, case: str
) -> None:
    make, kind, says = CONFLICTS[case]
    make(es_client, index_name)
    before = _state(es_client, index_name)
    with pytest.raises(ConfigurationError) as refused:
        if kind == "llm":
            cache = ElasticsearchCache(index_name, client=es_client, fail_open=True)
            model = CountingListChatModel(responses=["paid for"], cache=cache)
            try:
                model.invoke("question")
            finally:
                assert model.calls == 0  # refused before the model was paid for
        else:
            store = ElasticsearchEmbeddingsCache(index_name, client=es_client, fail_open=True)
            embedder = RecordingEmbeddings(size=4, embedded=[])
            backed = CacheBackedEmbeddings.from_bytes_store(embedder, store, namespace="m")
            try:
                backed.embed_documents(["text"])
            finally:
                assert embedder.embedded == []
    message = str(refused.value)
    assert repr(index_name) in message
    for fragment in says:
        assert fragment in message, (fragment, message)
    assert _state(es_client, index_name) == before


@pytest.mark.parametrize("case", list(CONFLICTS))
async def test_async_conflicting_index_is_refused_at_the_first_lookup(
    es_client: Elasticsearch, async_es_client: AsyncElasticsearch, index_name: str, case: str
) -> None:
    make, kind, says = CONFLICTS[case]
    make(es_client, index_name)
    before = _state(es_client, index_name)
    with pytest.raises(ConfigurationError) as refused:
        if kind == "llm":
            cache = AsyncElasticsearchCache(index_name, client=async_es_client, fail_open=True)
            model = CountingListChatModel(responses=["paid for"], cache=cache)
            try:
                await model.ainvoke("question")
            finally:
                assert model.calls == 0
        else:
            store = AsyncElasticsearchEmbeddingsCache(
                index_name, client=async_es_client, fail_open=True
            )
            embedder = RecordingEmbeddings(size=4, embedded=[])
            backed = CacheBackedEmbeddings.from_bytes_store(embedder, store, namespace="m")
            try:
                await backed.aembed_documents(["text"])
            finally:
                assert embedder.embedded == []
    for fragment in [repr(index_name), *says]:
        assert fragment in str(refused.value)
    assert _state(es_client, index_name) == before


def test_alias_over_an_index_of_the_other_kind_is_refused_before_its_mapping_changes(
    es_client: Elasticsearch, index_name: str
) -> None:
    behind = f"{index_name}-000001"
    _embeddings_index(es_client, behind)
    es_client.indices.put_alias(index=behind, name=index_name)
    before = _state(es_client, behind)
    cache = ElasticsearchCache(index_name, client=es_client)
    with pytest.raises(ConfigurationError) as refused:
        cache.lookup("prompt", "llm")
    assert f"index {behind!r} (behind alias {index_name!r})" in str(refused.value)
    # before the check the LLM fields were put on the embeddings index through the alias
    assert _state(es_client, behind) == before
    assert "llm_output" not in str(before)


def test_indices_the_cache_can_use_are_accepted(es_client: Elasticsearch, index_name: str) -> None:
    # an operator's template adds a field to the index the cache creates (it carries the
    # cache marker, so the extra field does not make it foreign)
    es_client.indices.put_index_template(
        name=index_name,
        index_patterns=[index_name],
        template={"mappings": {"properties": {"team": {"type": "keyword"}}}},
    )
    # an index without marker whose cache fields are mapped with other parameters, or
    # not mapped yet
    lenient = f"{index_name}-lenient"
    es_client.indices.create(
        index=lenient,
        mappings={
            "properties": {
                "llm_output": {"type": "text"},
                "timestamp": {"type": "date_nanos"},
                "metadata": {"type": "flattened"},
            }
        },
    )
    for name in (index_name, lenient):
        with ElasticsearchCache(name, client=es_client, metadata={"team": "a"}) as cache:
            assert cache.lookup("prompt", "llm") is None
            cache.update("prompt", "llm", [Generation(text="answer")])
            assert cache.lookup("prompt", "llm") == [Generation(text="answer")]
    mapped = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert "team" in mapped["properties"] and "langchain_elasticsearch_cache" in mapped["_meta"]


def test_the_mapping_is_read_once_per_repository(
    es_client: Elasticsearch, index_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _llm_index(es_client, index_name)
    reads: list[Any] = []
    real = es_client.indices.get_mapping

    def counted(**kwargs: Any) -> Any:
        reads.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(es_client.indices, "get_mapping", counted)
    repository = ElasticsearchRepository(es_client, index_name, LLM_RECORDS)
    for key in ("a", "b", "c"):
        assert repository.get(key) is None
    assert repository.count() == 1
    assert reads == [{"index": index_name}]
