"""A ready ``client=`` and the connection options that would build one do not mix, and
errors met through a given client point at that client, not at options never given."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    BackendUnavailableError,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)

SYNC = [ElasticsearchCache, ElasticsearchEmbeddingsCache]
ASYNC = [AsyncElasticsearchCache, AsyncElasticsearchEmbeddingsCache]


def closed_port_url() -> str:
    """A URL nothing listens on: a real refused connection, no mock."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


IGNORED_OPTIONS: list[dict[str, Any]] = [
    {"es_url": "http://other:9200"},
    {"es_cloud_id": "my-deployment:ZXhhbXBsZS5pbyRhYmMkZGVm"},
    {"es_api_key": "a2V5"},
    {"es_user": "elastic", "es_password": "changeme"},
    {"es_params": {"request_timeout": 3}},
    {"ca_certs": "/etc/ssl/ca.crt"},
    {"verify_certs": False},
    {"request_timeout": 2},
    {"max_retries": 0},
]


@pytest.mark.parametrize("options", IGNORED_OPTIONS, ids=lambda o: "+".join(o))
@pytest.mark.parametrize("cls", SYNC)
def test_sync_client_with_connection_options_is_refused(cls: type, options: dict[str, Any]) -> None:
    with (
        Elasticsearch("http://localhost:9200") as client,
        pytest.raises(ConfigurationError) as raised,
    ):
        cls("llm-cache", client=client, **options)
    text = str(raised.value)
    for name in options:
        assert name in text
    assert "pass either client= or the connection options" in text
    for value in ("changeme", "a2V5"):
        assert value not in text  # names only, never values


@pytest.mark.parametrize("options", IGNORED_OPTIONS, ids=lambda o: "+".join(o))
@pytest.mark.parametrize("cls", ASYNC)
async def test_async_client_with_connection_options_is_refused(
    cls: type, options: dict[str, Any]
) -> None:
    client = AsyncElasticsearch("http://localhost:9200")
    try:
        with pytest.raises(ConfigurationError, match="client= is given together with"):
            cls("llm-cache", client=client, **options)
    finally:
        await client.close()


def test_sync_error_through_a_given_client_names_the_client() -> None:
    with Elasticsearch(closed_port_url(), max_retries=0) as client:
        cache = ElasticsearchCache("llm-cache", client=client)
        with pytest.raises(BackendUnavailableError) as raised:
            cache.lookup("p", "l")
    text = str(raised.value)
    assert "connection refused" in text
    assert "the hosts of the client you passed" in text
    assert "es_url" not in text and "es_cloud_id" not in text


async def test_async_error_through_a_given_client_names_the_client() -> None:
    client = AsyncElasticsearch(closed_port_url(), max_retries=0)
    try:
        store = AsyncElasticsearchEmbeddingsCache("emb-cache", client=client)
        with pytest.raises(BackendUnavailableError) as raised:
            await store.amget(["k"])
    finally:
        await client.close()
    text = str(raised.value)
    assert "the hosts of the client you passed" in text
    assert "es_url" not in text


def test_error_through_a_client_built_from_es_url_names_es_url() -> None:
    with pytest.raises(BackendUnavailableError) as raised:
        ElasticsearchCache("llm-cache", es_url=closed_port_url(), max_retries=0)
    assert "check es_url / es_cloud_id" in str(raised.value)
