"""Choose a semantic cache's similarity threshold from labelled pairs, and say how good it is.

The input is one :class:`ScoredPair` per labelled pair: the similarity the cache would
compute between the two prompts, and whether the cache *could* answer one with the other at
all (``eligible``: the hit guard accepts the pair and the prompts' exact contexts match; a
pair the guard rejects is never a hit, however similar). How those numbers are produced is
pluggable (:mod:`.scoring` computes them from an embedding model); this module only counts.

At a threshold ``t`` a pair is a *hit* when it is eligible and ``similarity >= t`` (the
comparison Elasticsearch's kNN ``similarity`` option makes). Against the labels:

* ``true_hits``: hits on ``same`` pairs (a correct answer served from the cache);
* ``false_hits``: hits on pairs that are not the same (a wrong answer served: the failure
  the threshold exists to prevent);
* ``missed``: ``same`` pairs that are not hits (a model call the cache could have saved);
* ``true_misses``: the rest.

``precision = true_hits / hits``. With no hits at all the cache served no wrong answer, so
precision is defined as **1.0** (and recall is 0 unless there is nothing to find): the
threshold choice therefore ignores thresholds with no hit, or "never answer" would always
win. ``recall = true_hits / same pairs`` (1.0 when there are no same pairs: nothing was
missed), ``f1`` their harmonic mean (0 when both are 0), ``hit_rate = hits / pairs``.

:func:`calibrate` picks, among the thresholds whose precision reaches the target, the one
with the most hits (ties: the highest threshold, the more cautious one, as ties mean the
same hits on this set). With ``confidence`` (e.g. 0.95) it asks more: the precision's Wilson
interval (:mod:`.interval`) must lie at or above the target, so a threshold is only chosen
when the pairs are enough evidence for it; when none is, the threshold the plain rule picks
is kept as ``chosen`` with ``supported`` false (:mod:`.evidence` estimates the pairs it
would take). :func:`calibrate_with_holdout` does that on one part of a seeded,
stratified split and reports the chosen threshold on the other part, which is the honest
estimate of how it will do on prompts it was not tuned on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

import attrs

from ..domain.errors import ConfigurationError
from .interval import wilson_interval
from .pairs import LabelledPair

__all__ = [
    "Calibration",
    "HoldoutCalibration",
    "ScoredPair",
    "ThresholdMetrics",
    "by_category",
    "calibrate",
    "calibrate_with_holdout",
    "default_thresholds",
    "evaluate",
    "flip_thresholds",
    "format_table",
    "holdout_split",
    "metrics_table",
]

T = TypeVar("T")

#: Tolerance when comparing a precision with the target: 0.9 must reach 0.9 even when the
#: division lands one ulp below it.
_EPSILON = 1e-12


def _finite_similarity(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigurationError(
            f"a pair's similarity must be a finite number, got {value!r}; check the "
            "similarity function (an all-zero embedding has no cosine similarity)"
        )


@attrs.frozen
class ScoredPair:
    """A labelled pair with what the cache would make of it.

    ``eligible`` is ``False`` when the cache can never answer one prompt with the other:
    its hit guard rejects the pair, or the prompts' contexts (system prompt, earlier turns)
    differ. ``blocked_by`` says which, for reports (``"guard"``, ``"context"`` or ``None``).
    """

    pair: LabelledPair
    similarity: float = attrs.field(validator=_finite_similarity, converter=float)
    eligible: bool = True
    blocked_by: str | None = None

    def is_hit(self, threshold: float) -> bool:
        """Would the cache answer one prompt with the other's entry at ``threshold``?"""
        return self.eligible and self.similarity >= threshold


@attrs.frozen
class ThresholdMetrics:
    """The confusion counts at one threshold, and the rates derived from them."""

    threshold: float
    true_hits: int
    false_hits: int
    missed: int
    true_misses: int

    @property
    def pairs(self) -> int:
        return self.true_hits + self.false_hits + self.missed + self.true_misses

    @property
    def hits(self) -> int:
        """Pairs answered from the cache (right or wrong)."""
        return self.true_hits + self.false_hits

    @property
    def same_pairs(self) -> int:
        return self.true_hits + self.missed

    @property
    def precision(self) -> float:
        """Share of hits that are right; 1.0 when there are no hits (nothing served wrong)."""
        return self.true_hits / self.hits if self.hits else 1.0

    @property
    def recall(self) -> float:
        """Share of same pairs that are hits; 1.0 when there are none (nothing missed)."""
        return self.true_hits / self.same_pairs if self.same_pairs else 1.0

    @property
    def f1(self) -> float:
        precision, recall = self.precision, self.recall
        total = precision + recall
        return 2 * precision * recall / total if total else 0.0

    @property
    def hit_rate(self) -> float:
        """Share of all pairs answered from the cache; 0.0 for no pairs."""
        return self.hits / self.pairs if self.pairs else 0.0


def default_thresholds() -> tuple[float, ...]:
    """0.50, 0.51, ..., 0.99: computed from integers so each is the float its literal is."""
    return tuple(step / 100 for step in range(50, 100))


def flip_thresholds(scored: Iterable[ScoredPair]) -> tuple[float, ...]:
    """The thresholds where some pair turns from hit to miss: the distinct similarities of
    the eligible pairs, ascending. Adding them to the grid makes the table exact."""
    return tuple(sorted({item.similarity for item in scored if item.eligible}))


def _checked_thresholds(thresholds: Iterable[float] | None) -> tuple[float, ...]:
    if thresholds is None:
        return default_thresholds()
    values = []
    for value in thresholds:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigurationError(
                f"threshold {value!r} is not a number; pass similarity thresholds such as 0.9"
            )
        if not math.isfinite(value):
            raise ConfigurationError(f"threshold {value!r} is not finite; pass numbers like 0.9")
        values.append(float(value))
    if not values:
        raise ConfigurationError(
            "no thresholds to try; pass at least one, or None for the default 0.50..0.99 grid"
        )
    return tuple(sorted(set(values)))


def evaluate(scored: Iterable[ScoredPair], threshold: float) -> ThresholdMetrics:
    """The confusion counts of ``scored`` at one threshold."""
    true_hits = false_hits = missed = true_misses = 0
    for item in scored:
        hit = item.is_hit(threshold)
        if item.pair.same:
            if hit:
                true_hits += 1
            else:
                missed += 1
        elif hit:
            false_hits += 1
        else:
            true_misses += 1
    return ThresholdMetrics(threshold, true_hits, false_hits, missed, true_misses)


def metrics_table(
    scored: Sequence[ScoredPair], thresholds: Iterable[float] | None = None
) -> tuple[ThresholdMetrics, ...]:
    """One row per threshold, ascending (default: :func:`default_thresholds`)."""
    return tuple(evaluate(scored, threshold) for threshold in _checked_thresholds(thresholds))


def by_category(scored: Iterable[ScoredPair], threshold: float) -> dict[str, ThresholdMetrics]:
    """The counts at ``threshold`` for each category (``"(none)"`` for uncategorised pairs),
    so a report can show *which* kind of pair the wrong hits come from."""
    groups: dict[str, list[ScoredPair]] = {}
    for item in scored:
        groups.setdefault(item.pair.category or "(none)", []).append(item)
    return {name: evaluate(items, threshold) for name, items in sorted(groups.items())}


@attrs.frozen
class Calibration:
    """The outcome of :func:`calibrate`: the whole table and the chosen row.

    ``chosen`` is ``None`` when no threshold reaches ``target_precision`` with at least one
    hit; ``reason`` then says why and what to try. ``confidence`` is the interval's level
    when the choice asked for evidence (``None``: the observed precision was enough).
    """

    target_precision: float
    table: tuple[ThresholdMetrics, ...]
    chosen: ThresholdMetrics | None
    reason: str | None = None
    confidence: float | None = None

    @property
    def threshold(self) -> float | None:
        return None if self.chosen is None else self.chosen.threshold

    @property
    def interval(self) -> tuple[float, float] | None:
        """The chosen threshold's precision interval at ``confidence`` (``None`` without a
        chosen threshold or a confidence)."""
        if self.chosen is None or self.confidence is None:
            return None
        return wilson_interval(self.chosen.true_hits, self.chosen.hits, self.confidence)

    @property
    def supported(self) -> bool:
        """A threshold was chosen and, when a ``confidence`` was asked for, the pairs are
        enough evidence that its precision reaches the target (the interval's lower bound
        does)."""
        interval = self.interval
        if self.chosen is None:
            return False
        return interval is None or interval[0] >= self.target_precision - _EPSILON


def _check_target(target_precision: float) -> float:
    if (
        isinstance(target_precision, bool)
        or not isinstance(target_precision, (int, float))
        or not 0.0 < target_precision <= 1.0
    ):
        raise ConfigurationError(
            f"target_precision must be a number in (0, 1], got {target_precision!r}; "
            "0.95 means at most 1 wrong answer in 20 hits"
        )
    return float(target_precision)


def _check_labels(scored: Sequence[ScoredPair], what: str) -> None:
    if not scored:
        raise ConfigurationError(f"no pairs to {what}; pass at least one same and one other pair")
    same = sum(1 for item in scored if item.pair.same)
    if same == 0 or same == len(scored):
        kind = "not-the-same" if same else "same"
        raise ConfigurationError(
            f"cannot {what} without both kinds of pair: the {len(scored)} pair(s) include no "
            f"{kind} pair; add labelled pairs of that kind"
        )


def calibrate(
    scored: Sequence[ScoredPair],
    *,
    target_precision: float = 0.95,
    thresholds: Iterable[float] | None = None,
    confidence: float | None = None,
) -> Calibration:
    """The threshold that reaches ``target_precision`` with the most hits.

    ``thresholds`` defaults to the 0.50..0.99 grid; add :func:`flip_thresholds` for the
    exact optimum on this set (at the risk of fitting it too closely).

    With ``confidence`` (e.g. 0.95), "reaches" means the precision's Wilson interval at that
    level lies at or above the target: the threshold with the most such hits is chosen. When
    no threshold's interval does, ``chosen`` is the one the observed precision alone picks
    and :attr:`Calibration.supported` is false: the pairs are not enough evidence.
    """
    target = _check_target(target_precision)
    _check_labels(scored, "calibrate")
    table = metrics_table(scored, thresholds)
    if confidence is not None:
        supported = [
            row
            for row in table
            if row.hits
            and wilson_interval(row.true_hits, row.hits, confidence)[0] >= target - _EPSILON
        ]
        if supported:
            chosen = max(supported, key=lambda row: (row.hits, row.threshold))
            return Calibration(target, table, chosen, None, confidence)
    reaching = [row for row in table if row.hits and row.precision >= target - _EPSILON]
    if reaching:
        chosen = max(reaching, key=lambda row: (row.hits, row.threshold))
        return Calibration(target, table, chosen, None, confidence)
    if not any(item.eligible for item in scored):
        reason = (
            "no pair passes the hit guard, so no threshold gives a hit; check the guard "
            "(and the prompt splitter's contexts)"
        )
    else:
        with_hits = [row for row in table if row.hits]
        low, high = table[0].threshold, table[-1].threshold
        if not with_hits:
            reason = (
                f"no pair reaches even the lowest threshold tried ({low:g}); try lower thresholds"
            )
        else:
            best = max(with_hits, key=lambda row: (row.precision, row.hits))
            reason = (
                f"no threshold in {low:g}..{high:g} reaches precision {target:g}: the best is "
                f"{best.precision:.3f} at {best.threshold:g} ({best.false_hits} wrong of "
                f"{best.hits} hits); lower the target, try higher thresholds, or use a "
                "better embedding model or hit guard"
            )
    return Calibration(target, table, None, reason, confidence)


def holdout_split(
    items: Sequence[T],
    *,
    holdout: float = 0.3,
    seed: int = 0,
    strata: Callable[[T], Hashable] | None = None,
) -> tuple[list[T], list[T]]:
    """``(calibration part, holdout part)``: disjoint, together all of ``items``.

    The split is seeded (the same ``seed`` and input give the same parts) and, with
    ``strata``, stratified: each group (e.g. category and label) is split in the same
    proportion, so a rare category is not left out of one side by chance. Within each part
    items keep their input order.
    """
    if (
        isinstance(holdout, bool)
        or not isinstance(holdout, (int, float))
        or not (0.0 < holdout < 1.0)
    ):
        raise ConfigurationError(
            f"holdout must be a fraction strictly between 0 and 1, got {holdout!r}; "
            "0.3 keeps 30% of the pairs back for the check"
        )
    groups: dict[Hashable, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(strata(item) if strata else None, []).append(index)
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    held: set[int] = set()
    for indices in groups.values():
        shuffled = list(indices)
        rng.shuffle(shuffled)
        held.update(shuffled[: round(len(shuffled) * holdout)])
    calibration_part = [item for index, item in enumerate(items) if index not in held]
    holdout_part = [item for index, item in enumerate(items) if index in held]
    if not calibration_part or not holdout_part:
        raise ConfigurationError(
            f"a holdout of {holdout:g} leaves one part of the {len(items)} pair(s) empty; "
            "use more pairs or another holdout fraction"
        )
    return calibration_part, holdout_part


@attrs.frozen
class HoldoutCalibration:
    """A calibration on one part of the pairs and its check on the pairs held out.

    ``holdout`` is the chosen threshold's row on the held-out pairs (``None`` when no
    threshold was chosen).
    """

    calibration: Calibration
    holdout: ThresholdMetrics | None
    calibration_pairs: int
    holdout_pairs: int
    seed: int


def _stratum(item: ScoredPair) -> Hashable:
    return (item.pair.category, item.pair.same)


def calibrate_with_holdout(
    scored: Sequence[ScoredPair],
    *,
    target_precision: float = 0.95,
    holdout: float = 0.3,
    seed: int = 0,
    thresholds: Iterable[float] | None = None,
    confidence: float | None = None,
) -> HoldoutCalibration:
    """Calibrate on ``1 - holdout`` of the pairs (split by category and label, seeded) and
    evaluate the chosen threshold on the rest (``confidence`` as for :func:`calibrate`)."""
    _check_target(target_precision)
    tune, check = holdout_split(scored, holdout=holdout, seed=seed, strata=_stratum)
    calibration = calibrate(
        tune, target_precision=target_precision, thresholds=thresholds, confidence=confidence
    )
    held = None if calibration.chosen is None else evaluate(check, calibration.chosen.threshold)
    return HoldoutCalibration(calibration, held, len(tune), len(check), seed)


def format_table(rows: Iterable[ThresholdMetrics], *, chosen: float | None = None) -> str:
    """A fixed-width text table of ``rows`` (the chosen threshold marked with ``*``)."""
    lines = [
        "threshold  precision  recall     f1  hit_rate  hits  wrong  missed  pairs",
    ]
    for row in rows:
        mark = "*" if chosen is not None and row.threshold == chosen else " "
        lines.append(
            f"{row.threshold:>8.4g}{mark}  {row.precision:>9.3f}  {row.recall:>6.3f}  "
            f"{row.f1:>5.3f}  {row.hit_rate:>8.3f}  {row.hits:>4}  {row.false_hits:>5}  "
            f"{row.missed:>6}  {row.pairs:>5}"
        )
    return "\n".join(lines)
