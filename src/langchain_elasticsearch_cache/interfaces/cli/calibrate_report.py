"""How ``calibrate`` words its result: the verdict (a threshold, not enough evidence, or
none), the precision intervals, the pairs still to label, the wrong hits and the hit
guard's refusals of same-meaning pairs, as text and as JSON.

Text lists are bounded (:data:`LIST_LIMIT` entries and a count of the rest; ``--details``
prints them all); JSON always holds every entry.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...evaluation import Calibration, ThresholdMetrics
    from ...evaluation.evidence import GuardRefusal, LabellingEstimate, WrongHit

__all__ = [
    "LIST_LIMIT",
    "NOT_ENOUGH_EVIDENCE",
    "NO_THRESHOLD",
    "RECOMMENDED",
    "describe",
    "estimate_json",
    "estimate_lines",
    "refusal_json",
    "refusal_lines",
    "row_json",
    "verdict_of",
    "wrong_hit_json",
    "wrong_hit_lines",
]

#: The ``verdict`` values of the JSON output.
RECOMMENDED, NOT_ENOUGH_EVIDENCE, NO_THRESHOLD = "recommended", "not_enough_evidence", "none"
#: Entries of each list printed without ``--details``.
LIST_LIMIT = 20
#: Characters of a prompt printed in a list (JSON has the whole text).
TEXT_LIMIT = 100


def verdict_of(result: Calibration) -> str:
    if result.chosen is None:
        return NO_THRESHOLD
    return RECOMMENDED if result.supported else NOT_ENOUGH_EVIDENCE


def _interval(row: ThresholdMetrics, confidence: float) -> tuple[float, float]:
    from ...evaluation.interval import wilson_interval

    return wilson_interval(row.true_hits, row.hits, confidence)


def row_json(row: ThresholdMetrics, confidence: float) -> dict[str, Any]:
    low, high = _interval(row, confidence)
    return {
        "threshold": row.threshold,
        "precision": row.precision,
        "precision_interval": [low, high],
        "recall": row.recall,
        "f1": row.f1,
        "hit_rate": row.hit_rate,
        "hits": row.hits,
        "true_hits": row.true_hits,
        "false_hits": row.false_hits,
        "missed": row.missed,
        "true_misses": row.true_misses,
        "pairs": row.pairs,
    }


def describe(row: ThresholdMetrics, confidence: float) -> str:
    low, high = _interval(row, confidence)
    return (
        f"precision {row.precision:.3f} ({confidence:.0%} interval {low:.3f}-{high:.3f}), "
        f"recall {row.recall:.3f}, F1 {row.f1:.3f}, hit rate {row.hit_rate:.3f} "
        f"({row.false_hits} wrong of {row.hits} hits, {row.pairs} pairs)"
    )


# --------------------------------------------------------------------------- estimate


def _all_pairs(estimate: LabellingEstimate, share: float) -> int:
    """Pairs to label in all when only ``share`` of them calibrate (the rest held out)."""
    return math.ceil(estimate.pairs_needed / share - 1e-9)


def estimate_lines(
    estimate: LabellingEstimate | None,
    target: float,
    confidence: float,
    *,
    labelled: int,
    share: float = 1.0,
) -> list[str]:
    """What it would take to settle the target, in words (``labelled``: the pairs read;
    ``share``: the part of them the calibration used, less than 1 with ``--holdout``)."""
    level = f"{confidence:.0%}"
    if estimate is None:
        if target >= 1.0:
            return [
                f"no number of pairs can show a precision of 1 (never a wrong hit): the "
                f"{level} interval's lower bound stays below 1 however many hits are right; "
                "lower --target-precision, e.g. 0.99"
            ]
        return [
            f"more pairs like these would not settle it: no threshold's precision is above "
            f"{target:g} on these pairs, and the interval's lower bound only approaches the "
            "precision observed; try higher thresholds, a better embedding model or hit guard"
        ]
    total = _all_pairs(estimate, share)
    held = f"; {1 - share:.0%} of them held out" if share < 1.0 else ""
    right = round(estimate.precision * estimate.hits)
    kind = "calibration" if share < 1.0 else "labelled"
    return [
        f"to settle it, label about {total:,} pairs in all ({max(0, total - labelled):,} "
        f"more than these {labelled:,}{held}).",
        f"  the estimate: at {estimate.threshold:g}, {right} of {estimate.hits} hits are right "
        f"(precision {estimate.precision:.3f}) and {estimate.hit_rate:.1%} of the pairs are "
        f"hits; {estimate.hits_needed:,} hits at that precision would lift the {level} "
        f"interval's lower bound to {target:g}, and at that hit rate they take about "
        f"{estimate.pairs_needed:,} {kind} pairs. It assumes new pairs look like these "
        "(the cheapest threshold to settle is shown).",
    ]


def estimate_json(
    estimate: LabellingEstimate | None, *, labelled: int, share: float = 1.0
) -> dict[str, Any] | None:
    if estimate is None:
        return None
    total = _all_pairs(estimate, share)
    return {
        "threshold": estimate.threshold,
        "precision": estimate.precision,
        "hit_rate": estimate.hit_rate,
        "hits": estimate.hits,
        "hits_needed": estimate.hits_needed,
        "calibration_pairs_needed": estimate.pairs_needed,
        "pairs_needed": total,
        "more_pairs": max(0, total - labelled),
    }


# --------------------------------------------------------------------------- pair lists


def _text(value: str) -> str:
    short = value if len(value) <= TEXT_LIMIT else value[: TEXT_LIMIT - 3] + "..."
    return json.dumps(short, ensure_ascii=False)


def _where(similarity: float, line: int | None, category: str | None) -> str:
    parts = [f"{similarity:.3f}"]
    if line is not None:
        parts.append(f"line {line}")
    if category:
        parts.append(category)
    return "  ".join(parts)


def _bounded(lines: list[str], details: bool) -> list[str]:
    if details or len(lines) <= LIST_LIMIT:
        return lines
    rest = len(lines) - LIST_LIMIT
    return [*lines[:LIST_LIMIT], f"  ... and {rest} more (--details lists them all)"]


def _categories(items: Sequence[WrongHit | GuardRefusal]) -> str:
    from ...evaluation.evidence import count_by_category

    counts = count_by_category(items)
    if set(counts) == {None}:
        return ""
    return "; by category: " + ", ".join(
        f"{name or 'no category'} {count}" for name, count in counts.items()
    )


def wrong_hit_lines(
    hits: Sequence[WrongHit], threshold: float, *, details: bool, scope: str
) -> list[str]:
    """The wrong hits at ``threshold``, most similar first (``scope`` names the pairs)."""
    if not hits:
        return [f"wrong hits at {threshold:g}: none{scope}"]
    head = f"wrong hits at {threshold:g}{scope}: {len(hits)}{_categories(hits)}"
    body = [
        f"  {_where(hit.similarity, hit.pair.line, hit.pair.category)}: "
        f"{_text(hit.texts[0])} / {_text(hit.texts[1])}"
        for hit in hits
    ]
    return [head, *_bounded(body, details)]


def wrong_hit_json(hit: WrongHit) -> dict[str, Any]:
    return {
        "a": hit.pair.a,
        "b": hit.pair.b,
        "compared": list(hit.texts),
        "similarity": hit.similarity,
        "category": hit.pair.category,
        "line": hit.pair.line,
    }


def refusal_lines(
    refusals: Sequence[GuardRefusal], threshold: float, *, details: bool
) -> list[str]:
    """The hit guard's refusals of same-meaning pairs, most similar first."""
    if not refusals:
        return ["same-meaning pairs the hit guard refuses: none"]
    above = sum(1 for item in refusals if item.similarity >= threshold)
    head = (
        f"same-meaning pairs the hit guard refuses: {len(refusals)} ({above} at similarity >= "
        f"{threshold:g}: hits the guard costs there){_categories(refusals)}"
    )
    body = [
        f"  {_where(item.similarity, item.pair.line, item.pair.category)}  refused by "
        f"{', '.join(item.rules) or 'the guard'}: {_text(item.texts[0])} / {_text(item.texts[1])}"
        for item in refusals
    ]
    return [head, *_bounded(body, details)]


def refusal_json(refusal: GuardRefusal, threshold: float | None) -> dict[str, Any]:
    return {
        "a": refusal.pair.a,
        "b": refusal.pair.b,
        "compared": list(refusal.texts),
        "similarity": refusal.similarity,
        "category": refusal.pair.category,
        "line": refusal.pair.line,
        "rules": list(refusal.rules),
        "at_threshold": None if threshold is None else refusal.similarity >= threshold,
    }
