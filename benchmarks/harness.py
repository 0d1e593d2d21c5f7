"""Timing: contenders in interleaved rounds, and the statistics of what was measured.

A *sample* is one timed call of a contender (one lookup, one batch of updates, one
``mget`` of 1,000 keys...). Every round runs ``per_round`` samples of each contender in
turn, A then B then C, and the rounds repeat; a warm-up round is run and discarded. The
order rotates from round to round (A B C, B C A, C A B, ...), so no contender always goes
first (after a garbage collection) or always reads what another one has just read.
Samples are numbered ``0 .. (warmup + rounds) * per_round - 1`` (warm-up first), the same
numbers for every contender, so a workload can give each sample its own keys. A
contender that raises is recorded as failing (with the error) and skipped afterwards:
the seed's ``clear`` fails on a node without ``_delete_by_query``, and that is a result.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Contender",
    "Outcome",
    "arun_interleaved",
    "percentile",
    "run_interleaved",
    "summarize",
]


@dataclass
class Contender:
    """One way of doing the workload.

    ``run(i)`` is the timed call for sample ``i`` (sync, or a coroutine function for
    :func:`arun_interleaved`); ``prepare(i)``, when given, runs untimed before it.
    ``ops`` is how many operations one sample performs (for throughput).
    """

    name: str
    run: Callable[[int], Any]
    prepare: Callable[[int], Any] | None = None
    ops: int = 1


@dataclass
class Outcome:
    """What one contender produced: durations in seconds, or the error it failed with."""

    name: str
    ops: int
    durations: list[float] = field(default_factory=list)
    error: str | None = None


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted values, linearly interpolated."""
    if not ordered:
        raise ValueError("no values")
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(outcome: Outcome) -> dict[str, Any]:
    """JSON-ready statistics of one contender."""
    if outcome.error is not None:
        return {"status": "fails", "error": outcome.error, "ops_per_sample": outcome.ops}
    ordered = sorted(outcome.durations)
    median = percentile(ordered, 50)
    return {
        "status": "ok",
        "samples": len(ordered),
        "ops_per_sample": outcome.ops,
        "median_s": median,
        "p95_s": percentile(ordered, 95),
        "mean_s": sum(ordered) / len(ordered),
        "min_s": ordered[0],
        "max_s": ordered[-1],
        "ops_per_s": outcome.ops / median if median > 0 else None,
    }


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}"


def _rotated(contenders: Sequence[Contender], round_index: int) -> list[Contender]:
    shift = round_index % len(contenders) if contenders else 0
    return [*contenders[shift:], *contenders[:shift]]


def _collect_now(round_index: int, per_round: int) -> bool:
    """A full collection before a round, every ~50 samples per contender (not every
    sample: with one sample per round that would be most of the run time)."""
    return round_index % max(1, 50 // per_round) == 0


def _samples(
    contenders: Sequence[Contender], rounds: int, per_round: int, warmup: int
) -> tuple[dict[str, Outcome], Iterator[tuple[Outcome, Contender, int, bool]]]:
    """The outcomes by name, and the samples to take in order: ``(outcome, contender,
    sample, kept)``, ``kept`` false in the warm-up. A contender whose outcome records an
    error is given no further sample (the schedule is read lazily, so an error recorded
    while a sample is taken counts from the next one on)."""
    outcomes = {c.name: Outcome(c.name, c.ops) for c in contenders}

    def schedule() -> Iterator[tuple[Outcome, Contender, int, bool]]:
        for round_number in range(-warmup, rounds):
            if _collect_now(round_number + warmup, per_round):
                gc.collect()
            for contender in _rotated(contenders, round_number + warmup):
                outcome = outcomes[contender.name]
                for position in range(per_round):
                    if outcome.error is not None:
                        break
                    sample = (round_number + warmup) * per_round + position
                    yield outcome, contender, sample, round_number >= 0

    return outcomes, schedule()


def _failed(outcome: Outcome, exc: Exception) -> None:
    outcome.error = _describe(exc)
    outcome.durations.clear()


def run_interleaved(
    contenders: Sequence[Contender], *, rounds: int, per_round: int = 1, warmup: int = 1
) -> list[Outcome]:
    """Time synchronous contenders, A B C A B C ..., ``rounds`` x ``per_round`` samples each."""
    outcomes, samples = _samples(contenders, rounds, per_round, warmup)
    for outcome, contender, sample, kept in samples:
        try:
            if contender.prepare is not None:
                contender.prepare(sample)
            started = time.perf_counter()
            contender.run(sample)
            elapsed = time.perf_counter() - started
        except Exception as exc:
            _failed(outcome, exc)
            continue
        if kept:
            outcome.durations.append(elapsed)
    return list(outcomes.values())


async def arun_interleaved(
    contenders: Sequence[Contender], *, rounds: int, per_round: int = 1, warmup: int = 1
) -> list[Outcome]:
    """:func:`run_interleaved` for contenders whose ``run`` (and ``prepare``) may be async.

    A ``run`` that returns an awaitable is awaited inside the timed region; a plain
    synchronous ``run`` (the sequential reference) is timed as it is.
    """
    outcomes, samples = _samples(contenders, rounds, per_round, warmup)
    for outcome, contender, sample, kept in samples:
        try:
            if contender.prepare is not None:
                prepared = contender.prepare(sample)
                if isinstance(prepared, Awaitable):
                    await prepared
            started = time.perf_counter()
            result = contender.run(sample)
            if isinstance(result, Awaitable):
                await result
            elapsed = time.perf_counter() - started
        except Exception as exc:
            _failed(outcome, exc)
            continue
        if kept:
            outcome.durations.append(elapsed)
    return list(outcomes.values())
