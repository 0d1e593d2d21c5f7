"""CachedChatModel as a LangGraph node: repeated runs are answered from the cache, and a
streamed graph run (``stream_mode="messages"``) emits each token once.

LangGraph streams a chat model's tokens by listening to every chat model run under a node;
the wrapper's run and the wrapped model's run both see the same tokens, so the wrapped
model's run must be tagged ``nostream`` (langchain-core gives ``_stream`` no run manager,
so the tag cannot come from a child callback manager there). Model calls are counted
exactly by tests/fake_chat_model.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from langchain_elasticsearch_cache import CachedChatModel, InMemoryLlmCache
from tests.fake_chat_model import CountingChatModel

REPLY = "the answer is forty two"


@pytest.fixture(autouse=True)
def _no_global_cache() -> Iterator[None]:
    set_llm_cache(None)
    yield
    set_llm_cache(None)


def _graph(chat: CachedChatModel, *, streaming_node: bool = False) -> Any:
    """START -> llm -> END; the node invokes (or streams and aggregates) the chat model."""

    def call(state: MessagesState) -> dict[str, list[BaseMessage]]:
        if streaming_node:
            chunks = list(chat.stream(state["messages"]))
            merged = chunks[0]
            for chunk in chunks[1:]:
                merged = merged + chunk
            return {"messages": [merged]}
        return {"messages": [chat.invoke(state["messages"])]}

    async def acall(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [await chat.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("llm", call, afunc=acall)  # type: ignore[call-overload]
    builder.add_edge(START, "llm")
    builder.add_edge("llm", END)
    return builder.compile()


def _words(reply: str) -> list[str]:
    """The fake's text chunks, as it streams them: ``"the"``, ``" answer"``, ..."""
    words = reply.split(" ")
    return [words[0], *(" " + word for word in words[1:])]


def _streamed(graph: Any, question: str) -> list[BaseMessage]:
    inputs = {"messages": [HumanMessage(question)]}
    return [message for message, _ in graph.stream(inputs, stream_mode="messages")]


def test_a_graph_run_twice_with_the_same_input_calls_the_model_once() -> None:
    model = CountingChatModel(reply=REPLY)
    graph = _graph(CachedChatModel(model, InMemoryLlmCache()))
    inputs = {"messages": [HumanMessage("What is a cache?")]}
    first = graph.invoke(inputs)
    second = graph.invoke(inputs)
    assert model.probe.calls == 1
    for state in (first, second):
        answer = state["messages"][-1]
        assert isinstance(answer, AIMessage) and answer.content == REPLY
    graph.invoke({"messages": [HumanMessage("Another question")]})
    assert model.probe.calls == 2


async def test_an_async_graph_run_twice_calls_the_model_once() -> None:
    model = CountingChatModel(reply=REPLY)
    graph = _graph(CachedChatModel(model, InMemoryLlmCache()))
    inputs = {"messages": [HumanMessage("What is a cache?")]}
    answers = [(await graph.ainvoke(inputs))["messages"][-1] for _ in range(2)]
    assert model.probe.calls == 1
    assert [answer.content for answer in answers] == [REPLY, REPLY]


@pytest.mark.parametrize("streaming_node", [False, True], ids=["node invokes", "node streams"])
def test_a_streamed_graph_run_emits_each_token_once_then_the_hit_once(
    streaming_node: bool,
) -> None:
    model = CountingChatModel(reply=REPLY)
    graph = _graph(CachedChatModel(model, InMemoryLlmCache()), streaming_node=streaming_node)

    miss = _streamed(graph, "What is a cache?")
    assert model.probe.calls == 1
    assert all(isinstance(message, AIMessageChunk) for message in miss), miss
    texts = [message.content for message in miss if message.content]
    assert texts == _words(REPLY), "tokens duplicated or lost in stream_mode='messages'"
    assert len({message.id for message in miss}) == 1, "chunks of two runs were emitted"

    hit = _streamed(graph, "What is a cache?")
    assert model.probe.calls == 1
    assert [message.content for message in hit] == [REPLY]


async def test_an_async_streamed_graph_run_emits_each_token_once() -> None:
    model = CountingChatModel(reply=REPLY)
    graph = _graph(CachedChatModel(model, InMemoryLlmCache()))
    inputs = {"messages": [HumanMessage("What is a cache?")]}
    runs = []
    for _ in range(2):
        runs.append([message async for message, _ in graph.astream(inputs, stream_mode="messages")])
    miss, hit = runs
    assert model.probe.calls == 1
    assert [message.content for message in miss if message.content] == _words(REPLY)
    assert [message.content for message in hit] == [REPLY]
