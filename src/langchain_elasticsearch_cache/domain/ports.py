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
from .semantic.identity import EmbeddingIdentity
from .semantic.records import SemanticCandidate, SemanticRecord, VectorQuery
from .semantic.verified import ObservationBin

R = TypeVar("R", LlmRecord, EmbeddingRecord, SemanticRecord)


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


@runtime_checkable
class VectorRepository(Repository[SemanticRecord], Protocol):
    """A repository of :class:`SemanticRecord` that can also search by vector.

    ``nearest(query)`` returns at most ``query.k`` candidates, most similar first, every
    one matching the query's ``llm_string_hash`` and ``context_hash``, with a timestamp
    after ``query.not_before`` (when set) and a cosine similarity >= ``query.min_similarity``.
    The filters are applied *inside* the search (not to its k results afterwards), so a
    near entry of another model or context never hides a valid one. Behind an alias, a
    candidate is only a copy that ``get`` would return (the newest of its key). Searches
    may see recent writes late (Elasticsearch: after a refresh); ``get`` sees them at once.
    ``dimensions()`` is the vector length the store holds, ``None`` while it holds none;
    a ``put`` or ``nearest`` with another length raises ``ConfigurationError``.
    """

    def nearest(self, query: VectorQuery) -> list[SemanticCandidate]: ...

    def dimensions(self) -> int | None: ...


@runtime_checkable
class AsyncVectorRepository(AsyncRepository[SemanticRecord], Protocol):
    """Asynchronous twin of :class:`VectorRepository`."""

    async def nearest(self, query: VectorQuery) -> list[SemanticCandidate]: ...

    async def dimensions(self) -> int | None: ...


@runtime_checkable
class VectorlessReadingRepository(VectorRepository, Protocol):
    """A :class:`VectorRepository` that can also read entries without their vectors:
    ``get_without_vectors(key)`` is ``get(key)`` whose record may have ``vector=None``
    (everything else as ``get`` gives it). The exact-key step of a semantic lookup, and
    reading a cached answer to judge it, never need the vector; a store that pays to give
    it back (Elasticsearch before 9.1 reads it from doc values with one more request; 9.1+
    puts it back into ``_source``, 256 numbers to send and decode) skips that cost on
    every exact hit. Optional: a semantic cache uses ``get`` where it is absent.
    """

    def get_without_vectors(self, key: str) -> SemanticRecord | None: ...

    def get_many_without_vectors(self, keys: Sequence[str]) -> list[SemanticRecord | None]: ...


@runtime_checkable
class AsyncVectorlessReadingRepository(AsyncVectorRepository, Protocol):
    """Asynchronous twin of :class:`VectorlessReadingRepository`."""

    async def get_without_vectors(self, key: str) -> SemanticRecord | None: ...

    async def get_many_without_vectors(
        self, keys: Sequence[str]
    ) -> list[SemanticRecord | None]: ...


@runtime_checkable
class ObservingVectorRepository(VectorRepository, Protocol):
    """A :class:`VectorRepository` that a verified semantic cache (``max_error_rate``) can
    teach: ``add_observation(key, similarity, right)`` adds one observation to the stored
    entry ``key`` with :func:`.semantic.verified.add_observation`, atomically with respect
    to other writers (a lock, or optimistic concurrency with bounded retries): concurrent
    calls lose no observation. It returns ``False`` when there is no entry ``key``, and
    raises ``BackendUnavailableError`` when it could not write (the store is down, or too
    many writers raced for the entry).
    """

    def add_observation(self, key: str, similarity: float, right: bool) -> bool: ...


@runtime_checkable
class AsyncObservingVectorRepository(AsyncVectorRepository, Protocol):
    """Asynchronous twin of :class:`ObservingVectorRepository`."""

    async def add_observation(self, key: str, similarity: float, right: bool) -> bool: ...


@runtime_checkable
class PoolingVectorRepository(ObservingVectorRepository, Protocol):
    """An :class:`ObservingVectorRepository` that also keeps the *pool*: the sum, over all
    its entries, of the observations ``add_observation`` recorded (the same
    :class:`.semantic.verified.ObservationBin` histogram, merged by addition and bounded
    like an entry's). A verified cache learns from the pool what similarity is safe *in
    this index* before an entry has evidence of its own.

    ``add_observation`` adds to the entry and to the pool (the pool's update may be
    retried separately; the entry's must lose nothing). ``pooled_observations()`` returns
    the pool as last read: an implementation may cache it for a few seconds, so it can lag
    behind writers in other processes. A store that cannot read it returns ``()`` (no
    pooled evidence: the cache then relies on the entry's own observations).
    """

    def pooled_observations(self) -> tuple[ObservationBin, ...]: ...


@runtime_checkable
class AsyncPoolingVectorRepository(AsyncObservingVectorRepository, Protocol):
    """Asynchronous twin of :class:`PoolingVectorRepository`."""

    async def pooled_observations(self) -> tuple[ObservationBin, ...]: ...


@runtime_checkable
class EmbeddingCheckingRepository(Protocol):
    """A vector repository that knows which embedding model its vectors belong to.

    ``check_embedding(identity)`` is called by the semantic cache before its first lookup
    or write (and cheaply before each later one): the first model is recorded (an index
    records it in its ``_meta`` when created, or when first used without one), and a
    model that does not :meth:`~EmbeddingIdentity.matches` the recorded one raises
    ``ConfigurationError`` naming both, before anything is searched or written. A
    repository without this method is not checked.
    """

    def check_embedding(self, identity: EmbeddingIdentity) -> None: ...


@runtime_checkable
class AsyncEmbeddingCheckingRepository(Protocol):
    """Asynchronous twin of :class:`EmbeddingCheckingRepository`."""

    async def check_embedding(self, identity: EmbeddingIdentity) -> None: ...


LlmRepository = Repository[LlmRecord]
EmbeddingRepository = Repository[EmbeddingRecord]
AsyncLlmRepository = AsyncRepository[LlmRecord]
AsyncEmbeddingRepository = AsyncRepository[EmbeddingRecord]
