"""OpenTelemetry metrics and spans of every cache kind, sync and async, read in memory.

The repositories here open a span of their own around each call, as the Elasticsearch
client does through the global tracer: it must be a child of the cache operation's span.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from langchain_elasticsearch_cache.adapters.memory import InMemoryRepository
from langchain_elasticsearch_cache.adapters.memory_vector import InMemoryVectorRepository
from langchain_elasticsearch_cache.adapters.sync_as_async import SyncAsAsyncRepository
from langchain_elasticsearch_cache.domain import (
    BackendUnavailableError,
    EmbeddingRecord,
    EntryRefusedError,
    LlmRecord,
)
from langchain_elasticsearch_cache.domain.semantic_records import (
    SemanticCandidate,
    SemanticRecord,
    VectorQuery,
)
from langchain_elasticsearch_cache.interfaces.langchain import (
    AsyncRepositoryByteStore,
    AsyncRepositoryLlmCache,
    RepositoryByteStore,
    RepositoryLlmCache,
    telemetry,
)
from langchain_elasticsearch_cache.interfaces.langchain.semantic_cache import (
    AsyncRepositorySemanticCache,
    RepositorySemanticCache,
)
from tests.fake_embeddings import TableEmbeddings
from tests.telemetry_support import Telemetry, otel

__all__ = ["otel"]  # the fixture, imported

GEN = [Generation(text="cached answer")]
FRANCE = "What is the capital of France?"
FRANCE_PARAPHRASE = "Which city is the capital of France?"  # 0.96 in TableEmbeddings
ACCOUNT = "How do I close an account?"  # (3, 4): 0.6 from FRANCE, below the threshold
GUARDED = "What is 17 times 24?"  # (1, 0) as FRANCE: similarity 1, refused by the hit guard
CLIENT = trace.get_tracer("fake-elasticsearch-client")
TRANSPORT = logging.getLogger("elastic_transport.transport")


class TracedRepository:
    """Wraps a repository; every call runs in a span of its own (named after the call),
    as the Elasticsearch client's do; ``failure`` is raised from every call while set."""

    def __init__(self, inner: Any, index_name: str | None = None) -> None:
        self.inner = inner
        self.failure: Exception | None = None
        self.retries = 0  # "Retrying request" lines the transport logs per call
        if index_name is not None:
            self.index_name = index_name

    def _traced(self, name: str, *args: Any) -> Any:
        with CLIENT.start_as_current_span(name):
            for attempt in range(self.retries):
                TRANSPORT.warning("Retrying request after failure (attempt %d of %d)", attempt, 3)
            if self.failure is not None:
                raise self.failure
            return getattr(self.inner, name)(*args)

    def get(self, key: str) -> Any:
        return self._traced("get", key)

    def get_many(self, keys: Sequence[str]) -> Any:
        return self._traced("get_many", keys)

    def put(self, record: Any) -> None:
        self._traced("put", record)

    def put_many(self, records: Sequence[Any]) -> None:
        self._traced("put_many", records)

    def delete_many(self, keys: Sequence[str]) -> int:
        return int(self._traced("delete_many", keys))

    def nearest(self, query: VectorQuery) -> list[SemanticCandidate]:
        return list(self._traced("nearest", query))

    def clear(self) -> int:
        return int(self._traced("clear"))

    def scan(self, *, page_size: int = 1000) -> Iterator[Any]:
        return iter(self._traced("scan"))

    def count(self) -> int:
        return int(self._traced("count"))

    def close(self) -> None:
        pass


class AsyncTracedRepository:
    """The async twin: the span is opened inside the coroutine, as the async client does."""

    def __init__(self, sync: TracedRepository) -> None:
        self.sync = sync
        if hasattr(sync, "index_name"):
            self.index_name = sync.index_name

    async def _traced(self, name: str, *args: Any) -> Any:
        await asyncio.sleep(0)  # a real await between the caller and the span
        return self.sync._traced(name, *args)

    async def get(self, key: str) -> Any:
        return await self._traced("get", key)

    async def get_many(self, keys: Sequence[str]) -> Any:
        return await self._traced("get_many", keys)

    async def put(self, record: Any) -> None:
        await self._traced("put", record)

    async def put_many(self, records: Sequence[Any]) -> None:
        await self._traced("put_many", records)

    async def delete_many(self, keys: Sequence[str]) -> int:
        return int(await self._traced("delete_many", keys))

    async def nearest(self, query: VectorQuery) -> list[SemanticCandidate]:
        return list(await self._traced("nearest", query))

    async def clear(self) -> int:
        return int(await self._traced("clear"))

    async def aclose(self) -> None:
        pass


def llm_repository(index: str | None = "llm-index") -> TracedRepository:
    return TracedRepository(InMemoryRepository[LlmRecord](), index)


def _parent_is(child: Any, parent: Any) -> bool:
    return child.parent is not None and child.parent.span_id == parent.context.span_id


def _only(spans: list[Any]) -> Any:
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


# -- LLM cache ---------------------------------------------------------------------------


def test_sync_llm_cache_counts_lookups_writes_and_durations(otel: Telemetry) -> None:
    cache = RepositoryLlmCache(llm_repository())
    assert cache.lookup("p", "m") is None
    cache.update("p", "m", GEN)
    assert cache.lookup("p", "m") == GEN

    base = {"cache_kind": "llm", "cache_index": "llm-index", "cache_operation": "lookup"}
    assert otel.total("lookups", **base, cache_result="hit", cache_hit_kind="exact") == 1
    assert otel.total("lookups", **base, cache_result="miss") == 1
    assert otel.total("writes", cache_kind="llm", cache_operation="update") == 1
    assert otel.total("operation.duration", **base) == 2
    assert otel.total("operation.duration", cache_operation="update") == 1
    assert otel.total("errors") == 0
    # a miss has no hit kind
    assert all(
        "cache.hit_kind" not in a
        for a in otel.attribute_sets("lookups")
        if a.get("cache.result") == "miss"
    )

    lookups = otel.spans("llm cache lookup")
    assert [span.attributes["cache.result"] for span in lookups] == ["miss", "hit"]
    assert lookups[1].attributes["cache.hit_kind"] == "exact"
    assert lookups[0].attributes["cache.index"] == "llm-index"
    update = _only(otel.spans("llm cache update"))
    assert update.attributes["cache.writes"] == 1
    # the backend's spans are the children of the cache's
    gets = otel.spans("get")
    assert len(gets) == 2
    for get, lookup in zip(gets, lookups, strict=True):
        assert _parent_is(get, lookup)
    assert _parent_is(_only(otel.spans("put")), update)


async def test_async_llm_cache_spans_nest_and_a_batch_links_its_callers(otel: Telemetry) -> None:
    repository = llm_repository()
    cache = AsyncRepositoryLlmCache(AsyncTracedRepository(repository))
    await cache.aupdate("p0", "m", GEN)
    assert await cache.alookup("p0", "m") == GEN
    put = _only(otel.spans("put"))
    assert _parent_is(put, _only(otel.spans("llm cache update")))
    assert _parent_is(_only(otel.spans("get")), _only(otel.spans("llm cache lookup")))
    assert otel.total("lookups", cache_kind="llm", cache_result="hit") == 1

    otel.exporter.clear()
    answers = await asyncio.gather(*(cache.alookup(f"p{i}", "m") for i in range(3)))
    assert answers == [GEN, None, None]
    lookups = otel.spans("llm cache lookup")
    assert len(lookups) == 3
    batch = _only(otel.spans("cache lookup batch"))
    assert batch.attributes["cache.batch.keys"] == 3
    linked = {link.context.span_id for link in batch.links}
    assert linked == {span.context.span_id for span in lookups}
    assert any(_parent_is(batch, lookup) for lookup in lookups)  # the first caller's
    assert _parent_is(_only(otel.spans("get_many")), batch)
    assert otel.total("lookups", cache_kind="llm", cache_result="miss") == 2


async def test_a_sync_cache_called_through_an_executor_keeps_the_callers_trace(
    otel: Telemetry,
) -> None:
    cache = RepositoryLlmCache(llm_repository())
    tracer = trace.get_tracer("the application")
    with tracer.start_as_current_span("request") as request:
        await cache.aupdate("p", "m", GEN)  # BaseCache runs update in a thread
        assert await cache.alookup("p", "m") == GEN
    request_span = _only(otel.spans("request"))
    assert request.get_span_context().span_id == request_span.context.span_id
    for name in ("llm cache update", "llm cache lookup"):
        assert _parent_is(_only(otel.spans(name)), request_span)
    assert _parent_is(_only(otel.spans("get")), _only(otel.spans("llm cache lookup")))


def test_failures_fail_open_refusals_and_uncacheable_answers_are_counted(
    otel: Telemetry,
) -> None:
    repository = llm_repository(None)
    cache = RepositoryLlmCache(repository, fail_open=True)
    repository.failure = BackendUnavailableError("node down")
    assert cache.lookup("p", "m") is None
    repository.failure = EntryRefusedError("too large", keys=["k"])
    cache.update("p", "m", GEN)
    repository.failure = None
    answer = [ChatGeneration(message=AIMessage(content="x", additional_kwargs={"raw": b"\0"}))]
    cache.update("q", "m", answer)

    unavailable = {"cache_operation": "lookup", "error_type": "BackendUnavailableError"}
    assert otel.total("errors", **unavailable) == 1
    assert otel.total("failed_open", **unavailable) == 1
    assert otel.total("errors", cache_operation="update", error_type="EntryRefusedError") == 1
    assert otel.total("refused", cache_operation="update") == 1
    assert otel.total("uncacheable", cache_kind="llm", cache_operation="update") == 1
    assert otel.total("lookups") == 0 and otel.total("writes") == 0
    # no index: the attribute is left out, not empty
    assert all("cache.index" not in a for a in otel.attribute_sets("errors"))

    lookup = _only(otel.spans("llm cache lookup"))
    assert lookup.status.status_code is StatusCode.ERROR
    assert lookup.attributes["cache.failed_open"] is True
    assert lookup.attributes["error.type"] == "BackendUnavailableError"
    assert [event.name for event in lookup.events] == ["exception"]
    update = _only(otel.spans("llm cache update"))
    assert update.attributes["cache.refused"] == 1
    assert cache.statistics.failed_open == 1  # the statistics count as before


def test_an_error_that_is_not_absorbed_is_recorded_and_raised(otel: Telemetry) -> None:
    repository = llm_repository()
    cache = RepositoryLlmCache(repository)  # not fail-open
    repository.failure = BackendUnavailableError("node down")
    with pytest.raises(BackendUnavailableError):
        cache.lookup("p", "m")
    assert otel.total("errors", error_type="BackendUnavailableError") == 1
    assert otel.total("failed_open") == 0
    assert _only(otel.spans("llm cache lookup")).status.status_code is StatusCode.ERROR


def test_transport_retries_are_counted_on_the_operation(
    otel: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    # the transport logs retries at WARNING (the CLI, for one, raises its level to ERROR)
    caplog.set_level(logging.WARNING, logger="elastic_transport")
    repository = llm_repository()
    cache = RepositoryLlmCache(repository, fail_open=True)
    repository.retries = 2
    assert cache.lookup("p", "m") is None
    assert otel.total("backend.retries", cache_kind="llm", cache_operation="lookup") == 2
    lookup = _only(otel.spans("llm cache lookup"))
    assert [event.name for event in lookup.events] == ["retry", "retry"]
    # outside a cache operation the same line is not counted
    TRANSPORT.warning("Retrying request after failure (attempt %d of %d)", 1, 3)
    assert otel.total("backend.retries") == 2


# -- embeddings cache --------------------------------------------------------------------


def _embeddings_repository() -> TracedRepository:
    return TracedRepository(InMemoryRepository[EmbeddingRecord](), "emb-index")


def test_sync_byte_store_counts_each_key(otel: Telemetry) -> None:
    store = RepositoryByteStore(_embeddings_repository())
    store.mset([("a", b"1"), ("b", b"2")])
    assert store.mget(["a", "b", "c"]) == [b"1", b"2", None]
    kind = {"cache_kind": "embeddings", "cache_index": "emb-index"}
    assert otel.total("writes", **kind, cache_operation="mset") == 2
    assert otel.total("lookups", **kind, cache_operation="mget", cache_result="hit") == 2
    assert otel.total("lookups", **kind, cache_operation="mget", cache_result="miss") == 1
    mget = _only(otel.spans("embeddings cache mget"))
    assert (mget.attributes["cache.hits"], mget.attributes["cache.misses"]) == (2, 1)
    assert _parent_is(_only(otel.spans("get_many")), mget)
    assert _parent_is(_only(otel.spans("put_many")), _only(otel.spans("embeddings cache mset")))


async def test_async_byte_store_counts_each_key(otel: Telemetry) -> None:
    store = AsyncRepositoryByteStore(AsyncTracedRepository(_embeddings_repository()))
    await store.amset([("a", b"1")])
    assert await store.amget(["a", "z"]) == [b"1", None]
    await store.amdelete(["a"])
    assert otel.total("lookups", cache_kind="embeddings", cache_result="hit") == 1
    assert otel.total("lookups", cache_kind="embeddings", cache_result="miss") == 1
    assert otel.total("writes", cache_kind="embeddings") == 1
    assert otel.total("operation.duration", cache_kind="embeddings", cache_operation="mdelete") == 1
    assert _parent_is(_only(otel.spans("get_many")), _only(otel.spans("embeddings cache mget")))
    assert _parent_is(
        _only(otel.spans("delete_many")), _only(otel.spans("embeddings cache mdelete"))
    )


# -- semantic cache ----------------------------------------------------------------------


def _semantic_repository() -> TracedRepository:
    return TracedRepository(InMemoryVectorRepository(), "sem-index")


def _check_semantic(otel: Telemetry, embeddings: TableEmbeddings) -> None:
    kind = {"cache_kind": "semantic", "cache_index": "sem-index", "cache_operation": "lookup"}
    assert otel.total("lookups", **kind, cache_result="hit", cache_hit_kind="exact") == 1
    assert otel.total("lookups", **kind, cache_result="hit", cache_hit_kind="semantic") == 1
    assert otel.total("lookups", **kind, cache_result="miss") == 3
    assert otel.total("writes", cache_kind="semantic", cache_operation="update") == 1
    # embedded: the first miss (its vector is remembered for the update), the paraphrase,
    # the two unrelated questions; the exact repeat embeds nothing
    assert otel.total("embedding.calls", cache_kind="semantic") == len(embeddings.texts) == 4
    similarities = otel.points("semantic.similarity", cache_kind="semantic")
    by_result = {point.attributes["cache.result"]: point for point in similarities}
    assert by_result["hit"].count == 1
    assert by_result["hit"].sum == pytest.approx(0.96)
    # the guarded question's nearest candidate; the search for ACCOUNT found none
    assert by_result["miss"].count == 1
    assert by_result["miss"].sum == pytest.approx(1.0)

    lookups = otel.spans("semantic cache lookup")
    results = [span.attributes["cache.result"] for span in lookups]
    assert results == ["miss", "hit", "hit", "miss", "miss"]
    assert [span.attributes.get("cache.hit_kind") for span in lookups[1:3]] == [
        "exact",
        "semantic",
    ]
    # the paraphrase's lookup: the exact get, then the vector search, both inside it
    children = [span.name for span in otel.spans() if _parent_is(span, lookups[2])]
    assert children == ["get", "nearest"]


def test_sync_semantic_cache_tells_exact_from_semantic_hits(otel: Telemetry) -> None:
    embeddings = TableEmbeddings()
    cache = RepositorySemanticCache(_semantic_repository(), embeddings)
    assert cache.lookup(FRANCE, "m") is None
    cache.update(FRANCE, "m", GEN)
    assert cache.lookup(FRANCE, "m") == GEN
    assert cache.lookup(FRANCE_PARAPHRASE, "m") == GEN
    assert cache.lookup(GUARDED, "m") is None
    assert cache.lookup(ACCOUNT, "m") is None
    _check_semantic(otel, embeddings)


async def test_async_semantic_cache_tells_exact_from_semantic_hits(otel: Telemetry) -> None:
    embeddings = TableEmbeddings()
    repository = AsyncTracedRepository(_semantic_repository())
    cache = AsyncRepositorySemanticCache(repository, embeddings)  # type: ignore[arg-type]
    assert await cache.alookup(FRANCE, "m") is None
    await cache.aupdate(FRANCE, "m", GEN)
    assert await cache.alookup(FRANCE, "m") == GEN
    assert await cache.alookup(FRANCE_PARAPHRASE, "m") == GEN
    assert await cache.alookup(GUARDED, "m") is None
    assert await cache.alookup(ACCOUNT, "m") is None
    _check_semantic(otel, embeddings)


class _BrokenEmbeddings(TableEmbeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise ConnectionError("embedding service down")


def test_a_failed_embedding_call_is_counted(otel: Telemetry) -> None:
    cache = RepositorySemanticCache(_semantic_repository(), _BrokenEmbeddings(), fail_open=True)
    assert cache.lookup(FRANCE, "m") is None
    assert otel.total("embedding.calls", cache_kind="semantic", cache_operation="lookup") == 1
    assert otel.total("embedding.failures", cache_kind="semantic") == 1
    assert otel.total("failed_open", cache_kind="semantic") == 1


# -- without OpenTelemetry ---------------------------------------------------------------

WITHOUT_OPENTELEMETRY = textwrap.dedent(
    """
    import asyncio, importlib.abc, sys

    class NoOpenTelemetry(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoOpenTelemetry())
    from langchain_core.outputs import Generation
    from langchain_elasticsearch_cache import AsyncInMemoryLlmCache, InMemoryLlmCache
    from langchain_elasticsearch_cache.interfaces.langchain import telemetry

    assert telemetry.AVAILABLE is False
    assert not any(name.startswith("opentelemetry") for name in sys.modules)
    cache = InMemoryLlmCache()
    assert cache._runtime.telemetry is None
    cache.update("p", "m", [Generation(text="a")])
    assert cache.lookup("p", "m")[0].text == "a"
    acache = AsyncInMemoryLlmCache()

    async def main():
        await acache.aupdate("p", "m", [Generation(text="b")])
        return await asyncio.gather(acache.alookup("p", "m"), acache.alookup("q", "m"))

    hit, miss = asyncio.run(main())
    assert hit[0].text == "b" and miss is None
    stats = cache.statistics.operations["lookup"]
    assert stats.calls == 1 and 0 < stats.p99_seconds <= stats.max_seconds
    print("works without opentelemetry")
    """
)


def test_the_library_works_without_opentelemetry_installed() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_OPENTELEMETRY],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "works without opentelemetry"


def test_telemetry_is_available_here() -> None:
    # the rest of this file would prove nothing with the no-op branch
    assert telemetry.AVAILABLE is True
    assert RepositoryLlmCache(llm_repository())._runtime.telemetry is not None
    assert isinstance(SemanticRecord, type) and isinstance(SyncAsAsyncRepository, type)
