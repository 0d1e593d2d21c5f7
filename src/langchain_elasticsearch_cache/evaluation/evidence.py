"""The evidence behind a calibration: the pairs still to label, the wrong hits, the refusals.

* :func:`labelling_estimate`: when no threshold's precision interval reaches the target,
  roughly how many labelled pairs would. For each threshold whose observed precision is
  above the target, :func:`~.interval.hits_needed` gives the hits (at that precision) that
  lift the interval's lower bound to the target, and the hit rate observed there turns hits
  into labelled pairs; the estimate is the threshold needing the fewest pairs. It assumes
  new pairs look like these (same precision, same hit rate), so it is an order of
  magnitude, not a promise;
* :func:`wrong_hits`: the pairs that are not the same but are hits at a threshold (the
  wrong answers the cache would serve), with the texts the cache compared;
* :func:`guard_refusals`: the same-meaning pairs the hit guard refuses, each with the rules
  that refuse it (a hit the guard costs when its similarity reaches the threshold).

Pure Python, like the rest of :mod:`..evaluation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from ..domain.semantic import DEFAULT_GUARD_RULES
from .calibration import ScoredPair, ThresholdMetrics
from .interval import DEFAULT_CONFIDENCE, hits_needed
from .pairs import LabelledPair
from .scoring import Guard, Split

__all__ = [
    "GuardRefusal",
    "LabellingEstimate",
    "WrongHit",
    "count_by_category",
    "guard_refusals",
    "labelling_estimate",
    "wrong_hits",
]


@attrs.frozen
class LabellingEstimate:
    """Labelled pairs that would make ``threshold``'s interval reach the target.

    ``hits_needed`` hits at the observed ``precision`` put the interval's lower bound at the
    target; at the observed ``hit_rate`` they take ``pairs_needed`` labelled pairs in all,
    ``more_pairs`` more than the ``pairs`` measured.
    """

    threshold: float
    precision: float
    hit_rate: float
    hits: int
    pairs: int
    hits_needed: int
    pairs_needed: int

    @property
    def more_pairs(self) -> int:
        return max(0, self.pairs_needed - self.pairs)


def labelling_estimate(
    table: Iterable[ThresholdMetrics],
    target_precision: float,
    confidence: float = DEFAULT_CONFIDENCE,
) -> LabellingEstimate | None:
    """The threshold of ``table`` needing the fewest labelled pairs for its interval to
    reach ``target_precision`` (see the module docstring); ``None`` when no threshold
    would, however many pairs: none with a hit has an observed precision above the target
    (or the target is 1, which no finite sample shows)."""
    best: LabellingEstimate | None = None
    for row in table:
        if not row.hits:
            continue
        needed = hits_needed(row.precision, target_precision, confidence)
        if needed is None:
            continue
        estimate = LabellingEstimate(
            threshold=row.threshold,
            precision=row.precision,
            hit_rate=row.hit_rate,
            hits=row.hits,
            pairs=row.pairs,
            hits_needed=needed,
            pairs_needed=-(-needed * row.pairs // row.hits),  # ceil, in integers
        )
        if best is None or (estimate.pairs_needed, -estimate.threshold) < (
            best.pairs_needed,
            -best.threshold,
        ):
            best = estimate
    return best


@attrs.frozen
class WrongHit:
    """A pair that is not the same but is a hit: ``texts`` are what the cache compared
    (the meaning texts: the last questions of chat prompts)."""

    pair: LabelledPair
    similarity: float
    texts: tuple[str, str]


@attrs.frozen
class GuardRefusal:
    """A same-meaning pair the hit guard refuses, with the ``rules`` that refuse it."""

    pair: LabelledPair
    similarity: float
    texts: tuple[str, str]
    rules: tuple[str, ...]


def _meanings(pair: LabelledPair, split: Split | None) -> tuple[str, str]:
    if split is None:
        return pair.a, pair.b
    return split(pair.a)[1], split(pair.b)[1]


def wrong_hits(
    scored: Iterable[ScoredPair], threshold: float, *, split: Split | None = None
) -> list[WrongHit]:
    """The pairs that are not the same but are hits at ``threshold``, most similar first.

    ``split`` is the prompt splitter the pairs were scored with (its meaning texts are
    reported); ``None``: the whole prompts.
    """
    found = [
        WrongHit(item.pair, item.similarity, _meanings(item.pair, split))
        for item in scored
        if not item.pair.same and item.is_hit(threshold)
    ]
    return sorted(found, key=lambda hit: -hit.similarity)


def guard_refusals(
    scored: Iterable[ScoredPair],
    *,
    split: Split | None = None,
    rules: Mapping[str, Guard] | None = None,
) -> list[GuardRefusal]:
    """The same-meaning pairs the hit guard refused (``blocked_by == "guard"``), most
    similar first, each with the names of the ``rules`` that refuse it (default: the rules of
    the default hit guard, :data:`DEFAULT_GUARD_RULES`; the guard the pairs were scored with
    should be their conjunction)."""
    named: Mapping[str, Guard] = DEFAULT_GUARD_RULES if rules is None else rules
    found = []
    for item in scored:
        if not item.pair.same or item.blocked_by != "guard":
            continue
        a, b = _meanings(item.pair, split)
        refusing = tuple(name for name, rule in named.items() if not rule(a, b))
        found.append(GuardRefusal(item.pair, item.similarity, (a, b), refusing))
    return sorted(found, key=lambda refusal: -refusal.similarity)


def count_by_category(items: Sequence[WrongHit | GuardRefusal]) -> dict[str | None, int]:
    """How many of ``items`` fall in each category (``None``: no category), by count
    descending then name."""
    counts: dict[str | None, int] = {}
    for item in items:
        counts[item.pair.category] = counts.get(item.pair.category, 0) + 1
    return dict(sorted(counts.items(), key=lambda entry: (-entry[1], entry[0] or "")))
