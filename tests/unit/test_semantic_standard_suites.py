"""LangChain's own definition of a correct cache, run on the in-memory semantic caches.

A deterministic hash embedding (distinct prompts point in unrelated directions) keeps the
suites' "a different prompt is a miss" expectations meaningful; the semantic behaviour
itself is tested with a real model in test_semantic_cache.py.
"""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import AsyncCacheTestSuite, SyncCacheTestSuite

from langchain_elasticsearch_cache import AsyncInMemorySemanticCache, InMemorySemanticCache
from tests.fakes import HashEmbeddings


class TestInMemorySemanticCache(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self) -> InMemorySemanticCache:
        return InMemorySemanticCache(HashEmbeddings())


class TestInMemorySemanticCacheLegacyKeysNoInputs(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self) -> InMemorySemanticCache:
        return InMemorySemanticCache(
            HashEmbeddings(),
            key_scheme="legacy",
            store_input=False,
            store_input_params=False,
            metadata={"project": "suite"},
            similarity_threshold=0.5,
        )


class TestAsyncInMemorySemanticCache(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(self) -> AsyncInMemorySemanticCache:
        return AsyncInMemorySemanticCache(HashEmbeddings())


class TestAsyncInMemorySemanticCacheNoGuard(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(self) -> AsyncInMemorySemanticCache:
        return AsyncInMemorySemanticCache(HashEmbeddings(), hit_guard=None, k=1)
