"""OpenTelemetry metrics and spans for every cache operation (optional: ``pip install
langchain-elasticsearch-cache[otel]``).

The library only uses the OpenTelemetry *API*, through the global meter and tracer
providers: the application chooses the SDK, the exporters (Prometheus, OTLP...) and the
sampling. Without ``opentelemetry-api`` installed, :data:`AVAILABLE` is False, every
cache's ``Runtime.telemetry`` is ``None`` and the cost is that one check per call.

Each operation (``lookup``, ``update``, ``mget``, ``mset``, ``clear``...) runs inside a
span named ``"<kind> cache <operation>"``, made the current span while the backend is
called, so the spans the Elasticsearch client creates (elasticsearch-py 8.13+, through the
same global tracer provider) are its children, in sync and async code alike. The
instruments and attributes are listed in ``docs/OBSERVABILITY.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

try:
    from opentelemetry import context as _otel_context
    from opentelemetry import metrics as _otel_metrics
    from opentelemetry import trace as _otel_trace
except ImportError:  # the [otel] extra is not installed: everything below is a no-op
    AVAILABLE = False
else:
    AVAILABLE = True

__all__ = [
    "AVAILABLE",
    "ATTR_HIT_KIND",
    "ATTR_INDEX",
    "ATTR_KIND",
    "ATTR_OPERATION",
    "ATTR_RESULT",
    "INSTRUMENTATION_SCOPE",
    "CacheTelemetry",
    "OperationScope",
    "BatchSpan",
    "current_span_context",
]

INSTRUMENTATION_SCOPE = "langchain_elasticsearch_cache"
_PREFIX = "langchain_elasticsearch_cache."

ATTR_KIND = "cache.kind"  # llm | embeddings | semantic
ATTR_OPERATION = "cache.operation"  # lookup | update | mget | mset | mdelete | delete | clear
ATTR_INDEX = "cache.index"  # the index or alias name, when the repository has one
ATTR_RESULT = "cache.result"  # hit | miss
ATTR_HIT_KIND = "cache.hit_kind"  # exact | semantic
ATTR_ERROR_TYPE = "error.type"  # the exception's class name

#: Bucket boundaries advised for the duration histogram (seconds): a cache call takes
#: from a few hundred microseconds (a realtime GET) to seconds (a retried bulk).
DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
#: ... and for the similarity histogram (cosine similarity; thresholds live near the top).
SIMILARITY_BUCKETS = (
    0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 0.99, 1.0,
)  # fmt: skip

# The operation running in this context (thread or task): the semantic cache marks its
# hits on it, and retries the transport logs are counted against it.
_current: ContextVar[OperationScope | None] = ContextVar("lecache_operation", default=None)


class _Instruments:
    """Created once, from the global meter: before the application installs an SDK
    meter provider these are the API's proxies, which start recording once it does."""

    def __init__(self) -> None:
        try:
            from importlib.metadata import version

            package_version: str | None = version("langchain-elasticsearch-cache")
        except Exception:  # not installed as a distribution (a source checkout)
            package_version = None
        meter = _otel_metrics.get_meter(INSTRUMENTATION_SCOPE, package_version or "")
        self.tracer = _otel_trace.get_tracer(INSTRUMENTATION_SCOPE, package_version)
        self.lookups = meter.create_counter(
            _PREFIX + "lookups", "{key}", "Keys looked up, by result (hit or miss)"
        )
        self.writes = meter.create_counter(_PREFIX + "writes", "{entry}", "Entries written")
        self.errors = meter.create_counter(
            _PREFIX + "errors", "{call}", "Calls that failed (also those answered fail-open)"
        )
        self.failed_open = meter.create_counter(
            _PREFIX + "failed_open",
            "{call}",
            "Calls answered without the cache because the backend was unavailable",
        )
        self.refused = meter.create_counter(
            _PREFIX + "refused", "{entry}", "Entries the backend refused to store"
        )
        self.uncacheable = meter.create_counter(
            _PREFIX + "uncacheable", "{entry}", "Answers not written: never readable back"
        )
        self.embedding_calls = meter.create_counter(
            _PREFIX + "embedding.calls", "{call}", "Calls to the semantic cache's embedding model"
        )
        self.embedding_failures = meter.create_counter(
            _PREFIX + "embedding.failures", "{call}", "Embedding calls that failed"
        )
        self.retries = meter.create_counter(
            _PREFIX + "backend.retries",
            "{retry}",
            "Requests the Elasticsearch transport retried during a cache operation",
        )
        self.duration = _histogram(
            meter,
            _PREFIX + "operation.duration",
            "s",
            "Duration of cache operations, backend calls included",
            DURATION_BUCKETS,
        )
        self.similarity = _histogram(
            meter,
            _PREFIX + "semantic.similarity",
            "1",
            "Cosine similarity of the nearest candidate of each semantic search",
            SIMILARITY_BUCKETS,
        )


def _histogram(meter: Any, name: str, unit: str, description: str, buckets: Sequence[float]) -> Any:
    try:  # the advice exists from opentelemetry-api 1.23 on; older APIs take a View
        return meter.create_histogram(
            name, unit, description, explicit_bucket_boundaries_advisory=list(buckets)
        )
    except TypeError:
        return meter.create_histogram(name, unit, description)


_instruments: _Instruments | None = _Instruments() if AVAILABLE else None


class CacheTelemetry:
    """The instruments' attributes for one cache object (kind, and index once known).

    ``Runtime`` holds one when OpenTelemetry is available, ``None`` otherwise.
    """

    __slots__ = ("_attributes", "index", "kind")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.index: str | None = None
        self._attributes: dict[tuple[str, ...], Mapping[str, str]] = {}

    def describe(self, repository: object) -> None:
        """Take the index name from the repository when it has one (Elasticsearch)."""
        index = getattr(repository, "index_name", None)
        self.index = index if isinstance(index, str) else None
        self._attributes = {}

    def attributes(self, operation: str, *extra: str) -> Mapping[str, str]:
        """The (cached) attributes of ``operation``; ``extra`` are name, value pairs."""
        key = (operation, *extra)
        found = self._attributes.get(key)
        if found is None:
            made = {ATTR_KIND: self.kind, ATTR_OPERATION: operation}
            if self.index is not None:
                made[ATTR_INDEX] = self.index
            made.update(zip(extra[::2], extra[1::2], strict=True))
            found = self._attributes[key] = made
        return found

    def begin(self, operation: str) -> OperationScope:
        """Start the operation's span and make it current (with the scope)."""
        assert _instruments is not None
        attributes = self.attributes(operation)
        span = _instruments.tracer.start_span(
            f"{self.kind} cache {operation}", attributes=attributes
        )
        scope = OperationScope(self, operation, span)
        scope._context_token = _otel_context.attach(_otel_trace.set_span_in_context(span))
        scope._scope_token = _current.set(scope)
        return scope

    def uncacheable(self, operation: str) -> None:
        assert _instruments is not None
        _instruments.uncacheable.add(1, self.attributes(operation))

    def embedding_call(self, failed: bool = False) -> None:
        assert _instruments is not None
        scope = _current.get()
        attributes = self.attributes(scope.operation if scope is not None else "embed")
        if failed:
            _instruments.embedding_failures.add(1, attributes)
        else:
            _instruments.embedding_calls.add(1, attributes)

    def nearest_similarity(self, similarity: float, hit: bool) -> None:
        """The similarity of the nearest candidate of a semantic search."""
        assert _instruments is not None
        _instruments.similarity.record(
            similarity, self.attributes("lookup", ATTR_RESULT, "hit" if hit else "miss")
        )


class OperationScope:
    """One running operation: its span, and what it found (see ``Runtime.run``)."""

    __slots__ = ("_context_token", "_scope_token", "hit_kind", "operation", "span", "telemetry")

    def __init__(self, telemetry: CacheTelemetry, operation: str, span: Any) -> None:
        self.telemetry = telemetry
        self.operation = operation
        self.span = span
        self.hit_kind = "exact"
        self._context_token: Any = None
        self._scope_token: Any = None

    def succeeded(self, seconds: float, hits: int, misses: int, writes: int) -> None:
        assert _instruments is not None
        tel, op, span = self.telemetry, self.operation, self.span
        _instruments.duration.record(seconds, tel.attributes(op))
        if hits:
            _instruments.lookups.add(
                hits, tel.attributes(op, ATTR_RESULT, "hit", ATTR_HIT_KIND, self.hit_kind)
            )
        if misses:
            _instruments.lookups.add(misses, tel.attributes(op, ATTR_RESULT, "miss"))
        if writes:
            _instruments.writes.add(writes, tel.attributes(op))
        if span.is_recording():
            if hits + misses == 1:
                span.set_attribute(ATTR_RESULT, "hit" if hits else "miss")
                if hits:
                    span.set_attribute(ATTR_HIT_KIND, self.hit_kind)
            elif hits or misses:
                span.set_attribute("cache.hits", hits)
                span.set_attribute("cache.misses", misses)
            if writes:
                span.set_attribute("cache.writes", writes)

    def failed(self, seconds: float, exc: BaseException, failed_open: bool, refused: int) -> None:
        assert _instruments is not None
        tel, op, span = self.telemetry, self.operation, self.span
        error_type = type(exc).__name__
        attributes = tel.attributes(op, ATTR_ERROR_TYPE, error_type)
        _instruments.duration.record(seconds, attributes)
        _instruments.errors.add(1, attributes)
        if failed_open:
            _instruments.failed_open.add(1, attributes)
        if refused:
            _instruments.refused.add(refused, tel.attributes(op))
        if span.is_recording():
            span.set_attribute(ATTR_ERROR_TYPE, error_type)
            if failed_open:
                span.set_attribute("cache.failed_open", True)
            if refused:
                span.set_attribute("cache.refused", refused)
            span.record_exception(exc)
            span.set_status(_otel_trace.Status(_otel_trace.StatusCode.ERROR, str(exc)))

    def end(self) -> None:
        """Detach the context and end the span (always, in a ``finally``)."""
        _current.reset(self._scope_token)
        _otel_context.detach(self._context_token)
        self.span.end()


def mark_semantic_hit() -> None:
    """The running lookup's hit came from the similarity search, not the exact key."""
    scope = _current.get()
    if scope is not None:
        scope.hit_kind = "semantic"


def current_span_context() -> Any:
    """The current span's context (to link a batch to its callers), or None."""
    if not AVAILABLE:
        return None
    span_context = _otel_trace.get_current_span().get_span_context()
    return span_context if span_context.is_valid else None


class BatchSpan:
    """A span for one batched request that answers several callers' lookups, linked to
    each caller's span (it is a child of the first caller's, whose context it runs in)."""

    __slots__ = ("_span", "_token")

    def __init__(self, keys: int, callers: Sequence[Any]) -> None:
        self._span: Any = None
        self._token: Any = None
        if _instruments is not None:
            links = [_otel_trace.Link(context) for context in callers if context is not None]
            self._span = _instruments.tracer.start_span(
                "cache lookup batch",
                attributes={"cache.batch.keys": keys, "cache.batch.callers": len(callers)},
                links=links,
            )

    def __enter__(self) -> None:
        if self._span is not None:
            self._token = _otel_context.attach(_otel_trace.set_span_in_context(self._span))

    def __exit__(self, *exc_info: object) -> None:
        if self._span is not None:
            _otel_context.detach(self._token)
            self._span.end()


class _RetryCounter(logging.Filter):
    """Counts the retries the Elasticsearch transport logs ("Retrying request after...")
    during a cache operation, and adds a ``retry`` event to the operation's span. It
    drops nothing. The transport logs them at WARNING: a logger level set above WARNING
    on ``elastic_transport.transport`` hides them from this counter too."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = _current.get()
        if scope is not None and str(record.msg).startswith("Retrying request"):
            assert _instruments is not None
            _instruments.retries.add(1, scope.telemetry.attributes(scope.operation))
            if scope.span.is_recording():
                scope.span.add_event("retry", {"message": record.getMessage()})
        return True


def _count_transport_retries() -> None:
    transport = logging.getLogger("elastic_transport.transport")
    if not any(isinstance(f, _RetryCounter) for f in transport.filters):
        # first: another filter (fail-open's silencer) may drop the record after it
        transport.filters.insert(0, _RetryCounter())


if AVAILABLE:
    _count_transport_retries()
