"""Verified semantic hits: a per-entry model of "is the cached answer right at similarity s?".

One threshold for every entry is either too strict for some entries or too loose for
others. Following the idea of vCache (Schroeder et al., "vCache: Verified Semantic Prompt
Caching", arXiv 2502.03771), each entry learns its own boundary online, and a hit is served
only when the estimated chance of a wrong answer is within a user-set bound ``delta``
(``max_error_rate``). This module is a reimplementation from the paper's idea and our own
reasoning; nothing here comes from its code.

* **Observations.** When a lookup *explores* (returns a miss although an entry was near),
  the model answers, and an answer judge says whether the entry's cached answer would have
  been right: one observation ``(similarity, right?)`` for that entry. They are kept as a
  histogram of similarity bins (:class:`ObservationBin`: counts of right and wrong
  answers), which is exactly what the likelihood below needs (up to the bin width of
  :data:`SIMILARITY_RESOLUTION`), merges by addition (the order of concurrent updates does
  not matter) and is bounded: at most :data:`MAX_BINS` bins, the two nearest merged first.
* **Model.** ``P(right | s) = sigmoid(b + a * z)`` with ``z = (s - 0.9) / 0.05`` and slope
  ``a >= 0`` (a nearer prompt is never *less* likely to share the answer), fitted by
  penalised maximum likelihood (a few Newton steps, weak Gaussian priors that keep the fit
  finite when the data are separable, as they usually are) with its Laplace covariance.
* **Estimate.** The chance of a wrong answer at ``s`` is the model's *predictive*
  probability: the sigmoid averaged over the fit's uncertainty (the probit approximation
  ``sigmoid(mean / sqrt(1 + pi * variance / 8))``), so a boundary learned from three
  observations is trusted less than one learned from thirty. Because the true curve is
  monotone, the estimate at ``s`` is the smallest such estimate at any similarity at or
  below ``s`` (so it is non-increasing in ``s``).
* **The pool.** One entry rarely sees enough distinct prompts to learn alone (about 23
  right answers at one similarity before it is served at ``delta = 0.05``, 224 at 0.01;
  each distinct paraphrase gives it at most one). A
  :class:`~langchain_elasticsearch_cache.domain.ports.PoolingVectorRepository` also keeps
  the *pool*, every entry's observations summed (same bins, same bound). From it,
  :func:`pooled_error_bound` bounds the share of wrong answers a cache would serve if it
  served every prompt at or above a cut ``t <= s``: the one-sided 95% Wilson upper bound
  on the wrong share of the pooled observations at ``t`` or above, for the best cut
  (one resting on a right answer). That is the quantity the guarantee is about (wrong
  answers among those served), learned from every entry at once: about 52 / 133 / 268
  right answers in the pool, with no wrong one, for ``delta`` 0.05 / 0.02 / 0.01.
* **Decision** (:func:`decide`). Serve when the entry's own estimate is at most ``delta``
  and a right answer was seen at or below ``s`` (an entry without observations is
  estimated wrong half of the time, so it is never served on its own); or when the pooled
  bound is at most ``delta`` and the entry does not veto it: its own wrong answer at or
  above ``s`` (within a bin) says its boundary is above ``s``, whatever the pool says.
  Otherwise *explore*: return a miss, so the model answers and the judge adds an
  observation to the entry and the pool. Exploring costs what a cache miss costs (one
  model call), never a wrong answer. Serving is monotone in ``s`` and in ``delta``.

Measured and rejected (seeded streams with a known per-entry boundary, see
``tests/property/test_verified_properties.py``, and the design part of the benchmark,
``benchmarks/VERIFIED.md``): serving with probability ``delta / upper bound`` spends the
error budget on entries without evidence; a frequentist upper confidence bound per entry
at level ``1 - eps < 1 - delta`` served almost nothing; for the pool, a bound on the
*local* error at ``s`` (the wrong share of pooled observations in a band below ``s``,
which bounds it when the curve is monotone) served about half the semantic hits of the
tail bound, and a one-sided confidence of 84% instead of 95% let semantic errors above
``delta`` through on the plain streams (7 of 61 semantic hits wrong at
``delta = 0.05``). Requiring the entry's own right answer before a pooled hit
(``evidence="entry"``) is kept as an option of :func:`decide`; the shipped rule
(``"pool"``) served more at an error still within ``delta`` on the design part. An
empirical-Bayes fit (the pooled curve as the prior of each entry's) was not built: the
between-entry variance it needs cannot be estimated from the pool's sum alone.

Pure code: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import bisect
import functools
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ..errors import ConfigurationError

__all__ = [
    "DEFAULT_EVIDENCE",
    "EVIDENCE_RULES",
    "MAX_BINS",
    "POOL_CONFIDENCE_Z",
    "SIMILARITY_RESOLUTION",
    "BoundaryFit",
    "ObservationBin",
    "VerifiedDecision",
    "add_observation",
    "decide",
    "error_estimate",
    "fit_boundary",
    "observations_from_document",
    "observations_to_document",
    "pooled_error_bound",
    "validate_max_error_rate",
]

#: Similarities are recorded to this step (a finer difference says nothing about meaning).
SIMILARITY_RESOLUTION = 0.005
#: The most similarity bins one entry keeps; beyond, the two nearest bins are merged.
#: 64 bins of width 0.005 cover a similarity range of 0.32 at full resolution.
MAX_BINS = 64
# The model's parametrisation: z is about -8 at s = 0.5 and 2 at s = 1.
_CENTRE = 0.9
_SCALE = 0.05
# Weak priors: intercept ~ N(0, 2^2) (P(right) at s = 0.9 anywhere from 2% to 98%),
# slope ~ N(0, 4^2) truncated at 0 (from flat to a step within a few hundredths).
_PRIOR_VAR_B = 4.0
_PRIOR_VAR_A = 16.0
_NEWTON_STEPS = 30


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _z(similarity: float) -> float:
    return (similarity - _CENTRE) / _SCALE


# -- observations ------------------------------------------------------------------------


def _count(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"an observation count must be a non-negative integer, not {value!r}")
    return value


def _bin_similarity(value: float) -> float:
    similarity = float(value)
    if not math.isfinite(similarity) or not -1.0 <= similarity <= 1.0:
        raise ValueError(f"an observed similarity must be in [-1, 1], not {value!r}")
    return similarity


@attrs.frozen
class ObservationBin:
    """How often the entry's answer was right (``right``) or wrong (``wrong``) for later
    prompts at about this cosine ``similarity`` to the entry's prompt."""

    similarity: float = attrs.field(converter=_bin_similarity)
    right: int = attrs.field(default=0, converter=_count)
    wrong: int = attrs.field(default=0, converter=_count)

    @property
    def total(self) -> int:
        return self.right + self.wrong


def _quantise(similarity: float) -> float:
    steps = round(similarity / SIMILARITY_RESOLUTION)
    return max(-1.0, min(1.0, round(steps * SIMILARITY_RESOLUTION, 6)))


def _merged(first: ObservationBin, second: ObservationBin) -> ObservationBin:
    total = first.total + second.total
    if total == 0:
        similarity = (first.similarity + second.similarity) / 2
    else:
        similarity = (first.similarity * first.total + second.similarity * second.total) / total
    return ObservationBin(
        similarity=similarity,
        right=first.right + second.right,
        wrong=first.wrong + second.wrong,
    )


def _bounded(bins: list[ObservationBin], max_bins: int) -> tuple[ObservationBin, ...]:
    """At most ``max_bins`` bins: the two nearest neighbours are merged (count-weighted
    mean similarity) until it fits. Nearest first keeps the resolution where it is cheap
    to lose; ties merge the lowest pair, far from where serving decisions are made."""
    bins.sort(key=lambda item: item.similarity)
    while len(bins) > max_bins:
        gaps = [bins[i + 1].similarity - bins[i].similarity for i in range(len(bins) - 1)]
        i = min(range(len(gaps)), key=lambda index: gaps[index])
        bins[i : i + 2] = [_merged(bins[i], bins[i + 1])]
    return tuple(bins)


def add_observation(
    observations: Iterable[ObservationBin],
    similarity: float,
    right: bool,
    *,
    max_bins: int = MAX_BINS,
) -> tuple[ObservationBin, ...]:
    """The entry's observations with one more: the answer was ``right`` (or not) for a
    prompt at ``similarity``. Sorted by similarity, at most ``max_bins`` bins.

    Raises:
        ValueError: ``similarity`` is not a finite number in [-1, 1].
    """
    target = _quantise(_bin_similarity(similarity))
    bins = list(observations)
    for index, item in enumerate(bins):
        if item.similarity == target:
            bins[index] = attrs.evolve(
                item, right=item.right + bool(right), wrong=item.wrong + (not right)
            )
            break
    else:
        bins.append(ObservationBin(similarity=target, right=int(right), wrong=int(not right)))
    return _bounded(bins, max_bins)


def observations_to_document(observations: Sequence[ObservationBin]) -> list[list[float]]:
    """The stored form: ``[[similarity, right, wrong], ...]`` (compact, order kept)."""
    return [[item.similarity, item.right, item.wrong] for item in observations]


def observations_from_document(raw: Any) -> tuple[ObservationBin, ...] | str:
    """Validate untrusted stored observations: the bins (at most :data:`MAX_BINS`, merged
    when a store holds more), ``()`` for an absent field (an entry written before
    observations existed), or a string saying what is wrong."""
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        return "observations is not a list"
    bins: list[ObservationBin] = []
    for item in raw:
        if not isinstance(item, Sequence) or isinstance(item, (str, bytes)) or len(item) != 3:
            return "an observation is not a [similarity, right, wrong] triple"
        similarity, right, wrong = item
        if isinstance(similarity, bool) or not isinstance(similarity, (int, float)):
            return "an observation's similarity is not a number"
        try:
            bins.append(ObservationBin(similarity=similarity, right=right, wrong=wrong))
        except (TypeError, ValueError) as exc:
            return f"an observation is invalid ({exc})"
    return _bounded(bins, MAX_BINS)


# -- the per-entry model -------------------------------------------------------------------


@attrs.frozen
class BoundaryFit:
    """``P(right | s) = sigmoid(intercept + slope * z(s))`` and the Laplace covariance of
    ``(intercept, slope)`` as ``(var_intercept, covariance, var_slope)``."""

    intercept: float
    slope: float
    covariance: tuple[float, float, float]

    def logit(self, similarity: float) -> tuple[float, float]:
        """The linear predictor at ``similarity`` and its standard deviation."""
        z = _z(similarity)
        vb, cab, va = self.covariance
        variance = max(vb + 2.0 * z * cab + z * z * va, 0.0)
        return self.intercept + self.slope * z, math.sqrt(variance)

    def probability_right(self, similarity: float) -> float:
        """The point estimate of ``P(right | similarity)``."""
        return _sigmoid(self.logit(similarity)[0])


def _hessian(bins: Sequence[tuple[float, int, int]], b: float, a: float) -> tuple[float, ...]:
    """Gradient (gb, ga) and negative Hessian (hbb, hab, haa) of the penalised
    log-likelihood at ``(b, a)``."""
    gb = -b / _PRIOR_VAR_B
    ga = -a / _PRIOR_VAR_A
    hbb = 1.0 / _PRIOR_VAR_B
    haa = 1.0 / _PRIOR_VAR_A
    hab = 0.0
    for z, right, total in bins:
        p = _sigmoid(b + a * z)
        residual = right - total * p
        weight = total * p * (1.0 - p)
        gb += residual
        ga += residual * z
        hbb += weight
        hab += weight * z
        haa += weight * z * z
    return gb, ga, hbb, hab, haa


def fit_boundary(observations: Sequence[ObservationBin]) -> BoundaryFit:
    """The penalised maximum-likelihood fit of the entry's sigmoid (slope at least 0).

    Newton steps on ``(intercept, slope)``; a step that would make the slope negative is
    projected to 0 (the fit is then a constant, the best one for data that contradict
    monotonicity). Without observations it is the prior: ``P(right) = 1/2`` everywhere,
    with wide uncertainty.
    """
    data = [(_z(item.similarity), item.right, item.total) for item in observations if item.total]
    b = a = 0.0
    for _ in range(_NEWTON_STEPS):
        gb, ga, hbb, hab, haa = _hessian(data, b, a)
        det = hbb * haa - hab * hab
        step_b = (haa * gb - hab * ga) / det
        step_a = (hbb * ga - hab * gb) / det
        new_b, new_a = b + step_b, a + step_a
        if new_a < 0.0:
            new_a = 0.0
            new_b = b + gb / hbb  # the best intercept at slope 0, one Newton step
        if abs(new_b - b) < 1e-9 and abs(new_a - a) < 1e-9:
            b, a = new_b, new_a
            break
        b, a = new_b, new_a
    _, _, hbb, hab, haa = _hessian(data, b, a)
    det = hbb * haa - hab * hab
    return BoundaryFit(intercept=b, slope=a, covariance=(haa / det, -hab / det, hbb / det))


@functools.lru_cache(maxsize=1024)
def _cached_fit(observations: tuple[ObservationBin, ...]) -> BoundaryFit:
    """:func:`fit_boundary`, remembered: an entry is looked up far more often than it
    learns."""
    return fit_boundary(observations)


_PROBIT = math.pi / 8.0
_Z_MIN = (-1.0 - _CENTRE) / _SCALE  # z of the lowest similarity, -1


def _predictive_logit(fit: BoundaryFit, z: float) -> float:
    """The logit of the predictive ``P(right)`` at ``z``: ``mean / sqrt(1 + pi var / 8)``."""
    vb, cab, va = fit.covariance
    variance = max(vb + 2.0 * z * cab + z * z * va, 0.0)
    return (fit.intercept + fit.slope * z) / math.sqrt(1.0 + _PROBIT * variance)


def error_estimate(
    observations: Sequence[ObservationBin],
    similarity: float,
    *,
    fit: BoundaryFit | None = None,
) -> float:
    """The estimated chance, in (0, 1), that the entry's answer is wrong for a prompt at
    ``similarity``: non-increasing in ``similarity``, 1/2 without observations.

    It is the smallest predictive error at any similarity from -1 to ``similarity`` (the
    true curve is monotone, so evidence at a lower similarity vouches for higher ones).
    The predictive logit ``(b + a z) / sqrt(1 + k v(z))`` has a derivative whose sign is
    that of a linear function of ``z``, so its largest value on an interval is at an end
    or at the one critical point: three evaluations, no search.
    """
    fit = _cached_fit(tuple(observations)) if fit is None else fit
    top = _z(similarity)
    candidates = [top, _Z_MIN]
    vb, cab, va = fit.covariance
    b, a = fit.intercept, fit.slope
    denominator = _PROBIT * (b * va - a * cab)
    if denominator != 0.0:
        critical = (a + _PROBIT * (a * vb - b * cab)) / denominator
        candidates.append(min(max(critical, _Z_MIN), top))
    return 1.0 - _sigmoid(max(_predictive_logit(fit, z) for z in candidates))


# -- the pool: what the whole index learned ----------------------------------------------------

#: The normal quantile of the pooled bound's one-sided confidence (95%).
POOL_CONFIDENCE_Z = 1.645

#: What an entry must have shown itself before it is served on the pool (see :func:`decide`).
EVIDENCE_RULES = ("entry", "pool")
#: The shipped rule: measured on the design part of the benchmark (benchmarks/VERIFIED.md).
DEFAULT_EVIDENCE = "pool"


def _wilson_upper(wrong: int, total: int, z: float | None = None) -> float:
    """The one-sided Wilson score upper bound of a proportion ``wrong / total`` (``z``:
    the normal quantile of its confidence, :data:`POOL_CONFIDENCE_Z` by default)."""
    z = POOL_CONFIDENCE_Z if z is None else z
    if total <= 0:
        return 1.0
    p = wrong / total
    z2 = z * z
    centre = p + z2 / (2.0 * total)
    margin = z * math.sqrt(p * (1.0 - p) / total + z2 / (4.0 * total * total))
    return min(1.0, (centre + margin) / (1.0 + z2 / total))


@functools.lru_cache(maxsize=64)
def _pool_bounds(pool: tuple[ObservationBin, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The pool's bin similarities (ascending) and, at each, the lowest tail bound of any
    bin at or below it (a prefix minimum: non-increasing). Cached: the pool changes far
    less often than it is read."""
    bins = sorted((item for item in pool if item.total), key=lambda item: item.similarity)
    tails: list[float] = []
    wrong = total = 0
    for item in reversed(bins):
        wrong += item.wrong
        total += item.total
        tails.append(_wilson_upper(wrong, total))
    tails.reverse()
    lowest, minima = 1.0, []
    for item, bound in zip(bins, tails, strict=True):
        if item.right:  # a cut only where a right answer was seen
            lowest = min(lowest, bound)
        minima.append(lowest)
    return tuple(item.similarity for item in bins), tuple(minima)


def pooled_error_bound(pool: Sequence[ObservationBin], similarity: float) -> float:
    """An upper bound (95% one-sided) on the share of wrong answers a cache serves if it
    serves every prompt at least as similar as some cut ``t <= similarity`` to its entry,
    learned from the pool (every entry's observations summed): the smallest, over the
    pool's bin similarities ``t <= similarity``, of the Wilson upper bound on the wrong
    share of the pooled observations at ``t`` or above, where ``t`` is a bin holding a
    right answer (so a cut rests on a right answer at or below ``similarity``).
    Non-increasing in ``similarity``; 1 when the pool holds no right answer at or below
    ``similarity``."""
    similarities, minima = _pool_bounds(tuple(pool))
    index = bisect.bisect_right(similarities, similarity)
    return minima[index - 1] if index else 1.0


def _entry_allows(observations: Sequence[ObservationBin], similarity: float, evidence: str) -> bool:
    """The entry's own say on a pooled hit at ``similarity``: never at or below (within a
    bin of) its most similar wrong answer (its boundary is above that); with
    ``evidence="entry"`` also only once it was right at least once above that wrong answer
    and at or below ``similarity``. Monotone: once allowed at ``s``, allowed above."""
    wrong = [item.similarity for item in observations if item.wrong]
    highest_wrong = max(wrong) if wrong else -math.inf
    if similarity <= highest_wrong + SIMILARITY_RESOLUTION / 2:
        return False
    if evidence == "pool":
        return True
    return any(
        item.right and highest_wrong < item.similarity <= similarity for item in observations
    )


@attrs.frozen
class VerifiedDecision:
    """What :func:`decide` chose and why: ``serve`` (a hit) or explore (a miss).

    ``estimated_error`` is the lower of the entry's own estimate and the pooled bound;
    ``basis`` says which one a hit was served on (``"entry"``, ``"pool"``; ``None`` when
    it explores)."""

    serve: bool
    similarity: float
    estimated_error: float
    basis: str | None = None


def decide(
    observations: Sequence[ObservationBin],
    similarity: float,
    max_error_rate: float,
    *,
    pool: Sequence[ObservationBin] = (),
    evidence: str = DEFAULT_EVIDENCE,
) -> VerifiedDecision:
    """Serve the entry or explore, for a prompt at ``similarity`` to it.

    Args:
        observations: The entry's observations.
        similarity: The cosine similarity of the prompt to the entry's prompt.
        max_error_rate: ``delta``: serve only when the estimated chance of a wrong answer
            is at most this.
        pool: The sum of every entry's observations (a
            :class:`~langchain_elasticsearch_cache.domain.ports.PoolingVectorRepository`);
            ``()`` decides on the entry's own observations alone.
        evidence: For a hit served on the pool's bound, what the entry itself must have
            shown: ``"pool"`` (the default, :data:`DEFAULT_EVIDENCE`) only no wrong answer
            at or above ``similarity``; ``"entry"`` also a right answer at or below
            ``similarity`` (and above its most similar wrong one).

    Returns:
        The decision, with the estimate it rests on.

    Raises:
        ValueError: ``evidence`` is not one of :data:`EVIDENCE_RULES`.

    A hit is served on either ground:

    * **the entry's own model**: its estimate (:func:`error_estimate`) is at most
      ``delta`` and a right answer has been seen at this similarity or below (the fitted
      curve alone may extrapolate a low error far above observations that were all
      wrong: one wrong answer at 0.5 gave 0.38 at 1.0);
    * **the pool**: :func:`pooled_error_bound` is at most ``delta``, and the entry allows
      it (:func:`_entry_allows`: its own wrong answers veto the pool at once).

    Both grounds are monotone in ``similarity`` and in ``delta``, so serving is too.
    """
    if evidence not in EVIDENCE_RULES:
        raise ValueError(f"evidence must be one of {EVIDENCE_RULES}, not {evidence!r}")
    estimate = error_estimate(observations, similarity)
    seen_right = any(o.right > 0 and o.similarity <= similarity for o in observations)
    if seen_right and estimate <= max_error_rate:
        return VerifiedDecision(True, similarity, estimate, "entry")
    pooled = pooled_error_bound(pool, similarity) if pool else 1.0
    serve = pooled <= max_error_rate and _entry_allows(observations, similarity, evidence)
    return VerifiedDecision(serve, similarity, min(estimate, pooled), "pool" if serve else None)


def validate_max_error_rate(value: Any) -> float | None:
    """``None`` (no verification: the threshold alone decides) or a rate in (0, 1/2).

    Raises:
        ConfigurationError: Anything else, with what to pass instead.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigurationError(
            f"max_error_rate must be a number between 0 and 1 (the largest acceptable share "
            f"of wrong semantic answers, e.g. 0.02), or None to turn verification off; "
            f"not {value!r}"
        )
    rate = float(value)
    if math.isnan(rate) or not 0.0 < rate < 0.5:
        raise ConfigurationError(
            f"max_error_rate must be above 0 and below 0.5 (e.g. 0.02 for at most 2% "
            f"wrong semantic answers), got {value!r}; a rate of 1/2 or more would serve "
            f"entries nothing is known about; for no verification pass None"
        )
    return rate
