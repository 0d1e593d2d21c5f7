"""What every cache class does around a repository call: statistics and fail-open.

Statistics are counters under one lock plus two ``perf_counter`` reads per call, cheap
enough to leave on (about half a microsecond per call; see the README). Fail-open turns
``BackendUnavailableError`` into a miss or a no-op, with one warning per
``warn_interval`` seconds at most, and one line when the backend answers again; and it
turns ``EntryRefusedError`` (an entry the backend refused to store: too large, or not
fitting the mapping) into a skipped write, counted as ``refused`` and warned about at
the same rate, so the caller keeps the answer the model gave. A privilege refused after
the first call (:class:`PermissionDeniedError`: revoked, or a read-only deployment) makes a
lookup a miss and a write a skipped write (counted as ``refused``, warned about once);
deletions still raise it. Nothing else is swallowed. While a
fail-open cache's call runs, loggers named through :func:`quiet_during_fail_open_calls`
(the Elasticsearch client's, which log every failed request and retry) are silent: the
cache's own rate-limited warning says what happened, once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from types import MappingProxyType
from typing import TypeVar

from ...domain.errors import (
    BackendUnavailableError,
    EntryRefusedError,
    PermissionDeniedError,
    UncacheableAnswerError,
)
from ._latency import LatencyDistribution, new_buckets, record_latency
from .statistics import CacheStatistics, OperationStatistics
from .telemetry import AVAILABLE as _TELEMETRY
from .telemetry import CacheTelemetry, OperationScope

# the statistics snapshots were defined here; kept importable from here
__all__ = ["CacheStatistics", "OperationStatistics", "Runtime"]

logger = logging.getLogger("langchain_elasticsearch_cache")

T = TypeVar("T")
Tally = tuple[int, int, int]
"""(hits, misses, writes) that one call contributes to the statistics."""
Clock = Callable[[], datetime]

#: the calls a privilege refused at run time is absorbed for under ``fail_open=True``:
#: a lookup becomes a miss, a write a skipped write. Deletions, ``clear`` and
#: ``purge_expired`` always raise it (a deletion that did not happen must not look done).
_LOOKUPS = frozenset({"lookup", "mget"})
_WRITES = frozenset({"update", "mset"})


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


_in_fail_open_call: ContextVar[bool] = ContextVar("lecache_in_fail_open_call", default=False)


class _SilentInFailOpenCalls(logging.Filter):
    """Drops what a logger says on behalf of a fail-open cache's call (context-local:
    other threads and tasks, and strict caches, log as usual)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _in_fail_open_call.get()


_SILENCER = _SilentInFailOpenCalls()


def quiet_during_fail_open_calls(*logger_names: str) -> None:
    """Silence these loggers inside fail-open calls (idempotent). A filter acts only on
    the logger a record is created on, so name the exact loggers, not a parent."""
    for name in logger_names:
        log = logging.getLogger(name)
        if _SILENCER not in log.filters:
            log.addFilter(_SILENCER)


@contextmanager
def fail_open_call() -> Iterator[None]:
    """Mark the code inside as a fail-open cache's backend call."""
    token = _in_fail_open_call.set(True)
    try:
        yield
    finally:
        _in_fail_open_call.reset(token)


class _Counters:
    __slots__ = (
        "calls",
        "errors",
        "failed_open",
        "hits",
        "latency",
        "max_seconds",
        "misses",
        "refused",
        "total_seconds",
        "uncacheable",
        "writes",
    )

    def __init__(self) -> None:
        self.calls = self.hits = self.misses = self.writes = 0
        self.errors = self.failed_open = self.uncacheable = self.refused = 0
        self.total_seconds = self.max_seconds = 0.0
        self.latency = new_buckets()


class Runtime:
    """Statistics and fail-open policy shared by one cache object's operations."""

    def __init__(
        self, *, fail_open: bool = False, warn_interval: float = 60.0, kind: str = "llm"
    ) -> None:
        self.fail_open = fail_open
        #: OpenTelemetry metrics and spans (``kind``: llm, embeddings or semantic); None
        #: when opentelemetry-api is not installed
        self.telemetry = CacheTelemetry(kind) if _TELEMETRY else None
        self.warn_interval = warn_interval
        self._lock = threading.Lock()
        self._counters: dict[str, _Counters] = {}
        self._last_warning = float("-inf")
        self._suppressed = 0
        self._last_refusal_warning = float("-inf")
        self._suppressed_refusals = 0
        # calls failed open since the backend last answered; read without the lock on
        # the hot path (a stale read only delays the "answering again" line by a call)
        self._outage_calls = 0
        self._warned_in_outage = False
        self._warned_uncacheable = False
        self._warned_write_denied = False

    def describe(self, repository: object) -> None:
        """Name the repository's index (when it has one) in the telemetry attributes."""
        if self.telemetry is not None:
            self.telemetry.describe(repository)

    def statistics(self) -> CacheStatistics:
        with self._lock:
            ops = {
                name: OperationStatistics(
                    calls=c.calls,
                    hits=c.hits,
                    misses=c.misses,
                    writes=c.writes,
                    errors=c.errors,
                    failed_open=c.failed_open,
                    total_seconds=c.total_seconds,
                    max_seconds=c.max_seconds,
                    uncacheable=c.uncacheable,
                    refused=c.refused,
                    latency=LatencyDistribution(tuple(c.latency), c.max_seconds),
                )
                for name, c in self._counters.items()
            }
        return CacheStatistics(operations=MappingProxyType(ops))

    def reset_statistics(self) -> None:
        with self._lock:
            self._counters.clear()

    def record(
        self,
        op: str,
        started: float,
        *,
        hits: int = 0,
        misses: int = 0,
        writes: int = 0,
        error: bool = False,
        failed_open: bool = False,
        refused: int = 0,
    ) -> float:
        elapsed = time.perf_counter() - started
        with self._lock:
            c = self._counters.get(op)
            if c is None:
                c = self._counters[op] = _Counters()
            c.calls += 1
            c.hits += hits
            c.misses += misses
            c.writes += writes
            c.errors += error
            c.failed_open += failed_open
            c.refused += refused
            c.total_seconds += elapsed
            if elapsed > c.max_seconds:
                c.max_seconds = elapsed
            record_latency(c.latency, elapsed)
            if failed_open:
                self._outage_calls += 1
        return elapsed

    def skip_uncacheable(self, op: str, exc: UncacheableAnswerError) -> None:
        """Count a write skipped because its answer could never be read back; the first
        one per cache object is logged (the same model usually answers the same way, so
        repeating it on every call would drown the log)."""
        with self._lock:
            c = self._counters.get(op)
            if c is None:
                c = self._counters[op] = _Counters()
            c.calls += 1
            c.uncacheable += 1
            first, self._warned_uncacheable = not self._warned_uncacheable, True
        if self.telemetry is not None:
            self.telemetry.uncacheable(op)
        if first:
            logger.warning(
                "not caching an answer: %s. Answers like it are not written (counted in "
                "statistics.uncacheable); this warning is not repeated for this cache object",
                exc,
            )

    def absorb(
        self, op: str, started: float, exc: BaseException, scope: OperationScope | None = None
    ) -> bool:
        """Count a failed call; True when fail-open swallows it (the caller then degrades)."""
        if isinstance(exc, EntryRefusedError):
            # not an outage: counted apart, and no "answering again" line follows it
            refused = len(exc.keys) or 1
            elapsed = self.record(op, started, error=True, refused=refused)
            if scope is not None:
                scope.failed(elapsed, exc, self.fail_open, refused)
            if self.fail_open:
                self._warn_refused(op, exc)
            return self.fail_open
        if isinstance(exc, PermissionDeniedError):
            return self._absorb_denied(op, started, exc, scope)
        swallow = self.fail_open and isinstance(exc, BackendUnavailableError)
        elapsed = self.record(op, started, error=True, failed_open=swallow)
        if scope is not None:
            scope.failed(elapsed, exc, swallow, 0)
        if swallow:
            self._warn(op, exc)
        return swallow

    def _absorb_denied(
        self,
        op: str,
        started: float,
        exc: PermissionDeniedError,
        scope: OperationScope | None = None,
    ) -> bool:
        """A privilege missing at run time (revoked, or a read-only deployment's write).

        With ``fail_open``: a write is skipped, counted as ``refused`` and warned about
        once per cache object (a read-only deployment refuses every write: the answer is
        returned, not cached); a lookup is a miss, counted and warned about like an
        outage. Found at start (``during_setup``), or on any other call, it is raised."""
        if not self.fail_open or exc.during_setup or op not in _LOOKUPS | _WRITES:
            elapsed = self.record(op, started, error=True)
            if scope is not None:
                scope.failed(elapsed, exc, False, 0)
            return False
        if op in _LOOKUPS:
            elapsed = self.record(op, started, error=True, failed_open=True)
            if scope is not None:
                scope.failed(elapsed, exc, True, 0)
            self._warn(op, exc)
            return True
        elapsed = self.record(op, started, error=True, refused=1)
        if scope is not None:
            scope.failed(elapsed, exc, True, 1)
        with self._lock:
            first, self._warned_write_denied = not self._warned_write_denied, True
        if first:
            logger.warning(
                "the cache may not write (fail_open=True): %s. The answer is returned but "
                "not cached; writes refused so are counted in statistics.refused and this "
                "warning is not repeated for this cache object",
                exc,
            )
        return True

    def _warn_refused(self, op: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_refusal_warning < self.warn_interval:
                self._suppressed_refusals += 1
                return
            suppressed, self._suppressed_refusals = self._suppressed_refusals, 0
            self._last_refusal_warning = now
        extra = f" ({suppressed} similar warnings suppressed)" if suppressed else ""
        logger.warning(
            "cache backend refused to store an entry during %s; the answer is returned "
            "but not cached (fail_open=True): %s%s",
            op,
            exc,
            extra,
        )

    def _warn(self, op: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_warning < self.warn_interval:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._last_warning = now
            self._warned_in_outage = True
        extra = f" ({suppressed} similar warnings suppressed)" if suppressed else ""
        logger.warning(
            "cache backend unavailable during %s, continuing without the cache "
            "(fail_open=True): %s%s",
            op,
            exc,
            extra,
        )

    def run(
        self,
        op: str,
        call: Callable[[], T],
        fallback: T,
        tally: Callable[[T], Tally] | None = None,
    ) -> T:
        """Run one repository call, counted; on an absorbed failure return ``fallback``."""
        # the span is current while the backend is called: the client's spans nest in it
        scope = None if self.telemetry is None else self.telemetry.begin(op)
        try:
            started = time.perf_counter()
            token = _in_fail_open_call.set(True) if self.fail_open else None
            try:
                result = call()
            except Exception as exc:
                if self.absorb(op, started, exc, scope):
                    return fallback
                raise
            finally:
                if token is not None:
                    _in_fail_open_call.reset(token)
            self._tally(op, started, result, tally, scope)
            return result
        finally:
            if scope is not None:
                scope.end()

    async def arun(
        self,
        op: str,
        call: Callable[[], Awaitable[T]],
        fallback: T,
        tally: Callable[[T], Tally] | None = None,
    ) -> T:
        """Async twin of :meth:`run`."""
        # the span is current while the backend is called: the client's spans nest in it
        scope = None if self.telemetry is None else self.telemetry.begin(op)
        try:
            started = time.perf_counter()
            token = _in_fail_open_call.set(True) if self.fail_open else None
            try:
                result = await call()
            except Exception as exc:
                if self.absorb(op, started, exc, scope):
                    return fallback
                raise
            finally:
                if token is not None:
                    _in_fail_open_call.reset(token)
            self._tally(op, started, result, tally, scope)
            return result
        finally:
            if scope is not None:
                scope.end()

    def _tally(
        self,
        op: str,
        started: float,
        result: T,
        tally: Callable[[T], Tally] | None,
        scope: OperationScope | None = None,
    ) -> None:
        """:meth:`record` for a successful call, inlined: this is every call's overhead."""
        elapsed = time.perf_counter() - started
        hits, misses, writes = (0, 0, 0) if tally is None else tally(result)
        with self._lock:
            c = self._counters.get(op)
            if c is None:
                c = self._counters[op] = _Counters()
            c.calls += 1
            c.hits += hits
            c.misses += misses
            c.writes += writes
            c.total_seconds += elapsed
            if elapsed > c.max_seconds:
                c.max_seconds = elapsed
            record_latency(c.latency, elapsed)
        if scope is not None:
            scope.succeeded(elapsed, hits, misses, writes)
        if self._outage_calls:
            self._answering_again(op)

    def _answering_again(self, op: str) -> None:
        """The backend answered after calls failed open: say so once per warned outage."""
        with self._lock:
            failed, self._outage_calls = self._outage_calls, 0
            warned, self._warned_in_outage = self._warned_in_outage, False
        if warned and failed:
            logger.warning(
                "cache backend is answering again (%s succeeded); %d call(s) went without "
                "the cache while it was down (fail_open=True)",
                op,
                failed,
            )
