"""``fail_open=True`` against answers a real node will not give on demand: 429 (too many
requests) and 5xx, from a local HTTP stub over a real socket (the client, its transport
and the error translation run for real; see ``_http_stub.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    BackendUnavailableError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)

from ._http_stub import failing_elasticsearch

STATUSES = [429, 500, 502, 503, 504]
FAST: dict[str, Any] = {"max_retries": 0, "request_timeout": 5}


@pytest.mark.parametrize("status", STATUSES)
def test_fail_open_absorbs_429_and_5xx(status: int) -> None:
    with (
        failing_elasticsearch(status) as stub,
        ElasticsearchCache("stub-index", es_url=stub.url, fail_open=True, **FAST) as cache,
    ):
        assert cache.lookup("p", "llm") is None  # a miss
        cache.update("p", "llm", [Generation(text="a")])  # a no-op
        stats = cache.statistics
        assert stats.failed_open == 2 and stats.errors == 2
    assert any(method != "GET" or path != "/" for method, path in stub.requests)


@pytest.mark.parametrize("status", STATUSES)
def test_without_fail_open_429_and_5xx_raise_unavailable(status: int) -> None:
    with (
        failing_elasticsearch(status) as stub,
        ElasticsearchCache("stub-index", es_url=stub.url, **FAST) as cache,
        pytest.raises(BackendUnavailableError, match=f"not answering right now.*{status}"),
    ):
        cache.lookup("p", "llm")


async def test_async_fail_open_absorbs_503() -> None:
    with failing_elasticsearch(503) as stub:
        async with AsyncElasticsearchCache(
            "stub-index", es_url=stub.url, fail_open=True, **FAST
        ) as cache:
            assert await cache.alookup("p", "llm") is None
            await cache.aupdate("p", "llm", [Generation(text="a")])
            assert cache.statistics.failed_open == 2


def test_fail_open_byte_store_absorbs_429() -> None:
    with (
        failing_elasticsearch(429) as stub,
        ElasticsearchEmbeddingsCache(
            "stub-index", es_url=stub.url, fail_open=True, **FAST
        ) as store,
    ):
        assert store.mget(["a"]) == [None]
        store.mset([("a", b"1")])
        assert store.statistics.failed_open == 2


def test_fail_open_absorbs_timeouts() -> None:
    options: dict[str, Any] = {"max_retries": 0, "request_timeout": 0.5}
    with (
        failing_elasticsearch(200, hang_seconds=3) as stub,
        ElasticsearchCache("stub-index", es_url=stub.url, fail_open=True, **options) as cache,
    ):
        assert cache.lookup("p", "llm") is None
        assert cache.statistics.failed_open == 1
    with (
        failing_elasticsearch(200, hang_seconds=3) as stub,
        ElasticsearchCache("stub-index", es_url=stub.url, **options) as strict,
        pytest.raises(BackendUnavailableError, match="did not answer in time"),
    ):
        strict.lookup("p", "llm")
