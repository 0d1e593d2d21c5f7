"""The repository contract: the tests every storage adapter must pass.

The ports (:mod:`langchain_elasticsearch_cache.domain.ports`) say what a repository does;
these tests say it with examples. The in-memory and Elasticsearch adapters both pass them,
which is what makes them interchangeable. To check an adapter of your own, subclass the
class for its face (sync or async) and record kind, and provide a ``repository`` fixture
returning a fresh, empty repository::

    from langchain_elasticsearch_cache.testing.contract import LlmRepositoryContract

    class TestMyLlmRepository(LlmRepositoryContract):
        @pytest.fixture
        def repository(self):
            repo = MyRepository(...)
            yield repo
            repo.close()

Every test is written once, as a coroutine against the async port; the sync classes run
the same tests through a thin async face over the sync repository, so both faces are held
to exactly the same behaviour. Needs ``pytest`` and ``pytest-asyncio``.

An adapter that can hold a document of the wrong shape (a real database can) also mixes
in :class:`CorruptDocumentContract` and implements its ``store_corrupt_document``.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Generic

import pytest

from ..adapters.sync_as_async import SyncAsAsyncRepository
from ..domain.entries import EmbeddingRecord, LlmRecord
from ..domain.errors import ConfigurationError
from ..domain.ports import AsyncRepository, R, Repository

__all__ = [
    "T0",
    "UNICODE_TEXTS",
    "AsyncEmbeddingRepositoryContract",
    "AsyncLlmRepositoryContract",
    "EmbeddingRepositoryContract",
    "LlmRepositoryContract",
    "RepositoryContract",
    "SyncAsAsyncRepository",
]

#: The reference time of the contract's records.
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

#: Texts every adapter must store and return unchanged (valid Unicode: no lone surrogates).
UNICODE_TEXTS: tuple[str, ...] = (
    "",
    "plain ascii",
    "accents: déjà vu, naïve, Ærøskøbing",
    "combining: e\u0301 a\u0308",
    "CJK: 漢字かなカナ한국어",
    "RTL: مرحبا بالعالم שלום",
    "emoji: 😀 👩🏽‍💻 🏳️‍🌈",
    "astral: \U0001d54f \U0010ffff",
    "controls: nul\x00 bell\x07 esc\x1b del\x7f",
    "whitespace:\n\t\r \u00a0\u2028\u2029",
    "quotes: \"double\" 'single' \\backslash\\ {json: [1]}",
    "bom: \ufeff zero width: \u200b\u200d",
)


async def _scan(repo: AsyncRepository[R], page_size: int) -> list[R]:
    return [record async for record in repo.scan(page_size=page_size)]


class RepositoryContract(Generic[R]):
    """The tests. Use one of the four concrete subclasses below."""

    # -- what a subclass provides -------------------------------------------------

    def make_record(self, key: str, *, text: str = "text", timestamp: datetime = T0) -> R:
        """A record of this kind whose content depends on ``text``."""
        raise NotImplementedError

    def is_repository(self, repository: Any) -> bool:
        """Whether ``repository`` satisfies the port of this face."""
        raise NotImplementedError

    # -- the contract -------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_satisfies_the_port(self, repository: Any) -> None:
        assert self.is_repository(repository)

    @pytest.mark.asyncio
    async def test_get_of_a_missing_key_is_none(self, repo: AsyncRepository[R]) -> None:
        assert await repo.get("missing") is None

    @pytest.mark.asyncio
    async def test_put_then_get_round_trips(self, repo: AsyncRepository[R]) -> None:
        record = self.make_record("k1", text="hello")
        await repo.put(record)
        assert await repo.get("k1") == record

    @pytest.mark.asyncio
    async def test_put_overwrites_the_same_key(self, repo: AsyncRepository[R]) -> None:
        await repo.put(self.make_record("k1", text="first"))
        second = self.make_record("k1", text="second", timestamp=T0 + timedelta(seconds=1))
        await repo.put(second)
        assert await repo.get("k1") == second
        assert await repo.count() == 1

    @pytest.mark.asyncio
    async def test_get_many_answers_every_key_in_order(self, repo: AsyncRepository[R]) -> None:
        a = self.make_record("a", text="A")
        b = self.make_record("b", text="B")
        await repo.put_many([a, b])
        keys = ["b", "missing", "a", "b", "a", "other-missing", "b"]
        assert await repo.get_many(keys) == [b, None, a, b, a, None, b]

    @pytest.mark.asyncio
    async def test_get_many_of_nothing_is_empty(self, repo: AsyncRepository[R]) -> None:
        assert await repo.get_many([]) == []

    @pytest.mark.asyncio
    async def test_put_many_then_get_many(self, repo: AsyncRepository[R]) -> None:
        records = [self.make_record(f"key-{i:04d}", text=f"text {i}") for i in range(120)]
        await repo.put_many(records)
        assert await repo.get_many([r.key for r in records]) == records
        assert await repo.count() == len(records)

    @pytest.mark.asyncio
    async def test_put_many_of_nothing_stores_nothing(self, repo: AsyncRepository[R]) -> None:
        await repo.put_many([])
        assert await repo.count() == 0

    @pytest.mark.asyncio
    async def test_put_many_last_copy_of_a_key_wins(self, repo: AsyncRepository[R]) -> None:
        first = self.make_record("dup", text="first")
        last = self.make_record("dup", text="last")
        await repo.put_many([first, self.make_record("other"), last])
        assert await repo.get("dup") == last
        assert await repo.count() == 2

    @pytest.mark.asyncio
    async def test_delete_many_of_missing_keys_is_zero(self, repo: AsyncRepository[R]) -> None:
        assert await repo.delete_many(["missing", "also-missing"]) == 0
        assert await repo.delete_many([]) == 0

    @pytest.mark.asyncio
    async def test_delete_many_counts_what_it_deleted(self, repo: AsyncRepository[R]) -> None:
        await repo.put_many([self.make_record(key) for key in ("a", "b", "c")])
        assert await repo.delete_many(["a", "missing", "a", "c"]) == 2
        assert await repo.get_many(["a", "b", "c"]) == [None, self.make_record("b"), None]
        assert await repo.count() == 1

    @pytest.mark.asyncio
    async def test_scan_in_small_pages_yields_every_record_once(
        self, repo: AsyncRepository[R]
    ) -> None:
        records = [self.make_record(f"key-{i:03d}", text=str(i)) for i in range(23)]
        await repo.put_many(records)
        scanned = await _scan(repo, page_size=5)
        assert len(scanned) == len(records)
        assert sorted(scanned, key=lambda r: r.key) == records

    @pytest.mark.asyncio
    async def test_scan_with_an_exact_multiple_of_the_page(self, repo: AsyncRepository[R]) -> None:
        records = [self.make_record(f"key-{i:03d}") for i in range(6)]
        await repo.put_many(records)
        assert sorted(await _scan(repo, page_size=3), key=lambda r: r.key) == records
        assert len(await _scan(repo, page_size=1)) == 6

    @pytest.mark.asyncio
    async def test_scan_of_an_empty_store(self, repo: AsyncRepository[R]) -> None:
        assert await _scan(repo, page_size=10) == []

    @pytest.mark.asyncio
    async def test_scan_rejects_a_page_size_below_one(self, repo: AsyncRepository[R]) -> None:
        with pytest.raises(ConfigurationError):
            await _scan(repo, page_size=0)

    @pytest.mark.asyncio
    async def test_count(self, repo: AsyncRepository[R]) -> None:
        assert await repo.count() == 0
        await repo.put(self.make_record("a"))
        assert await repo.count() == 1
        await repo.put_many([self.make_record("b"), self.make_record("c")])
        assert await repo.count() == 3

    @pytest.mark.asyncio
    async def test_clear_returns_the_count_and_empties(self, repo: AsyncRepository[R]) -> None:
        await repo.put_many([self.make_record(f"k{i}") for i in range(7)])
        assert await repo.clear() == 7
        assert await repo.count() == 0
        assert await repo.get("k1") is None
        assert await repo.clear() == 0

    @pytest.mark.asyncio
    async def test_delete_older_than_is_exact_at_the_cutoff(self, repo: AsyncRepository[R]) -> None:
        microsecond = timedelta(microseconds=1)
        times = {
            "long-ago": T0 - timedelta(days=400),
            "a-second-before": T0 - timedelta(seconds=1),
            "a-microsecond-before": T0 - microsecond,
            "at-the-cutoff": T0,
            "a-microsecond-after": T0 + microsecond,
            "half-a-millisecond-after": T0 + timedelta(microseconds=500),
            "a-day-after": T0 + timedelta(days=1),
        }
        await repo.put_many([self.make_record(k, timestamp=t) for k, t in times.items()])
        assert await repo.delete_older_than(T0) == 4
        kept = sorted(record.key for record in await _scan(repo, page_size=100))
        assert kept == ["a-day-after", "a-microsecond-after", "half-a-millisecond-after"]
        assert await repo.delete_older_than(T0) == 0
        assert await repo.count() == 3

    @pytest.mark.asyncio
    async def test_delete_older_than_reads_any_timezone(self, repo: AsyncRepository[R]) -> None:
        paris = timezone(timedelta(hours=2))
        await repo.put(self.make_record("noon-utc", timestamp=T0))
        assert await repo.delete_older_than(T0.astimezone(paris) - timedelta(seconds=1)) == 0
        assert await repo.delete_older_than(T0.astimezone(paris)) == 1

    @pytest.mark.asyncio
    async def test_timestamps_round_trip_exactly(self, repo: AsyncRepository[R]) -> None:
        when = datetime(2023, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-7)))
        record = self.make_record("precise", timestamp=when)
        await repo.put(record)
        stored = await repo.get("precise")
        assert stored is not None
        assert stored.timestamp == when
        assert stored == record

    @pytest.mark.asyncio
    async def test_unicode_texts_round_trip(self, repo: AsyncRepository[R]) -> None:
        records = [self.make_record(f"u{i}", text=text) for i, text in enumerate(UNICODE_TEXTS)]
        await repo.put_many(records)
        assert await repo.get_many([r.key for r in records]) == records
        single = self.make_record("single", text=UNICODE_TEXTS[6])
        await repo.put(single)
        assert await repo.get("single") == single

    @pytest.mark.asyncio
    async def test_large_text_round_trips(self, repo: AsyncRepository[R]) -> None:
        text = "large ☃ text 漢字 " * 70_000  # about 1.5 MB of UTF-8
        record = self.make_record("large", text=text)
        await repo.put(record)
        assert await repo.get("large") == record
        assert await repo.get_many(["large"]) == [record]

    @pytest.mark.asyncio
    async def test_close_can_be_called_twice(self, repo: AsyncRepository[R]) -> None:
        await repo.close()
        await repo.close()


# -- record kinds -------------------------------------------------------------------


class CorruptDocumentContract:
    """Mix-in for stores that can hold a document of the wrong shape: it is a miss.

    Mix it in before a contract class, which provides ``make_record``.
    """

    make_record: Any

    async def store_corrupt_document(self, repository: Any, key: str) -> None:
        """Store, under ``key``, a document this kind cannot read (wrong shape)."""
        raise NotImplementedError

    @pytest.mark.asyncio
    async def test_corrupt_documents_are_misses_and_skipped(
        self, repository: Any, repo: AsyncRepository[R]
    ) -> None:
        good = self.make_record("good")
        await repo.put(good)
        await self.store_corrupt_document(repository, "corrupt")
        assert await repo.get("corrupt") is None
        assert await repo.get_many(["corrupt", "good", "corrupt"]) == [None, good, None]
        assert await _scan(repo, page_size=1) == [good]


class _LlmRecords:
    def make_record(self, key: str, *, text: str = "text", timestamp: datetime = T0) -> LlmRecord:
        generation = json.dumps({"lc": 1, "type": "constructor", "kwargs": {"text": text}})
        return LlmRecord(
            key=key,
            llm_output=(generation, f"second generation {len(text)}"),
            timestamp=timestamp,
            llm_input=text,
            llm_params="{'model_name': 'fake', 'temperature': 0.0}",
            metadata={"team": "contract", "nested": {"n": 1, "tags": ["a", "b"]}},
        )


class _EmbeddingRecords:
    def make_record(
        self, key: str, *, text: str = "text", timestamp: datetime = T0
    ) -> EmbeddingRecord:
        vector = text.encode("utf-8") + b"\x00\xff"
        return EmbeddingRecord(
            key=key,
            vector_dump=base64.b64encode(vector).decode("ascii"),
            timestamp=timestamp,
            text_input=text,
            namespace="contract",
            metadata={"team": "contract"},
        )


# -- faces --------------------------------------------------------------------------


class _SyncFace:
    """Runs the contract's coroutines against a sync ``repository`` fixture."""

    @pytest.fixture
    def repo(self, repository: Any) -> SyncAsAsyncRepository[Any]:
        return SyncAsAsyncRepository(repository)

    def is_repository(self, repository: Any) -> bool:
        return isinstance(repository, Repository)


class _AsyncFace:
    """Runs the contract against an async ``repository`` fixture as it is."""

    @pytest.fixture
    def repo(self, repository: Any) -> Any:
        return repository

    def is_repository(self, repository: Any) -> bool:
        return isinstance(repository, AsyncRepository)


class LlmRepositoryContract(_SyncFace, _LlmRecords, RepositoryContract[LlmRecord]):
    """Contract for a sync ``Repository[LlmRecord]``: provide a ``repository`` fixture."""


class EmbeddingRepositoryContract(
    _SyncFace, _EmbeddingRecords, RepositoryContract[EmbeddingRecord]
):
    """Contract for a sync ``Repository[EmbeddingRecord]``: provide ``repository``."""


class AsyncLlmRepositoryContract(_AsyncFace, _LlmRecords, RepositoryContract[LlmRecord]):
    """Contract for an ``AsyncRepository[LlmRecord]``: provide a ``repository`` fixture."""


class AsyncEmbeddingRepositoryContract(
    _AsyncFace, _EmbeddingRecords, RepositoryContract[EmbeddingRecord]
):
    """Contract for an ``AsyncRepository[EmbeddingRecord]``: provide ``repository``."""
