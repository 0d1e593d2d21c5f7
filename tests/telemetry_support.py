"""OpenTelemetry SDK in memory, for the telemetry tests.

The global tracer and meter providers can be set once per process, so the first test that
asks for :func:`otel` installs them for the rest of the session: a tracer provider whose
sampler records only while a telemetry test runs (every other test's spans are dropped at
once, so nothing piles up), and a meter provider read by an in-memory reader with DELTA
temporality (each read returns what was recorded since the previous one: the fixture reads
once before the test, so a test sees only its own measurements).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

PREFIX = "langchain_elasticsearch_cache."


class _Switch(Sampler):
    """Records while ``on``; drops every span otherwise."""

    def __init__(self) -> None:
        self.on = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        sampler = ALWAYS_ON if self.on else ALWAYS_OFF
        result = sampler.should_sample(parent_context, trace_id, name, kind, attributes, links)
        assert result.decision in (Decision.RECORD_AND_SAMPLE, Decision.DROP)
        return result

    def get_description(self) -> str:
        return "telemetry tests' switch"


class Telemetry:
    """What a test reads: finished spans, and metric points since the test began."""

    def __init__(self) -> None:
        self.switch = _Switch()
        self.exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider(sampler=self.switch)
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        delta = AggregationTemporality.DELTA
        self.reader = InMemoryMetricReader(
            preferred_temporality={
                kind: delta
                for kind in (
                    Counter,
                    UpDownCounter,
                    Histogram,
                    ObservableCounter,
                    ObservableUpDownCounter,
                    ObservableGauge,
                )
            }
        )
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[self.reader]))
        if trace.get_tracer_provider() is not tracer_provider:
            raise RuntimeError(
                "another OpenTelemetry tracer provider was installed before the telemetry "
                "tests' (OTEL_* auto-instrumentation?): run them without it"
            )
        self._points: list[tuple[str, Mapping[str, Any], Any]] = []

    def begin(self) -> None:
        self.exporter.clear()
        self.reader.get_metrics_data()  # drop what earlier tests recorded
        self._points = []
        self.switch.on = True

    def end(self) -> None:
        self.switch.on = False
        self.exporter.clear()

    # -- spans ---------------------------------------------------------------------------

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        spans = list(self.exporter.get_finished_spans())
        return spans if name is None else [span for span in spans if span.name == name]

    # -- metrics -------------------------------------------------------------------------

    def _collect(self) -> list[tuple[str, Mapping[str, Any], Any]]:
        data = self.reader.get_metrics_data()
        if data is not None:
            for resource_metrics in data.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        for point in metric.data.data_points:
                            self._points.append((metric.name, dict(point.attributes or {}), point))
        return self._points

    def points(self, name: str, **attributes: Any) -> list[Any]:
        """The data points of instrument ``PREFIX + name`` whose attributes include these
        (``cache_kind="llm"`` matches ``cache.kind``)."""
        wanted = {key.replace("_", ".", 1): value for key, value in attributes.items()}
        return [
            point
            for metric, attrs, point in self._collect()
            if metric == PREFIX + name and all(attrs.get(k) == v for k, v in wanted.items())
        ]

    def total(self, name: str, **attributes: Any) -> float:
        """The sum of a counter's points (or the count of a histogram's) so far."""
        return sum(
            point.value if hasattr(point, "value") else point.count
            for point in self.points(name, **attributes)
        )

    def attribute_sets(self, name: str) -> list[Mapping[str, Any]]:
        return [attrs for metric, attrs, _ in self._collect() if metric == PREFIX + name]


_installed: Telemetry | None = None


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    """The session's in-memory OpenTelemetry SDK, emptied, recording spans for this test."""
    global _installed
    if _installed is None:
        _installed = Telemetry()
    _installed.begin()
    try:
        yield _installed
    finally:
        _installed.end()
