"""The in-memory repository shared by many threads loses no write and never breaks."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache.adapters.memory import InMemoryRepository
from langchain_elasticsearch_cache.domain import EmbeddingRecord, LlmRecord
from langchain_elasticsearch_cache.interfaces.langchain import (
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
)

THREADS = 8
PER_THREAD = 400
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads far more often than the default 5 ms, to provoke races."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _record(key: str, value: str = "v", offset: int = 0) -> EmbeddingRecord:
    return EmbeddingRecord(
        key=key, vector_dump=value, timestamp=T0 + timedelta(seconds=offset), text_input=key
    )


def _run_together(workers: list[Callable[[], None]]) -> None:
    """Start all workers at once and re-raise the first exception any of them hit."""
    barrier = threading.Barrier(len(workers))

    def start(work: Callable[[], None]) -> None:
        barrier.wait()
        work()

    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        for future in [pool.submit(start, work) for work in workers]:
            future.result(timeout=60)


def test_concurrent_puts_deletes_and_reads_lose_nothing() -> None:
    repo: InMemoryRepository[EmbeddingRecord] = InMemoryRepository()
    # records every thread must see survive: written first, never deleted
    repo.put_many([_record(f"stable-{i}") for i in range(100)])

    def worker(n: int) -> Callable[[], None]:
        def work() -> None:
            for i in range(PER_THREAD):
                key = f"t{n}-{i}"
                repo.put(_record(key, f"{n}:{i}"))
                got = repo.get(key)
                assert got is not None and got.vector_dump == f"{n}:{i}"
                if i % 2:
                    assert repo.delete_many([key, "never-existed"]) == 1
                    assert repo.get(key) is None
                if i % 50 == 0:
                    assert all(r is not None for r in repo.get_many(["stable-0", "stable-99"]))
                    assert len(list(repo.scan(page_size=7))) >= 100

        return work

    _run_together([worker(n) for n in range(THREADS)])

    expected = {f"t{n}-{i}" for n in range(THREADS) for i in range(0, PER_THREAD, 2)}
    expected |= {f"stable-{i}" for i in range(100)}
    assert {r.key for r in repo.scan(page_size=13)} == expected
    assert repo.count() == len(expected)


def test_concurrent_writers_of_the_same_keys_leave_one_whole_record_each() -> None:
    repo: InMemoryRepository[EmbeddingRecord] = InMemoryRepository()
    keys = [f"shared-{i}" for i in range(50)]

    def worker(n: int) -> Callable[[], None]:
        def work() -> None:
            for _ in range(20):
                repo.put_many([_record(key, f"writer-{n}") for key in keys])

        return work

    _run_together([worker(n) for n in range(THREADS)])
    records = repo.get_many(keys)
    assert repo.count() == len(keys)
    assert all(r is not None and r.vector_dump.startswith("writer-") for r in records)


def test_concurrent_delete_older_than_and_puts() -> None:
    repo: InMemoryRepository[EmbeddingRecord] = InMemoryRepository()
    repo.put_many([_record(f"old-{i}", offset=0) for i in range(2000)])
    cutoff = T0 + timedelta(seconds=1)
    deleted: list[int] = []

    def purge() -> None:
        for _ in range(20):
            deleted.append(repo.delete_older_than(cutoff))

    def writer(n: int) -> Callable[[], None]:
        def work() -> None:
            for i in range(300):
                repo.put(_record(f"new-{n}-{i}", offset=10))

        return work

    _run_together([purge, *[writer(n) for n in range(THREADS - 1)]])
    assert sum(deleted) == 2000
    assert repo.count() == (THREADS - 1) * 300
    assert all(r.key.startswith("new-") for r in repo.scan())


def test_clear_racing_with_puts_counts_every_record_once() -> None:
    repo: InMemoryRepository[EmbeddingRecord] = InMemoryRepository()
    cleared: list[int] = []
    stop = threading.Event()

    def clearer() -> None:
        while not stop.is_set():
            cleared.append(repo.clear())

    def writer(n: int) -> Callable[[], None]:
        def work() -> None:
            for i in range(500):
                repo.put(_record(f"w{n}-{i}"))

        return work

    thread = threading.Thread(target=clearer)
    thread.start()
    try:
        _run_together([writer(n) for n in range(THREADS - 1)])
    finally:
        stop.set()
        thread.join(timeout=60)
    assert sum(cleared) + repo.count() == (THREADS - 1) * 500


def test_llm_cache_shared_by_threads() -> None:
    cache = InMemoryLlmCache()

    def worker(n: int) -> Callable[[], None]:
        def work() -> None:
            for i in range(100):
                cache.update(f"prompt-{n}-{i}", "llm", [Generation(text=f"{n}/{i}")])
                assert cache.lookup(f"prompt-{n}-{i}", "llm") == [Generation(text=f"{n}/{i}")]

        return work

    _run_together([worker(n) for n in range(THREADS)])
    assert cache.repository.count() == THREADS * 100
    stats = cache.statistics
    assert (stats.hits, stats.writes, stats.misses) == (THREADS * 100, THREADS * 100, 0)
    assert stats.operations["lookup"].calls == THREADS * 100


def test_byte_store_shared_by_threads() -> None:
    store = InMemoryEmbeddingsCache(namespace="ns")

    def worker(n: int) -> Callable[[], None]:
        def work() -> None:
            for i in range(100):
                store.mset([(f"{n}-{i}", f"{n}/{i}".encode())])
            assert store.mget([f"{n}-{i}" for i in range(100)]) == [
                f"{n}/{i}".encode() for i in range(100)
            ]

        return work

    _run_together([worker(n) for n in range(THREADS)])
    assert sorted(store.yield_keys()) == sorted(
        f"{n}-{i}" for n in range(THREADS) for i in range(100)
    )
    assert store.statistics.writes == THREADS * 100


def test_llm_records_are_shared_values_not_copies() -> None:
    """Concurrency is safe partly because records are frozen: no thread can mutate one."""
    repo: InMemoryRepository[LlmRecord] = InMemoryRepository()
    record = LlmRecord(key="k", llm_output=("x",), timestamp=T0)
    repo.put(record)
    got = repo.get("k")
    assert got is record
    with pytest.raises(AttributeError):
        got.key = "other"  # type: ignore[misc]
