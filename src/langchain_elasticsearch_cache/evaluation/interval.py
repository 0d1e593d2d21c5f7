"""How sure a measured precision is: the Wilson score interval, and the sample it takes.

A threshold's precision is measured on a sample of hits: ``k`` of ``n`` hits right. With
few hits the measure says little ("0 wrong of 15 hits" is also what a cache that is wrong
one time in 20 produces, 46 % of the time), so a calibration reports the 95 % interval
around it and only trusts a threshold whose interval lies at or above the target.

**Why Wilson and not Clopper-Pearson.** Both are sound at the edges that matter here
(``k = n``: no wrong hit seen; ``k = 0``), unlike the textbook ``p +- z*sqrt(p(1-p)/n)``,
which collapses to a zero width there. Clopper-Pearson ("exact") guarantees at least 95 %
coverage for every true precision, and pays for it by being wider than needed, so it would
ask for more labelled pairs than the evidence requires; its bounds are beta quantiles,
with no closed form. Wilson's coverage is close to 95 % on average, its bounds are in
closed form, and the question "how many hits until the lower bound reaches the target?"
has a closed-form answer too (:func:`hits_needed`), which the estimate of the pairs to
label is built on. For ``k = n`` its lower bound is ``n / (n + z^2)`` (15 of 15: 0.796);
Clopper-Pearson's is ``(alpha/2)^(1/n)`` (0.782): the two agree to a few hundredths from
a dozen hits on.

The interval is the set of precisions ``p`` the observed share ``p_hat = k/n`` does not
contradict at the chosen confidence: ``(p_hat - p)^2 <= z^2 p (1 - p) / n``, ``z`` the
normal quantile (1.96 for 95 %). Pure Python (:class:`statistics.NormalDist` gives ``z``).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from ..domain.errors import ConfigurationError

__all__ = ["DEFAULT_CONFIDENCE", "hits_needed", "wilson_bounds", "wilson_interval", "z_score"]

#: The confidence of the intervals ``calibrate`` reports: 95 %.
DEFAULT_CONFIDENCE = 0.95

#: Tolerance when comparing a bound with a target (the same as the calibration's).
_EPSILON = 1e-12


def z_score(confidence: float = DEFAULT_CONFIDENCE) -> float:
    """The two-sided normal quantile for ``confidence`` (1.95996... for 0.95)."""
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float))
        or not 0.0 < confidence < 1.0
    ):
        raise ConfigurationError(
            f"confidence must be a fraction strictly between 0 and 1, got {confidence!r}; "
            "0.95 gives the usual 95% interval"
        )
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_bounds(share: float, trials: float, z: float) -> tuple[float, float]:
    """The Wilson interval around an observed ``share`` of ``trials`` (real-valued ``trials``,
    so a calculation can ask "and with twice as many?"); ``(0, 1)`` for no trials."""
    if trials <= 0:
        return 0.0, 1.0
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (share + z2 / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials))
    # at the edges the formula is exact (0 and 1); clamp the rounding around them
    lower = 0.0 if share <= 0.0 else max(0.0, centre - half)
    upper = 1.0 if share >= 1.0 else min(1.0, centre + half)
    return lower, upper


def wilson_interval(
    successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """The Wilson score interval ``(lower, upper)`` for ``successes`` of ``trials``.

    For a threshold: ``wilson_interval(row.true_hits, row.hits)``. No trials at all is no
    information: ``(0.0, 1.0)``.

    Raises:
        ConfigurationError: negative counts, more successes than trials, or a confidence
            outside (0, 1).
    """
    z = z_score(confidence)
    for name, value in (("successes", successes), ("trials", trials)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError(f"{name} must be a count (an int >= 0), got {value!r}")
    if successes > trials:
        raise ConfigurationError(
            f"{successes} successes of {trials} trials: successes cannot exceed trials"
        )
    return wilson_bounds(successes / trials if trials else 0.0, trials, z)


def hits_needed(
    precision: float, target: float, confidence: float = DEFAULT_CONFIDENCE
) -> int | None:
    """How many hits, all at the observed ``precision``, the interval's lower bound needs to
    reach ``target``; ``None`` when no number will (``precision`` not above ``target``, or a
    target of 1, which no finite sample shows).

    From the interval's definition, ``target`` is at or below the lower bound exactly when
    ``precision >= target`` and ``(precision - target)^2 >= z^2 target (1 - target) / n``,
    so ``n = ceil(z^2 target (1 - target) / (precision - target)^2)`` (checked against the
    bound itself, against rounding).
    """
    z = z_score(confidence)
    if not 0.0 <= precision <= 1.0 or not 0.0 < target <= 1.0:
        raise ConfigurationError(
            f"precision must be in [0, 1] and target in (0, 1], got {precision!r} and {target!r}"
        )
    if target >= 1.0 or precision <= target + _EPSILON:
        return None
    n = max(1, math.ceil(z * z * target * (1 - target) / (precision - target) ** 2))
    while wilson_bounds(precision, n, z)[0] < target - _EPSILON:
        n += 1
    while n > 1 and wilson_bounds(precision, n - 1, z)[0] >= target - _EPSILON:
        n -= 1
    return n
