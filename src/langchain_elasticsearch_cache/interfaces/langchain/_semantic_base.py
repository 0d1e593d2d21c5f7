"""What the sync and async semantic caches share: options, statistics, the steps of a lookup
and of an update that do no I/O, and the embedding model's checks.

:class:`SemanticCacheBase` is the common base of :class:`~.semantic_cache.RepositorySemanticCache`
and :class:`~.semantic_cache.AsyncRepositorySemanticCache` (see :mod:`.semantic_cache` for
what a lookup and an update do); each subclass adds its repository and the calls that
reach it (``get``, ``nearest``, ``put``, the embedding model), sync or async. The
bookkeeping objects it keeps are in :mod:`._semantic_state`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.embeddings import Embeddings
from langchain_core.outputs import Generation

from ...domain.entries import LlmRecord
from ...domain.errors import BackendUnavailableError, ConfigurationError, UncacheableAnswerError
from ...domain.keys import KeyScheme
from ...domain.policies import LlmCachePolicy
from ...domain.semantic import (
    DEFAULT_K,
    DEFAULT_SIMILARITY_THRESHOLD,
    HitGuard,
    PromptSplitter,
    SemanticCachePolicy,
    SemanticHit,
    default_hit_guard,
)
from ...domain.semantic.identity import EmbeddingIdentity
from ...domain.semantic.judges import AnswerJudge
from ...domain.semantic.verified import ObservationBin
from ...domain.semantic_records import validate_vector
from ._runtime import Clock, Runtime, utc_now
from ._semantic_state import PendingObservation, PendingObservations, SemanticCounters, VectorMemo
from .embedding_identity import embedding_identity
from .statistics import SemanticCacheStatistics

__all__ = [
    "PENDING_OBSERVATIONS",
    "PENDING_TTL",
    "SemanticCacheBase",
    "check_embedding",
]

logger = logging.getLogger("langchain_elasticsearch_cache")

#: How many explored lookups a verified cache remembers until their ``update`` (the oldest
#: are forgotten first: their update then stores the answer without learning from it).
PENDING_OBSERVATIONS = 4096
#: How long an explored lookup waits for its ``update`` (a model call rarely takes longer).
PENDING_TTL = timedelta(minutes=10)


class _EmbeddingUnavailable(BackendUnavailableError):
    """The embedding model failed inside a fail-open cache: an outage, like the store's."""


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


class SemanticCacheBase(BaseCache):
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
        self._counters = SemanticCounters(self._runtime.telemetry)
        self._memo = VectorMemo(_check_memo_size(vector_memo_size))
        self._pending = PendingObservations(PENDING_OBSERVATIONS, PENDING_TTL)
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

    def _pending_for(self, prompt: str, llm_string: str) -> PendingObservation | None:
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
