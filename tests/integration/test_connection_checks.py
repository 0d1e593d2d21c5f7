"""The async classes check the connection once, at their first call (real node).

Requests are counted on the real client's own transport: the cache is built with a
``node_class`` that records each request before sending it as usual.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, ClassVar

import pytest
from elastic_transport import AiohttpHttpNode
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    AuthenticationError,
    BackendUnavailableError,
)

from ._http_stub import refusing_elasticsearch


class CountingNode(AiohttpHttpNode):
    """The client's ordinary aiohttp node, recording ``(method, path)`` of each request."""

    requests: ClassVar[list[tuple[str, str]]] = []

    async def perform_request(self, method: str, target: str, *args: Any, **kwargs: Any) -> Any:
        CountingNode.requests.append((method, target.split("?", 1)[0]))
        return await super().perform_request(method, target, *args, **kwargs)


def connection_checks() -> int:
    return CountingNode.requests.count(("GET", "/"))


@pytest.fixture
def counted() -> dict[str, Any]:
    CountingNode.requests.clear()
    return {"node_class": CountingNode}


def closed_port_url() -> str:
    """A URL nothing listens on: connecting is refused (a real outage, no mock)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_concurrent_first_calls_make_one_check(
    es_url: str, index_name: str, counted: dict[str, Any]
) -> None:
    async with AsyncElasticsearchCache(index_name, es_url=es_url, es_params=counted) as cache:
        assert connection_checks() == 0  # the constructor sends nothing
        await cache.aupdate("p0", "llm", [Generation(text="zero")])
        assert connection_checks() == 1
        # a second cache object, many first calls at once: still one check for it
        async with AsyncElasticsearchCache(index_name, es_url=es_url, es_params=counted) as other:
            found = await asyncio.gather(*(other.alookup(f"p{i}", "llm") for i in range(30)))
            assert found[0] == [Generation(text="zero")]
            assert found[1:] == [None] * 29
            await other.aupdate("p1", "llm", [Generation(text="one")])
            assert await other.alookup("p1", "llm") == [Generation(text="one")]
        assert connection_checks() == 2
        assert CountingNode.requests[0] == ("GET", "/")  # checked before anything else


async def test_concurrent_first_calls_of_the_embeddings_store(
    es_url: str, index_name: str, counted: dict[str, Any]
) -> None:
    async with AsyncElasticsearchEmbeddingsCache(
        index_name, es_url=es_url, es_params=counted
    ) as store:
        await asyncio.gather(
            store.amset([("a", b"1")]), store.amget(["a"]), store.amget(["b"]), store.amdelete([])
        )
        assert await store.amget(["a"]) == [b"1"]
    assert connection_checks() == 1


async def test_fail_open_outage_is_a_miss_and_the_check_is_retried(
    counted: dict[str, Any],
) -> None:
    cache = AsyncElasticsearchCache(
        "llm-cache", es_url=closed_port_url(), fail_open=True, max_retries=0, es_params=counted
    )
    try:
        # concurrent first calls share the one failed check, and each is a miss
        assert (
            await asyncio.gather(*(cache.alookup(f"p{i}", "l") for i in range(10))) == [None] * 10
        )
        assert cache.repository.connection_check.runs == 1  # type: ignore[attr-defined]
        assert await cache.alookup("p", "l") is None  # a later call checks again
        assert cache.repository.connection_check.runs == 2  # type: ignore[attr-defined]
        assert cache.statistics.failed_open == 11
    finally:
        await cache.aclose()


async def test_outage_without_fail_open_raises_at_first_call(counted: dict[str, Any]) -> None:
    async with AsyncElasticsearchCache(
        "llm-cache", es_url=closed_port_url(), max_retries=0, es_params=counted
    ) as cache:
        with pytest.raises(BackendUnavailableError, match="connecting: cannot reach"):
            await cache.alookup("p", "l")


async def test_refused_credentials_raise_at_first_call_even_with_fail_open() -> None:
    with refusing_elasticsearch() as stub:
        async with AsyncElasticsearchCache(
            "llm-cache", es_url=stub.url, es_user="someone", es_password="wrong-pw", fail_open=True
        ) as cache:
            with pytest.raises(AuthenticationError, match="connecting: authentication failed"):
                await cache.alookup("p", "l")
        assert stub.requests[0] == ("GET", "/")
