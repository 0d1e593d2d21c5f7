"""One contract, every repository: memory, Elasticsearch sync and Elasticsearch async.

The Elasticsearch repositories use a small ``chunk_size`` so that bulk writes, ``mget``
and the clearing fallback all go through several chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from langchain_elasticsearch_cache.adapters.elasticsearch import (
    EMBEDDING_RECORDS,
    LLM_RECORDS,
    AsyncElasticsearchRepository,
    ElasticsearchRepository,
)
from langchain_elasticsearch_cache.adapters.memory import (
    AsyncInMemoryRepository,
    InMemoryRepository,
)
from langchain_elasticsearch_cache.domain.entries import EmbeddingRecord, LlmRecord
from langchain_elasticsearch_cache.testing.contract import (
    AsyncEmbeddingRepositoryContract,
    AsyncLlmRepositoryContract,
    CorruptDocumentContract,
    EmbeddingRepositoryContract,
    LlmRepositoryContract,
)

CHUNK = 25
# documents these kinds cannot read: the required field is missing / has the wrong type
CORRUPT_LLM = {"llm_output": 42, "timestamp": "2024-01-01T00:00:00+00:00"}
CORRUPT_EMBEDDING = {"text_input": "no vector", "timestamp": "2024-01-01T00:00:00+00:00"}


# -- memory ---------------------------------------------------------------------------


class TestMemoryLlm(LlmRepositoryContract):
    @pytest.fixture
    def repository(self) -> InMemoryRepository[LlmRecord]:
        return InMemoryRepository()


class TestBoundedMemoryLlm(LlmRepositoryContract):
    """A bounded store larger than any test's records keeps the same semantics."""

    @pytest.fixture
    def repository(self) -> InMemoryRepository[LlmRecord]:
        return InMemoryRepository(maxsize=10_000)


class TestBoundedAsyncMemoryLlm(AsyncLlmRepositoryContract):
    @pytest.fixture
    def repository(self) -> AsyncInMemoryRepository[LlmRecord]:
        return AsyncInMemoryRepository(maxsize=10_000)


class TestMemoryEmbedding(EmbeddingRepositoryContract):
    @pytest.fixture
    def repository(self) -> InMemoryRepository[EmbeddingRecord]:
        return InMemoryRepository()


class TestAsyncMemoryLlm(AsyncLlmRepositoryContract):
    @pytest.fixture
    def repository(self) -> AsyncInMemoryRepository[LlmRecord]:
        return AsyncInMemoryRepository()


class TestAsyncMemoryEmbedding(AsyncEmbeddingRepositoryContract):
    @pytest.fixture
    def repository(self) -> AsyncInMemoryRepository[EmbeddingRecord]:
        return AsyncInMemoryRepository()


# -- Elasticsearch, sync --------------------------------------------------------------


class _SyncCorruption(CorruptDocumentContract):
    corrupt_document: dict[str, Any]

    async def store_corrupt_document(self, repository: Any, key: str) -> None:
        repository.count()  # make sure the index exists with its mapping
        repository.client.index(index=repository.index_name, id=key, document=self.corrupt_document)


@pytest.mark.elasticsearch
class TestElasticsearchLlm(_SyncCorruption, LlmRepositoryContract):
    corrupt_document = CORRUPT_LLM

    @pytest.fixture
    def repository(
        self, es_client: Elasticsearch, index_name: str
    ) -> Iterator[ElasticsearchRepository[LlmRecord]]:
        yield ElasticsearchRepository(es_client, index_name, LLM_RECORDS, chunk_size=CHUNK)


@pytest.mark.elasticsearch
class TestElasticsearchEmbedding(_SyncCorruption, EmbeddingRepositoryContract):
    corrupt_document = CORRUPT_EMBEDDING

    @pytest.fixture
    def repository(
        self, es_client: Elasticsearch, index_name: str
    ) -> Iterator[ElasticsearchRepository[EmbeddingRecord]]:
        yield ElasticsearchRepository(es_client, index_name, EMBEDDING_RECORDS, chunk_size=CHUNK)


# -- Elasticsearch, async -------------------------------------------------------------

# aiohttp warns (ResourceWarning) before sending a body over 1 MiB as raw bytes, which this
# project's pytest settings turn into an error; the large-text test sends about 3 MiB.
_LARGE_BODY = pytest.mark.filterwarnings(
    "ignore:Sending a large body directly with raw bytes:ResourceWarning"
)


class _AsyncCorruption(CorruptDocumentContract):
    corrupt_document: dict[str, Any]

    async def store_corrupt_document(self, repository: Any, key: str) -> None:
        await repository.count()  # make sure the index exists with its mapping
        await repository.client.index(
            index=repository.index_name, id=key, document=self.corrupt_document
        )


@pytest.mark.elasticsearch
@_LARGE_BODY
class TestAsyncElasticsearchLlm(_AsyncCorruption, AsyncLlmRepositoryContract):
    corrupt_document = CORRUPT_LLM

    @pytest.fixture
    async def repository(
        self, async_es_client: AsyncElasticsearch, index_name: str
    ) -> AsyncIterator[AsyncElasticsearchRepository[LlmRecord]]:
        yield AsyncElasticsearchRepository(
            async_es_client, index_name, LLM_RECORDS, chunk_size=CHUNK
        )


@pytest.mark.elasticsearch
@_LARGE_BODY
class TestAsyncElasticsearchEmbedding(_AsyncCorruption, AsyncEmbeddingRepositoryContract):
    corrupt_document = CORRUPT_EMBEDDING

    @pytest.fixture
    async def repository(
        self, async_es_client: AsyncElasticsearch, index_name: str
    ) -> AsyncIterator[AsyncElasticsearchRepository[EmbeddingRecord]]:
        yield AsyncElasticsearchRepository(
            async_es_client, index_name, EMBEDDING_RECORDS, chunk_size=CHUNK
        )
