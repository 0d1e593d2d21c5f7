"""LangChain's own definition of a correct cache, run on the Elasticsearch semantic caches
against the real node (needs langchain-tests: left out of test matrix row 3).

A deterministic hash embedding (distinct prompts point in unrelated directions) keeps the
suites' "a different prompt is a miss" expectations meaningful; writes wait for the
refresh so each lookup sees the update before it, as the suites expect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_tests.integration_tests import AsyncCacheTestSuite, SyncCacheTestSuite

from langchain_elasticsearch_cache import (
    AsyncElasticsearchSemanticCache,
    ElasticsearchSemanticCache,
)
from tests.fakes import HashEmbeddings

pytestmark = pytest.mark.elasticsearch


class TestElasticsearchSemanticCache(SyncCacheTestSuite):
    @pytest.fixture
    def cache(
        self, es_client: Elasticsearch, index_name: str
    ) -> Iterator[ElasticsearchSemanticCache]:
        yield ElasticsearchSemanticCache(
            index_name, HashEmbeddings(), client=es_client, refresh="wait_for"
        )


class TestElasticsearchSemanticCacheFromUrl(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, es_url: str, index_name: str) -> Iterator[ElasticsearchSemanticCache]:
        with ElasticsearchSemanticCache(
            index_name,
            HashEmbeddings(),
            es_url=es_url,
            key_scheme="legacy",
            store_input=False,
            metadata={"project": "suite"},
        ) as cache:
            yield cache


class TestAsyncElasticsearchSemanticCache(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(
        self, async_es_client: AsyncElasticsearch, index_name: str
    ) -> AsyncIterator[AsyncElasticsearchSemanticCache]:
        yield AsyncElasticsearchSemanticCache(
            index_name, HashEmbeddings(), client=async_es_client, refresh="wait_for"
        )


class TestAsyncElasticsearchSemanticCacheFromUrl(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(
        self, es_url: str, index_name: str
    ) -> AsyncIterator[AsyncElasticsearchSemanticCache]:
        async with AsyncElasticsearchSemanticCache(
            index_name, HashEmbeddings(), es_url=es_url, hit_guard=None, k=1
        ) as cache:
            yield cache
