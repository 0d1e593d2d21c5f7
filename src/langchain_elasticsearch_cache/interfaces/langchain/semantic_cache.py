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

import hashlib
import inspect
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.embeddings import Embeddings
from langchain_core.outputs import Generation

from ...domain.entries import LlmRecord
from ...domain.errors import BackendUnavailableError, ConfigurationError, UncacheableAnswerError
from ...domain.keys import KeyScheme, encode_text
from ...domain.policies import LlmCachePolicy
from ...domain.ports import (
    AsyncEmbeddingCheckingRepository,
    AsyncObservingVectorRepository,
    AsyncPoolingVectorRepository,
    AsyncVectorRepository,
    EmbeddingCheckingRepository,
    ObservingVectorRepository,
    PoolingVectorRepository,
    VectorRepository,
)
from ...domain.semantic import (
    DEFAULT_K,
    DEFAULT_SIMILARITY_THRESHOLD,
    HitGuard,
    PromptParts,
    PromptSplitter,
    SemanticCachePolicy,
    SemanticHit,
    default_hit_guard,
)
from ...domain.semantic.identity import EmbeddingIdentity
from ...domain.semantic.judges import AnswerJudge
from ...domain.semantic.verified import ObservationBin
from ...domain.semantic_records import SemanticCandidate, validate_vector
from ._batching import LookupBatcher
from ._lifecycle import AsyncLifecycle, SyncLifecycle
from ._runtime import Clock, Runtime, Tally, utc_now
from .embedding_identity import embedding_identity
from .statistics import CacheStatistics, SemanticCacheStatistics
from .sync_refusal import sync_call_refused
from .telemetry import CacheTelemetry, mark_semantic_hit

__all__ = [
    "AsyncRepositorySemanticCache",
    "RepositorySemanticCache",
    "SemanticCacheStatistics",
]

logger = logging.getLogger("langchain_elasticsearch_cache")

#: How many semantic-hit similarities the statistics keep (the most recent ones).
SIMILARITIES_KEPT = 1000
#: How many explored lookups a verified cache remembers until their ``update`` (the oldest
#: are forgotten first: their update then stores the answer without learning from it).
PENDING_OBSERVATIONS = 4096
#: How long an explored lookup waits for its ``update`` (a model call rarely takes longer).
PENDING_TTL = timedelta(minutes=10)


def _lookup_tally(result: list[Generation] | None) -> Tally:
    return (0, 1, 0) if result is None else (1, 0, 0)


def _write_tally(written: bool) -> Tally:
    return (0, 0, 1) if written else (0, 0, 0)


class _EmbeddingUnavailable(BackendUnavailableError):
    """The embedding model failed inside a fail-open cache: an outage, like the store's."""


class _Counters:
    def __init__(self, telemetry: CacheTelemetry | None = None) -> None:
        self._lock = threading.Lock()
        self._telemetry = telemetry  # OpenTelemetry's twin of these counters, if any
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.exact_hits = self.semantic_hits = 0
            self.embedding_calls = self.embedding_failures = 0
            self.explorations = self.observations = self.wrong_observations = 0
            self.judge_failures = 0
            self.similarities: deque[float] = deque(maxlen=SIMILARITIES_KEPT)

    def add(self, field: str) -> None:
        with self._lock:
            setattr(self, field, getattr(self, field) + 1)
        if self._telemetry is not None and field in ("embedding_calls", "embedding_failures"):
            self._telemetry.embedding_call(failed=field == "embedding_failures")

    def semantic_hit(self, similarity: float) -> None:
        with self._lock:
            self.semantic_hits += 1
            self.similarities.append(similarity)
        if self._telemetry is not None:
            mark_semantic_hit()

    def nearest(self, candidates: Sequence[SemanticCandidate], hit: SemanticHit | None) -> None:
        """The similarity of the nearest candidate of a search (OpenTelemetry only)."""
        if self._telemetry is not None and candidates:
            best = max(candidate.similarity for candidate in candidates)
            self._telemetry.nearest_similarity(best, hit is not None)

    def snapshot(self, base: CacheStatistics) -> SemanticCacheStatistics:
        with self._lock:
            return SemanticCacheStatistics(
                operations=base.operations,
                exact_hits=self.exact_hits,
                semantic_hits=self.semantic_hits,
                embedding_calls=self.embedding_calls,
                embedding_failures=self.embedding_failures,
                similarities=tuple(self.similarities),
                explorations=self.explorations,
                observations=self.observations,
                wrong_observations=self.wrong_observations,
                judge_failures=self.judge_failures,
            )


class _VectorMemo:
    """The vectors of recent misses, by the text embedded: the update that follows a miss
    takes its vector from here. Bounded (least recently used go first), thread-safe."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._vectors: OrderedDict[bytes, tuple[float, ...]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.sha256(encode_text(text)).digest()

    def put(self, text: str, vector: tuple[float, ...]) -> None:
        if self._size == 0:
            return
        key = self._key(text)
        with self._lock:
            self._vectors[key] = vector
            self._vectors.move_to_end(key)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)

    def pop(self, text: str) -> tuple[float, ...] | None:
        with self._lock:
            return self._vectors.pop(self._key(text), None)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._vectors)


@attrs.frozen
class _Pending:
    """An explored lookup waiting for its update: which entry, at what similarity."""

    key: str
    similarity: float
    expires: datetime


class _PendingObservations:
    """Explored lookups by ``(prompt, llm_string)`` until their ``update``: bounded (least
    recently explored go first), expiring, thread-safe (no await inside the lock)."""

    def __init__(self, size: int, ttl: timedelta) -> None:
        self._size = size
        self._ttl = ttl
        self._items: OrderedDict[bytes, _Pending] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(prompt: str, llm_string: str) -> bytes:
        digest = hashlib.sha256(encode_text(prompt))
        digest.update(b"\0")
        digest.update(encode_text(llm_string))
        return digest.digest()

    def put(self, prompt: str, llm_string: str, key: str, similarity: float, now: datetime) -> None:
        item = _Pending(key=key, similarity=similarity, expires=now + self._ttl)
        slot = self._key(prompt, llm_string)
        with self._lock:
            self._items[slot] = item
            self._items.move_to_end(slot)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def pop(self, prompt: str, llm_string: str, now: datetime) -> _Pending | None:
        with self._lock:
            item = self._items.pop(self._key(prompt, llm_string), None)
        return item if item is not None and now < item.expires else None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def check_embedding(embedding: Any) -> Embeddings:
    if not callable(getattr(embedding, "embed_query", None)):
        raise ConfigurationError(
            f"embedding must be a LangChain Embeddings object (with embed_query), not "
            f"{type(embedding).__name__}; for example OpenAIEmbeddings(...) or "
            "WordLlamaEmbeddings() from langchain_elasticsearch_cache.interfaces.langchain"
            ".wordllama"
        )
    return embedding  # type: ignore[no-any-return]


def _all_zeros(raw: Any) -> bool:
    try:
        values = [float(item) for item in raw]
    except (TypeError, ValueError):
        return False
    return bool(values) and not any(values)


def _check_memo_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            f"vector_memo_size must be a non-negative integer (0 disables it), got {value!r}"
        )
    return value


class _SemanticCacheBase(BaseCache):
    """Options shared by the sync and async classes."""

    def __init__(
        self,
        embedding: Embeddings,
        *,
        similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
        prompt_splitter: PromptSplitter | None = None,
        hit_guard: HitGuard | None = default_hit_guard,
        k: int = DEFAULT_K,
        store_input: bool = True,
        store_input_params: bool = True,
        metadata: Mapping[str, Any] | None = None,
        key_scheme: KeyScheme | str | None = None,
        ttl: timedelta | float | None = None,
        fail_open: bool = False,
        clock: Clock | None = None,
        vector_memo_size: int = 4096,
        max_error_rate: float | None = None,
        answer_judge: AnswerJudge | None = None,
    ) -> None:
        self._embedding = check_embedding(embedding)
        #: the model's identity, checked against the repository's before the first use
        self._identity = embedding_identity(self._embedding)
        self._policy = SemanticCachePolicy(
            llm=LlmCachePolicy(
                key_scheme=key_scheme,
                store_input=store_input,
                store_input_params=store_input_params,
                metadata=metadata,
                ttl=ttl,
            ),
            splitter=prompt_splitter,
            similarity_threshold=similarity_threshold,
            hit_guard=hit_guard,
            k=k,
            max_error_rate=max_error_rate,
            answer_judge=answer_judge,
        )
        self._runtime = Runtime(fail_open=fail_open, kind="semantic")
        self._clock: Clock = clock or utc_now
        self._counters = _Counters(self._runtime.telemetry)
        self._memo = _VectorMemo(_check_memo_size(vector_memo_size))
        self._pending = _PendingObservations(PENDING_OBSERVATIONS, PENDING_TTL)
        self._warned_judge = False
        self._pools = False  # set by the subclass: does the repository keep a pool?

    @property
    def policy(self) -> SemanticCachePolicy:
        return self._policy

    @property
    def embedding(self) -> Embeddings:
        return self._embedding

    @property
    def embedding_identity(self) -> EmbeddingIdentity:
        """Which embedding model this cache embeds with, as its index records it."""
        return self._identity

    @property
    def statistics(self) -> SemanticCacheStatistics:
        """An immutable snapshot: hits (exact and semantic), misses, writes, errors,
        embedding calls, the similarity of each semantic hit, latencies."""
        return self._counters.snapshot(self._runtime.statistics())

    def reset_statistics(self) -> None:
        self._runtime.reset_statistics()
        self._counters.reset()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(similarity_threshold={self._policy.similarity_threshold!r}, "
            f"k={self._policy.k!r}, max_error_rate={self._policy.max_error_rate!r}, "
            f"key_scheme={self._policy.llm.key_scheme.name!r}, "
            f"ttl={self._policy.ttl!r}, fail_open={self._runtime.fail_open!r})"
        )

    # -- shared steps ------------------------------------------------------------------

    def _embedding_failed(self, exc: Exception, what: str) -> Exception:
        """What to raise for a failed embedding call: the model's own error, unless the
        cache fails open (then an outage, which the runtime turns into a miss/no-op)."""
        self._counters.add("embedding_failures")
        if self._runtime.fail_open:
            failure = _EmbeddingUnavailable(
                f"the embedding model {what}: {type(exc).__name__}: {exc}"
            )
            failure.__cause__ = exc
            return failure
        return exc

    def _vector(self, raw: Any) -> tuple[float, ...] | None:
        """The model's answer as a vector; ``None`` for all zeros (some models embed text
        they have no token for so: it has no direction, so it is compared exactly only)."""
        try:
            return validate_vector(raw)
        except ConfigurationError as exc:
            if _all_zeros(raw):
                return None
            raise self._embedding_failed(exc, "returned no usable vector") from exc

    def _answer(self, hit: SemanticHit | None) -> list[Generation] | None:
        if hit is None:
            return None
        self._counters.semantic_hit(hit.similarity)
        return hit.generations

    def _needs_pool(self, hit: SemanticHit | None) -> bool:
        """Whether deciding on ``hit`` reads the repository's pool: a verified cache over
        a pooling repository, with a candidate its own observations do not already
        serve."""
        if hit is None or not self._pools:
            return False
        decision = self._policy.verify(hit)
        return decision is not None and not decision.serve

    def _serve(
        self,
        prompt: str,
        llm_string: str,
        hit: SemanticHit | None,
        pool: Sequence[ObservationBin] = (),
    ) -> list[Generation] | None:
        """A chosen candidate's answer, unless a verified cache explores it (a miss, and
        the entry and similarity are remembered for the update that follows)."""
        if hit is None:
            return None
        decision = self._policy.verify(hit, pool)
        if decision is not None and not decision.serve:
            key = hit.candidate.record.key
            self._pending.put(prompt, llm_string, key, hit.similarity, self._clock())
            self._counters.add("explorations")
            return None
        return self._answer(hit)

    def _pending_for(self, prompt: str, llm_string: str) -> Any:
        if not self._policy.verified:
            return None
        return self._pending.pop(prompt, llm_string, self._clock())

    def _cached_answer(self, record: Any) -> list[Generation] | None:
        """The explored entry's answer now, or ``None`` (gone, expired or unreadable)."""
        if record is None or not self._policy.llm.is_live(record.llm_record, self._clock()):
            return None
        return self._policy.llm.answer(record.llm_record)

    def _judge_failed(self, exc: BaseException) -> None:
        self._counters.add("judge_failures")
        first, self._warned_judge = not self._warned_judge, True
        if first:
            logger.warning(
                "the answer judge failed (%s: %s); the answer is cached, nothing is learned "
                "from it (counted in statistics.judge_failures; not repeated for this cache "
                "object)",
                type(exc).__name__,
                exc,
            )

    def _observed(self, right: bool) -> None:
        self._counters.add("observations")
        if not right:
            self._counters.add("wrong_observations")

    def _exact(self, record: Any, now: datetime) -> list[Generation] | None:
        generations = self._policy.exact_generations(record, now)
        if generations is not None:
            self._counters.add("exact_hits")
        return generations

    def _base_record(
        self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE
    ) -> LlmRecord | None:
        """The exact part of the entry to write, or ``None`` (counted, warned once) when the
        answer could never be read back: refused before the embedding model is asked."""
        try:
            return self._policy.llm.record(prompt, llm_string, return_val, self._clock())
        except UncacheableAnswerError as exc:
            self._runtime.skip_uncacheable("update", exc)
            return None


def _unverifiable(repository: Any) -> ConfigurationError:
    return ConfigurationError(
        f"max_error_rate needs a repository that can record observations; "
        f"{type(repository).__name__} has no add_observation(key, similarity, right) "
        "(see ObservingVectorRepository in langchain_elasticsearch_cache.domain.ports), "
        "or pass max_error_rate=None"
    )


class RepositorySemanticCache(_SemanticCacheBase, SyncLifecycle):
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
            exact = self._exact(self._repository.get(key), now)
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

    def _verdict(self, pending: _Pending, fresh: list[Generation]) -> bool | None:
        """Was the explored entry's answer right for this prompt? ``None``: not known."""
        cached = self._runtime.run(
            "judge", lambda: self._cached_answer(self._repository.get(pending.key)), None
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

    def _observe(self, pending: _Pending, right: bool) -> None:
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


class AsyncRepositorySemanticCache(_SemanticCacheBase, AsyncLifecycle):
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
        self._lookups = LookupBatcher(repository)
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

    async def _averdict(self, pending: _Pending, fresh: list[Generation]) -> bool | None:
        """Was the explored entry's answer right for this prompt? ``None``: not known."""

        async def read() -> list[Generation] | None:
            return self._cached_answer(await self._repository.get(pending.key))

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

    async def _aobserve(self, pending: _Pending, right: bool) -> None:
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
