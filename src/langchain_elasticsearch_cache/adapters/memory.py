"""In-memory repositories: the default store for demos and tests, and a reference adapter.

They keep exactly the semantics of the ports (and so of the Elasticsearch adapters): last
write wins per key, deleting absent keys is fine, one result per requested key, scans in
pages. The sync repository is guarded by a lock so threads may share it; the async one
wraps a sync one and never awaits while holding state, so tasks may share it too.

With ``maxsize`` a repository keeps at most that many records, evicting the least recently
used one, as LangChain's ``InMemoryCache(maxsize=...)`` does: a write or a ``get`` /
``get_many`` that finds a record makes it the most recent (a scan does not).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Generic

from ..domain.errors import ConfigurationError
from ..domain.ports import R
from .sync_as_async import SyncAsAsyncRepository


def _check_maxsize(maxsize: int | None) -> int | None:
    if maxsize is None:
        return None
    if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
        raise ConfigurationError(
            f"maxsize must be a positive integer (the most entries to keep, the least "
            f"recently used evicted first) or None for no limit, got {maxsize!r}"
        )
    return maxsize


def _check_page_size(page_size: int) -> None:
    if page_size < 1:
        raise ConfigurationError(f"page_size must be at least 1, got {page_size}")


class InMemoryRepository(Generic[R]):
    """A thread-safe dict of records keyed by ``record.key``; with ``maxsize``, at most
    that many, the least recently used evicted first.

    Args:
        maxsize: Most records kept (a read makes a record recent); ``None`` keeps all.

    Raises:
        ConfigurationError: ``maxsize`` is not a positive integer or ``None``.
    """

    def __init__(self, *, maxsize: int | None = None) -> None:
        self._maxsize = _check_maxsize(maxsize)
        # insertion order is recency order: the least recently used record comes first
        self._records: OrderedDict[str, R] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def maxsize(self) -> int | None:
        return self._maxsize

    def get(self, key: str) -> R | None:
        with self._lock:
            record = self._records.get(key)
            if record is not None and self._maxsize is not None:
                self._records.move_to_end(key)
            return record

    def get_many(self, keys: Sequence[str]) -> list[R | None]:
        with self._lock:
            found = [self._records.get(key) for key in keys]
            if self._maxsize is not None:
                for key, record in zip(keys, found, strict=True):
                    if record is not None:
                        self._records.move_to_end(key)
            return found

    def put(self, record: R) -> None:
        with self._lock:
            self._store(record)

    def put_many(self, records: Sequence[R]) -> None:
        with self._lock:
            for record in records:
                self._store(record)

    def _store(self, record: R) -> None:
        """Write under the lock; a bounded store makes it the most recent and evicts."""
        self._records[record.key] = record
        if self._maxsize is not None:
            self._records.move_to_end(record.key)
            while len(self._records) > self._maxsize:
                self._records.popitem(last=False)

    def delete_many(self, keys: Sequence[str]) -> int:
        deleted = 0
        with self._lock:
            for key in dict.fromkeys(keys):
                if self._records.pop(key, None) is not None:
                    deleted += 1
        return deleted

    def scan(self, *, page_size: int = 1000) -> Iterator[R]:
        _check_page_size(page_size)
        with self._lock:
            keys = sorted(self._records)
        for start in range(0, len(keys), page_size):
            with self._lock:
                page = [self._records.get(key) for key in keys[start : start + page_size]]
            yield from (record for record in page if record is not None)

    def count(self) -> int:
        with self._lock:
            return len(self._records)

    def clear(self) -> int:
        with self._lock:
            removed = len(self._records)
            self._records.clear()
        return removed

    def delete_older_than(self, cutoff: datetime) -> int:
        with self._lock:
            old = [key for key, rec in self._records.items() if rec.timestamp <= cutoff]
            for key in old:
                del self._records[key]
        return len(old)

    def close(self) -> None:
        """Nothing to release; present so every repository closes the same way."""

    def __enter__(self) -> InMemoryRepository[R]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncInMemoryRepository(SyncAsAsyncRepository[R]):
    """The async face of :class:`InMemoryRepository` (optionally sharing one).

    Args:
        shared: A synchronous repository whose records this one reads and writes (both
            faces then see the same records); ``None`` makes a new one.
        maxsize: Most records kept by a new repository; ``None`` keeps all.

    Raises:
        ConfigurationError: ``maxsize`` is given with ``shared`` (it belongs to the shared
            repository), or is not a positive integer.
    """

    def __init__(
        self, shared: InMemoryRepository[R] | None = None, *, maxsize: int | None = None
    ) -> None:
        if shared is not None and maxsize is not None:
            raise ConfigurationError(
                "maxsize belongs to the shared repository: pass "
                "InMemoryRepository(maxsize=...) as shared, or maxsize without shared"
            )
        # no super().__init__: it only sets ``sync``, here to the narrower in-memory type
        self.sync: InMemoryRepository[R] = (
            shared if shared is not None else InMemoryRepository(maxsize=maxsize)
        )
