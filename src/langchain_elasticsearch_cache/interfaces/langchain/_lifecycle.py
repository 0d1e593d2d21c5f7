"""What every cache class does besides caching: purge expired entries and close."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from typing_extensions import Self

from ...domain.expiry import expiry_cutoff
from ...domain.ports import AsyncRepository, Repository
from ._runtime import Clock, Runtime


class _Parts:
    _policy: Any  # an LlmCachePolicy or EmbeddingCachePolicy: both have ``ttl``
    _runtime: Runtime
    _clock: Clock

    def _cutoff(self) -> datetime | None:
        ttl: timedelta | None = self._policy.ttl
        return None if ttl is None else expiry_cutoff(self._clock(), ttl)


class SyncLifecycle(_Parts):
    """``purge_expired``, ``close`` and ``with`` for classes over a sync repository."""

    _repository: Repository[Any]

    def purge_expired(self) -> int:
        """Delete the entries older than ``ttl`` from the store; returns how many."""
        cutoff = self._cutoff()
        if cutoff is None:
            return 0
        return self._runtime.run(
            "purge_expired", lambda: self._repository.delete_older_than(cutoff), 0
        )

    def close(self) -> None:
        """Release the repository (and the client, when the cache created it)."""
        self._repository.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncLifecycle(_Parts):
    """``apurge_expired``, ``aclose`` and ``async with`` over an async repository."""

    _repository: AsyncRepository[Any]

    async def apurge_expired(self) -> int:
        """Delete the entries older than ``ttl`` from the store; returns how many."""
        cutoff = self._cutoff()
        if cutoff is None:
            return 0
        return await self._runtime.arun(
            "purge_expired", lambda: self._repository.delete_older_than(cutoff), 0
        )

    async def aclose(self) -> None:
        """Release the repository (and the client, when the cache created it)."""
        await self._repository.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
