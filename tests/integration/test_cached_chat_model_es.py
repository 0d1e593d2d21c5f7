"""CachedChatModel over the Elasticsearch caches on the real node: streams are stored and
served, with the keys plain ``invoke`` uses, and concurrent duplicates make one call.

The answers go through the real serialisation (``dumps``/``loads`` into documents), so the
replayed message's tool calls and usage are what Elasticsearch gave back.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import message_chunk_to_message

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchSemanticCache,
    CachedChatModel,
    ElasticsearchCache,
    ElasticsearchSemanticCache,
)
from langchain_elasticsearch_cache.interfaces.langchain.wordllama import WordLlamaEmbeddings
from tests.fake_chat_model import USAGE, CountingChatModel

pytestmark = pytest.mark.elasticsearch

TOOL_CALL = {"name": "get_weather", "args": {"city": "Paris", "days": 3}, "id": "call_1"}
QUESTION = "Who wrote Pride and Prejudice?"
PARAPHRASE = "Who is the author of Pride and Prejudice?"


@pytest.fixture(autouse=True)
def _no_global_cache() -> Iterator[None]:
    set_llm_cache(None)
    yield
    set_llm_cache(None)


def _aggregate(chunks: list[AIMessageChunk]) -> BaseMessage:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return message_chunk_to_message(merged)


def _same(left: BaseMessage, right: BaseMessage) -> None:
    assert isinstance(left, AIMessage) and isinstance(right, AIMessage)
    assert (left.content, left.tool_calls, left.usage_metadata, left.response_metadata) == (
        right.content,
        right.tool_calls,
        right.usage_metadata,
        right.response_metadata,
    )


def test_exact_cache_stream_and_invoke_share_entries_both_ways(
    es_url: str, index_name: str
) -> None:
    with ElasticsearchCache(index_name, es_url=es_url) as cache:
        model = CountingChatModel(tool_calls=[TOOL_CALL])
        wrapped = CachedChatModel(model, cache)
        streamed = _aggregate(list(wrapped.stream("weather in Paris?")))
        replayed_chunks = list(wrapped.stream("weather in Paris?"))
        assert model.probe.calls == 1 and len(replayed_chunks) == 1
        _same(_aggregate(replayed_chunks), streamed)
        assert _aggregate(replayed_chunks).usage_metadata == USAGE

        set_llm_cache(cache)
        plain = model.invoke("weather in Paris?")  # langchain-core reads the streamed entry
        assert model.probe.calls == 1 and plain.tool_calls == streamed.tool_calls

        original = model.invoke("another question")  # langchain-core writes
        assert model.probe.calls == 2
        set_llm_cache(None)
        _same(_aggregate(list(wrapped.stream("another question"))), original)
        assert model.probe.calls == 2


def test_exact_cache_threads_and_batch_coalesce(es_url: str, index_name: str) -> None:
    with ElasticsearchCache(index_name, es_url=es_url) as cache:
        model = CountingChatModel()
        model.probe.gate.clear()
        wrapped = CachedChatModel(model, cache)
        threads = [threading.Thread(target=lambda: wrapped.invoke("same")) for _ in range(20)]
        for thread in threads:
            thread.start()
        for _ in range(4000):
            if wrapped._threads.followers == 19:
                break
            threading.Event().wait(0.005)
        model.probe.gate.set()
        for thread in threads:
            thread.join()
        assert model.probe.calls == 1
        wrapped.batch([f"question {i % 5}" for i in range(20)])  # type: ignore[arg-type]
        assert model.probe.calls == 6


async def test_async_exact_cache_astream_ainvoke_and_concurrency(
    es_url: str, index_name: str
) -> None:
    async with AsyncElasticsearchCache(index_name, es_url=es_url) as cache:
        model = CountingChatModel(tool_calls=[TOOL_CALL])
        wrapped = CachedChatModel(model, cache)
        answers = await asyncio.gather(*(wrapped.ainvoke("same") for _ in range(50)))
        assert model.probe.calls == 1 and len(answers) == 50
        replay = _aggregate([chunk async for chunk in wrapped.astream("same")])
        _same(replay, answers[0])
        streamed = _aggregate([chunk async for chunk in wrapped.astream("streamed first")])
        _same(await wrapped.ainvoke("streamed first"), streamed)
        assert model.probe.calls == 2

        stream = wrapped.astream("abandoned")
        await stream.__anext__()
        await stream.aclose()
        for _ in range(1000):
            if len(wrapped._tasks) == 0:
                break
            await asyncio.sleep(0)
        [chunk async for chunk in wrapped.astream("abandoned")]
        assert model.probe.calls == 4  # nothing was stored by the abandoned stream


def test_semantic_cache_streams_hit_exactly_and_by_meaning(es_url: str, index_name: str) -> None:
    with ElasticsearchSemanticCache(
        index_name, WordLlamaEmbeddings(), es_url=es_url, refresh="wait_for"
    ) as cache:
        model = CountingChatModel(reply="Jane Austen")
        wrapped = CachedChatModel(model, cache)
        streamed = _aggregate(list(wrapped.stream(QUESTION)))
        set_llm_cache(cache)
        assert model.invoke(QUESTION).content == "Jane Austen"  # exact GET of the streamed entry
        set_llm_cache(None)
        paraphrased = _aggregate(list(wrapped.stream(PARAPHRASE)))  # kNN hit, replayed
        assert model.probe.calls == 1
        _same(paraphrased, streamed)


async def test_async_semantic_cache_astream_and_a_clear_message_for_invoke(
    es_url: str, index_name: str
) -> None:
    async with AsyncElasticsearchSemanticCache(
        index_name, WordLlamaEmbeddings(), es_url=es_url, refresh="wait_for"
    ) as cache:
        model = CountingChatModel(reply="Jane Austen")
        wrapped = CachedChatModel(model, cache)
        first = _aggregate([chunk async for chunk in wrapped.astream(QUESTION)])
        again = await wrapped.ainvoke(PARAPHRASE)
        assert model.probe.calls == 1
        _same(again, first)
        with pytest.raises(NotImplementedError, match="use ElasticsearchSemanticCache, which"):
            await asyncio.to_thread(wrapped.invoke, QUESTION)
