"""What LangChain users expect of an LLM cache object, on the in-memory store: answers that
could never be read back are not written, ``maxsize`` evicts the least recently used entry,
one entry can be invalidated, and the entries can be listed."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_elasticsearch_cache import (
    AsyncInMemoryLlmCache,
    AsyncInMemoryRepository,
    AsyncRepositoryLlmCache,
    BackendUnavailableError,
    ConfigurationError,
    InMemoryLlmCache,
    InMemoryRepository,
    ListedLlmEntry,
    LlmRecord,
    RepositoryLlmCache,
)

from .conftest import FakeClock

LOGGER = "langchain_elasticsearch_cache"


def with_datetime() -> list[Generation]:
    created = datetime(2024, 5, 1, tzinfo=timezone.utc)
    message = AIMessage(content="answer", response_metadata={"created": created})
    return [ChatGeneration(message=message)]


def with_bytes() -> list[Generation]:
    return [ChatGeneration(message=AIMessage(content="answer", additional_kwargs={"raw": b"\x00"}))]


class CountingRepository(InMemoryRepository[LlmRecord]):
    """The in-memory store, counting the records written to it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.written = 0

    def put(self, record: LlmRecord) -> None:
        self.written += 1
        super().put(record)

    def put_many(self, records: Sequence[LlmRecord]) -> None:
        self.written += len(records)
        super().put_many(records)


def _uncacheable_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "not caching an answer" in r.getMessage()]


# -- answers that can never be cached ---------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        (with_datetime, "generations[0].message.response_metadata.created"),
        (with_bytes, "generations[0].message.additional_kwargs.raw"),
    ],
)
def test_an_uncacheable_answer_is_never_written_and_warned_once(
    answer: Any, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    repository = CountingRepository()
    cache = RepositoryLlmCache(repository)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    for attempt in range(4):
        cache.update(f"prompt {attempt % 2}", "llm", answer())
        assert cache.lookup(f"prompt {attempt % 2}", "llm") is None
    assert repository.written == 0
    assert repository.count() == 0
    warnings = _uncacheable_warnings(caplog)
    assert len(warnings) == 1
    assert field in warnings[0]
    # decode never saw a broken entry: no "unreadable" warning on any lookup
    assert not [r for r in caplog.records if "unreadable" in r.getMessage()]
    stats = cache.statistics
    assert stats.uncacheable == 4
    assert stats.operations["update"].uncacheable == 4
    assert stats.writes == 0
    assert stats.errors == 0
    # a cacheable answer is written as before, and the next uncacheable one stays quiet
    cache.update("fine", "llm", [Generation(text="ok")])
    assert repository.written == 1
    cache.update("prompt 0", "llm", answer())
    assert len(_uncacheable_warnings(caplog)) == 1
    assert cache.statistics.uncacheable == 5
    cache.reset_statistics()
    assert cache.statistics.uncacheable == 0


async def test_an_uncacheable_answer_is_never_written_async(
    caplog: pytest.LogCaptureFixture,
) -> None:
    repository = CountingRepository()
    cache = AsyncRepositoryLlmCache(AsyncInMemoryRepository(repository))
    caplog.set_level(logging.WARNING, logger=LOGGER)
    for answer in (with_datetime, with_bytes, with_datetime):
        await cache.aupdate("prompt", "llm", answer())
        assert await cache.alookup("prompt", "llm") is None
    assert repository.written == 0
    assert len(_uncacheable_warnings(caplog)) == 1
    assert cache.statistics.uncacheable == 3


def test_each_cache_object_warns_once_for_itself(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    first, second = InMemoryLlmCache(), InMemoryLlmCache()
    for cache in (first, second, first, second):
        cache.update("p", "llm", with_datetime())
    assert len(_uncacheable_warnings(caplog)) == 2


def test_a_chat_model_still_answers_when_its_answer_cannot_be_cached() -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    cache = InMemoryLlmCache()
    created = datetime(2024, 5, 1, tzinfo=timezone.utc)
    replies = iter(
        [AIMessage(content=f"reply {i}", response_metadata={"t": created}) for i in range(2)]
    )
    model = GenericFakeChatModel(messages=replies, cache=cache)
    assert model.invoke("hello").content == "reply 0"
    assert model.invoke("hello").content == "reply 1"  # not cached: the model answers again
    assert cache.statistics.uncacheable == 2
    assert cache.repository.count() == 0


# -- maxsize ------------------------------------------------------------------------------


def _answer(text: str) -> list[Generation]:
    return [Generation(text=text)]


def test_maxsize_evicts_the_least_recently_used_entry() -> None:
    cache = InMemoryLlmCache(maxsize=2)
    cache.update("a", "llm", _answer("A"))
    cache.update("b", "llm", _answer("B"))
    assert cache.lookup("a", "llm") == _answer("A")  # a hit: "a" is now the most recent
    cache.update("c", "llm", _answer("C"))
    assert cache.lookup("b", "llm") is None  # the least recently used went
    assert cache.lookup("a", "llm") == _answer("A")
    assert cache.lookup("c", "llm") == _answer("C")
    assert cache.repository.count() == 2


def test_maxsize_overwrite_refreshes_and_a_miss_does_not() -> None:
    cache = InMemoryLlmCache(maxsize=2)
    cache.update("a", "llm", _answer("A"))
    cache.update("b", "llm", _answer("B"))
    cache.update("a", "llm", _answer("A2"))  # rewriting makes "a" recent
    assert cache.lookup("zzz", "llm") is None  # a miss changes nothing
    cache.update("c", "llm", _answer("C"))
    assert cache.lookup("b", "llm") is None
    assert cache.lookup("a", "llm") == _answer("A2")


def test_without_maxsize_nothing_is_evicted() -> None:
    cache = InMemoryLlmCache()
    for i in range(300):
        cache.update(str(i), "llm", _answer(str(i)))
    assert cache.repository.count() == 300


async def test_async_maxsize_evicts_the_least_recently_used_entry() -> None:
    cache = AsyncInMemoryLlmCache(maxsize=2)
    await cache.aupdate("a", "llm", _answer("A"))
    await cache.aupdate("b", "llm", _answer("B"))
    assert await cache.alookup("a", "llm") == _answer("A")
    await cache.aupdate("c", "llm", _answer("C"))
    assert await cache.alookup("b", "llm") is None
    assert await cache.alookup("a", "llm") == _answer("A")


def test_get_many_hits_refresh_recency() -> None:
    repository = InMemoryRepository[LlmRecord](maxsize=2)
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    repository.put(LlmRecord("a", ("x",), now))
    repository.put(LlmRecord("b", ("x",), now))
    assert [r is not None for r in repository.get_many(["a", "missing"])] == [True, False]
    repository.put(LlmRecord("c", ("x",), now))
    assert repository.get("b") is None
    assert repository.get("a") is not None


@pytest.mark.parametrize("maxsize", [0, -1, 1.5, "10", True])
def test_a_bad_maxsize_is_refused_clearly(maxsize: Any) -> None:
    with pytest.raises(ConfigurationError, match="maxsize must be a positive integer"):
        InMemoryLlmCache(maxsize=maxsize)
    with pytest.raises(ConfigurationError, match="maxsize must be a positive integer"):
        AsyncInMemoryLlmCache(maxsize=maxsize)


def test_maxsize_with_a_shared_repository_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="maxsize belongs to the shared repository"):
        AsyncInMemoryRepository(InMemoryRepository(), maxsize=3)


# -- delete -------------------------------------------------------------------------------


def test_delete_removes_exactly_one_entry() -> None:
    cache = InMemoryLlmCache()
    for prompt in ("a", "b", "c"):
        cache.update(prompt, "llm", _answer(prompt))
    cache.update("a", "other llm", _answer("a2"))
    assert cache.delete("a", "llm") is True
    assert cache.lookup("a", "llm") is None
    assert cache.lookup("a", "other llm") == _answer("a2")
    assert cache.lookup("b", "llm") == _answer("b")
    assert cache.lookup("c", "llm") == _answer("c")
    assert cache.delete("a", "llm") is False  # nothing left to delete
    assert cache.statistics.operations["delete"].calls == 2


async def test_adelete_on_the_sync_and_the_async_classes() -> None:
    sync_cache = InMemoryLlmCache()
    sync_cache.update("a", "llm", _answer("A"))
    sync_cache.update("b", "llm", _answer("B"))
    assert await sync_cache.adelete("a", "llm") is True
    assert await sync_cache.adelete("a", "llm") is False
    assert sync_cache.lookup("b", "llm") == _answer("B")

    async_cache = AsyncInMemoryLlmCache()
    await async_cache.aupdate("a", "llm", _answer("A"))
    await async_cache.aupdate("b", "llm", _answer("B"))
    assert await async_cache.adelete("a", "llm") is True
    assert await async_cache.alookup("a", "llm") is None
    assert await async_cache.alookup("b", "llm") == _answer("B")
    assert await async_cache.adelete("a", "llm") is False
    with pytest.raises(NotImplementedError, match="adelete"):
        async_cache.delete("b", "llm")


class UnavailableRepository(InMemoryRepository[LlmRecord]):
    """A backend that is down: a fault a real node would need killing to show."""

    def delete_many(self, keys: Sequence[str]) -> int:
        raise BackendUnavailableError("connection refused")


def test_delete_fails_open_like_update() -> None:
    cache = RepositoryLlmCache(UnavailableRepository(), fail_open=True)
    assert cache.delete("a", "llm") is False
    assert cache.statistics.failed_open == 1
    strict = RepositoryLlmCache(UnavailableRepository())
    with pytest.raises(BackendUnavailableError):
        strict.delete("a", "llm")


# -- listing ------------------------------------------------------------------------------


def test_entries_lists_prompt_llm_string_and_timestamp(clock: FakeClock) -> None:
    cache = InMemoryLlmCache(clock=clock)
    written = {}
    for i in range(5):
        written[(f"prompt {i}", "llm")] = clock.advance(1)
        cache.update(f"prompt {i}", "llm", _answer(str(i)))
    listed = list(cache.entries(page_size=2))
    assert all(isinstance(entry, ListedLlmEntry) for entry in listed)
    assert {(e.prompt, e.llm_string): e.timestamp for e in listed} == written
    assert {e.key for e in listed} == {cache.policy.key(p, s) for p, s in written}


def test_entries_leaves_out_expired_unless_asked(clock: FakeClock) -> None:
    cache = InMemoryLlmCache(clock=clock, ttl=60)
    cache.update("old", "llm", _answer("old"))
    clock.advance(61)
    cache.update("new", "llm", _answer("new"))
    assert [e.prompt for e in cache.entries()] == ["new"]
    assert sorted(str(e.prompt) for e in cache.entries(include_expired=True)) == ["new", "old"]


def test_entries_without_stored_inputs_have_none() -> None:
    cache = InMemoryLlmCache(store_input=False, store_input_params=False)
    cache.update("secret prompt", "llm", _answer("x"))
    [entry] = cache.entries()
    assert (entry.prompt, entry.llm_string) == (None, None)
    assert entry.key == cache.policy.key("secret prompt", "llm")


def test_entries_leave_out_documents_of_another_key_scheme() -> None:
    repository = InMemoryRepository[LlmRecord]()
    RepositoryLlmCache(repository, key_scheme="legacy").update("p", "llm", _answer("x"))
    RepositoryLlmCache(repository).update("q", "llm", _answer("y"))
    assert [e.prompt for e in RepositoryLlmCache(repository).entries()] == ["q"]


class PagedRepository(InMemoryRepository[LlmRecord]):
    """Counts the records the scan has produced so far."""

    def __init__(self) -> None:
        super().__init__()
        self.produced = 0
        self.page_sizes: list[int] = []

    def scan(self, *, page_size: int = 1000) -> Iterator[LlmRecord]:
        self.page_sizes.append(page_size)
        for record in super().scan(page_size=page_size):
            self.produced += 1
            yield record


def test_entries_stream_lazily_with_the_page_size() -> None:
    repository = PagedRepository()
    cache = RepositoryLlmCache(repository)
    for i in range(10):
        cache.update(str(i), "llm", _answer(str(i)))
    listing = cache.entries(page_size=3)
    next(listing)
    assert repository.produced == 1
    assert repository.page_sizes == [3]


@pytest.mark.parametrize("page_size", [0, -3, 2.5, True, "5"])
def test_a_bad_page_size_is_refused_at_the_call(page_size: Any) -> None:
    with pytest.raises(ConfigurationError, match="page_size must be a positive integer"):
        InMemoryLlmCache().entries(page_size=page_size)
    with pytest.raises(ConfigurationError, match="page_size must be a positive integer"):
        AsyncInMemoryLlmCache().aentries(page_size=page_size)


async def test_aentries_lists_the_entries(clock: FakeClock) -> None:
    cache = AsyncInMemoryLlmCache(clock=clock)
    for i in range(4):
        await cache.aupdate(f"p{i}", "llm", _answer(str(i)))
    listed = [entry async for entry in cache.aentries(page_size=3)]
    assert sorted(str(e.prompt) for e in listed) == ["p0", "p1", "p2", "p3"]
    assert {e.timestamp for e in listed} == {clock.now}
    with pytest.raises(NotImplementedError, match="aentries"):
        cache.entries()
