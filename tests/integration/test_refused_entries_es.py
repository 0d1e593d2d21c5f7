"""Entries the cluster refuses to store, on a real node with a small http.max_content_length.

A request over the limit gets HTTP 413. The cache says which entry, how large, and which
setting; with ``fail_open=True`` the caller still gets the model's answer, the refusal is
logged (rate-limited) and counted. A bulk request over the limit is split, so only an
entry too large on its own is refused.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_core.language_models.chat_models import SimpleChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    EntryRefusedError,
)
from lecache_devtools.node import LocalElasticsearchNode
from tests.fakes import RecordingEmbeddings

from ._nodes import local_node

pytestmark = pytest.mark.elasticsearch

LOGGER = "langchain_elasticsearch_cache"
LIMIT = 100 * 1024  # http.max_content_length of the node below
BIG = "an answer far too long to cache " * (2 * LIMIT // 32)  # about 200 kB


@pytest.fixture(scope="module")
def small_node(es_url: str) -> Iterator[LocalElasticsearchNode]:
    with local_node(settings={"http.max_content_length": "100kb"}) as node:
        yield node


@pytest.fixture
def index() -> str:
    return f"refused-{uuid.uuid4().hex}"


class SizedChatModel(SimpleChatModel):
    """Answers BIG to prompts asking for "everything", "short" otherwise. (Not a
    FakeListChatModel: its responses are in the LLM string stored with every entry.)"""

    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "sized-test-model"

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        return BIG if "everything" in str(messages[-1].content) else "short"


def _refusal_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and "refused to store an entry" in r.getMessage()
    ]


def test_oversized_answer_reaches_the_caller_under_fail_open(
    small_node: LocalElasticsearchNode, index: str, caplog: pytest.LogCaptureFixture
) -> None:
    with ElasticsearchCache(index, es_url=small_node.url, fail_open=True) as cache:
        model = SizedChatModel(cache=cache)
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            assert model.invoke("tell me everything").content == BIG
            assert model.invoke("tell me everything").content == BIG  # not cached: asked again
        assert model.calls == 2
        stats = cache.statistics
        assert (stats.refused, stats.writes, stats.failed_open) == (2, 0, 0)
        warnings = _refusal_warnings(caplog)
        assert len(warnings) == 1  # rate-limited: the second refusal is not repeated
        assert "http.max_content_length" in warnings[0]
        # entries that fit are cached as before
        assert model.invoke("short question").content == "short"
        assert model.invoke("short question").content == "short"
        assert model.calls == 3


def test_oversized_answer_without_fail_open_names_the_setting(
    small_node: LocalElasticsearchNode, index: str
) -> None:
    with ElasticsearchCache(index, es_url=small_node.url) as cache:
        with pytest.raises(EntryRefusedError) as refused:
            cache.update("prompt", "llm", [Generation(text=BIG)])
        message = str(refused.value)
        assert "http.max_content_length" in message
        assert "HTTP 413" in message
        assert cache.policy.key("prompt", "llm") in message
        assert "bytes" in message and "chunk_size" not in message
        assert refused.value.keys == (cache.policy.key("prompt", "llm"),)
        assert cache.statistics.refused == 1
        assert cache.lookup("prompt", "llm") is None


async def test_async_oversized_answer_reaches_the_caller_under_fail_open(
    small_node: LocalElasticsearchNode, index: str
) -> None:
    async with AsyncElasticsearchCache(index, es_url=small_node.url, fail_open=True) as cache:
        model = SizedChatModel(cache=cache)
        assert (await model.ainvoke("tell me everything")).content == BIG
        assert cache.statistics.refused == 1
        assert cache.statistics.writes == 0


def test_a_bulk_request_over_the_limit_is_split(
    small_node: LocalElasticsearchNode, index: str
) -> None:
    # each vector is about 11 kB in its document; 40 of them do not fit in one request
    with ElasticsearchEmbeddingsCache(index, es_url=small_node.url) as store:
        model = RecordingEmbeddings(size=400, embedded=[])
        embedder = CacheBackedEmbeddings.from_bytes_store(model, store, namespace="m")
        texts = [f"text {i}" for i in range(40)]
        first = embedder.embed_documents(texts)
        model.embedded.clear()
        assert embedder.embed_documents(texts) == first
        assert model.embedded == []  # every entry was stored
        assert store.statistics.refused == 0


def test_an_entry_too_large_alone_is_refused_in_a_bulk_write(
    small_node: LocalElasticsearchNode, index: str, caplog: pytest.LogCaptureFixture
) -> None:
    pairs = [("small", b"s"), ("huge", b"h" * LIMIT), ("other", b"o")]
    with ElasticsearchEmbeddingsCache(index, es_url=small_node.url) as strict:
        with pytest.raises(EntryRefusedError) as refused:
            strict.mset(pairs)
        message = str(refused.value)
        assert "http.max_content_length" in message
        assert strict.policy.key("huge") in message
        assert strict.policy.key("small") not in message
        assert strict.mget(["small", "huge", "other"]) == [b"s", None, b"o"]
    with ElasticsearchEmbeddingsCache(
        f"{index}-open", es_url=small_node.url, fail_open=True
    ) as lenient:
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            lenient.mset(pairs)
        assert lenient.statistics.refused == 1
        assert lenient.mget(["small", "huge", "other"]) == [b"s", None, b"o"]
        assert len(_refusal_warnings(caplog)) == 1


def test_oversized_vectors_reach_the_caller_under_fail_open(
    small_node: LocalElasticsearchNode, index: str
) -> None:
    with ElasticsearchEmbeddingsCache(index, es_url=small_node.url, fail_open=True) as store:
        model = RecordingEmbeddings(size=8000, embedded=[])  # about 200 kB per vector
        embedder = CacheBackedEmbeddings.from_bytes_store(model, store, namespace="m")
        vectors = embedder.embed_documents(["one", "two"])
        assert [len(vector) for vector in vectors] == [8000, 8000]
        assert store.statistics.refused == 2
