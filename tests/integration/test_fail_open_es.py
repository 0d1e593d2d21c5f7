"""Fail-open against a real Elasticsearch node that is killed and restarted.

A node of its own is started for this module (the session's node is never killed). A
cached chat model keeps answering while the node is down, the outage is counted and
logged a handful of times (not once per call), and hits resume after the restart with
the same cache objects. Fail-open hides outages only: a mapping error, refused
credentials or a bad URL still raise.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.load import dumps
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import Generation
from pydantic import Field

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AuthenticationError,
    BackendUnavailableError,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import LLM_PROPERTIES
from lecache_devtools.node import DEFAULT_VERSION, LocalElasticsearchNode

from ._http_stub import refusing_elasticsearch

pytestmark = pytest.mark.elasticsearch

LOGGER = "langchain_elasticsearch_cache"
FAST_FAILURE: dict[str, Any] = {"request_timeout": 3, "max_retries": 0}


class EchoChatModel(FakeListChatModel):
    """Answers ``answer to <prompt>`` and counts the calls that reach it."""

    responses: list[str] = Field(default_factory=lambda: ["unused"])
    calls: int = 0

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        return answer(str(messages[-1].content))


def answer(prompt: str) -> str:
    return f"answer to {prompt}"


def prompt_key(prompt: str) -> str:
    """The ``prompt`` argument a chat model passes to the cache for one human message."""
    return dumps([HumanMessage(content=prompt)])


def our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(LOGGER) and r.levelno >= logging.WARNING
    ]


def client_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Warnings the Elasticsearch client logged (one or more per failed request)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("elastic_transport") and r.levelno >= logging.WARNING
    ]


@pytest.fixture(scope="module")
def spare_node() -> Iterator[LocalElasticsearchNode]:
    """A node of this module's own, to kill and restart."""
    node = LocalElasticsearchNode(os.environ.get("LECACHE_ES_VERSION") or DEFAULT_VERSION)
    try:
        node.start()
        yield node
    finally:
        node.stop()


async def test_outage_fails_open_and_hits_resume_after_restart(
    spare_node: LocalElasticsearchNode, caplog: pytest.LogCaptureFixture
) -> None:
    url = spare_node.url
    index = f"fail-open-{uuid.uuid4().hex}"
    cache = ElasticsearchCache(index, es_url=url, fail_open=True, **FAST_FAILURE)
    acache = AsyncElasticsearchCache(f"{index}-async", es_url=url, fail_open=True, **FAST_FAILURE)
    strict = ElasticsearchCache(index, es_url=url, **FAST_FAILURE)
    store = ElasticsearchEmbeddingsCache(
        f"{index}-emb", es_url=url, fail_open=True, namespace="m", **FAST_FAILURE
    )
    model = EchoChatModel(cache=cache)
    amodel = EchoChatModel(cache=acache)
    prompts = [f"question {i}" for i in range(10)]
    late: ElasticsearchCache | None = None
    try:
        # -- up: misses, then hits
        for prompt in prompts:
            assert model.invoke(prompt).content == answer(prompt)
            assert (await amodel.ainvoke(prompt)).content == answer(prompt)
        for prompt in prompts:
            assert model.invoke(prompt).content == answer(prompt)
            assert (await amodel.ainvoke(prompt)).content == answer(prompt)
        assert (model.calls, amodel.calls) == (10, 10)
        store.mset([("a", b"vector-a")])
        before = cache.statistics
        assert (before.hits, before.misses, before.failed_open) == (10, 10, 0)

        # -- down: every call is answered by the model, nothing raises
        spare_node.kill()
        caplog.clear()  # (the test node answers the constructors' GET / with a logged 405)
        outage_prompts = prompts + [f"new question {i}" for i in range(10)]
        with caplog.at_level(logging.WARNING):
            for prompt in outage_prompts:
                assert model.invoke(prompt).content == answer(prompt)
                assert (await amodel.ainvoke(prompt)).content == answer(prompt)
            assert store.mget(["a", "b"]) == [None, None]
            store.mset([("b", b"vector-b")])
            outage_warnings = our_warnings(caplog)
            client_warnings = client_lines(caplog)
            caplog.clear()

            # without fail_open the outage surfaces
            with pytest.raises(BackendUnavailableError):
                strict.lookup("question 0", "llm")
            with pytest.raises(BackendUnavailableError):
                EchoChatModel(cache=strict).invoke("question 0")
            # the client's own per-request warnings are silenced only for fail-open calls
            assert client_lines(caplog), "a strict cache's failed requests are still logged"

            # a fail-open cache can be created while Elasticsearch is down; a strict one not
            caplog.clear()
            late = ElasticsearchCache(index, es_url=url, fail_open=True, **FAST_FAILURE)
            assert any("while the cache is created" in m for m in our_warnings(caplog))
            assert late.lookup(prompt_key("question 0"), model._get_llm_string()) is None
            with pytest.raises(BackendUnavailableError):
                ElasticsearchCache(index, es_url=url, **FAST_FAILURE)

        assert model.calls == 10 + len(outage_prompts)
        assert amodel.calls == 10 + len(outage_prompts)
        stats = cache.statistics
        # one failed lookup and one failed write per call
        assert stats.failed_open == 2 * len(outage_prompts)
        assert stats.operations["lookup"].failed_open == len(outage_prompts)
        assert stats.errors == stats.failed_open
        assert (stats.hits, stats.misses) == (before.hits, before.misses)
        assert acache.statistics.failed_open == 2 * len(outage_prompts)
        assert store.statistics.failed_open == 2
        # rate-limited: one warning per cache object for 82 failed calls, not one per call
        unavailable = [m for m in outage_warnings if "unavailable" in m]
        assert 1 <= len(unavailable) <= 3, outage_warnings
        assert all("fail_open=True" in m for m in unavailable)
        # ... and the client's per-request lines ("node failed", "retrying") are not added
        assert client_warnings == [], client_warnings

        # -- up again: same objects, hits resume (the entries survived the crash)
        spare_node.restart()
        caplog.clear()
        calls = model.calls
        with caplog.at_level(logging.WARNING):
            for prompt in prompts:
                assert model.invoke(prompt).content == answer(prompt)
                assert (await amodel.ainvoke(prompt)).content == answer(prompt)
        assert model.calls == calls  # every one a hit
        assert amodel.calls == calls
        assert any("answering again" in m for m in our_warnings(caplog))
        assert cache.statistics.hits == before.hits + len(prompts)
        assert store.mget(["a", "b"]) == [b"vector-a", None]  # "b" was written during the outage

        # the cache created during the outage works now
        hit = late.lookup(prompt_key("question 1"), model._get_llm_string())
        assert hit is not None and hit[0].text == answer("question 1")
        late.update("late entry", "llm", [Generation(text="late")])
        assert late.lookup("late entry", "llm") == [Generation(text="late")]
        assert strict.lookup("late entry", "llm") == [Generation(text="late")]
    finally:
        for closing in (cache, strict, store, late):
            if closing is not None:
                closing.close()
        await acache.aclose()


def test_mapping_errors_are_not_hidden_by_fail_open(
    es_client: Elasticsearch, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An index made by something else, with llm_output as a number: a configuration
    problem, not an outage, found at the first lookup before the model is called."""
    properties = {**LLM_PROPERTIES, "llm_output": {"type": "long"}}
    es_client.indices.create(index=index_name, mappings={"properties": properties})
    cache = ElasticsearchCache(index_name, client=es_client, fail_open=True)
    model = EchoChatModel(cache=cache)
    with caplog.at_level(logging.WARNING), pytest.raises(ConfigurationError) as info:
        model.invoke("question")
    assert "'llm_output' is mapped as type 'long'" in str(info.value)
    assert not isinstance(info.value, BackendUnavailableError)
    assert model.calls == 0
    stats = cache.statistics
    assert (stats.errors, stats.failed_open) == (1, 0)
    assert not [m for m in our_warnings(caplog) if "fail_open" in m]


def test_refused_credentials_are_not_hidden_by_fail_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A real 401 over a real socket, from a stub answering like a secured cluster."""
    with refusing_elasticsearch() as stub:
        # at construction: the connection check gets the 401
        with pytest.raises(AuthenticationError, match="authentication failed"):
            ElasticsearchCache("cache", es_url=stub.url, es_api_key="not-the-key", fail_open=True)
        # at the first operation: a client built elsewhere (never checked)
        client = Elasticsearch(stub.url, api_key="not-the-key", max_retries=0)
        try:
            cache = ElasticsearchCache("cache", client=client, fail_open=True)
            model = EchoChatModel(cache=cache)
            with caplog.at_level(logging.WARNING):
                with pytest.raises(AuthenticationError):
                    cache.lookup("question", "llm")
                with pytest.raises(AuthenticationError):
                    model.invoke("question")
                store = ElasticsearchEmbeddingsCache("cache", client=client, fail_open=True)
                with pytest.raises(AuthenticationError):
                    store.mget(["a"])
            assert cache.statistics.failed_open == 0
            assert not [m for m in our_warnings(caplog) if "fail_open" in m]
        finally:
            client.close()
        assert stub.authorizations  # the credentials really were sent, and refused
        assert all(auth == "ApiKey not-the-key" for auth in stub.authorizations)


def test_bad_configuration_raises_at_construction_even_with_fail_open() -> None:
    with pytest.raises(ConfigurationError, match="not a URL"):
        ElasticsearchCache("cache", es_url="localhost:9200", fail_open=True)
    with pytest.raises(ConfigurationError):
        ElasticsearchCache("Not A Valid Name", es_url="http://127.0.0.1:9", fail_open=True)
