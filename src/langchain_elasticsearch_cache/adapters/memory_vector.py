"""An in-memory vector repository: brute-force cosine search with the port's filters.

The reference adapter of :class:`~langchain_elasticsearch_cache.domain.ports.VectorRepository`
(and the store of :class:`InMemorySemanticCache`): exact search over every live record of
the query's partition, so its answers are what an approximate (HNSW) index should find.
Searches see writes at once. Thread-safe: one lock guards the records, their unit
vectors and the pool of observations (a
:class:`~langchain_elasticsearch_cache.domain.ports.PoolingVectorRepository`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import attrs

from ..domain.errors import ConfigurationError
from ..domain.semantic.identity import EmbeddingIdentity, embedding_mismatch
from ..domain.semantic.verified import ObservationBin, add_observation
from ..domain.semantic_records import SemanticCandidate, SemanticRecord, VectorQuery
from .memory import InMemoryRepository
from .sync_as_async import SyncAsAsyncVectorRepository

__all__ = ["AsyncInMemoryVectorRepository", "InMemoryVectorRepository"]


def _unit(vector: Sequence[float]) -> tuple[float, ...]:
    norm = math.sqrt(math.fsum(x * x for x in vector))
    if norm == 0.0 or not math.isfinite(norm):
        raise ConfigurationError(
            "a vector of zero (or non-finite) length has no direction, so no cosine "
            "similarity; check the Embeddings object passed as `embedding`"
        )
    return tuple(x / norm for x in vector)


def _dims_mismatch(store: int, given: int, what: str) -> ConfigurationError:
    return ConfigurationError(
        f"{what} has {given} dimensions but this store holds vectors of {store}: the "
        "embedding model changed; use another index (or clear this one) for the new model"
    )


class InMemoryVectorRepository(InMemoryRepository[SemanticRecord]):
    """A thread-safe dict of :class:`SemanticRecord` with exact filtered kNN search.

    The vector length is fixed by the first record with a vector, the embedding model by
    the first :meth:`check_embedding` (a semantic cache's first use: another model is then
    a ``ConfigurationError``, as with an Elasticsearch index); ``clear()`` forgets both.
    Records without a vector are stored and read back but never found by ``nearest``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._units: dict[str, tuple[float, ...]] = {}
        self._dims: int | None = None
        self._embedding: EmbeddingIdentity | None = None
        self._pool: tuple[ObservationBin, ...] = ()

    # -- writes keep the unit vectors in step ----------------------------------------

    def _prepared(self, records: Sequence[SemanticRecord]) -> list[tuple[float, ...] | None]:
        """Unit vectors of ``records``, checked against the store's length (lock held)."""
        dims = self._dims
        units: list[tuple[float, ...] | None] = []
        for record in records:
            if record.vector is None:
                units.append(None)
                continue
            if dims is None:
                dims = len(record.vector)
            elif len(record.vector) != dims:
                raise _dims_mismatch(dims, len(record.vector), f"the vector of {record.key!r}")
            units.append(_unit(record.vector))
        return units

    def _store_all(self, records: Sequence[SemanticRecord]) -> None:
        units = self._prepared(records)  # nothing is stored if any record is refused
        for record, unit in zip(records, units, strict=True):
            self._records[record.key] = record
            if unit is None:
                self._units.pop(record.key, None)
            else:
                self._units[record.key] = unit
                self._dims = len(unit)

    def put(self, record: SemanticRecord) -> None:
        with self._lock:
            self._store_all([record])

    def put_many(self, records: Sequence[SemanticRecord]) -> None:
        with self._lock:
            self._store_all(records)

    def delete_many(self, keys: Sequence[str]) -> int:
        with self._lock:
            deleted = 0
            for key in dict.fromkeys(keys):
                if self._records.pop(key, None) is not None:
                    deleted += 1
                self._units.pop(key, None)
        return deleted

    def clear(self) -> int:
        with self._lock:
            removed = len(self._records)
            self._records.clear()
            self._units.clear()
            self._dims = None
            self._embedding = None
            self._pool = ()
        return removed

    def delete_older_than(self, cutoff: datetime) -> int:
        with self._lock:
            old = [key for key, rec in self._records.items() if rec.timestamp <= cutoff]
            for key in old:
                del self._records[key]
                self._units.pop(key, None)
        return len(old)

    def add_observation(self, key: str, similarity: float, right: bool) -> bool:
        """Add one observation to entry ``key`` and to the pool (under the lock: none is
        lost); ``False`` (and nothing added) when there is no such entry."""
        with self._lock:
            record = self._records.get(key)
            if record is None:
                return False
            observations = add_observation(record.observations, similarity, right)
            pool = add_observation(self._pool, similarity, right)
            self._records[key] = attrs.evolve(record, observations=observations)
            self._pool = pool
        return True

    def pooled_observations(self) -> tuple[ObservationBin, ...]:
        """Every observation :meth:`add_observation` recorded since the store was made or
        last cleared, summed over the entries (bounded like an entry's). Deleting or
        expiring an entry does not take its observations out: they are evidence about
        this model's similarities on this traffic, not only about that entry."""
        with self._lock:
            return self._pool

    def check_embedding(self, identity: EmbeddingIdentity) -> None:
        """Remember the first model; refuse another (``ConfigurationError`` naming both)."""
        with self._lock:
            if self._embedding is None:
                self._embedding = identity
            elif not self._embedding.matches(identity):
                raise embedding_mismatch(
                    "this in-memory vector store",
                    self._embedding,
                    identity,
                    fix="use the same embedding model, or another store for this model "
                    "(or clear() this one)",
                )

    # -- search --------------------------------------------------------------------

    def dimensions(self) -> int | None:
        with self._lock:
            return self._dims

    def nearest(self, query: VectorQuery) -> list[SemanticCandidate]:
        with self._lock:
            if self._dims is None:
                return []
            if len(query.vector) != self._dims:
                raise _dims_mismatch(self._dims, len(query.vector), "the query vector")
            target = _unit(query.vector)
            found: list[SemanticCandidate] = []
            for key, unit in self._units.items():
                record = self._records[key]
                if (
                    record.llm_string_hash != query.llm_string_hash
                    or record.context_hash != query.context_hash
                    or (query.not_before is not None and record.timestamp <= query.not_before)
                ):
                    continue
                dot = math.fsum(a * b for a, b in zip(unit, target, strict=True))
                similarity = max(-1.0, min(1.0, dot))
                if similarity >= query.min_similarity:
                    found.append(SemanticCandidate(record=record, similarity=similarity))
        found.sort(key=lambda candidate: (-candidate.similarity, candidate.record.key))
        return found[: max(query.k, 0)]


class AsyncInMemoryVectorRepository(SyncAsAsyncVectorRepository):
    """The async face of :class:`InMemoryVectorRepository` (optionally sharing one).

    Args:
        shared: A synchronous vector repository whose records this one reads, writes and
            searches; ``None`` makes a new one.
    """

    def __init__(self, shared: InMemoryVectorRepository | None = None) -> None:
        # no super().__init__: it only sets ``sync``, here to the narrower in-memory type
        self.sync: InMemoryVectorRepository = (
            shared if shared is not None else InMemoryVectorRepository()
        )

    async def add_observation(self, key: str, similarity: float, right: bool) -> bool:
        return self.sync.add_observation(key, similarity, right)

    async def pooled_observations(self) -> tuple[ObservationBin, ...]:
        return self.sync.pooled_observations()
