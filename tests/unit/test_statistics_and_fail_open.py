"""Statistics snapshots and the fail-open mode, with a repository that fails on demand."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Generic

import attrs
import pytest
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache.adapters.memory import InMemoryRepository
from langchain_elasticsearch_cache.adapters.sync_as_async import SyncAsAsyncRepository
from langchain_elasticsearch_cache.domain import (
    BackendError,
    BackendUnavailableError,
    BulkOperationError,
    EmbeddingRecord,
    EntryRefusedError,
    LlmRecord,
)
from langchain_elasticsearch_cache.domain.ports import AsyncRepository, R, Repository
from langchain_elasticsearch_cache.interfaces.langchain import (
    AsyncRepositoryByteStore,
    AsyncRepositoryLlmCache,
    CacheStatistics,
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
    OperationStatistics,
    RepositoryByteStore,
    RepositoryLlmCache,
    _runtime,
)

LOGGER = "langchain_elasticsearch_cache"
GEN = [Generation(text="cached answer")]


class FlakyRepository(Generic[R]):
    """An in-memory repository that raises ``failure`` from every call while it is set."""

    def __init__(self) -> None:
        self.inner: InMemoryRepository[R] = InMemoryRepository()
        self.failure: Exception | None = None
        self.calls = 0

    def _check(self) -> None:
        self.calls += 1
        if self.failure is not None:
            raise self.failure

    def get(self, key: str) -> R | None:
        self._check()
        return self.inner.get(key)

    def get_many(self, keys: Sequence[str]) -> list[R | None]:
        self._check()
        return self.inner.get_many(keys)

    def put(self, record: R) -> None:
        self._check()
        self.inner.put(record)

    def put_many(self, records: Sequence[R]) -> None:
        self._check()
        self.inner.put_many(records)

    def delete_many(self, keys: Sequence[str]) -> int:
        self._check()
        return self.inner.delete_many(keys)

    def scan(self, *, page_size: int = 1000) -> Iterator[R]:
        self._check()
        return self.inner.scan(page_size=page_size)

    def count(self) -> int:
        self._check()
        return self.inner.count()

    def clear(self) -> int:
        self._check()
        return self.inner.clear()

    def delete_older_than(self, cutoff: datetime) -> int:
        self._check()
        return self.inner.delete_older_than(cutoff)

    def close(self) -> None:
        pass


class AsyncFlakyRepository(SyncAsAsyncRepository[R]):
    """Async face of :class:`FlakyRepository`."""

    def __init__(self) -> None:
        self.sync: FlakyRepository[R] = FlakyRepository()


def unavailable() -> BackendUnavailableError:
    return BackendUnavailableError("connection refused (test)")


def _unavailable_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith(LOGGER)
        and r.levelno == logging.WARNING
        and "unavailable" in r.getMessage()
    ]


def test_fakes_satisfy_the_ports() -> None:
    assert isinstance(FlakyRepository(), Repository)
    assert isinstance(AsyncFlakyRepository(), AsyncRepository)


# --- statistics -------------------------------------------------------------------------


def test_llm_statistics_count_per_operation() -> None:
    cache = InMemoryLlmCache()
    assert cache.lookup("p", "l") is None
    cache.update("p", "l", GEN)
    cache.update("q", "l", GEN)
    assert cache.lookup("p", "l") == GEN
    assert cache.lookup("q", "l") == GEN
    cache.clear()

    stats = cache.statistics
    lookup, update = stats.operations["lookup"], stats.operations["update"]
    assert (lookup.calls, lookup.hits, lookup.misses, lookup.writes, lookup.errors) == (
        3,
        2,
        1,
        0,
        0,
    )
    assert (update.calls, update.hits, update.misses, update.writes) == (2, 0, 0, 2)
    assert stats.operations["clear"].calls == 1
    assert (stats.hits, stats.misses, stats.writes, stats.errors) == (2, 1, 2, 0)
    assert stats.hit_rate == pytest.approx(2 / 3)
    assert 0 <= lookup.max_seconds <= lookup.total_seconds
    assert lookup.mean_seconds == pytest.approx(lookup.total_seconds / 3)


def test_byte_store_statistics_count_keys_not_calls() -> None:
    store = InMemoryEmbeddingsCache()
    store.mset([("a", b"1"), ("b", b"2"), ("c", b"3")])
    assert store.mget(["a", "b", "x", "c"]) == [b"1", b"2", None, b"3"]
    store.mdelete(["a", "zz"])
    assert store.mget(["a"]) == [None]

    ops = store.statistics.operations
    assert (ops["mset"].calls, ops["mset"].writes) == (1, 3)
    assert (ops["mget"].calls, ops["mget"].hits, ops["mget"].misses) == (2, 3, 2)
    assert ops["mdelete"].calls == 1
    assert store.statistics.hit_rate == pytest.approx(3 / 5)


def test_empty_statistics() -> None:
    stats = InMemoryLlmCache().statistics
    assert dict(stats.operations) == {}
    assert (stats.hits, stats.misses, stats.writes, stats.errors, stats.failed_open) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert stats.hit_rate == 0.0
    assert OperationStatistics().mean_seconds == 0.0


def test_statistics_snapshot_is_immutable_and_detached() -> None:
    cache = InMemoryLlmCache()
    cache.update("p", "l", GEN)
    snapshot = cache.statistics
    assert isinstance(snapshot, CacheStatistics)

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        snapshot.operations = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        snapshot.operations["lookup"] = OperationStatistics()  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        snapshot.operations["update"].writes = 99  # type: ignore[misc]

    cache.lookup("p", "l")
    cache.update("p", "l", GEN)
    assert "lookup" not in snapshot.operations
    assert snapshot.operations["update"].writes == 1
    assert cache.statistics.operations["update"].writes == 2


def test_reset_statistics() -> None:
    store = InMemoryEmbeddingsCache()
    store.mset([("a", b"1")])
    store.reset_statistics()
    assert dict(store.statistics.operations) == {}
    store.mget(["a"])
    assert store.statistics.hits == 1


def test_errors_are_counted_whether_or_not_they_are_absorbed() -> None:
    strict_repo: FlakyRepository[LlmRecord] = FlakyRepository()
    strict = RepositoryLlmCache(strict_repo)
    strict_repo.failure = unavailable()
    with pytest.raises(BackendUnavailableError):
        strict.lookup("p", "l")
    lookup = strict.statistics.operations["lookup"]
    assert (lookup.calls, lookup.errors, lookup.failed_open, lookup.misses) == (1, 1, 0, 0)

    lenient_repo: FlakyRepository[LlmRecord] = FlakyRepository()
    lenient = RepositoryLlmCache(lenient_repo, fail_open=True)
    lenient_repo.failure = unavailable()
    assert lenient.lookup("p", "l") is None
    lenient.update("p", "l", GEN)
    stats = lenient.statistics
    assert (stats.errors, stats.failed_open, stats.hits, stats.misses, stats.writes) == (
        2,
        2,
        0,
        0,
        0,
    )


# --- fail-open --------------------------------------------------------------------------


def test_fail_open_llm_cache_degrades_to_no_cache(caplog: pytest.LogCaptureFixture) -> None:
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo, fail_open=True, ttl=60)
    repo.failure = unavailable()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert cache.lookup("p", "l") is None
        cache.update("p", "l", GEN)
        cache.clear()
        assert cache.purge_expired() == 0
    assert repo.calls == 4
    (warning,) = _unavailable_warnings(caplog)
    assert "fail_open=True" in warning.getMessage()
    assert "connection refused (test)" in warning.getMessage()


def test_fail_open_byte_store_degrades_to_no_cache(caplog: pytest.LogCaptureFixture) -> None:
    repo: FlakyRepository[EmbeddingRecord] = FlakyRepository()
    store = RepositoryByteStore(repo, fail_open=True, ttl=60)
    repo.failure = unavailable()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert store.mget(["a", "b", "c"]) == [None, None, None]
        store.mset([("a", b"1")])
        store.mdelete(["a"])
        assert store.purge_expired() == 0
    assert repo.calls == 4
    assert len(_unavailable_warnings(caplog)) == 1
    assert store.statistics.failed_open == 4


def test_fail_open_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo, fail_open=True)
    repo.failure = unavailable()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for i in range(50):
            assert cache.lookup(f"p{i}", "l") is None
            cache.update(f"p{i}", "l", GEN)
    assert repo.calls == 100
    assert len(_unavailable_warnings(caplog)) == 1
    assert cache.statistics.failed_open == 100


def test_fail_open_warns_again_after_the_interval_with_a_suppressed_count(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    fake_time = SimpleNamespace(monotonic=lambda: now[0], perf_counter=time.perf_counter)
    monkeypatch.setattr(_runtime, "time", fake_time)

    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo, fail_open=True)
    repo.failure = unavailable()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(5):
            cache.lookup("p", "l")
        now[0] += 59.0
        cache.lookup("p", "l")  # still inside the 60 s interval
        assert len(_unavailable_warnings(caplog)) == 1
        now[0] += 1.0
        cache.lookup("p", "l")
    warnings = _unavailable_warnings(caplog)
    assert len(warnings) == 2
    assert "5 similar warnings suppressed" in warnings[1].getMessage()


@pytest.mark.parametrize(
    "failure",
    [
        BackendError("mapping conflict"),
        BulkOperationError("index", {"k": "version conflict"}),
        RuntimeError("a bug, not an outage"),
    ],
    ids=["backend-error", "bulk-error", "runtime-error"],
)
def test_fail_open_does_not_swallow_other_errors(
    failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    llm_repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(llm_repo, fail_open=True)
    llm_repo.failure = failure
    emb_repo: FlakyRepository[EmbeddingRecord] = FlakyRepository()
    store = RepositoryByteStore(emb_repo, fail_open=True)
    emb_repo.failure = failure

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        with pytest.raises(type(failure)):
            cache.lookup("p", "l")
        with pytest.raises(type(failure)):
            cache.update("p", "l", GEN)
        with pytest.raises(type(failure)):
            store.mget(["a"])
        with pytest.raises(type(failure)):
            store.mset([("a", b"1")])
    assert _unavailable_warnings(caplog) == []
    assert cache.statistics.errors == 2
    assert cache.statistics.failed_open == 0


def test_without_fail_open_unavailability_surfaces() -> None:
    llm_repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(llm_repo)
    llm_repo.failure = unavailable()
    emb_repo: FlakyRepository[EmbeddingRecord] = FlakyRepository()
    store = RepositoryByteStore(emb_repo)
    emb_repo.failure = unavailable()

    with pytest.raises(BackendUnavailableError, match="connection refused"):
        cache.lookup("p", "l")
    with pytest.raises(BackendUnavailableError):
        cache.update("p", "l", GEN)
    with pytest.raises(BackendUnavailableError):
        store.mget(["a"])
    with pytest.raises(BackendUnavailableError):
        store.mset([("a", b"1")])
    with pytest.raises(BackendUnavailableError):
        store.mdelete(["a"])


def test_hits_resume_when_the_backend_comes_back() -> None:
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo, fail_open=True)
    cache.update("before", "l", GEN)

    repo.failure = unavailable()
    assert cache.lookup("before", "l") is None
    cache.update("during", "l", GEN)  # lost, silently

    repo.failure = None
    assert cache.lookup("before", "l") == GEN
    assert cache.lookup("during", "l") is None
    cache.update("during", "l", GEN)
    assert cache.lookup("during", "l") == GEN
    lookup = cache.statistics.operations["lookup"]
    assert (lookup.hits, lookup.misses, lookup.failed_open) == (2, 1, 1)


def test_byte_store_hits_resume_when_the_backend_comes_back() -> None:
    repo: FlakyRepository[EmbeddingRecord] = FlakyRepository()
    store = RepositoryByteStore(repo, fail_open=True)
    store.mset([("a", b"1")])
    repo.failure = unavailable()
    assert store.mget(["a"]) == [None]
    repo.failure = None
    assert store.mget(["a"]) == [b"1"]


async def test_async_fail_open_and_resume(caplog: pytest.LogCaptureFixture) -> None:
    llm_repo: AsyncFlakyRepository[LlmRecord] = AsyncFlakyRepository()
    cache = AsyncRepositoryLlmCache(llm_repo, fail_open=True)
    emb_repo: AsyncFlakyRepository[EmbeddingRecord] = AsyncFlakyRepository()
    store = AsyncRepositoryByteStore(emb_repo, fail_open=True)
    await cache.aupdate("p", "l", GEN)
    await store.amset([("a", b"1")])

    llm_repo.sync.failure = unavailable()
    emb_repo.sync.failure = unavailable()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(10):
            assert await cache.alookup("p", "l") is None
            await cache.aupdate("q", "l", GEN)
            assert await store.amget(["a", "b"]) == [None, None]
            await store.amset([("b", b"2")])
            await store.amdelete(["a"])
    # one warning per cache object, however many calls failed
    assert len(_unavailable_warnings(caplog)) == 2

    llm_repo.sync.failure = None
    emb_repo.sync.failure = None
    assert await cache.alookup("p", "l") == GEN
    assert await store.amget(["a", "b"]) == [b"1", None]


async def test_async_other_errors_and_strict_mode_raise() -> None:
    llm_repo: AsyncFlakyRepository[LlmRecord] = AsyncFlakyRepository()
    lenient = AsyncRepositoryLlmCache(llm_repo, fail_open=True)
    strict = AsyncRepositoryLlmCache(llm_repo)
    llm_repo.sync.failure = BackendError("forbidden")
    with pytest.raises(BackendError):
        await lenient.alookup("p", "l")
    llm_repo.sync.failure = unavailable()
    assert await lenient.alookup("p", "l") is None
    with pytest.raises(BackendUnavailableError):
        await strict.alookup("p", "l")
    with pytest.raises(BackendUnavailableError):
        await strict.aupdate("p", "l", GEN)


def test_repr_mentions_fail_open() -> None:
    text = repr(RepositoryLlmCache(FlakyRepository[LlmRecord](), fail_open=True))
    assert "fail_open=True" in text
    text = repr(RepositoryByteStore(FlakyRepository[EmbeddingRecord](), namespace="n"))
    assert "namespace='n'" in text and "fail_open=False" in text


def test_fail_open_says_once_when_the_backend_answers_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo, fail_open=True)
    repo.failure = unavailable()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(5):
            assert cache.lookup("p", "l") is None
        repo.failure = None
        cache.lookup("p", "l")
        cache.lookup("p", "l")
        # flapping inside the warning interval: no new warning, so no new "again" either
        repo.failure = unavailable()
        cache.lookup("p", "l")
        repo.failure = None
        cache.lookup("p", "l")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith(LOGGER)]
    assert len(messages) == 2, messages
    assert "unavailable" in messages[0]
    assert "answering again" in messages[1]
    assert "5 call(s) went without the cache" in messages[1]


# --- the client's own log lines ----------------------------------------------------------

CLIENT_LOGGER = "lecache.test.client"


class ChattyFlakyRepository(FlakyRepository[R]):
    """Logs a warning per call, as an HTTP client does for every failed request."""

    def _check(self) -> None:
        logging.getLogger(CLIENT_LOGGER).warning("request %d failed", self.calls)
        super()._check()


class AsyncChattyFlakyRepository(SyncAsAsyncRepository[R]):
    def __init__(self) -> None:
        self.sync: ChattyFlakyRepository[R] = ChattyFlakyRepository()


def _client_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == CLIENT_LOGGER]


async def test_client_lines_are_silenced_inside_fail_open_calls_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _runtime.quiet_during_fail_open_calls(CLIENT_LOGGER)
    _runtime.quiet_during_fail_open_calls(CLIENT_LOGGER)  # idempotent
    assert logging.getLogger(CLIENT_LOGGER).filters.count(_runtime._SILENCER) == 1

    lenient: ChattyFlakyRepository[LlmRecord] = ChattyFlakyRepository()
    strict: ChattyFlakyRepository[LlmRecord] = ChattyFlakyRepository()
    alenient: AsyncChattyFlakyRepository[LlmRecord] = AsyncChattyFlakyRepository()
    open_cache = RepositoryLlmCache(lenient, fail_open=True)
    strict_cache = RepositoryLlmCache(strict)
    async_cache = AsyncRepositoryLlmCache(alenient, fail_open=True)
    lenient.failure = strict.failure = alenient.sync.failure = unavailable()

    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            assert open_cache.lookup("p", "l") is None
            open_cache.update("p", "l", GEN)
            assert await async_cache.alookup("p", "l") is None
        assert _client_lines(caplog) == []
        assert len(_unavailable_warnings(caplog)) == 2  # one per cache object, rate-limited

        # a strict cache, and code outside any cache call, are heard as usual
        with pytest.raises(BackendUnavailableError):
            strict_cache.lookup("p", "l")
        logging.getLogger(CLIENT_LOGGER).warning("outside")
        assert _client_lines(caplog) == ["request 0 failed", "outside"]

        # an error fail-open does not absorb reaches the caller (which is how it is
        # heard); the mark does not outlive the call that raised it
        lenient.failure = BackendError("mapping conflict")
        with pytest.raises(BackendError):
            open_cache.lookup("p", "l")
        logging.getLogger(CLIENT_LOGGER).warning("after")
        assert _client_lines(caplog) == ["request 0 failed", "outside", "after"]


def test_refused_entries_are_skipped_under_fail_open_and_counted_apart(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not an outage: no failed_open, no "answering again" line; counted per key."""
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo, fail_open=True)
    store_repo: FlakyRepository[EmbeddingRecord] = FlakyRepository()
    store = RepositoryByteStore(store_repo, fail_open=True)
    repo.failure = EntryRefusedError("too large (test)", keys=["k"])
    store_repo.failure = EntryRefusedError("two too large (test)", keys=["a", "b"])
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for i in range(3):
            cache.update(f"p{i}", "l", GEN)
        store.mset([("a", b"1"), ("b", b"2"), ("c", b"3")])
        repo.failure = None
        cache.update("fits", "l", GEN)
    stats = cache.statistics
    assert (stats.refused, stats.failed_open, stats.errors, stats.writes) == (3, 0, 3, 1)
    assert store.statistics.refused == 2
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len([m for m in messages if "too large (test)" in m]) == 2  # one per cache object
    assert not [m for m in messages if "answering again" in m]
    assert OperationStatistics(1, 0, 0, 0, 0, 0, 0.5, 0.5).refused == 0  # positional, as before


def test_refused_entries_raise_without_fail_open() -> None:
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo)
    repo.failure = EntryRefusedError("too large (test)", keys=["k"])
    with pytest.raises(EntryRefusedError, match="too large"):
        cache.update("p", "l", GEN)
    assert cache.statistics.refused == 1
