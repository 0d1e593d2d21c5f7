"""Property tests of the calibration metrics, the threshold choice, the holdout split and the
precision interval (Wilson) with the hits it takes to reach a target."""

from __future__ import annotations

import itertools
from math import comb

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from langchain_elasticsearch_cache.evaluation import (
    LabelledPair,
    ScoredPair,
    calibrate,
    evaluate,
    flip_thresholds,
    holdout_split,
    metrics_table,
)
from langchain_elasticsearch_cache.evaluation.interval import (
    hits_needed,
    wilson_bounds,
    wilson_interval,
    z_score,
)

SIMILARITIES = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
THRESHOLDS = st.lists(SIMILARITIES, min_size=1, max_size=30)


@st.composite
def scored_pairs(draw: st.DrawFn, min_size: int = 0) -> list[ScoredPair]:
    rows = draw(st.lists(st.tuples(st.booleans(), SIMILARITIES, st.booleans()), min_size=min_size))
    return [
        ScoredPair(LabelledPair(f"a{i}", f"b{i}", same), similarity, eligible)
        for i, (same, similarity, eligible) in enumerate(rows)
    ]


@settings(deadline=None)
@given(scored_pairs(), THRESHOLDS)
def test_counts_add_up_and_rates_are_fractions(
    scored: list[ScoredPair], thresholds: list[float]
) -> None:
    same = sum(1 for item in scored if item.pair.same)
    for row in metrics_table(scored, thresholds):
        assert row.pairs == len(scored)
        assert row.true_hits + row.missed == same
        assert row.false_hits + row.true_misses == len(scored) - same
        assert row.hits == sum(1 for item in scored if item.is_hit(row.threshold))
        for rate in (row.precision, row.recall, row.f1, row.hit_rate):
            assert 0.0 <= rate <= 1.0
        assert row.f1 <= max(row.precision, row.recall) + 1e-12


@settings(deadline=None)
@given(scored_pairs(), THRESHOLDS)
def test_hits_and_recall_never_rise_with_the_threshold(
    scored: list[ScoredPair], thresholds: list[float]
) -> None:
    table = metrics_table(scored, thresholds)
    assert [row.threshold for row in table] == sorted(set(thresholds))
    for lower, higher in itertools.pairwise(table):
        assert higher.hits <= lower.hits
        assert higher.true_hits <= lower.true_hits
        assert higher.false_hits <= lower.false_hits
        assert higher.recall <= lower.recall


@settings(deadline=None)
@given(scored_pairs(min_size=2), st.floats(min_value=0.05, max_value=1.0))
def test_the_choice_reaches_the_target_with_the_most_hits(
    scored: list[ScoredPair], target: float
) -> None:
    labels = {item.pair.same for item in scored}
    assume(labels == {True, False})  # calibrate refuses other sets (see the unit tests)
    thresholds = flip_thresholds(scored) or (0.5,)
    result = calibrate(scored, target_precision=target, thresholds=thresholds)
    reaching = [row for row in result.table if row.hits and row.precision >= target - 1e-12]
    if result.chosen is None:
        assert not reaching and result.reason
    else:
        assert result.chosen in reaching
        assert result.chosen.hits == max(row.hits for row in reaching)
        assert result.chosen == evaluate(scored, result.chosen.threshold)


@settings(deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=2, max_size=200),
    st.floats(min_value=0.05, max_value=0.95),
    st.integers(0, 2**32),
)
def test_the_holdout_split_is_a_seeded_partition(
    groups: list[int], holdout: float, seed: int
) -> None:
    items = list(enumerate(groups))
    try:
        tune, check = holdout_split(items, holdout=holdout, seed=seed, strata=lambda x: x[1])
    except ValueError:  # ConfigurationError: a part would be empty
        assume(False)
        raise
    assert tune and check
    assert set(tune).isdisjoint(check)
    assert sorted(tune + check) == items
    assert holdout_split(items, holdout=holdout, seed=seed, strata=lambda x: x[1]) == (
        tune,
        check,
    )
    for group in set(groups):
        size = groups.count(group)
        assert sum(1 for _, g in check if g == group) == round(size * holdout)


# -- the precision interval (Wilson) and the hits it takes ------------------------------

CONFIDENCES = st.sampled_from([0.8, 0.9, 0.95, 0.99])


@st.composite
def counts(draw: st.DrawFn, max_trials: int = 5000) -> tuple[int, int]:
    trials = draw(st.integers(min_value=1, max_value=max_trials))
    return draw(st.integers(min_value=0, max_value=trials)), trials


@given(counts(), CONFIDENCES)
def test_the_interval_holds_the_observed_share_within_0_and_1(
    observed: tuple[int, int], confidence: float
) -> None:
    successes, trials = observed
    lower, upper = wilson_interval(successes, trials, confidence)
    share = successes / trials
    assert 0.0 <= lower <= share <= upper <= 1.0
    assert (lower == 0.0) == (successes == 0)
    assert (upper == 1.0) == (successes == trials)


@given(counts(), CONFIDENCES)
def test_the_interval_is_symmetric_in_right_and_wrong(
    observed: tuple[int, int], confidence: float
) -> None:
    successes, trials = observed
    lower, upper = wilson_interval(successes, trials, confidence)
    mirror_lower, mirror_upper = wilson_interval(trials - successes, trials, confidence)
    assert lower == pytest.approx(1 - mirror_upper, abs=1e-12)
    assert upper == pytest.approx(1 - mirror_lower, abs=1e-12)


@given(counts(max_trials=200), st.integers(min_value=2, max_value=50), CONFIDENCES)
def test_more_trials_at_the_same_share_narrow_the_interval(
    observed: tuple[int, int], factor: int, confidence: float
) -> None:
    successes, trials = observed
    lower, upper = wilson_interval(successes, trials, confidence)
    more_lower, more_upper = wilson_interval(successes * factor, trials * factor, confidence)
    assert more_lower >= lower - 1e-12
    assert more_upper <= upper + 1e-12


@given(counts(), st.sampled_from([(0.8, 0.9), (0.9, 0.95), (0.95, 0.99)]))
def test_a_higher_confidence_widens_the_interval(
    observed: tuple[int, int], levels: tuple[float, float]
) -> None:
    successes, trials = observed
    low, high = levels
    narrow, wide = wilson_interval(successes, trials, low), wilson_interval(successes, trials, high)
    assert wide[0] <= narrow[0] + 1e-12 and wide[1] >= narrow[1] - 1e-12


@settings(deadline=None, max_examples=40)
@given(st.integers(min_value=10, max_value=150), st.floats(min_value=0.1, max_value=0.9))
def test_the_interval_covers_the_true_precision_about_95_percent_of_the_time(
    trials: int, precision: float
) -> None:
    # exact coverage: the probability, over every outcome k of `trials` hits, that the
    # interval around k/trials holds the true precision. Wilson's oscillates around 95%
    # (a fine grid of 10..150 hits and precisions 0.1..0.9 gives at least 0.909)
    covered = 0.0
    for successes in range(trials + 1):
        lower, upper = wilson_interval(successes, trials)
        if lower <= precision <= upper:
            covered += (
                comb(trials, successes)
                * precision**successes
                * (1 - precision) ** (trials - successes)
            )
    assert covered >= 0.90


@given(
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.5, max_value=0.999),
    CONFIDENCES,
)
def test_hits_needed_is_the_fewest_that_lift_the_lower_bound_to_the_target(
    precision: float, target: float, confidence: float
) -> None:
    needed = hits_needed(precision, target, confidence)
    if precision <= target + 1e-12:
        assert needed is None
        return
    assume(needed is not None and needed < 10**9)
    assert needed is not None
    z = z_score(confidence)
    assert wilson_bounds(precision, needed, z)[0] >= target - 1e-12
    if needed > 1:
        assert wilson_bounds(precision, needed - 1, z)[0] < target - 1e-12
