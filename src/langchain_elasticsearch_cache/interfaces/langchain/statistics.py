"""What a cache has done: immutable snapshots of its counters (``cache.statistics``).

Every cache object counts its calls per operation (``lookup``, ``update``, ``mget``,
``mset``...); ``statistics`` returns one of these frozen snapshots, which later calls
do not change. ``reset_statistics()`` starts the counters again.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._latency import NO_LATENCY, LatencyDistribution

__all__ = ["CacheStatistics", "OperationStatistics", "SemanticCacheStatistics"]


@attrs.frozen
class OperationStatistics:
    """Counters of one operation (``lookup``, ``update``, ``mget``...).

    The byte store counts keys, not calls, in ``hits``, ``misses`` and ``writes``. New
    counters come last, so that positional construction by older code stays valid.

    Attributes:
        calls: Calls made, failed ones included.
        hits: Lookups (or keys) answered from the cache.
        misses: Lookups (or keys) the cache had no live entry for.
        writes: Entries written.
        errors: Calls that raised, or failed open.
        failed_open: Calls turned into a miss or a no-op by ``fail_open``.
        total_seconds: Time spent in the calls, in total.
        max_seconds: Time spent in the slowest call.
        uncacheable: Answers not written because they could never be read back (see
            ``UncacheableAnswerError``).
        refused: Entries the backend refused to store (too large, not fitting the
            mapping).
        latency: The calls' durations in fixed log-spaced buckets (constant memory),
            behind ``p50_seconds``, ``p95_seconds``, ``p99_seconds``.
    """

    calls: int = 0
    hits: int = 0
    misses: int = 0
    writes: int = 0
    errors: int = 0
    failed_open: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0
    uncacheable: int = 0
    refused: int = 0
    latency: LatencyDistribution = NO_LATENCY

    @property
    def mean_seconds(self) -> float:
        """Mean time per call (0.0 before the first call)."""
        return self.total_seconds / self.calls if self.calls else 0.0

    def percentile_seconds(self, percent: float) -> float:
        """A latency percentile, within about 4.4 % of a duration observed at that rank
        (see ``_latency``); 0.0 before the first call.

        Args:
            percent: The percentile wanted, from 0 to 100.
        """
        return self.latency.percentile(percent)

    @property
    def p50_seconds(self) -> float:
        """The median call duration."""
        return self.latency.percentile(50)

    @property
    def p95_seconds(self) -> float:
        """The 95th percentile of the call durations."""
        return self.latency.percentile(95)

    @property
    def p99_seconds(self) -> float:
        """The 99th percentile of the call durations."""
        return self.latency.percentile(99)


@attrs.frozen
class CacheStatistics:
    """An immutable snapshot of a cache's counters, per operation and in total.

    The totals (``hits``, ``misses``, ``writes``, ``errors``, ``failed_open``,
    ``uncacheable``, ``refused``) add up every operation's counter of the same name.

    Attributes:
        operations: The counters of each operation, by its name (read-only mapping).
    """

    operations: Mapping[str, OperationStatistics]

    def _sum(self, field: str) -> int:
        return sum(int(getattr(op, field)) for op in self.operations.values())

    @property
    def hits(self) -> int:
        """Lookups (or keys) answered from the cache."""
        return self._sum("hits")

    @property
    def misses(self) -> int:
        """Lookups (or keys) the cache had no live entry for."""
        return self._sum("misses")

    @property
    def writes(self) -> int:
        """Entries written."""
        return self._sum("writes")

    @property
    def errors(self) -> int:
        """Calls that raised, or failed open."""
        return self._sum("errors")

    @property
    def failed_open(self) -> int:
        """Calls turned into a miss or a no-op by ``fail_open``."""
        return self._sum("failed_open")

    @property
    def uncacheable(self) -> int:
        """Answers not written because they could never be read back."""
        return self._sum("uncacheable")

    @property
    def refused(self) -> int:
        """Entries the backend refused to store (with or without ``fail_open``)."""
        return self._sum("refused")

    @property
    def hit_rate(self) -> float:
        """``hits / (hits + misses)``; 0.0 before the first lookup."""
        looked_up = self.hits + self.misses
        return self.hits / looked_up if looked_up else 0.0


@attrs.frozen
class SemanticCacheStatistics(CacheStatistics):
    """:class:`CacheStatistics` plus what only a semantic cache does.

    ``hits`` (from the ``lookup`` operation) is ``exact_hits + semantic_hits``.

    Attributes:
        operations: The counters of each operation, by its name (read-only mapping).
        exact_hits: Lookups answered by the exact key (no embedding call).
        semantic_hits: Lookups answered by a similar cached prompt.
        embedding_calls: Calls made to the embedding model.
        embedding_failures: Embedding calls that raised or returned no usable vector.
        similarities: The similarity of each of the last 1,000 semantic hits, oldest
            first.
        explorations: Verified caches (``max_error_rate``): lookups that returned a miss
            to learn about their nearest entry.
        observations: Verified caches: observations added to entries (judged right or
            wrong).
        wrong_observations: Of ``observations``, those where the cached answer was
            judged wrong.
        judge_failures: Verified caches: explored lookups whose answer judge raised
            (nothing was learned; the answer was cached).
    """

    exact_hits: int = 0
    semantic_hits: int = 0
    embedding_calls: int = 0
    embedding_failures: int = 0
    similarities: tuple[float, ...] = ()
    explorations: int = 0
    observations: int = 0
    wrong_observations: int = 0
    judge_failures: int = 0

    @property
    def mean_similarity(self) -> float | None:
        """Mean of ``similarities``; ``None`` before the first semantic hit."""
        return sum(self.similarities) / len(self.similarities) if self.similarities else None

    @property
    def min_similarity(self) -> float | None:
        """Least of ``similarities``; ``None`` before the first semantic hit."""
        return min(self.similarities) if self.similarities else None
