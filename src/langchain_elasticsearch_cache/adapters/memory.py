"""In-memory repositories: the default store for demos and tests, and a reference adapter.

They keep exactly the semantics of the ports (and so of the Elasticsearch adapters): last
write wins per key, deleting absent keys is fine, one result per requested key, scans in
pages. The sync repository is guarded by a lock so threads may share it; the async one
wraps a sync one and never awaits while holding state, so tasks may share it too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Generic

from ..domain.errors import ConfigurationError
from ..domain.ports import R
from .sync_as_async import SyncAsAsyncRepository


def _check_page_size(page_size: int) -> None:
    if page_size < 1:
        raise ConfigurationError(f"page_size must be at least 1, got {page_size}")


class InMemoryRepository(Generic[R]):
    """A thread-safe dict of records keyed by ``record.key``."""

    def __init__(self) -> None:
        self._records: dict[str, R] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> R | None:
        with self._lock:
            return self._records.get(key)

    def get_many(self, keys: Sequence[str]) -> list[R | None]:
        with self._lock:
            return [self._records.get(key) for key in keys]

    def put(self, record: R) -> None:
        with self._lock:
            self._records[record.key] = record

    def put_many(self, records: Sequence[R]) -> None:
        with self._lock:
            for record in records:
                self._records[record.key] = record

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
    """The async face of :class:`InMemoryRepository` (optionally sharing one)."""

    def __init__(self, shared: InMemoryRepository[R] | None = None) -> None:
        # no super().__init__: it only sets ``sync``, here to the narrower in-memory type
        self.sync: InMemoryRepository[R] = shared if shared is not None else InMemoryRepository()
