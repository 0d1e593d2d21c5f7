"""Concurrent ``alookup`` calls are coalesced into ``get_many``, without changing outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import AsyncInMemoryRepository, AsyncRepositoryLlmCache
from langchain_elasticsearch_cache.domain import BackendError, BackendUnavailableError, LlmRecord
from langchain_elasticsearch_cache.interfaces.langchain._batching import LookupBatcher


class SpyRepository(AsyncInMemoryRepository[LlmRecord]):
    """Records how it was asked; fails ``get_many`` or chosen keys on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.gets: list[str] = []
        self.batches: list[list[str]] = []
        self.fail_batches: Exception | None = None
        self.failing_keys: dict[str, Exception] = {}
        self.delay = 0.0

    async def get(self, key: str) -> LlmRecord | None:
        self.gets.append(key)
        await asyncio.sleep(self.delay)
        if key in self.failing_keys:
            raise self.failing_keys[key]
        return await super().get(key)

    async def get_many(self, keys: Sequence[str]) -> list[LlmRecord | None]:
        self.batches.append(list(keys))
        await asyncio.sleep(self.delay)
        if self.fail_batches is not None:
            raise self.fail_batches
        return await super().get_many(keys)


def answer(i: int) -> list[Generation]:
    return [Generation(text=f"answer {i}")]


async def filled(count: int, **options: object) -> tuple[SpyRepository, AsyncRepositoryLlmCache]:
    repository = SpyRepository()
    cache = AsyncRepositoryLlmCache(repository, **options)  # type: ignore[arg-type]
    for i in range(count):
        await cache.aupdate(f"prompt {i}", "llm", answer(i))
    return repository, cache


async def test_gathered_lookups_share_get_many_calls() -> None:
    repository, cache = await filled(250)
    results = await asyncio.gather(
        *(cache.alookup(f"prompt {i}", "llm") for i in range(250)),
        cache.alookup("absent", "llm"),
    )
    assert results[:250] == [answer(i) for i in range(250)]
    assert results[250] is None
    assert repository.gets == []
    assert [len(batch) for batch in repository.batches] == [100, 100, 51]
    stats = cache.statistics.operations["lookup"]
    assert (stats.calls, stats.hits, stats.misses) == (251, 250, 1)


async def test_a_lone_lookup_is_a_plain_get() -> None:
    repository, cache = await filled(2)
    assert await cache.alookup("prompt 1", "llm") == answer(1)
    assert await cache.alookup("prompt 0", "llm") == answer(0)
    assert repository.batches == []
    assert len(repository.gets) == 2


async def test_the_same_key_twice_is_fetched_once() -> None:
    repository, cache = await filled(3)
    results = await asyncio.gather(
        cache.alookup("prompt 1", "llm"),
        cache.alookup("prompt 1", "llm"),
        cache.alookup("prompt 2", "llm"),
    )
    assert results == [answer(1), answer(1), answer(2)]
    assert [len(batch) for batch in repository.batches] == [2]


async def test_a_failed_batch_gives_every_caller_its_own_outcome() -> None:
    repository, cache = await filled(4, fail_open=True)
    repository.fail_batches = BackendError("batch refused")
    bad = cache.policy.key("prompt 2", "llm")
    down = cache.policy.key("prompt 3", "llm")
    repository.failing_keys = {bad: BackendError("corrupt"), down: BackendUnavailableError("down")}
    results = await asyncio.gather(
        *(cache.alookup(f"prompt {i}", "llm") for i in range(4)), return_exceptions=True
    )
    assert results[0] == answer(0)
    assert results[1] == answer(1)
    assert isinstance(results[2], BackendError) and "corrupt" in str(results[2])
    assert results[3] is None  # unavailable, and fail_open turns it into a miss
    stats = cache.statistics.operations["lookup"]
    assert (stats.hits, stats.errors, stats.failed_open) == (2, 2, 1)


async def test_a_lone_failing_lookup_raises_its_own_error() -> None:
    repository, cache = await filled(1)
    repository.failing_keys = {cache.policy.key("prompt 0", "llm"): BackendError("no")}
    with pytest.raises(BackendError, match="no"):
        await cache.alookup("prompt 0", "llm")


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    repository, cache = await filled(3)
    repository.delay = 1.0  # long enough that a stalled machine still cancels mid-lookup
    tasks = [asyncio.create_task(cache.alookup(f"prompt {i}", "llm")) for i in range(3)]
    await asyncio.sleep(0.01)
    assert not any(task.done() for task in tasks)
    tasks[1].cancel()
    assert await tasks[0] == answer(0)
    assert await tasks[2] == answer(2)
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]


def test_each_event_loop_batches_its_own_lookups() -> None:
    async def run(cache: AsyncRepositoryLlmCache) -> list[list[Generation] | None]:
        return list(await asyncio.gather(*(cache.alookup(f"prompt {i}", "llm") for i in range(3))))

    repository, cache = asyncio.run(filled(3))
    for _ in range(2):
        assert asyncio.run(run(cache)) == [answer(i) for i in range(3)]
    assert [len(batch) for batch in repository.batches] == [3, 3]


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        LookupBatcher(AsyncInMemoryRepository(), max_batch=0)


async def test_an_unavailable_backend_fails_the_batch_once_not_key_by_key() -> None:
    repository, cache = await filled(20, fail_open=True)
    repository.fail_batches = BackendUnavailableError("node down")
    results = await asyncio.gather(*(cache.alookup(f"prompt {i}", "llm") for i in range(20)))
    assert results == [None] * 20  # fail-open: every caller gets a miss
    assert len(repository.batches) == 1
    assert repository.gets == []  # no retry of each key against a backend that is down
    assert cache.statistics.failed_open == 20
