"""The vector repository contract: what every ``VectorRepository`` adapter must pass.

Everything of :mod:`.contract` (get, put, delete, scan... of :class:`SemanticRecord`),
plus ``nearest()`` and ``dimensions()``: the partition filters (``llm_string_hash``,
``context_hash``) and the expiry filter are applied *inside* the search, so a nearer entry
of another model, conversation or an expired one never hides a valid one, even with
``k=1``; ``min_similarity``, ordering, ``k``; a vector of another length is a
``ConfigurationError``. Subclass the face you implement and give a ``repository`` fixture
returning a fresh, empty repository::

    class TestMyVectorRepository(VectorRepositoryContract):
        @pytest.fixture
        def repository(self):
            yield MyVectorRepository(...)

A store whose searches see writes late (Elasticsearch: after a refresh) overrides
:meth:`VectorContractMixin.settle`, which the tests await after writing and before
searching. Similarities are compared with a tolerance of 1e-4 (a store may compute them
in float32); vectors are chosen so that float32 holds them exactly and thresholds are
never within that tolerance of a similarity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from ..adapters.sync_as_async import SyncAsAsyncVectorRepository
from ..domain.errors import ConfigurationError
from ..domain.ports import AsyncVectorRepository, VectorRepository
from ..domain.semantic_records import SemanticCandidate, SemanticRecord, VectorQuery
from .contract import T0, RepositoryContract

__all__ = [
    "AsyncVectorRepositoryContract",
    "VectorContractMixin",
    "VectorRepositoryContract",
]

LLM_A, LLM_B = "a" * 64, "b" * 64
CTX_A, CTX_B = "c" * 64, "d" * 64
TOLERANCE = 1e-4


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def semantic_record(
    key: str,
    vector: Sequence[float] | None,
    *,
    llm_string_hash: str = LLM_A,
    context_hash: str = CTX_A,
    timestamp: datetime = T0,
    text: str = "text",
) -> SemanticRecord:
    """A semantic record with everything an adapter must store."""
    return SemanticRecord(
        key=key,
        llm_output=(f'{{"lc": 1, "type": "constructor", "kwargs": {{"text": "{key}"}}}}',),
        timestamp=timestamp,
        llm_string_hash=llm_string_hash,
        context_hash=context_hash,
        vector=vector,
        prompt_text=text,
        llm_input=f"prompt of {text}",
        llm_params="{'model_name': 'fake'}",
        metadata={"team": "contract"},
    )


def _query(
    vector: Sequence[float],
    *,
    min_similarity: float = -1.0,
    k: int = 10,
    llm_string_hash: str = LLM_A,
    context_hash: str = CTX_A,
    not_before: datetime | None = None,
) -> VectorQuery:
    return VectorQuery(
        vector=vector,
        llm_string_hash=llm_string_hash,
        context_hash=context_hash,
        min_similarity=min_similarity,
        k=k,
        not_before=not_before,
    )


def _keys(candidates: Sequence[SemanticCandidate]) -> list[str]:
    return [candidate.record.key for candidate in candidates]


# Four-dimensional vectors with exact float32 values; their cosines to Q:
Q = (1.0, 0.0, 0.0, 0.0)
NEAR = (1.0, 0.125, 0.0, 0.0)  # 0.9923
CLOSE = (1.0, 0.5, 0.0, 0.0)  # 0.8944
MID = (1.0, 1.0, 0.0, 0.0)  # 0.7071
FAR = (0.0, 1.0, 0.0, 0.0)  # 0.0
OPPOSITE = (-1.0, 0.0, 0.0, 0.25)  # -0.9701


class VectorContractMixin:
    """The ``nearest`` / ``dimensions`` tests, over the async face ``repo``."""

    async def settle(self, repository: Any) -> None:
        """Make what was written visible to searches (a no-op for a store that is
        searchable at once; Elasticsearch refreshes here)."""

    async def _put(self, repository: Any, repo: AsyncVectorRepository, *records: Any) -> None:
        await repo.put_many(list(records))
        await self.settle(repository)

    @pytest.mark.asyncio
    async def test_nearest_on_an_empty_store(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        assert await repo.dimensions() is None
        assert await repo.nearest(_query(Q)) == []

    @pytest.mark.asyncio
    async def test_dimensions_come_from_the_vectors(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        await self._put(repository, repo, semantic_record("a", NEAR))
        assert await repo.dimensions() == 4

    @pytest.mark.asyncio
    async def test_most_similar_first_with_similarities(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        vectors = {"far": FAR, "near": NEAR, "mid": MID, "close": CLOSE}
        await self._put(repository, repo, *(semantic_record(k, v) for k, v in vectors.items()))
        found = await repo.nearest(_query(Q))
        assert _keys(found) == ["near", "close", "mid", "far"]
        for candidate in found:
            expected = _cosine(Q, vectors[candidate.record.key])
            assert candidate.similarity == pytest.approx(expected, abs=TOLERANCE)

    @pytest.mark.asyncio
    async def test_k_limits_the_candidates(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        await self._put(
            repository, repo, *(semantic_record(k, v) for k, v in {"n": NEAR, "c": CLOSE}.items())
        )
        assert _keys(await repo.nearest(_query(Q, k=1))) == ["n"]
        assert _keys(await repo.nearest(_query(Q, k=5))) == ["n", "c"]

    @pytest.mark.asyncio
    async def test_min_similarity_is_applied(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        vectors = {"near": NEAR, "close": CLOSE, "mid": MID, "opposite": OPPOSITE}
        await self._put(repository, repo, *(semantic_record(k, v) for k, v in vectors.items()))
        assert _keys(await repo.nearest(_query(Q, min_similarity=0.95))) == ["near"]
        assert _keys(await repo.nearest(_query(Q, min_similarity=0.8))) == ["near", "close"]
        assert await repo.nearest(_query(FAR, min_similarity=0.99)) == []
        everything = await repo.nearest(_query(Q, min_similarity=-1.0))
        assert _keys(everything) == ["near", "close", "mid", "opposite"]
        assert everything[-1].similarity == pytest.approx(_cosine(Q, OPPOSITE), abs=TOLERANCE)

    @pytest.mark.asyncio
    async def test_another_models_nearer_entry_does_not_hide_a_valid_one(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        records = [semantic_record(f"other-{i}", Q, llm_string_hash=LLM_B) for i in range(30)]
        records.append(semantic_record("mine", CLOSE))
        await self._put(repository, repo, *records)
        assert _keys(await repo.nearest(_query(Q, k=1))) == ["mine"]
        other = await repo.nearest(_query(Q, k=1, llm_string_hash=LLM_B))
        assert [c.record.llm_string_hash for c in other] == [LLM_B]
        assert other[0].similarity == pytest.approx(1.0, abs=TOLERANCE)

    @pytest.mark.asyncio
    async def test_another_contexts_nearer_entry_does_not_hide_a_valid_one(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        records = [semantic_record(f"other-{i}", Q, context_hash=CTX_B) for i in range(30)]
        records.append(semantic_record("mine", MID))
        await self._put(repository, repo, *records)
        assert _keys(await repo.nearest(_query(Q, k=1, min_similarity=0.5))) == ["mine"]
        assert await repo.nearest(_query(Q, context_hash="e" * 64)) == []

    @pytest.mark.asyncio
    async def test_expired_entries_do_not_hide_live_ones(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        cutoff = T0
        records = [
            semantic_record(f"old-{i}", Q, timestamp=cutoff - timedelta(minutes=i))
            for i in range(30)
        ]  # old-0 is exactly at the cutoff: expired too
        records.append(semantic_record("live", MID, timestamp=cutoff + timedelta(seconds=1)))
        await self._put(repository, repo, *records)
        assert _keys(await repo.nearest(_query(Q, k=1, not_before=cutoff))) == ["live"]
        assert len(await repo.nearest(_query(Q, k=50))) == 31

    @pytest.mark.asyncio
    async def test_overwrite_and_delete_are_seen_by_the_search(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        await self._put(repository, repo, semantic_record("a", NEAR), semantic_record("b", CLOSE))
        await repo.put(semantic_record("a", FAR, timestamp=T0 + timedelta(seconds=1)))
        await repo.delete_many(["b"])
        await self.settle(repository)
        found = await repo.nearest(_query(Q))
        assert _keys(found) == ["a"]
        assert found[0].similarity == pytest.approx(0.0, abs=TOLERANCE)

    @pytest.mark.asyncio
    async def test_candidates_carry_their_record(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        stored = semantic_record("a", NEAR, text="What is a cache? ☃")
        await self._put(repository, repo, stored)
        (candidate,) = await repo.nearest(_query(Q))
        found = candidate.record
        assert found.vector in (None, stored.vector)  # a store may leave the vector out
        assert found == SemanticRecord(**{**_fields(stored), "vector": found.vector})

    @pytest.mark.asyncio
    async def test_a_record_without_a_vector_is_stored_but_never_found(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        bare = semantic_record("bare", None)
        await self._put(repository, repo, bare, semantic_record("a", CLOSE))
        assert await repo.get("bare") == bare
        assert _keys(await repo.nearest(_query(Q))) == ["a"]

    @pytest.mark.asyncio
    async def test_a_vector_of_another_length_is_a_configuration_error(
        self, repository: Any, repo: AsyncVectorRepository
    ) -> None:
        await self._put(repository, repo, semantic_record("a", NEAR))
        with pytest.raises(ConfigurationError):
            await repo.put(semantic_record("b", (1.0, 0.5, 0.25)))
        with pytest.raises(ConfigurationError):
            await repo.nearest(_query((1.0, 0.0, 0.0, 0.0, 0.0)))
        assert await repo.get("b") is None
        assert await repo.dimensions() == 4


def _fields(record: SemanticRecord) -> dict[str, Any]:
    return {
        name: getattr(record, name)
        for name in (
            "key",
            "llm_output",
            "timestamp",
            "llm_string_hash",
            "context_hash",
            "vector",
            "prompt_text",
            "llm_input",
            "llm_params",
            "metadata",
        )
    }


class _SemanticRecords:
    def make_record(
        self, key: str, *, text: str = "text", timestamp: datetime = T0
    ) -> SemanticRecord:
        # a vector that depends on the text, with values float32 holds exactly
        vector = (1.0, (len(text) % 8) / 8 + 0.125, -0.5, 0.25)
        return semantic_record(key, vector, timestamp=timestamp, text=text)


class VectorRepositoryContract(
    VectorContractMixin, _SemanticRecords, RepositoryContract[SemanticRecord]
):
    """Contract for a sync ``VectorRepository``: provide a ``repository`` fixture."""

    @pytest.fixture
    def repo(self, repository: Any) -> SyncAsAsyncVectorRepository:
        return SyncAsAsyncVectorRepository(repository)

    def is_repository(self, repository: Any) -> bool:
        return isinstance(repository, VectorRepository)


class AsyncVectorRepositoryContract(
    VectorContractMixin, _SemanticRecords, RepositoryContract[SemanticRecord]
):
    """Contract for an ``AsyncVectorRepository``: provide a ``repository`` fixture."""

    @pytest.fixture
    def repo(self, repository: Any) -> Any:
        return repository

    def is_repository(self, repository: Any) -> bool:
        return isinstance(repository, AsyncVectorRepository)
