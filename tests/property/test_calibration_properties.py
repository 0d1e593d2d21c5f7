"""Property tests of the calibration metrics, the threshold choice and the holdout split."""

from __future__ import annotations

import itertools

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
