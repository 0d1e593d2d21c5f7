"""A counting fake chat model for the CachedChatModel tests (unit and integration).

It answers with a fixed message (text, optionally tool calls, usage and response
metadata), streamed as several chunks; it counts every call that reaches it, can hold
each call at a gate until a test opens it, and can fail. The counters and the gate are
shared objects, so the copy ``CachedChatModel`` makes (``cache=False``) counts in them too.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

USAGE = {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}


class Probe:
    """What reached the model: call count, chunks produced, and a gate holding calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.chunks_produced = 0
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.kwargs: list[dict[str, Any]] = []

    def enter(self, kwargs: dict[str, Any]) -> None:
        with self._lock:
            self.calls += 1
            self.kwargs.append(dict(kwargs))
        self.entered.set()

    def produced(self) -> None:
        with self._lock:
            self.chunks_produced += 1


class CountingChatModel(BaseChatModel):
    """Replies ``reply`` (echoing nothing of the prompt), counting calls in ``probe``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reply: str = "the answer is forty two"
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    failure: Exception | None = None
    fail_after_chunks: int | None = None
    chunk_delay: float = 0.0
    probe: Probe = Field(default_factory=Probe)

    @property
    def _llm_type(self) -> str:
        return "counting-fake"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"reply": self.reply}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    # -- the answer -------------------------------------------------------------------

    def message(self) -> AIMessage:
        return AIMessage(
            content=self.reply,
            tool_calls=[dict(call, type="tool_call") for call in self.tool_calls],  # type: ignore[misc]
            usage_metadata=USAGE,  # type: ignore[arg-type]
            response_metadata={"model_name": "counting-fake", "finish_reason": "stop"},
        )

    def chunks(self) -> list[AIMessageChunk]:
        words = self.reply.split(" ")
        chunks = [
            AIMessageChunk(content=word if i == 0 else " " + word) for i, word in enumerate(words)
        ]
        last = AIMessageChunk(
            content="",
            tool_call_chunks=[
                tool_call_chunk(
                    name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=i
                )
                for i, call in enumerate(self.tool_calls)
            ],
            usage_metadata=USAGE,  # type: ignore[arg-type]
            response_metadata={"model_name": "counting-fake", "finish_reason": "stop"},
        )
        return [*chunks, last]

    def _begin(self, kwargs: dict[str, Any]) -> None:
        self.probe.enter(kwargs)
        if not self.probe.gate.wait(30):
            raise RuntimeError("test gate never opened")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._begin(kwargs)
        if self.failure is not None:
            raise self.failure
        return ChatResult(generations=[ChatGeneration(message=self.message())])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.probe.enter(kwargs)
        while not self.probe.gate.is_set():
            await asyncio.sleep(0.001)
        if self.failure is not None:
            raise self.failure
        return ChatResult(generations=[ChatGeneration(message=self.message())])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self._begin(kwargs)
        for i, chunk in enumerate(self.chunks()):
            if self.failure is not None and i == (self.fail_after_chunks or 0):
                raise self.failure
            if self.chunk_delay:
                time.sleep(self.chunk_delay)
            self.probe.produced()
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        self.probe.enter(kwargs)
        while not self.probe.gate.is_set():
            await asyncio.sleep(0.001)
        for i, chunk in enumerate(self.chunks()):
            if self.failure is not None and i == (self.fail_after_chunks or 0):
                raise self.failure
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            self.probe.produced()
            yield ChatGenerationChunk(message=chunk)
