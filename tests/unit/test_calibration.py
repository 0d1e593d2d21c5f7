"""The calibration core: the exact table on a hand-worked example, the threshold choice,
the seeded holdout split, the pluggable scoring and the PNG plot; the precision interval,
the evidence-backed choice, the pairs still to label, the wrong hits and guard refusals."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import attrs
import pytest

from langchain_elasticsearch_cache.domain.errors import ConfigurationError
from langchain_elasticsearch_cache.domain.semantic import default_hit_guard
from langchain_elasticsearch_cache.evaluation import (
    LabelledPair,
    PlotExtraMissingError,
    ScoredPair,
    ThresholdMetrics,
    by_category,
    calibrate,
    calibrate_with_holdout,
    default_thresholds,
    flip_thresholds,
    format_table,
    holdout_split,
    metrics_table,
    plot_precision_recall,
    read_pairs,
    score_pairs,
)
from langchain_elasticsearch_cache.evaluation.evidence import (
    count_by_category,
    guard_refusals,
    labelling_estimate,
    wrong_hits,
)
from langchain_elasticsearch_cache.evaluation.interval import hits_needed, wilson_interval

# Six pairs: three the same, three not. The fake similarity is a fixed table; the guard
# rejects the changed-number pair, which the similarity alone would take for a hit.
TINY_JSONL = """\
{"a": "What is the capital of France?", "b": "Which city is France's capital?", "same": true, "category": "paraphrase"}
{"a": "How do I boil an egg?", "b": "how to boil egg pls", "same": true, "category": "paraphrase"}
{"a": "Why is the sky blue?", "b": "Explain why the sky looks blue during the day.", "same": true, "category": "paraphrase"}

{"a": "Is Paris bigger than Lyon?", "b": "Is Lyon bigger than Paris?", "same": false, "category": "swapped"}
{"a": "What is the boiling point of water?", "b": "What is the freezing point of water?", "same": false, "category": "topic"}
{"a": "What is 17 times 23?", "b": "What is 17 times 24?", "same": false, "category": "number"}
"""  # noqa: E501

SIMILARITY = {
    "What is the capital of France?": 0.95,
    "How do I boil an egg?": 0.85,
    "Why is the sky blue?": 0.70,
    "Is Paris bigger than Lyon?": 0.90,
    "What is the boiling point of water?": 0.60,
    "What is 17 times 23?": 0.97,
}


def _fake_similarity(a: str, b: str) -> float:
    return SIMILARITY[a]


def _numbers_match(a: str, b: str) -> bool:
    return [word for word in a.split() if any(c.isdigit() for c in word)] == [
        word for word in b.split() if any(c.isdigit() for c in word)
    ]


@pytest.fixture
def tiny(tmp_path: Path) -> list[ScoredPair]:
    path = tmp_path / "tiny.jsonl"
    path.write_text(TINY_JSONL, encoding="utf-8")
    pairs = read_pairs(path)
    return [
        ScoredPair(pair, _fake_similarity(pair.a, pair.b), _numbers_match(pair.a, pair.b))
        for pair in pairs
    ]


def test_the_tiny_set_gives_the_hand_worked_table(tiny: list[ScoredPair]) -> None:
    # Similarities: same pairs 0.95, 0.85, 0.70; other pairs 0.90, 0.60 and 0.97, the last
    # rejected by the guard (17 times 23 / 24), so never a hit. A hit is similarity >= t.
    #   t=0.50: hits 0.95 0.85 0.70 | 0.90 0.60   -> right 3, wrong 2, missed 0, rest 1
    #           precision 3/5 = 0.6, recall 3/3 = 1, f1 = 2*0.6*1/1.6 = 0.75, hit rate 5/6
    #   t=0.65: hits 0.95 0.85 0.70 | 0.90        -> 3, 1, 0, 2: p 3/4, r 1, f1 6/7, hr 4/6
    #   t=0.80: hits 0.95 0.85 | 0.90             -> 2, 1, 1, 2: p 2/3, r 2/3, f1 2/3, hr 3/6
    #   t=0.90: hits 0.95 | 0.90 (>= is a hit)    -> 1, 1, 2, 2: p 1/2, r 1/3,
    #           f1 = 2*(1/2)*(1/3)/(5/6) = 0.4, hr 2/6
    #   t=0.96: no hit (0.97 is guarded)          -> 0, 0, 3, 3: p 1.0 by definition, r 0,
    #           f1 0, hr 0
    table = metrics_table(tiny, [0.9, 0.5, 0.96, 0.65, 0.8])
    expected = [
        # threshold, right, wrong, missed, rest, precision, recall, f1, hit rate
        (0.50, 3, 2, 0, 1, 3 / 5, 1.0, 0.75, 5 / 6),
        (0.65, 3, 1, 0, 2, 3 / 4, 1.0, 6 / 7, 4 / 6),
        (0.80, 2, 1, 1, 2, 2 / 3, 2 / 3, 2 / 3, 3 / 6),
        (0.90, 1, 1, 2, 2, 1 / 2, 1 / 3, 0.4, 2 / 6),
        (0.96, 0, 0, 3, 3, 1.0, 0.0, 0.0, 0.0),
    ]
    assert len(table) == len(expected)
    for row, (t, right, wrong, missed, rest, precision, recall, f1, hit_rate) in zip(
        table, expected, strict=True
    ):
        assert (row.threshold, row.true_hits, row.false_hits, row.missed, row.true_misses) == (
            t,
            right,
            wrong,
            missed,
            rest,
        )
        assert row.precision == pytest.approx(precision, abs=1e-12)
        assert row.recall == pytest.approx(recall, abs=1e-12)
        assert row.f1 == pytest.approx(f1, abs=1e-12)
        assert row.hit_rate == pytest.approx(hit_rate, abs=1e-12)
        assert row.pairs == 6


def test_the_guard_is_what_keeps_the_changed_number_out(tiny: list[ScoredPair]) -> None:
    unguarded = [ScoredPair(item.pair, item.similarity) for item in tiny]
    row = metrics_table(unguarded, [0.96])[0]
    # now 0.97 (17 times 23 / 24) is a wrong hit: precision 0 of 1
    assert (row.true_hits, row.false_hits, row.precision) == (0, 1, 0.0)


def test_calibrate_picks_the_threshold_with_most_hits_at_the_target(
    tiny: list[ScoredPair],
) -> None:
    thresholds = [0.5, 0.65, 0.8, 0.9, 0.96]
    result = calibrate(tiny, target_precision=0.75, thresholds=thresholds)
    # only 0.65 reaches 0.75 with a hit (0.96 has none, so it does not count)
    assert result.threshold == 0.65
    assert result.chosen == ThresholdMetrics(0.65, 3, 1, 0, 2)
    assert result.reason is None
    # a lower target lets 0.5 in, which has more hits
    assert calibrate(tiny, target_precision=0.6, thresholds=thresholds).threshold == 0.5


def test_calibrate_breaks_ties_towards_the_higher_threshold(tiny: list[ScoredPair]) -> None:
    # 0.91..0.95 all hit exactly the 0.95 pair: precision 1 with one hit each
    result = calibrate(tiny, target_precision=1.0, thresholds=[0.91, 0.93, 0.95])
    assert result.threshold == 0.95


def test_no_threshold_reaching_the_target_is_none_with_the_reason(
    tiny: list[ScoredPair],
) -> None:
    result = calibrate(tiny, target_precision=0.8, thresholds=[0.5, 0.65, 0.8, 0.9, 0.96])
    assert result.chosen is None and result.threshold is None
    assert result.reason is not None
    assert "reaches precision 0.8" in result.reason
    assert "best is 0.750 at 0.65" in result.reason
    assert len(result.table) == 5


def test_a_guard_that_rejects_everything_is_named_as_the_reason(
    tiny: list[ScoredPair],
) -> None:
    blocked = [ScoredPair(item.pair, item.similarity, False, "guard") for item in tiny]
    result = calibrate(blocked, target_precision=0.9)
    assert result.chosen is None
    assert result.reason is not None and "hit guard" in result.reason


def test_calibrate_refuses_sets_it_cannot_calibrate_on(tiny: list[ScoredPair]) -> None:
    with pytest.raises(ConfigurationError, match="no same pair"):
        calibrate([item for item in tiny if not item.pair.same])
    with pytest.raises(ConfigurationError, match="no pairs to calibrate"):
        calibrate([])
    with pytest.raises(ConfigurationError, match=r"target_precision must be a number in \(0, 1\]"):
        calibrate(tiny, target_precision=1.5)
    with pytest.raises(ConfigurationError, match="no thresholds to try"):
        calibrate(tiny, thresholds=[])
    with pytest.raises(ConfigurationError, match="similarity must be a finite number"):
        ScoredPair(tiny[0].pair, float("nan"))


def test_the_default_grid_and_the_flip_points(tiny: list[ScoredPair]) -> None:
    grid = default_thresholds()
    assert grid[0] == 0.5 and grid[-1] == 0.99 and len(grid) == 50
    assert 0.57 in grid  # exactly the float 0.57, not 0.5700000000000001
    # the guarded pair (0.97) can never flip
    assert flip_thresholds(tiny) == (0.6, 0.7, 0.85, 0.9, 0.95)


def test_by_category_and_the_text_table(tiny: list[ScoredPair]) -> None:
    groups = by_category(tiny, 0.65)
    assert groups["swapped"] == ThresholdMetrics(0.65, 0, 1, 0, 0)
    assert groups["number"] == ThresholdMetrics(0.65, 0, 0, 0, 1)
    assert groups["paraphrase"].recall == 1.0
    text = format_table(metrics_table(tiny, [0.5, 0.65]), chosen=0.65)
    assert text.splitlines()[2].startswith("    0.65*")


# -- holdout --------------------------------------------------------------------------


def test_the_holdout_split_is_seeded_disjoint_and_complete() -> None:
    items = list(range(100))
    tune, check = holdout_split(items, holdout=0.3, seed=7)
    assert len(check) == 30 and len(tune) == 70
    assert set(tune).isdisjoint(check) and sorted(tune + check) == items
    assert holdout_split(items, holdout=0.3, seed=7) == (tune, check)
    assert holdout_split(items, holdout=0.3, seed=8)[1] != check


def test_the_holdout_split_is_stratified() -> None:
    items = [("rare", i) for i in range(10)] + [("common", i) for i in range(90)]
    _, check = holdout_split(items, holdout=0.3, seed=1, strata=lambda item: item[0])
    assert sum(1 for kind, _ in check if kind == "rare") == 3
    assert sum(1 for kind, _ in check if kind == "common") == 27


@pytest.mark.parametrize("holdout", [0.0, 1.0, -0.1, True])
def test_a_holdout_outside_zero_and_one_is_refused(holdout: float) -> None:
    with pytest.raises(ConfigurationError, match="strictly between 0 and 1"):
        holdout_split([1, 2, 3], holdout=holdout)


def test_a_holdout_that_leaves_a_part_empty_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="leaves one part of the 1 pair"):
        holdout_split([1], holdout=0.3)


def test_calibrate_with_holdout_reports_the_chosen_threshold_on_the_other_part() -> None:
    # 40 same pairs at 0.80..0.99; 40 others, 4 at each of 0.80..0.89, each value its own
    # category so the stratified split keeps 3 of every 4 for calibration (round(4 * 0.3)
    # = 1 held out): calibration then sees a wrong pair at every value up to 0.89, so 0.90
    # is the lowest threshold with precision 1, whichever pairs the seed holds out.
    pairs = [
        ScoredPair(LabelledPair(f"q{i}", f"p{i}", True, "same"), 0.80 + (i % 20) / 100)
        for i in range(40)
    ] + [
        ScoredPair(LabelledPair(f"n{i}", f"m{i}", False, f"other{i % 10}"), 0.80 + (i % 10) / 100)
        for i in range(40)
    ]
    result = calibrate_with_holdout(pairs, target_precision=1.0, holdout=0.3, seed=3)
    assert (result.calibration_pairs, result.holdout_pairs, result.seed) == (58, 22, 3)
    assert result.calibration.threshold == 0.9
    assert result.holdout is not None
    assert result.holdout.threshold == 0.9 and result.holdout.pairs == 22
    assert result.holdout.false_hits == 0
    assert result.holdout.same_pairs == 12  # stratified: 30% of the same pairs
    assert calibrate_with_holdout(pairs, target_precision=1.0, seed=3) == result


# -- scoring --------------------------------------------------------------------------


def test_score_pairs_embeds_each_text_once_and_computes_cosine() -> None:
    vectors = {"x": [1.0, 0.0], "y": [0.6, 0.8], "z": [0.0, 2.0]}
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(list(texts))
        return [vectors[text] for text in texts]

    pairs = [
        LabelledPair("x", "y", True),
        LabelledPair("y", "z", False),
        LabelledPair("x", "z", False),
    ]
    scored = score_pairs(pairs, embed=embed)
    assert calls == [["x", "y", "z"]]
    assert [item.similarity for item in scored] == pytest.approx([0.6, 0.8, 0.0])
    assert all(item.eligible and item.blocked_by is None for item in scored)


def test_score_pairs_applies_the_splitter_contexts_and_the_guard() -> None:
    def split(prompt: str) -> tuple[str, str]:
        context, _, meaning = prompt.rpartition("|")
        return context, meaning

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, float(len(text))] for text in texts]

    pairs = [
        LabelledPair("sys|how many", "sys|how much", True),  # same context: eligible
        LabelledPair("sys A|next?", "sys B|next?", False),  # other context: never a hit
        LabelledPair("sys|size 7", "sys|size 8", False),  # the guard rejects it
    ]
    scored = score_pairs(pairs, embed=embed, split=split, guard=_numbers_match)
    assert [item.blocked_by for item in scored] == [None, "context", "guard"]
    assert [item.eligible for item in scored] == [True, False, False]
    assert scored[1].similarity == pytest.approx(1.0)  # identical meanings, still blocked


def test_score_pairs_rejects_a_bad_embedding_function() -> None:
    pairs = [LabelledPair("x", "y", True)]
    with pytest.raises(ConfigurationError, match=r"returned 1 vector\(s\) for 2 text\(s\)"):
        score_pairs(pairs, embed=lambda texts: [[1.0]])
    with pytest.raises(ConfigurationError, match="all zeros"):
        score_pairs(pairs, embed=lambda texts: [[0.0, 0.0] for _ in texts])


# -- plot -----------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_plot_is_a_png_that_opens(tiny: list[ScoredPair], tmp_path: Path) -> None:
    result = calibrate(tiny, target_precision=0.75)
    path = plot_precision_recall(result, tmp_path / "pr.png", title="tiny set")
    assert path == tmp_path / "pr.png"
    assert _png_size(path) == (1000, 450)
    from matplotlib.image import imread

    pixels = imread(path)
    assert pixels.shape[:2] == (450, 1000)
    assert pixels.min() < pixels.max()  # something was drawn


def test_the_plot_takes_a_bare_table(tiny: list[ScoredPair], tmp_path: Path) -> None:
    path = plot_precision_recall(metrics_table(tiny), tmp_path / "table.png")
    assert _png_size(path) == (1000, 450)
    with pytest.raises(ConfigurationError, match="nothing to plot"):
        plot_precision_recall([], tmp_path / "empty.png")


def test_without_matplotlib_the_error_names_the_extra(
    tiny: list[ScoredPair], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(PlotExtraMissingError, match=r"langchain-elasticsearch-cache\[plot\]"):
        plot_precision_recall(calibrate(tiny), tmp_path / "pr.png")
    assert not (tmp_path / "pr.png").exists()
    assert issubclass(PlotExtraMissingError, ImportError)
    assert issubclass(PlotExtraMissingError, ConfigurationError)


# -- how sure: the Wilson interval, the evidence-backed choice, the pairs still to label ---


@pytest.mark.parametrize(
    ("successes", "trials", "lower", "upper"),
    [
        # z = 1.959964; k = 0: upper z^2/(n+z^2); k = n: lower n/(n+z^2)
        (0, 15, 0.0, 0.203883),
        (15, 15, 0.796117, 1.0),
        (50, 100, 0.403832, 0.596168),
        (64, 67, 0.876422, 0.984656),
        (0, 0, 0.0, 1.0),  # no hit: no information
    ],
)
def test_the_wilson_interval_for_known_counts(
    successes: int, trials: int, lower: float, upper: float
) -> None:
    got = wilson_interval(successes, trials)
    assert got == pytest.approx((lower, upper), abs=1e-6)


def test_the_interval_at_other_confidences_and_bad_arguments() -> None:
    # z(0.99) = 2.575829: 15/15 -> 15/(15+6.634897) = 0.693324
    assert wilson_interval(15, 15, 0.99)[0] == pytest.approx(0.693324, abs=1e-6)
    for bad in [(3, 2), (-1, 4), (1, 2.0)]:
        with pytest.raises(ConfigurationError):
            wilson_interval(*bad)  # type: ignore[arg-type]
    for confidence in (0.0, 1.0, 1.5):
        with pytest.raises(ConfigurationError, match="strictly between 0 and 1"):
            wilson_interval(1, 2, confidence)


@pytest.mark.parametrize(
    ("precision", "target", "needed"),
    [
        # 0 wrong: n/(n+z^2) >= t  <=>  n >= z^2 t/(1-t): 0.99 -> 380.3, 0.95 -> 72.99
        (1.0, 0.99, 381),
        (1.0, 0.95, 73),
        # some wrong: z^2 t(1-t)/(p-t)^2 = 3.841459 * 0.09 / 0.0025 = 138.3
        (0.95, 0.9, 139),
        (1.12, 0.95, None),  # not a precision: refused below
        (0.9, 0.95, None),  # below the target: never
        (0.95, 0.95, None),  # at the target: the lower bound only approaches it
        (1.0, 1.0, None),  # a target of 1 is never shown by a finite sample
    ],
)
def test_hits_needed(precision: float, target: float, needed: int | None) -> None:
    if precision > 1:
        with pytest.raises(ConfigurationError):
            hits_needed(precision, target)
        return
    assert hits_needed(precision, target) == needed


def _scored(rows: list[tuple[bool, float, int]]) -> list[ScoredPair]:
    """(same, similarity, copies) -> that many scored pairs."""
    scored = []
    for same, similarity, copies in rows:
        for index in range(copies):
            pair = LabelledPair(f"a{similarity}{index}", f"b{similarity}{index}", same, None, index)
            scored.append(ScoredPair(pair, similarity))
    return scored


def test_with_a_confidence_the_choice_needs_the_interval_above_the_target() -> None:
    # 100 right at 0.96, 100 right and 5 wrong at 0.8: at 0.8 the observed precision
    # 200/205 = 0.976 reaches 0.95 but its interval (0.944..0.990) does not; at 0.9 100 of
    # 100 (lower bound 100/(100+z^2) = 0.963) does, with fewer hits
    scored = _scored([(True, 0.96, 100), (True, 0.8, 100), (False, 0.8, 5), (False, 0.5, 5)])
    plain = calibrate(scored, target_precision=0.95, thresholds=[0.8, 0.9])
    assert plain.threshold == 0.8 and plain.supported and plain.interval is None
    sure = calibrate(scored, target_precision=0.95, thresholds=[0.8, 0.9], confidence=0.95)
    assert sure.threshold == 0.9 and sure.supported
    assert sure.interval == pytest.approx((0.963007, 1.0), abs=1e-6)


def test_with_too_few_pairs_the_observed_choice_is_kept_but_not_supported() -> None:
    scored = _scored([(True, 0.96, 15), (False, 0.5, 5)])
    result = calibrate(scored, target_precision=0.99, thresholds=[0.9], confidence=0.95)
    assert result.threshold == 0.9 and result.reason is None
    assert not result.supported
    assert result.interval == pytest.approx((0.796117, 1.0), abs=1e-6)
    # at 0.9: 381 hits at precision 1 lift the lower bound to 0.99; 15 hits in 20 pairs
    estimate = labelling_estimate(result.table, 0.99)
    assert estimate is not None
    assert (estimate.threshold, estimate.hits_needed) == (0.9, 381)
    assert estimate.pairs_needed == 508  # ceil(381 * 20 / 15)
    assert estimate.more_pairs == 488
    held = calibrate_with_holdout(
        scored, target_precision=0.99, thresholds=[0.9], confidence=0.95, holdout=0.3
    )
    assert held.calibration.confidence == 0.95 and not held.calibration.supported


def test_the_estimate_takes_the_threshold_needing_the_fewest_pairs() -> None:
    # at 0.7: 95 right, 5 wrong of 100 hits in 110 pairs (precision 0.95: 139 hits for a
    # target of 0.9, at hit rate 100/110: 153 pairs); at 0.9: 10 of 10 (n >= z^2 0.9/0.1 =
    # 34.6: 35 hits, at hit rate 10/110: 385 pairs)
    scored = _scored([(True, 0.95, 10), (True, 0.8, 85), (False, 0.8, 5), (False, 0.5, 10)])
    table = metrics_table(scored, [0.7, 0.9])
    estimate = labelling_estimate(table, 0.9)
    assert estimate is not None
    assert (estimate.threshold, estimate.hits_needed, estimate.pairs_needed) == (0.7, 139, 153)
    # for 0.95, 0.7 is only at the target: 0.9 (73 hits, at hit rate 10/110: 803 pairs)
    estimate = labelling_estimate(table, 0.95)
    assert estimate is not None
    assert (estimate.threshold, estimate.hits_needed, estimate.pairs_needed) == (0.9, 73, 803)
    # no threshold observed above the target: more of the same pairs would not do
    assert labelling_estimate(metrics_table(scored, [0.5]), 0.9) is None
    assert labelling_estimate(table, 1.0) is None


def test_wrong_hits_and_guard_refusals_name_the_pairs_and_the_rules() -> None:
    rows = [
        LabelledPair("Is it 17 now?", "Is it 18 now?", True, "number", 1),
        LabelledPair("Which plants are toxic?", "Which plants are not toxic?", False, None, 2),
        LabelledPair("How do I boil an egg?", "how to boil egg", True, "para", 3),
        LabelledPair("Is Paris big?", "Is Lyon big?", False, "other", 4),
    ]
    similarity = {1: 0.99, 2: 0.97, 3: 0.9, 4: 0.95}
    scored = score_pairs(
        rows,
        embed=lambda texts: [[1.0, 0.0] for _ in texts],
        guard=default_hit_guard,
    )
    scored = [attrs.evolve(item, similarity=similarity[item.pair.line or 0]) for item in scored]
    # the negation rule refuses pair 2, the numbers rule pair 1 (a same pair: a cost)
    assert [item.blocked_by for item in scored] == ["guard", "guard", None, None]
    assert [hit.pair.line for hit in wrong_hits(scored, 0.9)] == [4]
    assert wrong_hits(scored, 0.96) == []
    refusals = guard_refusals(scored)
    assert len(refusals) == 1
    refusal = refusals[0]
    assert (refusal.pair.line, refusal.rules, refusal.texts) == (
        1,
        ("numbers",),
        ("Is it 17 now?", "Is it 18 now?"),
    )
    assert count_by_category([*wrong_hits(scored, 0.5), refusal]) == {"number": 1, "other": 1}
