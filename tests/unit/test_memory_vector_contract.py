"""The vector repository contract on the in-memory adapter, sync and async faces."""

from __future__ import annotations

import threading

import pytest

from langchain_elasticsearch_cache.adapters.memory_vector import (
    AsyncInMemoryVectorRepository,
    InMemoryVectorRepository,
)
from langchain_elasticsearch_cache.domain.errors import ConfigurationError
from langchain_elasticsearch_cache.testing.vector_contract import (
    AsyncVectorRepositoryContract,
    VectorRepositoryContract,
    _query,
    semantic_record,
)


class TestMemoryVector(VectorRepositoryContract):
    @pytest.fixture
    def repository(self) -> InMemoryVectorRepository:
        return InMemoryVectorRepository()


class TestAsyncMemoryVector(AsyncVectorRepositoryContract):
    @pytest.fixture
    def repository(self) -> AsyncInMemoryVectorRepository:
        return AsyncInMemoryVectorRepository()


def test_a_refused_batch_stores_nothing() -> None:
    repo = InMemoryVectorRepository()
    repo.put(semantic_record("a", (1.0, 0.0)))
    with pytest.raises(ConfigurationError, match="3 dimensions but this store holds vectors of 2"):
        repo.put_many([semantic_record("b", (0.0, 1.0)), semantic_record("c", (1.0, 1.0, 1.0))])
    assert repo.get("b") is None
    assert repo.count() == 1


def test_clear_forgets_the_dimensions() -> None:
    repo = InMemoryVectorRepository()
    repo.put(semantic_record("a", (1.0, 0.0)))
    repo.clear()
    assert repo.dimensions() is None
    repo.put(semantic_record("b", (1.0, 0.0, 0.0)))
    assert repo.dimensions() == 3


def test_concurrent_writers_and_searchers() -> None:
    repo = InMemoryVectorRepository()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(200):
                repo.put(semantic_record(f"{worker}-{i}", (1.0, i / 256, 0.5)))
                repo.nearest(_query((1.0, 0.0, 0.5), k=3))
                if i % 10 == 0:
                    repo.delete_many([f"{worker}-{i - 5}"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert repo.count() == 4 * 200 - 4 * 19
    found = repo.nearest(_query((1.0, 0.0, 0.5), k=1000))
    assert len(found) == repo.count()
