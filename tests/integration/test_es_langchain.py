"""The LangChain classes on a real Elasticsearch node: standard suites and end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_tests.integration_tests import (
    AsyncCacheTestSuite,
    BaseStoreAsyncTests,
    BaseStoreSyncTests,
    SyncCacheTestSuite,
)

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)
from tests.fakes import CountingListChatModel, RecordingEmbeddings

pytestmark = pytest.mark.elasticsearch


class TestSyncCacheSuite(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, es_client: Elasticsearch, index_name: str) -> Iterator[ElasticsearchCache]:
        yield ElasticsearchCache(index_name, client=es_client)


class TestAsyncCacheSuite(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(
        self, async_es_client: AsyncElasticsearch, index_name: str
    ) -> AsyncIterator[AsyncElasticsearchCache]:
        yield AsyncElasticsearchCache(index_name, client=async_es_client)


class TestSyncStoreSuite(BaseStoreSyncTests[bytes]):
    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return b"\x00\x01", b"value \xff", b""

    @pytest.fixture
    def kv_store(
        self, es_client: Elasticsearch, index_name: str
    ) -> Iterator[ElasticsearchEmbeddingsCache]:
        yield ElasticsearchEmbeddingsCache(index_name, client=es_client, namespace="suite")


class TestAsyncStoreSuite(BaseStoreAsyncTests[bytes]):
    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return b"\x00\x01", b"value \xff", b""

    @pytest.fixture
    async def kv_store(
        self, async_es_client: AsyncElasticsearch, index_name: str
    ) -> AsyncIterator[AsyncElasticsearchEmbeddingsCache]:
        yield AsyncElasticsearchEmbeddingsCache(
            index_name, client=async_es_client, namespace="suite"
        )


def test_chat_model_is_called_once_for_two_identical_invokes(es_url: str, index_name: str) -> None:
    with ElasticsearchCache(index_name, es_url=es_url) as cache:
        model = CountingListChatModel(responses=["first", "second"], cache=cache)
        assert model.invoke("hello").content == "first"
        assert model.invoke("hello").content == "first"
        assert model.calls == 1
        assert model.invoke("another prompt").content == "second"
        assert model.calls == 2
        stats = cache.statistics
        assert (stats.hits, stats.misses, stats.writes) == (1, 2, 2)


def test_global_llm_cache_is_used(es_client: Elasticsearch, index_name: str) -> None:
    from langchain_core.globals import get_llm_cache, set_llm_cache

    previous = get_llm_cache()
    cache = ElasticsearchCache(index_name, client=es_client)
    set_llm_cache(cache)
    try:
        model = CountingListChatModel(responses=["only answer", "unexpected"])
        assert model.invoke("global").content == "only answer"
        assert model.invoke("global").content == "only answer"
        assert model.calls == 1
    finally:
        set_llm_cache(previous)


async def test_async_chat_model_is_called_once(es_url: str, index_name: str) -> None:
    async with AsyncElasticsearchCache(index_name, es_url=es_url) as cache:
        model = CountingListChatModel(responses=["first", "second"], cache=cache)
        assert (await model.ainvoke("hello")).content == "first"
        assert (await model.ainvoke("hello")).content == "first"
        assert model.calls == 1


def test_cache_backed_embeddings_make_no_model_call_the_second_time(
    es_client: Elasticsearch, index_name: str
) -> None:
    store = ElasticsearchEmbeddingsCache(index_name, client=es_client)
    model = RecordingEmbeddings(size=16, embedded=[])
    embedder = CacheBackedEmbeddings.from_bytes_store(model, store, namespace="fake-16")
    texts = [f"text {i}" for i in range(50)] + [""]
    first = embedder.embed_documents(texts)
    assert sorted(model.embedded) == sorted(texts)
    model.embedded.clear()
    second = embedder.embed_documents(texts)
    assert model.embedded == []
    assert second == first


async def test_async_cache_backed_embeddings_make_no_model_call_the_second_time(
    async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    store = AsyncElasticsearchEmbeddingsCache(index_name, client=async_es_client)
    model = RecordingEmbeddings(size=8, embedded=[])
    embedder = CacheBackedEmbeddings.from_bytes_store(model, store, namespace="fake-8")
    texts = [f"async text {i}" for i in range(20)]
    first = await embedder.aembed_documents(texts)
    assert sorted(model.embedded) == sorted(texts)
    model.embedded.clear()
    assert await embedder.aembed_documents(texts) == first
    assert model.embedded == []
