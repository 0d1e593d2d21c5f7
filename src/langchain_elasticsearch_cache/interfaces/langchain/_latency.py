"""Latency percentiles in constant memory: a histogram of fixed, log-spaced buckets.

Every call's duration lands in one of ``BUCKETS`` buckets, each ``GROWTH`` (2^(1/8),
about 9 %) times wider than the one before, from ``LOWEST`` (1 microsecond) to
``HIGHEST`` (10,000 s); shorter durations share one bucket below, longer ones one above.
Memory is one small integer per bucket per operation, however many calls are counted,
and recording is one logarithm and one increment.

A percentile is read as the geometric middle of the bucket that holds the requested
rank (nearest-rank definition), capped at the largest duration seen. **Error bound:**
for durations between 1 us and 10,000 s the estimate is within a factor
``sqrt(GROWTH)`` of a duration actually observed at that rank, i.e. at most
``RELATIVE_ERROR`` (about 4.4 %) above or below it. Below 1 us the estimate is 0.5 us
(off by at most 0.5 us); above 10,000 s it is the largest duration seen.
"""

from __future__ import annotations

import math

import attrs

__all__ = [
    "BUCKETS",
    "GROWTH",
    "HIGHEST",
    "LOWEST",
    "RELATIVE_ERROR",
    "NO_LATENCY",
    "LatencyDistribution",
    "new_buckets",
    "record_latency",
]

LOWEST = 1e-6
HIGHEST = 1e4
GROWTH = 2.0 ** (1 / 8)
_INV_LOG_GROWTH = 1.0 / math.log(GROWTH)
#: log-spaced buckets between LOWEST and HIGHEST (plus one below and one above)
BUCKETS = math.ceil(math.log(HIGHEST / LOWEST) * _INV_LOG_GROWTH)
#: the largest relative error of a percentile between LOWEST and HIGHEST
RELATIVE_ERROR = math.sqrt(GROWTH) - 1.0
_SLOTS = BUCKETS + 2  # [0] below LOWEST, [1..BUCKETS] the buckets, [BUCKETS + 1] above


def new_buckets() -> list[int]:
    """The mutable counts a recorder keeps (one list per operation)."""
    return [0] * _SLOTS


def record_latency(counts: list[int], seconds: float) -> None:
    """Count one duration (the caller holds whatever lock guards ``counts``)."""
    if seconds < LOWEST:
        counts[0] += 1
    else:
        slot = int(math.log(seconds / LOWEST) * _INV_LOG_GROWTH) + 1
        counts[slot if slot <= BUCKETS else BUCKETS + 1] += 1


def _middle(slot: int) -> float:
    if slot == 0:
        return LOWEST / 2
    return LOWEST * math.pow(GROWTH, slot - 0.5)


def _counts_repr(counts: tuple[int, ...]) -> str:
    return f"<{sum(counts)} durations>"


@attrs.frozen
class LatencyDistribution:
    """An immutable snapshot of one operation's duration histogram (see the module doc
    for the buckets and the error bound). Empty when nothing was counted."""

    counts: tuple[int, ...] = attrs.field(default=(), repr=_counts_repr)
    #: the largest duration seen: percentiles never exceed it
    max_seconds: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.counts)

    def percentile(self, percent: float) -> float:
        """The ``percent``-th percentile in seconds (0 < percent <= 100); 0.0 when empty."""
        if not 0 < percent <= 100:
            raise ValueError(f"percent must be in (0, 100], got {percent!r}")
        total = self.count
        if not total:
            return 0.0
        rank = max(1, math.ceil(total * percent / 100))
        seen = 0
        for slot, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                if slot == len(self.counts) - 1:  # above HIGHEST: only the maximum is known
                    return self.max_seconds
                return min(_middle(slot), self.max_seconds)
        return self.max_seconds  # not reached: the ranks add up to total


#: The distribution of an operation that has not run (the default of the statistics).
NO_LATENCY = LatencyDistribution()
