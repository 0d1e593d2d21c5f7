"""Properties of the verified cache's pure logic: observations, the per-entry model, the
serve/explore decision; and a seeded simulation with a known ground-truth boundary per
entry, whose realised error must stay within ``delta`` (and does not under broken rules)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_elasticsearch_cache.domain.semantic.verified import (
    MAX_BINS,
    ObservationBin,
    add_observation,
    decide,
    error_estimate,
    fit_boundary,
    observations_from_document,
    observations_to_document,
)

similarities = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
high_similarities = st.floats(min_value=0.5, max_value=1.0, allow_nan=False)
events = st.lists(st.tuples(high_similarities, st.booleans()), max_size=120)
deltas = st.floats(min_value=0.001, max_value=0.499)


def _observations(
    stream: Sequence[tuple[float, bool]], max_bins: int = MAX_BINS
) -> tuple[ObservationBin, ...]:
    bins: tuple[ObservationBin, ...] = ()
    for similarity, right in stream:
        bins = add_observation(bins, similarity, right, max_bins=max_bins)
    return bins


@settings(max_examples=150, deadline=None)
@given(stream=events, max_bins=st.integers(min_value=1, max_value=MAX_BINS))
def test_observations_are_bounded_sorted_and_lose_no_count(
    stream: list[tuple[float, bool]], max_bins: int
) -> None:
    bins = _observations(stream, max_bins)
    assert len(bins) <= max_bins
    assert [b.similarity for b in bins] == sorted(b.similarity for b in bins)
    assert sum(b.right for b in bins) == sum(right for _, right in stream)
    assert sum(b.wrong for b in bins) == sum(not right for _, right in stream)
    assert observations_from_document(observations_to_document(bins)) == bins


@settings(max_examples=100, deadline=None)
@given(stream=st.lists(st.tuples(high_similarities, st.booleans()), max_size=40))
def test_the_order_of_observations_does_not_matter_below_the_cap(
    stream: list[tuple[float, bool]],
) -> None:
    assert _observations(stream) == _observations(list(reversed(stream)))


@pytest.mark.parametrize(
    "raw",
    ["x", [[0.9, 1]], [["0.9", 1, 0]], [[0.9, -1, 0]], [[1.5, 1, 0]], [[0.9, 1.5, 0]], {"a": 1}],
)
def test_malformed_stored_observations_are_reported(raw: object) -> None:
    assert isinstance(observations_from_document(raw), str)


@settings(max_examples=150, deadline=None)
@given(stream=events, low=similarities, high=similarities)
def test_the_estimated_error_never_rises_with_similarity(
    stream: list[tuple[float, bool]], low: float, high: float
) -> None:
    low, high = min(low, high), max(low, high)
    bins = _observations(stream)
    fit = fit_boundary(bins)
    assert fit.slope >= 0.0
    assert 0.0 < error_estimate(bins, high, fit=fit) <= error_estimate(bins, low, fit=fit) < 1.0


@settings(max_examples=150, deadline=None)
@given(similarity=similarities, delta=deltas)
def test_an_entry_nothing_is_known_about_is_never_served(similarity: float, delta: float) -> None:
    decision = decide((), similarity, delta)
    assert not decision.serve and decision.estimated_error == pytest.approx(0.5)


@settings(max_examples=100, deadline=None)
@given(
    wrong=st.lists(high_similarities, min_size=1, max_size=60),
    similarity=similarities,
    delta=deltas,
)
def test_an_entry_that_was_only_ever_wrong_is_never_served(
    wrong: list[float], similarity: float, delta: float
) -> None:
    bins = _observations([(s, False) for s in wrong])
    assert not decide(bins, similarity, delta).serve


@settings(max_examples=100, deadline=None)
@given(stream=events, similarity=high_similarities, delta=deltas)
def test_serving_is_monotone_in_similarity_and_delta(
    stream: list[tuple[float, bool]], similarity: float, delta: float
) -> None:
    bins = _observations(stream)
    if decide(bins, similarity, delta).serve:
        assert decide(bins, min(1.0, similarity + 0.01), delta).serve
        assert decide(bins, similarity, min(0.499, delta * 2)).serve


def test_right_answers_make_an_entry_servable_where_they_were_seen_and_above() -> None:
    bins = _observations([(0.9, True)] * 40)
    assert decide(bins, 0.9, 0.05).serve and decide(bins, 0.97, 0.05).serve
    assert not decide(bins, 0.7, 0.05).serve  # no evidence down there
    assert not decide(_observations([(0.9, True)] * 2), 0.9, 0.05).serve  # too little


# -- the simulation: ground truth known, realised error measured ---------------------------

Rule = Callable[[tuple[ObservationBin, ...], float, float], bool]


def _simulate(rule: Rule, delta: float, seed: int, width: float) -> tuple[float, float]:
    """(error rate, hit rate) over a seeded stream: 30 entries, each with its own true
    boundary t in [0.7, 0.98]; a request at similarity s ~ U(0.6, 1) to a random entry
    would be answered right by it with probability sigmoid((s - t) / width). A served
    request is an error when it is not right; an explored one adds its observation."""
    rng = random.Random(seed)
    boundaries = [rng.uniform(0.7, 0.98) for _ in range(30)]
    observations: list[tuple[ObservationBin, ...]] = [() for _ in boundaries]
    requests, errors, hits = 2500, 0, 0
    for _ in range(requests):
        entry = rng.randrange(len(boundaries))
        similarity = rng.uniform(0.6, 1.0)
        logit = max(-50.0, min(50.0, (similarity - boundaries[entry]) / width))
        right = rng.random() < 1.0 / (1.0 + math.exp(-logit))
        if rule(observations[entry], similarity, delta):
            hits += 1
            errors += not right
        else:
            observations[entry] = add_observation(observations[entry], similarity, right)
    return errors / requests, hits / requests


def _verified(bins: tuple[ObservationBin, ...], similarity: float, delta: float) -> bool:
    return decide(bins, similarity, delta).serve


def _serves_the_unknown(bins: tuple[ObservationBin, ...], similarity: float, delta: float) -> bool:
    """Broken: an entry without observations is served (nothing is ever learned)."""
    return not bins or decide(bins, similarity, delta).serve


def _wrong_direction(bins: tuple[ObservationBin, ...], similarity: float, delta: float) -> bool:
    """Broken: the bound read the wrong way (the chance of a *right* answer above delta)."""
    return bool(bins) and 1.0 - error_estimate(bins, similarity) >= delta


def _borrows_from_above(bins: tuple[ObservationBin, ...], similarity: float, delta: float) -> bool:
    """Broken: the monotone argument applied the wrong way (an entry trusted at the highest
    similarity it was seen at is trusted below it too)."""
    highest = max((b.similarity for b in bins), default=similarity)
    return decide(bins, max(similarity, highest), delta).serve


DELTA = 0.02
# a generous margin: three binomial standard deviations of the measured rate above delta
MARGIN = 3 * math.sqrt(DELTA * (1 - DELTA) / 2500)


@pytest.mark.parametrize("width", [0.001, 0.02, 0.05])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_realised_error_stays_within_delta(seed: int, width: float) -> None:
    error, hits = _simulate(_verified, DELTA, seed, width)
    assert error <= DELTA + MARGIN, f"realised error {error:.4f} > {DELTA} (+{MARGIN:.4f})"
    assert hits > 0.01, "a rule that never serves passes trivially: it must serve some"


@pytest.mark.parametrize("broken", [_serves_the_unknown, _wrong_direction, _borrows_from_above])
def test_broken_rules_fail_the_same_simulation(broken: Rule) -> None:
    worst = max(_simulate(broken, DELTA, seed, 0.02)[0] for seed in (1, 2))
    assert worst > DELTA + MARGIN, f"{broken.__name__} was not caught (error {worst:.4f})"
