"""LangChain ``BaseCache`` that also answers prompts that *mean* the same, sync and async.

A lookup is, in order (see ``domain/semantic.py`` for the rules):

1. the exact key, with a realtime ``get``: an exact repeat never calls the embedding model;
2. the prompt is split into its meaning (the last question's text, embedded: one call) and
   its context (system prompt, earlier turns: must be identical, hashed with the
   ``llm_string``);
3. one filtered ``nearest()`` search: same model, same context, live entries, similarity
   at least ``similarity_threshold``, at most ``k`` candidates;
4. the most similar candidate the hit guard accepts and the safe codec can decode; a
   corrupt one is skipped for the next.

A miss remembers its vector (a bounded LRU keyed by the embedded text), so the ``update``
LangChain makes right after it embeds nothing: one embedding call per miss cycle.

**Verified hits** (``max_error_rate=delta``, see ``domain/semantic/verified.py``): the
candidate of step 4 is served only when its entry's learned model estimates the chance of
a wrong answer at this similarity to be at most ``delta``; otherwise the lookup *explores*:
it returns a miss and remembers (entry, similarity) in a bounded, expiring table keyed by
``(prompt, llm_string)``. The ``update`` that follows reads the entry, asks the
``answer_judge`` whether the cached answer equals the fresh one, stores the new prompt
(with its vector when the answers differ: a new entry to learn about; without one when
they agree: exact repeats hit, and neighbours keep going to the entry that has the
evidence), then adds the observation to the entry (``add_observation`` of an
:class:`ObservingVectorRepository`: no observation is lost to a concurrent writer). The
update embeds nothing (the vector memo) and the default judge embeds nothing either. A
judge that raises, or an observation that cannot be written, never costs the caller the
answer: it is counted (``judge_failures``; the ``observe`` operation's errors) and the
entry is stored as on any miss.

Over a :class:`PoolingVectorRepository` (the in-memory store; Elasticsearch's when it keeps
the pool), a candidate that its own observations do not serve is decided with the pool
too (every entry's observations summed, read with ``pooled_observations()``: one call per
such lookup, which the repository may answer from a short-lived copy): a new entry can
then be served on what its neighbours taught the store, unless its own wrong answers say
otherwise (see ``decide`` in ``domain/semantic/verified.py``). Over a plain
:class:`ObservingVectorRepository`, each entry learns alone.

The embedding model is part of the index's identity: before its first lookup or update
(and before the model is called) the cache asks a repository that can tell
(:class:`EmbeddingCheckingRepository`) to check the model's
:class:`~langchain_elasticsearch_cache.domain.semantic.identity.EmbeddingIdentity` against
the one its vectors belong to: another model, even of the same length, is a
``ConfigurationError`` naming both, with or without ``fail_open``.

The embedding model is part of the cache's machinery: with ``fail_open=True`` a model that
raises, or returns something that is not a vector, is treated like an unavailable backend
(the lookup is a miss, the update writes nothing, counted and warned about at most once a
minute). Without ``fail_open``, the model's own exception reaches the caller unchanged, and
a malformed vector is a ``ConfigurationError``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.caches import RETURN_VAL_TYPE
from langchain_core.embeddings import Embeddings
from langchain_core.outputs import Generation

from ...domain.errors import ConfigurationError
from ...domain.ports import (
    AsyncEmbeddingCheckingRepository,
    AsyncObservingVectorRepository,
    AsyncPoolingVectorRepository,
    AsyncVectorlessReadingRepository,
    AsyncVectorRepository,
    EmbeddingCheckingRepository,
    ObservingVectorRepository,
    PoolingVectorRepository,
    VectorlessReadingRepository,
    VectorRepository,
)
from ...domain.semantic import PromptParts
from ...domain.semantic.records import SemanticRecord
from ...domain.semantic.verified import ObservationBin
from ._batching import LookupBatcher
from ._lifecycle import AsyncLifecycle, SyncLifecycle
from ._runtime import Tally
from ._semantic_base import PENDING_OBSERVATIONS as PENDING_OBSERVATIONS
from ._semantic_base import PENDING_TTL as PENDING_TTL
from ._semantic_base import SemanticCacheBase
from ._semantic_base import check_embedding as check_embedding
from ._semantic_state import SIMILARITIES_KEPT as SIMILARITIES_KEPT
from ._semantic_state import PendingObservation
from .statistics import SemanticCacheStatistics
from .sync_refusal import sync_call_refused

# check_embedding, PENDING_OBSERVATIONS, PENDING_TTL and SIMILARITIES_KEPT were defined
# here and still import from here; the code reads them in ._semantic_base and
# ._semantic_state (patch them there)
__all__ = [
    "AsyncRepositorySemanticCache",
    "RepositorySemanticCache",
    "SemanticCacheStatistics",
]


def _lookup_tally(result: list[Generation] | None) -> Tally:
    return (0, 1, 0) if result is None else (1, 0, 0)


def _write_tally(written: bool) -> Tally:
    return (0, 0, 1) if written else (0, 0, 0)


def _unverifiable(repository: Any) -> ConfigurationError:
    return ConfigurationError(
        f"max_error_rate needs a repository that can record observations; "
        f"{type(repository).__name__} has no add_observation(key, similarity, right) "
        "(see ObservingVectorRepository in langchain_elasticsearch_cache.domain.ports), "
        "or pass max_error_rate=None"
    )


class RepositorySemanticCache(SemanticCacheBase, SyncLifecycle):
    """A synchronous semantic LLM cache over any :class:`VectorRepository`.

    ``set_llm_cache(RepositorySemanticCache(my_vector_repository, my_embeddings))``.

    Verified hits: ``max_error_rate=0.02`` serves a semantic hit only when the nearest
    entry's learned model estimates the chance of a wrong answer at this similarity to be
    at most 2%; ``answer_judge`` (default: normalised text equal) decides, after an
    explored lookup, whether the entry's answer was right. ``similarity_threshold`` is then
    the floor below which no entry is considered (lower it, e.g. to 0.7, to let entries
    learn boundaries below the default 0.9). The repository must implement
    :class:`ObservingVectorRepository`.

    Args:
        repository: Where the entries and their vectors are kept and searched.
        embedding: The LangChain ``Embeddings`` that embeds each prompt's question.
        **options: The cache options, by name: those of :class:`RepositoryLlmCache`, the
            semantic ones (``similarity_threshold``, ``prompt_splitter``, ``hit_guard``,
            ``k``, as in :class:`ElasticsearchSemanticCache`), ``vector_memo_size``:
            how many vectors of recent misses are kept for the update that follows
            (0 turns it off), ``max_error_rate`` (``None``, or above 0 and below 0.5:
            verified hits) and ``answer_judge`` (``(fresh, cached) -> bool``; default
            normalised text equal).

    Raises:
        ConfigurationError: ``embedding`` is not an ``Embeddings``, or an option is not
            valid.
    """

    def __init__(self, repository: VectorRepository, embedding: Embeddings, **options: Any) -> None:
        super().__init__(embedding, **options)
        self._repository: VectorRepository = repository
        if self._policy.verified and not isinstance(repository, ObservingVectorRepository):
            raise _unverifiable(repository)
        #: verified decisions also learn from every entry's observations (the pool)
        self._pools = self._policy.verified and isinstance(repository, PoolingVectorRepository)
        self._runtime.describe(repository)
        self._checks_embedding = isinstance(repository, EmbeddingCheckingRepository)
        #: the exact-key step and the judge need the answer, not the vector
        self._get_answer: Callable[[str], SemanticRecord | None] = (
            repository.get_without_vectors
            if isinstance(repository, VectorlessReadingRepository)
            else repository.get
        )

    def _check_embedding(self) -> None:
        """The repository refuses another model than its vectors' (before any search)."""
        if self._checks_embedding:
            repository: EmbeddingCheckingRepository = self._repository  # type: ignore[assignment]
            repository.check_embedding(self._identity)

    @property
    def repository(self) -> VectorRepository:
        return self._repository

    def _embed(self, text: str) -> tuple[float, ...] | None:
        self._counters.add("embedding_calls")
        try:
            raw = self._embedding.embed_query(text)
        except Exception as exc:
            failure = self._embedding_failed(exc, "failed")
            if failure is exc:
                raise
            raise failure from exc
        return self._vector(raw)

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        key = self._policy.key(prompt, llm_string)

        def call() -> list[Generation] | None:
            self._check_embedding()
            now = self._clock()
            exact = self._exact(self._get_answer(key), now)
            if exact is not None:
                return exact
            parts = self._policy.split(prompt)
            if not parts.searchable:
                return None
            vector = self._embed(parts.meaning)
            if vector is None:
                return None
            query = self._policy.query(parts, llm_string, vector, now)
            candidates = self._repository.nearest(query)
            hit = self._policy.choose(query, parts.meaning, candidates, now)
            self._counters.nearest(candidates, hit)
            pool: Sequence[ObservationBin] = ()
            if self._needs_pool(hit):
                pooling: PoolingVectorRepository = self._repository  # type: ignore[assignment]
                pool = pooling.pooled_observations()
            answer = self._serve(prompt, llm_string, hit, pool)
            if answer is None:
                self._memo.put(parts.meaning, vector)  # for the update that follows
            return answer

        return self._runtime.run("lookup", call, None, _lookup_tally)

    def _vector_for(self, parts: PromptParts) -> tuple[float, ...] | None:
        if not parts.searchable:
            return None
        remembered = self._memo.pop(parts.meaning)
        return remembered if remembered is not None else self._embed(parts.meaning)

    def _verdict(self, pending: PendingObservation, fresh: list[Generation]) -> bool | None:
        """Was the explored entry's answer right for this prompt? ``None``: not known."""
        cached = self._runtime.run(
            "judge", lambda: self._cached_answer(self._get_answer(pending.key)), None
        )
        if cached is None:
            return None
        try:
            verdict = self._policy.answer_judge(fresh, cached)
            if inspect.isawaitable(verdict):
                close = getattr(verdict, "close", None)
                if close is not None:
                    close()
                raise ConfigurationError(
                    "answer_judge returned an awaitable: a coroutine judge needs the async "
                    "cache (AsyncRepositorySemanticCache, aupdate)"
                )
        except Exception as exc:
            self._judge_failed(exc)
            return None
        return bool(verdict)

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        base = self._base_record(prompt, llm_string, return_val)
        if base is None:
            return
        pending = self._pending_for(prompt, llm_string)
        right = None if pending is None else self._verdict(pending, list(return_val))

        def call() -> bool:
            self._check_embedding()
            parts = self._policy.split(prompt)
            if right:
                # the same answer: stored without a vector, so exact repeats hit and
                # neighbours keep going to the entry that has the evidence
                self._memo.pop(parts.meaning)
                vector = None
            else:
                vector = self._vector_for(parts)
            self._repository.put(self._policy.with_vector(base, llm_string, parts, vector))
            return True

        self._runtime.run("update", call, False, _write_tally)
        if pending is not None and right is not None:
            self._observe(pending, right)

    def _observe(self, pending: PendingObservation, right: bool) -> None:
        repository: ObservingVectorRepository = self._repository  # type: ignore[assignment]

        def call() -> bool:
            return repository.add_observation(pending.key, pending.similarity, right)

        if self._runtime.run("observe", call, False, _write_tally):
            self._observed(right)

    def delete(self, prompt: str, llm_string: str) -> bool:
        """Forget the entry of exactly this prompt and model; True when there was one."""
        key = self._policy.key(prompt, llm_string)
        return self._runtime.run("delete", lambda: self._repository.delete_many([key]) > 0, False)

    def clear(self, **kwargs: Any) -> None:
        self._memo.clear()
        self._pending.clear()
        self._runtime.run("clear", self._repository.clear, 0)


class _WithoutVectors:
    """The reads a :class:`LookupBatcher` makes, of a repository that can leave the
    vectors out (:class:`AsyncVectorlessReadingRepository`)."""

    def __init__(self, repository: AsyncVectorlessReadingRepository) -> None:
        self._repository = repository

    async def get(self, key: str) -> SemanticRecord | None:
        return await self._repository.get_without_vectors(key)

    async def get_many(self, keys: Sequence[str]) -> list[SemanticRecord | None]:
        return await self._repository.get_many_without_vectors(keys)


class AsyncRepositorySemanticCache(SemanticCacheBase, AsyncLifecycle):
    """An asynchronous semantic LLM cache over any :class:`AsyncVectorRepository`.

    As the other async classes, the sync methods raise: use ``alookup`` / ``aupdate``.
    Concurrent ``alookup`` calls share ``get_many`` requests for their exact keys.
    ``max_error_rate`` and ``answer_judge`` as in :class:`RepositorySemanticCache` (the
    judge may also be a coroutine function); the repository must implement
    :class:`AsyncObservingVectorRepository`.

    Args:
        repository: Where the entries and their vectors are kept and searched.
        embedding: The LangChain ``Embeddings`` that embeds each prompt's question.
        **options: The cache options, by name: those of :class:`RepositoryLlmCache`, the
            semantic ones (``similarity_threshold``, ``prompt_splitter``, ``hit_guard``,
            ``k``, as in :class:`ElasticsearchSemanticCache`), ``vector_memo_size``:
            how many vectors of recent misses are kept for the update that follows
            (0 turns it off), ``max_error_rate`` (``None``, or above 0 and below 0.5:
            verified hits) and ``answer_judge`` (``(fresh, cached) -> bool``; default
            normalised text equal).

    Raises:
        ConfigurationError: ``embedding`` is not an ``Embeddings``, or an option is not
            valid.
    """

    def __init__(
        self, repository: AsyncVectorRepository, embedding: Embeddings, **options: Any
    ) -> None:
        super().__init__(embedding, **options)
        self._repository: AsyncVectorRepository = repository
        self._runtime.describe(repository)
        #: concurrent exact-key steps share get_many requests; they need the answer, not
        #: the vector
        self._lookups: LookupBatcher[SemanticRecord] = LookupBatcher(
            _WithoutVectors(repository)
            if isinstance(repository, AsyncVectorlessReadingRepository)
            else repository
        )
        if self._policy.verified and not isinstance(repository, AsyncObservingVectorRepository):
            raise _unverifiable(repository)
        self._pools = self._policy.verified and isinstance(repository, AsyncPoolingVectorRepository)
        self._checks_embedding = isinstance(repository, AsyncEmbeddingCheckingRepository)

    async def _check_embedding(self) -> None:
        """The repository refuses another model than its vectors' (before any search)."""
        if self._checks_embedding:
            repository: AsyncEmbeddingCheckingRepository = self._repository  # type: ignore[assignment]
            await repository.check_embedding(self._identity)

    @property
    def repository(self) -> AsyncVectorRepository:
        return self._repository

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        raise sync_call_refused(self, "lookup")

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        raise sync_call_refused(self, "update")

    def clear(self, **kwargs: Any) -> None:
        raise sync_call_refused(self, "clear")

    async def _aembed(self, text: str) -> tuple[float, ...] | None:
        self._counters.add("embedding_calls")
        try:
            raw = await self._embedding.aembed_query(text)
        except Exception as exc:
            failure = self._embedding_failed(exc, "failed")
            if failure is exc:
                raise
            raise failure from exc
        return self._vector(raw)

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        key = self._policy.key(prompt, llm_string)

        async def call() -> list[Generation] | None:
            await self._check_embedding()
            now = self._clock()
            exact = self._exact(await self._lookups.get(key), now)
            if exact is not None:
                return exact
            parts = self._policy.split(prompt)
            if not parts.searchable:
                return None
            vector = await self._aembed(parts.meaning)
            if vector is None:
                return None
            query = self._policy.query(parts, llm_string, vector, now)
            candidates = await self._repository.nearest(query)
            hit = self._policy.choose(query, parts.meaning, candidates, now)
            self._counters.nearest(candidates, hit)
            pool: Sequence[ObservationBin] = ()
            if self._needs_pool(hit):
                pooling: AsyncPoolingVectorRepository = self._repository  # type: ignore[assignment]
                pool = await pooling.pooled_observations()
            answer = self._serve(prompt, llm_string, hit, pool)
            if answer is None:
                self._memo.put(parts.meaning, vector)
            return answer

        return await self._runtime.arun("lookup", call, None, _lookup_tally)

    async def _averdict(self, pending: PendingObservation, fresh: list[Generation]) -> bool | None:
        """Was the explored entry's answer right for this prompt? ``None``: not known."""

        async def read() -> list[Generation] | None:
            return self._cached_answer(await self._lookups.get(pending.key))

        cached = await self._runtime.arun("judge", read, None)
        if cached is None:
            return None
        try:
            verdict = self._policy.answer_judge(fresh, cached)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception as exc:
            self._judge_failed(exc)
            return None
        return bool(verdict)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        base = self._base_record(prompt, llm_string, return_val)
        if base is None:
            return
        pending = self._pending_for(prompt, llm_string)
        right = None if pending is None else await self._averdict(pending, list(return_val))

        async def call() -> bool:
            await self._check_embedding()
            parts = self._policy.split(prompt)
            vector: tuple[float, ...] | None = None
            if parts.searchable:
                vector = self._memo.pop(parts.meaning)
                if vector is None and not right:
                    vector = await self._aembed(parts.meaning)
            if right:
                vector = None  # as in the sync update
            await self._repository.put(self._policy.with_vector(base, llm_string, parts, vector))
            return True

        await self._runtime.arun("update", call, False, _write_tally)
        if pending is not None and right is not None:
            await self._aobserve(pending, right)

    async def _aobserve(self, pending: PendingObservation, right: bool) -> None:
        repository: AsyncObservingVectorRepository = self._repository  # type: ignore[assignment]

        async def call() -> bool:
            return await repository.add_observation(pending.key, pending.similarity, right)

        if await self._runtime.arun("observe", call, False, _write_tally):
            self._observed(right)

    async def adelete(self, prompt: str, llm_string: str) -> bool:
        """Forget the entry of exactly this prompt and model; True when there was one."""
        key = self._policy.key(prompt, llm_string)

        async def call() -> bool:
            return await self._repository.delete_many([key]) > 0

        return await self._runtime.arun("delete", call, False)

    async def aclear(self, **kwargs: Any) -> None:
        self._memo.clear()
        self._pending.clear()
        await self._runtime.arun("clear", self._repository.clear, 0)
