"""Every class closes what it opened: no unclosed socket or session, sync or async.

Caches that own their client (``es_url=...``) close it in ``close()`` / ``aclose()`` and
on leaving a ``with`` / ``async with`` block; so do the repositories. Constructions that
fail (bad credentials, an unreachable cluster, bad options) leave nothing open either.
Checked by recording warnings (``ResourceWarning`` for a socket, the "Unclosed client
session" error aiohttp logs) around a ``gc.collect()``; controls show that the check does
see a socket or an aiohttp session dropped without being closed.
"""

from __future__ import annotations

import gc
import logging
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from elasticsearch import AsyncElasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    AsyncElasticsearchRepository,
    AsyncInMemoryRepository,
    BackendUnavailableError,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    ElasticsearchRepository,
    InMemoryRepository,
    create_async_elasticsearch_client,
    create_elasticsearch_client,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import LLM_RECORDS

pytestmark = pytest.mark.elasticsearch

UNREACHABLE = "http://127.0.0.1:9"


class _Leaks:
    def __init__(self) -> None:
        self.warnings: list[warnings.WarningMessage] = []
        self.logged: list[logging.LogRecord] = []

    @property
    def found(self) -> list[str]:
        found = [str(w.message) for w in self.warnings if issubclass(w.category, ResourceWarning)]
        found += [r.getMessage() for r in self.logged if "nclosed" in r.getMessage()]
        return found


@contextmanager
def _watch_for_leaks(caplog: pytest.LogCaptureFixture) -> Iterator[_Leaks]:
    leaks = _Leaks()
    gc.collect()
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR):
        warnings.simplefilter("always")
        yield leaks
        gc.collect()
        gc.collect()
    leaks.warnings = list(caught)
    leaks.logged = list(caplog.records)


def test_the_check_sees_a_socket_left_open(es_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """(urllib3 2 closes the sockets of a pool it finalises, so a dropped synchronous
    client leaks nothing; a bare socket shows that the check does see a leak.)"""
    host, port = es_url.rsplit("/", 1)[-1].rsplit(":", 1)
    with _watch_for_leaks(caplog) as leaks:
        connection = socket.create_connection((host, int(port)))
        del connection
    assert leaks.found, "a socket dropped open should warn: the check is blind"


def test_sync_classes_close_their_clients(
    es_url: str, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with _watch_for_leaks(caplog) as leaks:
        for _ in range(3):
            with ElasticsearchCache(index_name, es_url=es_url) as cache:
                cache.update("p", "l", [Generation(text="a")])
                assert cache.lookup("p", "l")
            store = ElasticsearchEmbeddingsCache(f"{index_name}-emb", es_url=es_url)
            store.mset([("k", b"v")])
            assert store.mget(["k"]) == [b"v"]
            store.close()
            store.close()  # idempotent
            client = create_elasticsearch_client(es_url)
            with ElasticsearchRepository(client, index_name, LLM_RECORDS, owns_client=True) as r:
                assert r.count() >= 1
            with InMemoryRepository[object]():
                pass
        # failed constructions leave nothing open
        with pytest.raises(ConfigurationError):
            ElasticsearchCache(index_name, es_url=es_url, metadata={"x": object()})
        with pytest.raises(BackendUnavailableError):
            ElasticsearchCache(index_name, es_url=UNREACHABLE, max_retries=0)
        with pytest.raises(ConfigurationError):
            ElasticsearchCache(index_name, es_url=es_url, es_cloud_id="name:abc")
    assert leaks.found == []


async def test_async_classes_close_their_clients(
    es_url: str, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with _watch_for_leaks(caplog) as leaks:
        for _ in range(3):
            async with AsyncElasticsearchCache(index_name, es_url=es_url) as cache:
                await cache.aupdate("p", "l", [Generation(text="a")])
                assert await cache.alookup("p", "l")
            store = AsyncElasticsearchEmbeddingsCache(f"{index_name}-emb", es_url=es_url)
            await store.amset([("k", b"v")])
            assert await store.amget(["k"]) == [b"v"]
            await store.aclose()
            await store.aclose()  # idempotent
            client = create_async_elasticsearch_client(es_url)
            async with AsyncElasticsearchRepository(
                client, index_name, LLM_RECORDS, owns_client=True
            ) as repository:
                assert await repository.count() >= 1
            async with AsyncInMemoryRepository[object]():
                pass
            # created and closed without ever being used
            await AsyncElasticsearchCache(index_name, es_url=es_url).aclose()
        unreachable = AsyncElasticsearchCache(index_name, es_url=UNREACHABLE, max_retries=0)
        with pytest.raises(BackendUnavailableError):
            await unreachable.alookup("p", "l")
        await unreachable.aclose()
    assert leaks.found == []


async def test_the_async_check_sees_a_session_left_open(
    es_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with _watch_for_leaks(caplog) as leaks:
        client = AsyncElasticsearch(es_url)
        await client.cluster.health()
        del client
    assert leaks.found, "an aiohttp session dropped open should be reported"
