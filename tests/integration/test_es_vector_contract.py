"""The shared vector repository contract on the Elasticsearch adapters, sync and async,
against the real node; ``settle`` refreshes the index (kNN sees refreshed documents)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from langchain_elasticsearch_cache.adapters.elasticsearch import (
    AsyncElasticsearchVectorRepository,
    ConnectionCheckedVectorRepository,
    ElasticsearchVectorRepository,
)
from langchain_elasticsearch_cache.testing.vector_contract import (
    AsyncVectorRepositoryContract,
    VectorRepositoryContract,
)

pytestmark = pytest.mark.elasticsearch

# aiohttp warns before sending a body over 1 MiB as raw bytes (the large-text test), which
# this project's pytest settings turn into an error (as in test_contract.py)
_LARGE_BODY = pytest.mark.filterwarnings(
    "ignore:Sending a large body directly with raw bytes:ResourceWarning"
)


class TestElasticsearchVector(VectorRepositoryContract):
    async def settle(self, repository: Any) -> None:
        repository.client.indices.refresh(index=repository.index_name)

    @pytest.fixture
    def repository(
        self, es_client: Elasticsearch, index_name: str
    ) -> Iterator[ElasticsearchVectorRepository]:
        yield ElasticsearchVectorRepository(es_client, index_name)


@_LARGE_BODY
class TestAsyncElasticsearchVector(AsyncVectorRepositoryContract):
    async def settle(self, repository: Any) -> None:
        await repository.client.indices.refresh(index=repository.index_name)

    @pytest.fixture
    async def repository(
        self, async_es_client: AsyncElasticsearch, index_name: str
    ) -> AsyncIterator[AsyncElasticsearchVectorRepository]:
        yield AsyncElasticsearchVectorRepository(async_es_client, index_name)


@_LARGE_BODY
class TestConnectionCheckedElasticsearchVector(AsyncVectorRepositoryContract):
    """The repository the async semantic cache builds from es_url: same contract."""

    async def settle(self, repository: Any) -> None:
        await repository.client.indices.refresh(index=repository.index_name)

    @pytest.fixture
    async def repository(
        self, es_url: str, index_name: str
    ) -> AsyncIterator[ConnectionCheckedVectorRepository]:
        client = AsyncElasticsearch(es_url)
        repo = ConnectionCheckedVectorRepository(client, index_name, owns_client=True)
        yield repo
        await repo.close()
