"""Latency percentiles of the statistics: bounded memory, and the documented error bound."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langchain_elasticsearch_cache import InMemoryLlmCache
from langchain_elasticsearch_cache.interfaces.langchain import OperationStatistics
from langchain_elasticsearch_cache.interfaces.langchain._latency import (
    HIGHEST,
    LOWEST,
    RELATIVE_ERROR,
    LatencyDistribution,
    new_buckets,
    record_latency,
)


def _distribution(durations: list[float]) -> LatencyDistribution:
    counts = new_buckets()
    for seconds in durations:
        record_latency(counts, seconds)
    return LatencyDistribution(tuple(counts), max(durations, default=0.0))


def _nearest_rank(durations: list[float], percent: float) -> float:
    ordered = sorted(durations)
    return ordered[max(1, math.ceil(len(ordered) * percent / 100)) - 1]


@given(
    st.lists(st.floats(min_value=LOWEST, max_value=HIGHEST / 2), min_size=1, max_size=300),
    st.sampled_from([1, 50, 90, 95, 99, 99.9, 100]),
)
def test_a_percentile_is_within_the_error_bound_of_the_exact_one(
    durations: list[float], percent: float
) -> None:
    estimate = _distribution(durations).percentile(percent)
    exact = _nearest_rank(durations, percent)
    assert abs(estimate - exact) <= exact * RELATIVE_ERROR * (1 + 1e-9)


def test_the_bound_is_about_four_percent() -> None:
    assert 0.04 < RELATIVE_ERROR < 0.045


def test_memory_stays_constant_whatever_the_number_of_calls() -> None:
    rng = random.Random(7)
    counts = new_buckets()
    size = len(counts)
    durations = [rng.lognormvariate(-7, 1.5) for _ in range(20_000)]
    for seconds in durations:
        record_latency(counts, seconds)
    assert len(counts) == size
    dist = LatencyDistribution(tuple(counts), max(durations))
    assert dist.count == 20_000
    for percent in (50, 95, 99):
        exact = _nearest_rank(durations, percent)
        assert dist.percentile(percent) == pytest.approx(exact, rel=RELATIVE_ERROR)


def test_extremes_and_empty() -> None:
    assert LatencyDistribution().percentile(99) == 0.0
    tiny = _distribution([1e-9, 2e-9])
    assert tiny.percentile(50) <= LOWEST
    huge = _distribution([HIGHEST * 3])
    assert huge.percentile(50) == HIGHEST * 3  # above the buckets: the maximum, exactly
    assert _distribution([0.01]).percentile(100) == 0.01  # capped at the maximum seen
    with pytest.raises(ValueError, match="percent"):
        tiny.percentile(0)


def test_the_statistics_give_percentiles_per_operation() -> None:
    cache = InMemoryLlmCache()
    for i in range(50):
        cache.lookup(f"p{i}", "m")
    lookup = cache.statistics.operations["lookup"]
    assert lookup.latency.count == lookup.calls == 50
    assert 0 < lookup.p50_seconds <= lookup.p95_seconds <= lookup.p99_seconds
    assert lookup.p99_seconds <= lookup.max_seconds
    assert lookup.percentile_seconds(99) == lookup.p99_seconds
    assert "update" not in cache.statistics.operations
    cache.reset_statistics()
    assert cache.statistics.operations == {}


def test_older_positional_construction_still_works() -> None:
    stats = OperationStatistics(1, 0, 0, 0, 0, 0, 0.5, 0.5, 0, 0)
    assert stats.latency.count == 0
    assert stats.p99_seconds == 0.0
