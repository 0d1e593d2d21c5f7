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


class _Memory:
    """The in-memory repository, bounded to ``maxsize`` records where the class sets it."""

    maxsize: int | None = None

    @pytest.fixture
    def repository(self) -> InMemoryRepository[Any]:
        return InMemoryRepository(maxsize=self.maxsize)


class _AsyncMemory:
    """:class:`_Memory`, async."""

    maxsize: int | None = None

    @pytest.fixture
    def repository(self) -> AsyncInMemoryRepository[Any]:
        return AsyncInMemoryRepository(maxsize=self.maxsize)


class TestMemoryLlm(_Memory, LlmRepositoryContract):
    pass


class TestBoundedMemoryLlm(_Memory, LlmRepositoryContract):
    """A bounded store larger than any test's records keeps the same semantics."""

    maxsize = 10_000


class TestBoundedAsyncMemoryLlm(_AsyncMemory, AsyncLlmRepositoryContract):
    maxsize = 10_000


class TestMemoryEmbedding(_Memory, EmbeddingRepositoryContract):
    pass


class TestAsyncMemoryLlm(_AsyncMemory, AsyncLlmRepositoryContract):
    pass


class TestAsyncMemoryEmbedding(_AsyncMemory, AsyncEmbeddingRepositoryContract):
    pass


# -- Elasticsearch, sync --------------------------------------------------------------


class _SyncElasticsearch(CorruptDocumentContract):
    """The Elasticsearch repository of ``records`` (small chunks), and a document of its
    index that this kind cannot read: ``corrupt_document``."""

    records: Any
    corrupt_document: dict[str, Any]

    @pytest.fixture
    def repository(
        self, es_client: Elasticsearch, index_name: str
    ) -> Iterator[ElasticsearchRepository[Any]]:
        yield ElasticsearchRepository(es_client, index_name, self.records, chunk_size=CHUNK)

    async def store_corrupt_document(self, repository: Any, key: str) -> None:
        repository.count()  # make sure the index exists with its mapping
        repository.client.index(index=repository.index_name, id=key, document=self.corrupt_document)


@pytest.mark.elasticsearch
class TestElasticsearchLlm(_SyncElasticsearch, LlmRepositoryContract):
    records = LLM_RECORDS
    corrupt_document = CORRUPT_LLM


@pytest.mark.elasticsearch
class TestElasticsearchEmbedding(_SyncElasticsearch, EmbeddingRepositoryContract):
    records = EMBEDDING_RECORDS
    corrupt_document = CORRUPT_EMBEDDING


# -- Elasticsearch, async -------------------------------------------------------------

# aiohttp warns (ResourceWarning) before sending a body over 1 MiB as raw bytes, which this
# project's pytest settings turn into an error; the large-text test sends about 3 MiB.
_LARGE_BODY = pytest.mark.filterwarnings(
    "ignore:Sending a large body directly with raw bytes:ResourceWarning"
)


class _AsyncElasticsearch(CorruptDocumentContract):
    """:class:`_SyncElasticsearch`, async."""

    records: Any
    corrupt_document: dict[str, Any]

    @pytest.fixture
    async def repository(
        self, async_es_client: AsyncElasticsearch, index_name: str
    ) -> AsyncIterator[AsyncElasticsearchRepository[Any]]:
        yield AsyncElasticsearchRepository(
            async_es_client, index_name, self.records, chunk_size=CHUNK
        )

    async def store_corrupt_document(self, repository: Any, key: str) -> None:
        await repository.count()  # make sure the index exists with its mapping
        await repository.client.index(
            index=repository.index_name, id=key, document=self.corrupt_document
        )


@pytest.mark.elasticsearch
@_LARGE_BODY
class TestAsyncElasticsearchLlm(_AsyncElasticsearch, AsyncLlmRepositoryContract):
    records = LLM_RECORDS
    corrupt_document = CORRUPT_LLM


@pytest.mark.elasticsearch
@_LARGE_BODY
class TestAsyncElasticsearchEmbedding(_AsyncElasticsearch, AsyncEmbeddingRepositoryContract):
    records = EMBEDDING_RECORDS
    corrupt_document = CORRUPT_EMBEDDING
