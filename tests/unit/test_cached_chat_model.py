"""CachedChatModel in memory: every call path consults the cache; identical requests coalesce.

Model calls are counted exactly by a fake chat model (tests/fake_chat_model.py); timing is
never asserted. Gates in the fake hold the leader's call until the followers are waiting,
so the counts do not depend on thread scheduling.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.utils import message_chunk_to_message
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel

from langchain_elasticsearch_cache import (
    AsyncInMemoryLlmCache,
    AsyncInMemorySemanticCache,
    CachedChatModel,
    InMemoryLlmCache,
)
from tests.fake_chat_model import USAGE, CountingChatModel
from tests.fake_embeddings import HashedEmbeddings

TOOL_CALL = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}


def get_weather(city: str) -> str:
    """Weather in a city."""
    return f"sunny in {city}"


class Weather(BaseModel):
    """Weather in a city."""

    city: str


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


def _same_message(left: BaseMessage, right: BaseMessage) -> None:
    assert isinstance(left, AIMessage) and isinstance(right, AIMessage)
    assert left.content == right.content
    assert left.tool_calls == right.tool_calls
    assert left.usage_metadata == right.usage_metadata
    assert left.response_metadata == right.response_metadata
    assert left.id == right.id


def _until(condition: Callable[[], bool]) -> None:
    event = threading.Event()
    for _ in range(4000):
        if condition():
            return
        event.wait(0.005)
    raise AssertionError("condition not reached")


# -- the reason to exist ----------------------------------------------------------------


def test_langchain_core_still_does_not_cache_streams() -> None:
    model = CountingChatModel()
    set_llm_cache(InMemoryCache())
    model.invoke("hi")
    model.invoke("hi")
    assert model.probe.calls == 1  # invoke is cached by langchain-core...
    list(model.stream("hi"))
    list(model.stream("hi"))
    assert model.probe.calls == 3, (
        "langchain-core now consults the LLM cache when streaming: CachedChatModel's "
        "reason to exist (streams through the cache) must be re-checked"
    )


# -- keys shared with plain invoke ------------------------------------------------------


def test_streamed_answer_is_a_hit_for_plain_invoke_and_back() -> None:
    cache = InMemoryLlmCache()
    model = CountingChatModel(tool_calls=[TOOL_CALL])
    wrapped = CachedChatModel(model, cache)
    streamed = _aggregate(list(wrapped.stream("hello")))
    set_llm_cache(cache)
    plain = model.invoke("hello")  # langchain-core's own path, same key
    assert model.probe.calls == 1
    assert plain.content == streamed.content and plain.tool_calls == streamed.tool_calls

    model.invoke("other question")  # written by langchain-core
    assert model.probe.calls == 2
    set_llm_cache(None)
    replayed = _aggregate(list(wrapped.stream("other question")))
    assert model.probe.calls == 2
    assert replayed.content == model.reply and replayed.tool_calls == plain.tool_calls


def test_tools_bound_on_the_wrapper_reach_the_model_and_the_key() -> None:
    cache = InMemoryLlmCache()
    model = CountingChatModel(tool_calls=[TOOL_CALL])
    wrapped = CachedChatModel(model, cache)
    list(wrapped.bind_tools([get_weather]).stream("weather?"))
    assert model.probe.calls == 1
    assert model.probe.kwargs[0]["tools"][0]["function"]["name"] == "get_weather"
    set_llm_cache(cache)
    model.bind_tools([get_weather]).invoke("weather?")  # the same key: a hit
    assert model.probe.calls == 1
    model.invoke("weather?")  # without the tools: another key
    assert model.probe.calls == 2
    wrapped.bind_tools([get_weather], tool_choice="any").invoke("weather?")  # another key
    assert model.probe.calls == 3
    assert model.probe.kwargs[2]["tool_choice"] == "any"


def test_structured_output_goes_through_the_cache_with_the_models_key() -> None:
    cache = InMemoryLlmCache()
    model = CountingChatModel(
        tool_calls=[{"name": "Weather", "args": {"city": "Paris"}, "id": "call_1"}]
    )
    wrapped = CachedChatModel(model, cache)
    structured = wrapped.with_structured_output(Weather)
    assert structured.invoke("weather?") == Weather(city="Paris")
    assert structured.invoke("weather?") == Weather(city="Paris")
    assert model.probe.calls == 1
    set_llm_cache(cache)
    assert model.with_structured_output(Weather).invoke("weather?") == Weather(city="Paris")
    assert model.probe.calls == 1
    raw = wrapped.with_structured_output(Weather, include_raw=True).invoke("weather?")
    assert isinstance(raw, dict) and raw["parsed"] == Weather(city="Paris")
    assert model.probe.calls == 1


def test_bind_and_stop_are_part_of_the_key_as_for_the_model() -> None:
    cache = InMemoryLlmCache()
    model = CountingChatModel()
    wrapped = CachedChatModel(model, cache)
    wrapped.bind(temperature=0.5).invoke("q")
    wrapped.invoke("q", stop=["."])
    set_llm_cache(cache)
    model.bind(temperature=0.5).invoke("q")
    model.invoke("q", stop=["."])
    assert model.probe.calls == 2
    model.invoke("q")
    assert model.probe.calls == 3


def test_message_ids_do_not_change_the_key() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    wrapped.invoke([HumanMessage("q", id="1")])
    wrapped.invoke([HumanMessage("q", id="2")])
    assert model.probe.calls == 1


# -- streaming ----------------------------------------------------------------------------


def test_invoke_then_stream_is_one_call_and_the_replay_is_the_message() -> None:
    model = CountingChatModel(tool_calls=[TOOL_CALL])
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    original = wrapped.invoke("q")
    chunks = list(wrapped.stream("q"))
    assert model.probe.calls == 1
    assert all(isinstance(chunk, AIMessageChunk) for chunk in chunks)
    replayed = _aggregate(chunks)
    _same_message(replayed, original)
    assert replayed.usage_metadata == USAGE
    assert replayed.tool_calls == [dict(TOOL_CALL, type="tool_call")]


async def test_ainvoke_then_astream_is_one_call_and_the_replay_is_the_message() -> None:
    model = CountingChatModel(tool_calls=[TOOL_CALL])
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    original = await wrapped.ainvoke("q")
    chunks = [chunk async for chunk in wrapped.astream("q")]
    assert model.probe.calls == 1
    _same_message(_aggregate(chunks), original)


def test_stream_then_invoke_is_one_call() -> None:
    model = CountingChatModel(tool_calls=[TOOL_CALL])
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    streamed = _aggregate(list(wrapped.stream("q")))
    invoked = wrapped.invoke("q")
    assert model.probe.calls == 1
    _same_message(invoked, streamed)


async def test_astream_then_ainvoke_is_one_call() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model, AsyncInMemoryLlmCache())
    streamed = _aggregate([chunk async for chunk in wrapped.astream("q")])
    invoked = await wrapped.ainvoke("q")
    assert model.probe.calls == 1
    _same_message(invoked, streamed)


def test_a_miss_streams_chunks_as_the_model_produces_them() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    stream = wrapped.stream("q")
    first = next(stream)
    assert first.content == "the"
    assert model.probe.chunks_produced == 1  # nothing buffered ahead of the consumer
    rest = list(stream)
    assert len(rest) + 1 == len(list(model.stream("q")))


def test_an_abandoned_stream_writes_nothing() -> None:
    cache = InMemoryLlmCache()
    model = CountingChatModel()
    wrapped = CachedChatModel(model, cache)
    stream = wrapped.stream("q")
    next(stream)
    stream.close()
    assert len(wrapped._threads) == 0
    list(wrapped.stream("q"))
    assert model.probe.calls == 2  # the abandoned answer was not stored


async def test_an_abandoned_or_cancelled_astream_writes_nothing() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model, AsyncInMemoryLlmCache())
    stream = wrapped.astream("q")
    await stream.__anext__()
    await stream.aclose()

    model.probe.gate.clear()

    async def consume() -> None:
        async for _ in wrapped.astream("q"):
            pass

    task = asyncio.create_task(consume())
    for _ in range(1000):
        if model.probe.calls == 2:
            break
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    model.probe.gate.set()
    for _ in range(1000):  # the abandoned async generators are closed by the loop
        if len(wrapped._tasks) == 0:
            break
        await asyncio.sleep(0)
    assert len(wrapped._tasks) == 0
    [chunk async for chunk in wrapped.astream("q")]
    assert model.probe.calls == 3


def test_a_stream_that_raises_writes_nothing() -> None:
    model = CountingChatModel(failure=RuntimeError("connection reset"), fail_after_chunks=2)
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    received: list[AIMessageChunk] = []
    with pytest.raises(RuntimeError, match="connection reset"):
        for chunk in wrapped.stream("q"):
            received.append(chunk)
    assert len(received) == 2
    model.failure = None
    list(wrapped.stream("q"))
    assert model.probe.calls == 2
    assert len(wrapped._threads) == 0


# -- coalescing -----------------------------------------------------------------------------


async def test_100_concurrent_ainvoke_make_one_model_call() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    answers = await asyncio.gather(*(wrapped.ainvoke("same") for _ in range(100)))
    assert model.probe.calls == 1
    assert {answer.content for answer in answers} == {model.reply}
    assert len(wrapped._tasks) == 0


async def test_100_concurrent_ainvoke_coalesce_even_without_a_cache() -> None:
    model = CountingChatModel()
    model.probe.gate.clear()
    wrapped = CachedChatModel(model)
    tasks = [asyncio.create_task(wrapped.ainvoke("same")) for _ in range(100)]
    for _ in range(10_000):
        if wrapped._tasks.followers == 99:
            break
        await asyncio.sleep(0.001)
    model.probe.gate.set()
    answers = await asyncio.gather(*tasks)
    assert model.probe.calls == 1 and len(answers) == 100


def test_50_threads_make_one_model_call() -> None:
    model = CountingChatModel()
    model.probe.gate.clear()
    wrapped = CachedChatModel(model)  # no cache: only coalescing can share the call
    answers: list[BaseMessage] = []
    threads = [
        threading.Thread(target=lambda: answers.append(wrapped.invoke("same"))) for _ in range(50)
    ]
    for thread in threads:
        thread.start()
    _until(lambda: wrapped._threads.followers == 49)
    model.probe.gate.set()
    for thread in threads:
        thread.join()
    assert model.probe.calls == 1
    assert len(answers) == 50 and {answer.content for answer in answers} == {model.reply}
    assert len(wrapped._threads) == 0


def test_returned_messages_are_copies() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    first = wrapped.invoke("q")
    first.content = "edited by the caller"
    assert wrapped.invoke("q").content == model.reply


def test_a_batch_of_20_with_5_distinct_prompts_makes_5_calls() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    prompts = [f"question {i % 5}" for i in range(20)]
    answers = wrapped.batch(prompts)  # type: ignore[arg-type]
    assert model.probe.calls == 5 and len(answers) == 20


async def test_an_abatch_of_20_with_5_distinct_prompts_makes_5_calls() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model, AsyncInMemoryLlmCache())
    prompts = [f"question {i % 5}" for i in range(20)]
    answers = await wrapped.abatch(prompts)  # type: ignore[arg-type]
    assert model.probe.calls == 5 and len(answers) == 20


def test_a_failure_reaches_every_thread_as_the_same_error_and_writes_nothing() -> None:
    error = RuntimeError("model unavailable")
    model = CountingChatModel(failure=error)
    model.probe.gate.clear()
    cache = InMemoryLlmCache()
    wrapped = CachedChatModel(model, cache)
    caught: list[BaseException] = []

    def call() -> None:
        try:
            wrapped.invoke("same")
        except BaseException as raised:
            caught.append(raised)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    _until(lambda: wrapped._threads.followers == 9)
    model.probe.gate.set()
    for thread in threads:
        thread.join()
    assert model.probe.calls == 1
    assert len(caught) == 10 and all(raised is error for raised in caught)
    set_llm_cache(cache)
    assert cache.lookup(*_key(model, "same")) is None
    assert len(wrapped._threads) == 0


async def test_a_failure_reaches_every_task_as_the_same_error_and_writes_nothing() -> None:
    error = RuntimeError("model unavailable")
    model = CountingChatModel(failure=error)
    cache = AsyncInMemoryLlmCache()
    wrapped = CachedChatModel(model, cache)
    outcomes = await asyncio.gather(
        *(wrapped.ainvoke("same") for _ in range(30)), return_exceptions=True
    )
    assert model.probe.calls == 1
    assert all(outcome is error for outcome in outcomes)
    assert await cache.alookup(*_key(model, "same")) is None


def test_a_stream_and_an_invoke_of_one_request_share_the_call() -> None:
    model = CountingChatModel(tool_calls=[TOOL_CALL])
    model.probe.gate.clear()
    wrapped = CachedChatModel(model)  # no cache: the invoke can only follow the stream
    chunks: list[AIMessageChunk] = []
    invoked: list[BaseMessage] = []
    streamer = threading.Thread(target=lambda: chunks.extend(wrapped.stream("same")))
    streamer.start()
    _until(lambda: model.probe.calls == 1)
    invoker = threading.Thread(target=lambda: invoked.append(wrapped.invoke("same")))
    invoker.start()
    _until(lambda: wrapped._threads.followers == 1)
    model.probe.gate.set()
    streamer.join()
    invoker.join()
    assert model.probe.calls == 1
    _same_message(invoked[0], _aggregate(chunks))


async def test_a_streaming_follower_receives_the_final_message_as_one_chunk() -> None:
    model = CountingChatModel(tool_calls=[TOOL_CALL])
    model.probe.gate.clear()
    wrapped = CachedChatModel(model)

    async def collect() -> list[AIMessageChunk]:
        return [chunk async for chunk in wrapped.astream("same")]

    leader = asyncio.create_task(collect())
    follower = asyncio.create_task(collect())
    for _ in range(10_000):
        if wrapped._tasks.followers == 1:
            break
        await asyncio.sleep(0.001)
    model.probe.gate.set()
    led, followed = await leader, await follower
    assert model.probe.calls == 1
    assert len(led) > 1 and len(followed) == 1
    _same_message(_aggregate(followed), _aggregate(led))


async def test_followers_of_a_cancelled_leader_proceed_and_one_of_them_leads() -> None:
    model = CountingChatModel()
    model.probe.gate.clear()
    wrapped = CachedChatModel(model, AsyncInMemoryLlmCache())
    leader = asyncio.create_task(wrapped.ainvoke("same"))
    for _ in range(10_000):
        if model.probe.calls == 1:
            break
        await asyncio.sleep(0.001)
    followers = [asyncio.create_task(wrapped.ainvoke("same")) for _ in range(5)]
    for _ in range(10_000):
        if wrapped._tasks.followers == 5:
            break
        await asyncio.sleep(0.001)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    for _ in range(10_000):  # one follower now leads and waits at the gate
        if model.probe.calls == 2 and wrapped._tasks.followers == 4:
            break
        await asyncio.sleep(0.001)
    model.probe.gate.set()
    answers = await asyncio.gather(*followers)
    assert model.probe.calls == 2 and len(answers) == 5


async def test_a_follower_of_a_stuck_leader_proceeds_after_the_timeout() -> None:
    model = CountingChatModel()
    model.probe.gate.clear()
    wrapped = CachedChatModel(model, coalesce_timeout=0.05)
    stuck = asyncio.create_task(wrapped.ainvoke("same"))
    for _ in range(10_000):
        if model.probe.calls == 1:
            break
        await asyncio.sleep(0.001)
    follower = asyncio.create_task(wrapped.ainvoke("same"))
    for _ in range(10_000):
        if model.probe.calls == 2:  # the follower gave up waiting and called the model
            break
        await asyncio.sleep(0.005)
    assert model.probe.calls == 2
    model.probe.gate.set()
    await asyncio.gather(stuck, follower)


def test_coalesce_false_calls_the_model_per_request() -> None:
    model = CountingChatModel()
    model.probe.gate.clear()
    wrapped = CachedChatModel(model, coalesce=False)
    threads = [threading.Thread(target=lambda: wrapped.invoke("same")) for _ in range(5)]
    for thread in threads:
        thread.start()
    _until(lambda: model.probe.calls == 5)
    model.probe.gate.set()
    for thread in threads:
        thread.join()
    assert len(wrapped._threads) == 0


# -- composition and configuration ------------------------------------------------------------


def test_prompts_and_with_retry_compose() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    chain = ChatPromptTemplate.from_messages([("human", "{question}")]) | wrapped.with_retry()
    chain.invoke({"question": "q"})
    assert [chunk.content for chunk in chain.stream({"question": "q"})] == [model.reply]
    assert model.probe.calls == 1


def test_the_global_cache_is_read_at_each_call() -> None:
    model = CountingChatModel()
    wrapped = CachedChatModel(model)
    wrapped.invoke("q")
    set_llm_cache(InMemoryCache())
    wrapped.invoke("q")
    list(wrapped.stream("q"))
    assert model.probe.calls == 2


def test_the_wrapper_turns_langchain_cores_cache_path_off() -> None:
    model = CountingChatModel()
    cache = InMemoryLlmCache()
    wrapped = CachedChatModel(model, cache)
    assert wrapped.cache is False and wrapped.llm_cache is cache
    set_llm_cache(cache)
    wrapped.invoke("q")
    assert cache.statistics.operations["lookup"].calls == 1  # not twice (wrapper + inner)


def test_the_wait_follows_the_models_timeout_unless_given() -> None:
    class TimedModel(CountingChatModel):
        request_timeout: float | None = 7.0

    assert CachedChatModel(TimedModel())._wait_timeout() == 7.0
    assert CachedChatModel(TimedModel(), coalesce_timeout=3)._wait_timeout() == 3.0
    assert CachedChatModel(CountingChatModel())._wait_timeout() == 120.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"model": "gpt-4o"}, "wraps a chat model"),
        ({"model": CountingChatModel(), "cache": "yes"}, "BaseCache"),
        ({"model": CountingChatModel(), "coalesce_timeout": 0}, "coalesce_timeout"),
        ({"model": CountingChatModel(), "coalesce_timeout": float("inf")}, "coalesce_timeout"),
    ],
)
def test_bad_arguments_are_refused_clearly(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        CachedChatModel(**arguments)


# -- async-only caches name the class to use --------------------------------------------------


@pytest.mark.parametrize(
    ("cache", "twin"),
    [
        (AsyncInMemoryLlmCache(), "InMemoryLlmCache"),
        (AsyncInMemorySemanticCache(HashedEmbeddings()), "InMemorySemanticCache"),
    ],
)
def test_async_only_cache_under_invoke_names_the_synchronous_class(cache: Any, twin: str) -> None:
    set_llm_cache(cache)
    with pytest.raises(NotImplementedError) as raised:
        CountingChatModel().invoke("q")
    message = str(raised.value)
    assert f"use {twin}, which serves invoke and ainvoke alike" in message
    assert "model.invoke()" in message and "ainvoke" in message
    with pytest.raises(NotImplementedError, match=f"await aclear\\(\\), or use {twin}"):
        cache.clear()


def _key(model: CountingChatModel, prompt: str) -> tuple[str, str]:
    return CachedChatModel(model)._key([HumanMessage(prompt)], None, {})
