"""Against a real node: the Elasticsearch client's own spans (elasticsearch-py creates them
through the global tracer) are children of the cache operation's span, sync and async,
and the transport's retries are counted on the operation that suffered them."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import pytest
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    AsyncElasticsearchSemanticCache,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    ElasticsearchSemanticCache,
)
from tests.fake_embeddings import TableEmbeddings
from tests.telemetry_support import Telemetry, otel

__all__ = ["otel"]  # the fixture, imported

pytestmark = pytest.mark.elasticsearch

GEN = [Generation(text="cached answer")]
FRANCE = "What is the capital of France?"
FRANCE_PARAPHRASE = "Which city is the capital of France?"


# elasticsearch-py's spans are told apart by the tracer that makes them, which both client
# majors name alike; their attributes follow different versions of the database semantic
# conventions (client 8: ``db.system``, ``db.elasticsearch.path_parts.<part>``; client 9:
# ``db.system.name``, ``db.operation.parameter.<part>``).
CLIENT_SCOPE = "elasticsearch-api"
INDEX_ATTRIBUTES = ("db.elasticsearch.path_parts.index", "db.operation.parameter.index")


def _client_spans_under(otel: Telemetry, parent: Any) -> list[Any]:
    return [
        span
        for span in otel.spans()
        if span.instrumentation_scope is not None
        and span.instrumentation_scope.name == CLIENT_SCOPE
        and span.parent is not None
        and span.parent.span_id == parent.context.span_id
    ]


def _index_of(span: Any) -> Any:
    """The index a client span names in its request path, under either convention."""
    found = {span.attributes[key] for key in INDEX_ATTRIBUTES if key in span.attributes}
    assert len(found) <= 1, (span.name, dict(span.attributes))
    return found.pop() if found else None


def _descendants(otel: Telemetry, parent: Any) -> list[Any]:
    found = []
    for child in _client_spans_under(otel, parent):
        found += [child, *_descendants(otel, child)]
    return found


def _check_nesting(otel: Telemetry, kind: str, index: str, operations: dict[str, str]) -> None:
    """Each cache span named ``<kind> cache <op>`` has the client's ``endpoint`` span below
    it (a child, or the grandchild of a helper's span as for ``bulk``), in the same trace,
    on the cache's index."""
    for operation, endpoint in operations.items():
        spans = otel.spans(f"{kind} cache {operation}")
        assert spans, f"no {kind} cache {operation} span"
        for cache_span in spans:
            assert cache_span.attributes["cache.index"] == index
            below = _descendants(otel, cache_span)
            assert endpoint in [span.name for span in below], (
                operation,
                [span.name for span in below],
            )
            for span in below:
                assert span.context.trace_id == cache_span.context.trace_id
                assert _index_of(span) in (index, None), (span.name, dict(span.attributes))
                if span.name == endpoint and endpoint != "bulk":  # bulk: index in each action
                    assert _index_of(span) == index, (span.name, dict(span.attributes))


def test_sync_llm_cache_client_spans_are_children(
    otel: Telemetry, es_url: str, index_name: str
) -> None:
    with ElasticsearchCache(index_name, es_url=es_url) as cache:
        assert cache.lookup("p", "m") is None
        cache.update("p", "m", GEN)
        assert cache.lookup("p", "m") == GEN
    _check_nesting(otel, "llm", index_name, {"lookup": "get", "update": "index"})
    results = [span.attributes["cache.result"] for span in otel.spans("llm cache lookup")]
    assert results[-2:] == ["miss", "hit"]
    assert otel.total("lookups", cache_kind="llm", cache_index=index_name) == 2


async def test_async_llm_cache_client_spans_are_children(
    otel: Telemetry, es_url: str, index_name: str
) -> None:
    async with AsyncElasticsearchCache(index_name, es_url=es_url) as cache:
        assert await cache.alookup("p", "m") is None
        await cache.aupdate("p", "m", GEN)
        assert await cache.alookup("p", "m") == GEN
        _check_nesting(otel, "llm", index_name, {"lookup": "get", "update": "index"})
        otel.exporter.clear()
        answers = await asyncio.gather(*(cache.alookup(p, "m") for p in ("p", "q", "r")))
    assert answers == [GEN, None, None]
    batch = otel.spans("cache lookup batch")
    assert len(batch) == 1
    assert [span.name for span in _client_spans_under(otel, batch[0])] == ["mget"]
    lookups = otel.spans("llm cache lookup")
    assert {link.context.span_id for link in batch[0].links} == {
        span.context.span_id for span in lookups
    }
    assert otel.total("lookups", cache_kind="llm", cache_result="hit") == 2


def test_sync_embeddings_and_semantic_client_spans_are_children(
    otel: Telemetry, es_url: str, index_name: str
) -> None:
    with ElasticsearchEmbeddingsCache(f"{index_name}-emb", es_url=es_url) as store:
        store.mset([("a", b"1")])
        assert store.mget(["a", "b"]) == [b"1", None]
    _check_nesting(otel, "embeddings", f"{index_name}-emb", {"mset": "bulk", "mget": "mget"})

    with ElasticsearchSemanticCache(
        f"{index_name}-sem", TableEmbeddings(), es_url=es_url, refresh=True
    ) as cache:
        cache.update(FRANCE, "m", GEN)
        assert cache.lookup(FRANCE_PARAPHRASE, "m") == GEN
    _check_nesting(otel, "semantic", f"{index_name}-sem", {"update": "index", "lookup": "search"})
    semantic = {"cache_kind": "semantic", "cache_result": "hit", "cache_hit_kind": "semantic"}
    assert otel.total("lookups", **semantic) == 1
    assert otel.total("semantic.similarity", cache_kind="semantic", cache_result="hit") == 1


async def test_async_embeddings_and_semantic_client_spans_are_children(
    otel: Telemetry, es_url: str, index_name: str
) -> None:
    async with AsyncElasticsearchEmbeddingsCache(f"{index_name}-emb", es_url=es_url) as store:
        await store.amset([("a", b"1")])
        assert await store.amget(["a", "b"]) == [b"1", None]
    _check_nesting(otel, "embeddings", f"{index_name}-emb", {"mset": "bulk", "mget": "mget"})

    async with AsyncElasticsearchSemanticCache(
        f"{index_name}-sem", TableEmbeddings(), es_url=es_url, refresh=True
    ) as cache:
        await cache.aupdate(FRANCE, "m", GEN)
        assert await cache.alookup(FRANCE_PARAPHRASE, "m") == GEN
    _check_nesting(otel, "semantic", f"{index_name}-sem", {"update": "index", "lookup": "search"})
    assert otel.total("lookups", cache_kind="semantic", cache_hit_kind="semantic") == 1


def _closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_transport_retries_are_counted_and_shown_on_the_cache_span(
    otel: Telemetry, es_url: str, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    # the transport logs retries at WARNING (the CLI, for one, raises its level to ERROR)
    caplog.set_level(logging.WARNING, logger="elastic_transport")
    dead = f"http://127.0.0.1:{_closed_port()}"
    with ElasticsearchCache(index_name, es_url=[dead, es_url], max_retries=3) as cache:
        otel.begin()  # what the connection check did is not the subject
        for i in range(4):  # round robin: some requests go to the dead node first
            assert cache.lookup(f"p{i}", "m") is None
    retries = otel.total("backend.retries", cache_kind="llm", cache_operation="lookup")
    assert retries >= 1
    events = [
        event
        for span in otel.spans("llm cache lookup")
        for event in span.events
        if event.name == "retry"
    ]
    assert len(events) == retries
    assert all("Retrying request" in str(event.attributes["message"]) for event in events)
    # the request retried is one client span: the retry happened inside it
    assert otel.total("lookups", cache_kind="llm", cache_result="miss") == 4
