"""Ports: what storage must do for the caches, sync and async.

A repository stores *records* (:class:`LlmRecord` or :class:`EmbeddingRecord`) by key.
The Elasticsearch adapters, the in-memory adapter and any adapter a user writes implement
these protocols; the interfaces depend on nothing else. ``testing.contract`` holds the
test suite an adapter must pass.

Semantics every adapter keeps:

* ``put`` / ``put_many`` overwrite a record with the same key; when several copies of a
  key exist (an alias over several indices), ``get`` / ``get_many`` return the one with
  the newest ``timestamp``.
* ``delete_many`` of keys that are absent is not an error; it returns how many were deleted.
* ``get_many`` returns exactly one result per requested key, in order.
* ``scan`` streams every record with memory bounded by ``page_size``, not by the store size.
* ``delete_older_than(cutoff)`` deletes the records whose timestamp is ``<= cutoff``.
* ``BackendUnavailableError`` means "not answering right now"; every other failure is a
  ``CacheError`` that is not that one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from typing import Protocol, TypeVar, runtime_checkable

from .entries import EmbeddingRecord, LlmRecord

R = TypeVar("R", LlmRecord, EmbeddingRecord)


@runtime_checkable
class Repository(Protocol[R]):
    """Synchronous storage of records keyed by ``record.key``."""

    def get(self, key: str) -> R | None: ...

    def get_many(self, keys: Sequence[str]) -> list[R | None]: ...

    def put(self, record: R) -> None: ...

    def put_many(self, records: Sequence[R]) -> None: ...

    def delete_many(self, keys: Sequence[str]) -> int: ...

    def scan(self, *, page_size: int = 1000) -> Iterator[R]: ...

    def count(self) -> int: ...

    def clear(self) -> int: ...

    def delete_older_than(self, cutoff: datetime) -> int: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncRepository(Protocol[R]):
    """Asynchronous twin of :class:`Repository`."""

    async def get(self, key: str) -> R | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[R | None]: ...

    async def put(self, record: R) -> None: ...

    async def put_many(self, records: Sequence[R]) -> None: ...

    async def delete_many(self, keys: Sequence[str]) -> int: ...

    def scan(self, *, page_size: int = 1000) -> AsyncIterator[R]: ...

    async def count(self) -> int: ...

    async def clear(self) -> int: ...

    async def delete_older_than(self, cutoff: datetime) -> int: ...

    async def close(self) -> None: ...


LlmRepository = Repository[LlmRecord]
EmbeddingRepository = Repository[EmbeddingRecord]
AsyncLlmRepository = AsyncRepository[LlmRecord]
AsyncEmbeddingRepository = AsyncRepository[EmbeddingRecord]
