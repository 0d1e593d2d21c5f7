"""elasticsearch-py 9 against a real Elasticsearch 8 node: a clear ConfigurationError.

Client 9 sends ``compatible-with=9``, which an 8.x server refuses on every request (HTTP
400 ``media_type_header_exception``; no body at all for a ``HEAD``). Each way a user meets
that must say which client and server it is and how to fix it, never the raw HTTP 400.

These tests need client 9 installed: ``tests/conftest.py`` deselects them (and says so)
elsewhere, and row 2 of ``scripts/test.sh`` runs them. They start their own 8.19.9 node.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import elasticsearch
import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)
from lecache_devtools.node import LocalElasticsearchNode

pytestmark = pytest.mark.client9_against_es8

ES8_VERSION = "8.19.9"
FIX = 'pip install "elasticsearch>=8.13,<9"'


@pytest.fixture(scope="module")
def es8_url() -> Iterator[str]:
    assert elasticsearch.__versionstr__.startswith("9."), (
        f"these tests need elasticsearch-py 9, not {elasticsearch.__versionstr__}"
    )
    node = LocalElasticsearchNode(ES8_VERSION, heap="512m")
    try:
        url = node.start()
    except Exception as error:  # a missing node must fail, never pass
        node.stop()
        pytest.fail(f"Elasticsearch {ES8_VERSION} did not start: {error}", pytrace=False)
    try:
        yield url
    finally:
        node.stop()


def assert_mismatch(error: BaseException, *, server_known: bool = True) -> None:
    text = str(error)
    assert isinstance(error, ConfigurationError), text
    assert f"elasticsearch-py {elasticsearch.__versionstr__}" in text
    assert ("Elasticsearch 8.x" if server_known else "older than 9.x") in text
    assert FIX in text
    assert "no reason given" not in text


@pytest.mark.parametrize("cls", [ElasticsearchCache, ElasticsearchEmbeddingsCache])
@pytest.mark.parametrize("fail_open", [False, True])
def test_sync_classes_refuse_at_construction(es8_url: str, cls: type, fail_open: bool) -> None:
    with pytest.raises(ConfigurationError) as raised:
        cls("llm-cache", es_url=es8_url, fail_open=fail_open)
    assert_mismatch(raised.value)


@pytest.mark.parametrize("fail_open", [False, True])
async def test_async_llm_cache_refuses_at_first_call(es8_url: str, fail_open: bool) -> None:
    cache = AsyncElasticsearchCache("llm-cache", es_url=es8_url, fail_open=fail_open)
    try:
        with pytest.raises(ConfigurationError) as raised:
            await cache.alookup("prompt", "llm")
        assert_mismatch(raised.value)
        with pytest.raises(ConfigurationError):  # and again: misconfiguration is not cached away
            await cache.aupdate("prompt", "llm", [Generation(text="x")])
    finally:
        await cache.aclose()


async def test_async_embeddings_cache_refuses_at_first_call(es8_url: str) -> None:
    store = AsyncElasticsearchEmbeddingsCache("emb-cache", es_url=es8_url, fail_open=True)
    try:
        with pytest.raises(ConfigurationError) as raised:
            await store.amget(["k"])
        assert_mismatch(raised.value)
    finally:
        await store.aclose()


def test_given_sync_client_refused_at_first_call(es8_url: str) -> None:
    with Elasticsearch(es8_url) as client:
        cache = ElasticsearchCache("llm-cache", client=client)
        with pytest.raises(ConfigurationError) as raised:
            cache.lookup("prompt", "llm")  # a HEAD first: no body to read the versions from
    assert_mismatch(raised.value, server_known=False)


async def test_given_async_client_refused_at_first_call(es8_url: str) -> None:
    client = AsyncElasticsearch(es8_url)
    try:
        cache = AsyncElasticsearchCache("llm-cache", client=client)
        with pytest.raises(ConfigurationError) as raised:
            await cache.alookup("prompt", "llm")
        assert_mismatch(raised.value, server_known=False)
    finally:
        await client.close()


@pytest.mark.parametrize("command", [["stats", "llm-cache"], ["export", "llm-cache"]])
def test_cli_exits_2_with_the_fix(es8_url: str, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "langchain-elasticsearch-cache"), *command],
        env={**env, "ES_URL": es8_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert FIX in done.stderr
    assert "Elasticsearch 8.x" in done.stderr
    assert done.stdout == ""
