"""The embedding model is part of a semantic index's identity, against the real node: it is
recorded in the index's ``_meta`` and another model (even of the same length) is refused
at first use, before it is paid and before anything is written."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchSemanticCache,
    ConfigurationError,
    ElasticsearchSemanticCache,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import (
    CACHE_MARKER,
    SEMANTIC_PROPERTIES,
    SEMANTIC_RECORDS,
)
from langchain_elasticsearch_cache.interfaces.langchain.embedding_identity import (
    embedding_identity,
)
from langchain_elasticsearch_cache.interfaces.langchain.wordllama import WordLlamaEmbeddings
from langchain_elasticsearch_cache.retention import rollover

pytestmark = pytest.mark.elasticsearch

QUESTION = "What is the capital of France?"
OTHER = "What is the capital of Spain?"
ANSWER = [Generation(text="Paris")]
WORDLLAMA = "WordLlamaEmbeddings(model='l2_supercat', dim=256)"


class CountingFake(DeterministicFakeEmbedding):
    """DeterministicFakeEmbedding that counts its calls (refused before it is paid)."""

    calls: int = 0

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return super().embed_query(text)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


@pytest.fixture(scope="module")
def wordllama() -> WordLlamaEmbeddings:
    return WordLlamaEmbeddings()


def _meta(client: Elasticsearch, index: str) -> dict[str, Any]:
    client.indices.refresh(index=index)
    meta: dict[str, Any] = client.indices.get_mapping(index=index)[index]["mappings"].get(
        "_meta", {}
    )
    return meta


def _recorded(client: Elasticsearch, index: str) -> Any:
    return _meta(client, index).get(CACHE_MARKER, {}).get("embedding")


def _count(client: Elasticsearch, index: str) -> int:
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


def test_another_model_of_the_same_length_is_refused(
    es_client: Elasticsearch, es_url: str, index_name: str, wordllama: WordLlamaEmbeddings
) -> None:
    with ElasticsearchSemanticCache(index_name, wordllama, es_url=es_url, refresh=True) as cache:
        cache.update(QUESTION, "llm", ANSWER)
    assert _recorded(es_client, index_name) == embedding_identity(wordllama).to_document()
    assert _meta(es_client, index_name)[CACHE_MARKER]["kind"] == "semantic"
    fake = CountingFake(size=256)
    with ElasticsearchSemanticCache(index_name, fake, es_url=es_url, fail_open=True) as other:
        for call in (
            lambda: other.lookup(OTHER, "llm"),
            lambda: other.update(OTHER, "llm", ANSWER),
        ):
            with pytest.raises(ConfigurationError) as caught:
                call()
            message = str(caught.value)
            assert f"index {index_name!r}" in message
            assert WORDLLAMA in message and "CountingFake(size=256)" in message
            assert "same embedding model" in message and "another index_name" in message
    assert fake.calls == 0
    assert _count(es_client, index_name) == 1  # no document of the other model
    # the same model in a new cache object (a new client, as another process) is fine
    with ElasticsearchSemanticCache(
        index_name, WordLlamaEmbeddings(), es_url=es_url, refresh=True
    ) as again:
        assert again.lookup("What's the capital of France?", "llm") == ANSWER
        again.update(OTHER, "llm", ANSWER)
    assert _count(es_client, index_name) == 2


async def test_async_another_model_is_refused(
    es_client: Elasticsearch, es_url: str, index_name: str, wordllama: WordLlamaEmbeddings
) -> None:
    async with AsyncElasticsearchSemanticCache(
        index_name, wordllama, es_url=es_url, refresh=True
    ) as cache:
        await cache.aupdate(QUESTION, "llm", ANSWER)
    fake = CountingFake(size=256)
    async with AsyncElasticsearchSemanticCache(
        index_name, fake, es_url=es_url, fail_open=True
    ) as other:
        with pytest.raises(ConfigurationError, match="CountingFake"):
            await other.alookup(OTHER, "llm")
        with pytest.raises(ConfigurationError, match=r"WordLlamaEmbeddings\("):
            await other.aupdate(OTHER, "llm", ANSWER)
    assert fake.calls == 0
    assert _count(es_client, index_name) == 1
    async with AsyncElasticsearchSemanticCache(index_name, wordllama, es_url=es_url) as same:
        assert await same.alookup(QUESTION, "llm") == ANSWER


def test_an_older_index_without_a_recorded_model_records_the_first_one(
    es_client: Elasticsearch, index_name: str
) -> None:
    # an earlier version's index: the cache's fields, an operator's _meta, no marker
    es_client.indices.create(
        index=index_name,
        mappings={"_meta": {"owner": "ops"}, "properties": dict(SEMANTIC_PROPERTIES)},
    )
    first = DeterministicFakeEmbedding(size=4)
    with ElasticsearchSemanticCache(index_name, first, client=es_client, refresh=True) as cache:
        cache.update(QUESTION, "llm", ANSWER)
    meta = _meta(es_client, index_name)
    assert meta["owner"] == "ops"  # merged: a put of _meta replaces it whole
    assert meta[CACHE_MARKER] == {
        "kind": "semantic",
        "schema": 1,
        "embedding": embedding_identity(first).to_document(),
    }
    with (
        ElasticsearchSemanticCache(index_name, CountingFake(size=4), client=es_client) as other,
        pytest.raises(ConfigurationError, match=r"DeterministicFakeEmbedding\(size=4\)"),
    ):
        other.lookup(OTHER, "llm")


def test_an_unrecorded_index_holding_vectors_warns_when_it_records(
    es_client: Elasticsearch, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    es_client.indices.create(index=index_name, mappings={"properties": dict(SEMANTIC_PROPERTIES)})
    es_client.index(
        index=index_name,
        id="old",
        document={"llm_output": ["x"], "timestamp": 0, "prompt_vector": [0.1, 0.2, 0.3, 0.4]},
        refresh=True,
    )
    with (
        caplog.at_level(logging.WARNING, logger="langchain_elasticsearch_cache"),
        ElasticsearchSemanticCache(
            index_name, DeterministicFakeEmbedding(size=4), client=es_client
        ) as cache,
    ):
        assert cache.lookup(QUESTION, "llm") is None
    warned = [r.getMessage() for r in caplog.records if "did not record" in r.getMessage()]
    assert len(warned) == 1 and "4-dimension vectors" in warned[0]
    assert _recorded(es_client, index_name) is not None


def test_behind_an_alias_every_index_must_agree(es_client: Elasticsearch, index_name: str) -> None:
    alias = f"{index_name}-alias"
    older, newer = f"{alias}-000001", f"{alias}-000002"
    es_client.indices.create(
        index=older, mappings=SEMANTIC_RECORDS.mappings, aliases={alias: {"is_write_index": True}}
    )
    model = DeterministicFakeEmbedding(size=4)
    with ElasticsearchSemanticCache(alias, model, client=es_client, refresh=True) as cache:
        cache.update(QUESTION, "llm", ANSWER)
    assert _recorded(es_client, older) == embedding_identity(model).to_document()
    # a rollover: the new index records the write index's model
    assert rollover(es_client, alias, max_docs=1).new_index == newer
    assert _recorded(es_client, newer) == embedding_identity(model).to_document()
    with ElasticsearchSemanticCache(alias, model, client=es_client, refresh=True) as cache:
        cache.update(OTHER, "llm", ANSWER)
    # an index of another model added to the alias: refused, naming the indices
    stray = f"{alias}-stray"
    with ElasticsearchSemanticCache(stray, CountingFake(size=4), client=es_client) as cache:
        cache.update(OTHER, "llm", ANSWER)
    es_client.indices.put_alias(index=stray, name=alias)
    with (
        ElasticsearchSemanticCache(alias, model, client=es_client) as cache,
        pytest.raises(ConfigurationError) as caught,
    ):
        cache.lookup(OTHER, "llm")
    message = str(caught.value)
    assert "different embedding models" in message
    assert older in message and stray in message and "CountingFake" in message
