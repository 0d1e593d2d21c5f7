"""LangChain's own definition of a correct cache and byte store, run on the in-memory classes.

Each suite runs three times: default options (SHA-256 keys, no namespace), the seed's
legacy MD5 keys, and a namespaced store (legacy keys too, the combination the seed uses).
"""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import (
    AsyncCacheTestSuite,
    BaseStoreAsyncTests,
    BaseStoreSyncTests,
    SyncCacheTestSuite,
)

from langchain_elasticsearch_cache.interfaces.langchain import (
    AsyncInMemoryEmbeddingsCache,
    AsyncInMemoryLlmCache,
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
)

THREE_VALUES = (b"\x00\x01\x02 first", b"second \xff\xfe", b"")
"""Three byte values: binary, non-UTF-8, and the empty vector."""


# --- LLM cache --------------------------------------------------------------------------


class TestInMemoryLlmCache(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self) -> InMemoryLlmCache:
        return InMemoryLlmCache()


class TestInMemoryLlmCacheLegacyKeys(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self) -> InMemoryLlmCache:
        return InMemoryLlmCache(key_scheme="legacy")


class TestInMemoryLlmCacheNoInputs(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self) -> InMemoryLlmCache:
        return InMemoryLlmCache(
            store_input=False, store_input_params=False, metadata={"project": "suite"}
        )


class TestAsyncInMemoryLlmCache(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(self) -> AsyncInMemoryLlmCache:
        return AsyncInMemoryLlmCache()


class TestAsyncInMemoryLlmCacheLegacyKeys(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(self) -> AsyncInMemoryLlmCache:
        return AsyncInMemoryLlmCache(key_scheme="legacy")


# --- byte store (embeddings) ------------------------------------------------------------


class TestInMemoryEmbeddingsCache(BaseStoreSyncTests[bytes]):
    @pytest.fixture
    def kv_store(self) -> InMemoryEmbeddingsCache:
        return InMemoryEmbeddingsCache()

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return THREE_VALUES


class TestInMemoryEmbeddingsCacheLegacyKeys(BaseStoreSyncTests[bytes]):
    @pytest.fixture
    def kv_store(self) -> InMemoryEmbeddingsCache:
        return InMemoryEmbeddingsCache(key_scheme="legacy")

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return THREE_VALUES


class TestInMemoryEmbeddingsCacheNamespace(BaseStoreSyncTests[bytes]):
    @pytest.fixture
    def kv_store(self) -> InMemoryEmbeddingsCache:
        return InMemoryEmbeddingsCache(namespace="text-embedding-3-small")

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return THREE_VALUES


class TestInMemoryEmbeddingsCacheLegacyNamespace(BaseStoreSyncTests[bytes]):
    @pytest.fixture
    def kv_store(self) -> InMemoryEmbeddingsCache:
        return InMemoryEmbeddingsCache(key_scheme="legacy", namespace="model-a")

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return THREE_VALUES


class TestAsyncInMemoryEmbeddingsCache(BaseStoreAsyncTests[bytes]):
    @pytest.fixture
    async def kv_store(self) -> AsyncInMemoryEmbeddingsCache:
        return AsyncInMemoryEmbeddingsCache()

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return THREE_VALUES


class TestAsyncInMemoryEmbeddingsCacheLegacyKeys(BaseStoreAsyncTests[bytes]):
    @pytest.fixture
    async def kv_store(self) -> AsyncInMemoryEmbeddingsCache:
        return AsyncInMemoryEmbeddingsCache(key_scheme="legacy")

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return THREE_VALUES


class TestAsyncInMemoryEmbeddingsCacheNamespace(BaseStoreAsyncTests[bytes]):
    @pytest.fixture
    async def kv_store(self) -> AsyncInMemoryEmbeddingsCache:
        return AsyncInMemoryEmbeddingsCache(namespace="text-embedding-3-small")

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return THREE_VALUES


class TestAsyncInMemoryEmbeddingsCacheLegacyNamespace(BaseStoreAsyncTests[bytes]):
    @pytest.fixture
    async def kv_store(self) -> AsyncInMemoryEmbeddingsCache:
        return AsyncInMemoryEmbeddingsCache(key_scheme="legacy", namespace="model-a")

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return THREE_VALUES
