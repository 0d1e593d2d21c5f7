"""The async port over any sync repository.

For storage that is fast and never blocks (memory), or to reuse a sync adapter of your own
where an async cache class is wanted. Each call runs the sync call directly, on the event
loop: wrap only repositories whose calls do not block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Generic

from typing_extensions import Self

from ..domain.ports import EmbeddingCheckingRepository, R, Repository, VectorRepository
from ..domain.semantic.identity import EmbeddingIdentity
from ..domain.semantic_records import SemanticCandidate, SemanticRecord, VectorQuery


class SyncAsAsyncRepository(Generic[R]):
    """``AsyncRepository`` whose every method delegates to the sync ``repository``."""

    def __init__(self, repository: Repository[R]) -> None:
        self.sync: Repository[R] = repository

    async def get(self, key: str) -> R | None:
        return self.sync.get(key)

    async def get_many(self, keys: Sequence[str]) -> list[R | None]:
        return self.sync.get_many(keys)

    async def put(self, record: R) -> None:
        self.sync.put(record)

    async def put_many(self, records: Sequence[R]) -> None:
        self.sync.put_many(records)

    async def delete_many(self, keys: Sequence[str]) -> int:
        return self.sync.delete_many(keys)

    async def scan(self, *, page_size: int = 1000) -> AsyncIterator[R]:
        for record in self.sync.scan(page_size=page_size):
            yield record

    async def count(self) -> int:
        return self.sync.count()

    async def clear(self) -> int:
        return self.sync.clear()

    async def delete_older_than(self, cutoff: datetime) -> int:
        return self.sync.delete_older_than(cutoff)

    async def close(self) -> None:
        self.sync.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class SyncAsAsyncVectorRepository(SyncAsAsyncRepository[SemanticRecord]):
    """``AsyncVectorRepository`` over a sync ``VectorRepository`` (same caveat: wrap only
    repositories whose calls do not block)."""

    def __init__(self, repository: VectorRepository) -> None:
        self.sync: VectorRepository = repository

    async def nearest(self, query: VectorQuery) -> list[SemanticCandidate]:
        return self.sync.nearest(query)

    async def dimensions(self) -> int | None:
        return self.sync.dimensions()

    async def check_embedding(self, identity: EmbeddingIdentity) -> None:
        """The wrapped repository's check; nothing when it has none."""
        if isinstance(self.sync, EmbeddingCheckingRepository):
            self.sync.check_embedding(identity)
