"""``CachedChatModel``: a chat model wrapper whose every call path consults the cache.

langchain-core consults the LLM cache in ``invoke``/``ainvoke``/``batch`` but never in
``stream``/``astream``, and lets identical concurrent requests all call the model. The
wrapper closes both gaps without changing what is stored: its key is the one
langchain-core computes for the wrapped model (prompt ``dumps(messages)`` without message
ids, llm_string ``model._get_llm_string(stop, **kwargs)``), so a streamed answer is a hit
for a plain ``model.invoke`` under ``set_llm_cache`` and the other way round.

Flow of one request (any of invoke, ainvoke, batch, abatch, stream, astream):
key -> (coalesce: follow an identical request in flight, or lead) -> ``lookup`` -> hit:
the cached message (replayed as one chunk when streaming) | miss: the wrapped model
(chunks passed through as they come) -> on normal completion only, ``update``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Sequence
from contextlib import aclosing, closing
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.globals import get_llm_cache
from langchain_core.language_models import BaseLanguageModel, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import message_chunk_to_message
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, Generation
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel, ConfigDict, PrivateAttr

from .coalescing import (
    LeaderAbandoned,
    LeaderTimedOut,
    TaskCoalescer,
    TaskFollow,
    TaskLead,
    ThreadCoalescer,
    ThreadFollow,
    ThreadLead,
)

__all__ = ["DEFAULT_COALESCE_TIMEOUT", "CachedChatModel"]

DEFAULT_COALESCE_TIMEOUT = 120.0
"""Seconds a follower waits for its leader when neither ``coalesce_timeout`` nor the
wrapped model's ``timeout``/``request_timeout`` says otherwise."""

_NOSTREAM_TAG = "nostream"  # LangGraph: don't stream this (inner) run's tokens twice

Generations = list[ChatGeneration]


def _positive_seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _chat_generations(value: Sequence[Generation]) -> Generations:
    """Cached generations as chat generations (a plain ``Generation`` becomes its text)."""
    converted: Generations = []
    for generation in value:
        if isinstance(generation, ChatGeneration):
            converted.append(generation)
        else:
            message = AIMessage(content=generation.text)
            converted.append(
                ChatGeneration(message=message, generation_info=generation.generation_info)
            )
    return converted


def _copies(generations: Generations) -> Generations:
    """Deep copies: langchain-core edits returned messages, and the originals are shared
    (with followers and, for in-memory caches, with the stored entry)."""
    return [generation.model_copy(deep=True) for generation in generations]


def _as_chunk(message: BaseMessage) -> AIMessageChunk:
    """A message as one chunk that aggregates back to it (tool calls, usage included)."""
    if isinstance(message, AIMessageChunk):
        return message
    fields = AIMessageChunk.model_fields
    data = {name: value for name, value in message if name in fields and name != "type"}
    return AIMessageChunk(**data, chunk_position="last")


def _aggregate(chunks: list[AIMessageChunk]) -> Generations:
    if not chunks:
        raise ValueError("The wrapped chat model's stream returned no chunks")
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return [ChatGeneration(message=message_chunk_to_message(merged))]


def _replay(generations: Generations) -> ChatGenerationChunk:
    first = generations[0]
    return ChatGenerationChunk(
        message=_as_chunk(first.message.model_copy(deep=True)),
        generation_info=first.generation_info,
    )


def _redirect(node: Any, old: BaseChatModel, new: BaseChatModel) -> tuple[Any, bool]:
    """``node`` with every reference to ``old`` replaced by ``new`` (and whether any was).

    Walks the runnable compositions langchain-core builds (sequences, maps, bindings,
    fallbacks, assigns: all pydantic models); models and other leaves are kept as they are.
    """
    if node is old:
        return new, True
    if isinstance(node, (list, tuple)):
        items = [_redirect(item, old, new) for item in node]
        if any(changed for _, changed in items):
            return type(node)(item for item, _ in items), True
        return node, False
    if isinstance(node, dict):
        pairs = {key: _redirect(value, old, new) for key, value in node.items()}
        if any(changed for _, changed in pairs.values()):
            return {key: value for key, (value, _) in pairs.items()}, True
        return node, False
    if isinstance(node, Runnable) and isinstance(node, BaseModel):
        if isinstance(node, BaseLanguageModel):
            return node, False
        changes = {}
        for name in type(node).model_fields:
            value, changed = _redirect(getattr(node, name), old, new)
            if changed:
                changes[name] = value
        if changes:
            return node.model_copy(update=changes), True
    return node, False


class CachedChatModel(BaseChatModel):
    """A chat model that answers from an LLM cache on every path, streaming included.

    ``CachedChatModel(model, cache)`` behaves as ``model`` (it is a ``BaseChatModel``, so
    prompts, ``bind_tools``, ``with_structured_output``, ``with_retry`` and LangGraph
    compose with it), except that ``invoke``, ``ainvoke``, ``batch``, ``abatch``,
    ``stream`` and ``astream`` all look the request up first and store the answer after:

    - keys are exactly those of ``model.invoke`` under ``set_llm_cache``, so entries are
      shared with plain calls of the same model and parameters (tools bound through
      ``bind_tools`` on the wrapper are forwarded to the model and part of the key);
    - a streamed hit is one ``AIMessageChunk`` holding the whole cached message (content,
      tool calls, usage and response metadata), so it aggregates to exactly that message;
    - a streamed miss passes the model's chunks through as they arrive and stores the
      aggregated message only when the stream completes: a stream that raises, or that
      its consumer abandons (generator closed, task cancelled), stores nothing;
    - with ``coalesce=True``, identical requests in flight at once through this wrapper in
      this process (threads, or tasks of one event loop; duplicates inside a ``batch``; a
      stream and an invoke alike) share one lookup and one model call. The leader's error
      reaches every follower (the same exception) and nothing is stored; a leader that is
      cancelled or abandoned lets its followers proceed on their own; a follower waits at
      most ``coalesce_timeout`` seconds, then calls the model itself. A streaming follower
      receives the final message replayed as one chunk when the leader completes, not the
      leader's chunks as they come (no fan-out buffers; the first chunk waits).

    Args:
        model: The chat model to wrap. Its own ``cache`` is not used: the wrapper calls a
            copy with ``cache=False``, so the cache is consulted once per request.
        cache: Any ``BaseCache`` (exact, semantic, in-memory, another store's), or
            ``None`` for the global cache of ``set_llm_cache`` (read at each call; with
            no cache anywhere, requests still coalesce). Stored as ``llm_cache``: the
            inherited ``cache`` field of the wrapper itself is always ``False``.
        coalesce: Share one model call among identical concurrent requests.
        coalesce_timeout: Seconds a follower waits for its leader. Default: the wrapped
            model's ``timeout`` or ``request_timeout`` when it is a positive number,
            else :data:`DEFAULT_COALESCE_TIMEOUT` (120 s).

    Raises:
        TypeError: ``model`` is not a ``BaseChatModel`` or ``cache`` not a ``BaseCache``.
        ValueError: ``coalesce_timeout`` is not a positive number of seconds.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: BaseChatModel
    llm_cache: BaseCache | None = None
    coalesce: bool = True
    coalesce_timeout: float | None = None

    _threads: ThreadCoalescer[Generations] = PrivateAttr(default_factory=ThreadCoalescer)
    _tasks: TaskCoalescer[Generations] = PrivateAttr(default_factory=TaskCoalescer)

    def __init__(
        self,
        model: BaseChatModel,
        cache: BaseCache | None = None,
        *,
        coalesce: bool = True,
        coalesce_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(model, BaseChatModel):
            raise TypeError(
                "CachedChatModel wraps a chat model (a langchain_core BaseChatModel, e.g. "
                f"ChatOpenAI(...)), got {type(model).__name__}; bind tools through the "
                "wrapper's bind_tools() rather than wrapping a bound runnable"
            )
        if cache is not None and not isinstance(cache, BaseCache):
            raise TypeError(
                f"cache must be a langchain_core BaseCache or None (the global cache of "
                f"set_llm_cache), got {type(cache).__name__}"
            )
        if coalesce_timeout is not None and _positive_seconds(coalesce_timeout) is None:
            raise ValueError(
                f"coalesce_timeout must be a positive number of seconds or None, got "
                f"{coalesce_timeout!r}"
            )
        if "cache" in kwargs or "llm_cache" in kwargs:
            raise TypeError("pass the cache once, as CachedChatModel(model, cache)")
        fields: dict[str, Any] = {
            "model": model,
            "llm_cache": cache,
            "coalesce": bool(coalesce),
            "coalesce_timeout": coalesce_timeout,
            "cache": False,  # langchain-core's own cache path stays off: the wrapper caches
        }
        super().__init__(**fields, **kwargs)

    # -- identity: the wrapped model's ---------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return f"cached-{self.model._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return dict(self.model._identifying_params)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        return self.model._get_ls_params(stop=stop, **kwargs)

    # -- composition ---------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """The wrapped model's ``bind_tools``, with calls routed through this wrapper.

        The tools (formatted by the wrapped model) become call arguments of the wrapper,
        which forwards them to the model and keys the cache on them as langchain-core does.
        """
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        bound = self.model.bind_tools(tools, **kwargs)
        return self._through_self(bound, "bind_tools")  # type: ignore[no-any-return]

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """The wrapped model's ``with_structured_output`` (any method it supports), with
        its model calls routed through this wrapper and so through the cache."""
        structured = self.model.with_structured_output(schema, include_raw=include_raw, **kwargs)
        return self._through_self(structured, "with_structured_output")  # type: ignore[no-any-return]

    def _through_self(self, runnable: Runnable[Any, Any], method: str) -> Any:
        redirected, changed = _redirect(runnable, self.model, self)
        if not changed:
            raise TypeError(
                f"{type(self.model).__name__}.{method}() returned a runnable that does not "
                "call the model through a binding CachedChatModel can redirect; call "
                f"{method}() on the model and wrap the result's calls yourself, or report it"
            )
        return redirected

    # -- keys and coalescing --------------------------------------------------------------

    def _key(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[str, str]:
        """``(prompt, llm_string)`` exactly as langchain-core's ``_generate_with_cache``."""
        llm_string = self.model._get_llm_string(stop=stop, **kwargs)
        normalized = [
            message.model_copy(update={"id": None}) if message.id is not None else message
            for message in messages
        ]
        return dumps(normalized), llm_string

    def _uncached(self) -> BaseChatModel:
        """The wrapped model with its own cache path off (a shallow copy per call, so later
        changes to the model apply, as they do to the key)."""
        return self.model.model_copy(update={"cache": False})

    def _cache(self) -> BaseCache | None:
        return self.llm_cache if self.llm_cache is not None else get_llm_cache()

    def _wait_timeout(self) -> float:
        if self.coalesce_timeout is not None:
            return float(self.coalesce_timeout)
        for name in ("timeout", "request_timeout"):
            seconds = _positive_seconds(getattr(self.model, name, None))
            if seconds is not None:
                return seconds
        return DEFAULT_COALESCE_TIMEOUT

    def _join(self, key: Hashable) -> tuple[Generations | None, ThreadLead[Generations] | None]:
        """(the leader's answer, None) as a follower; (None, lead) to lead; (None, None)
        to proceed alone (not coalescing, table full, or the leader too slow)."""
        while self.coalesce:
            claim = self._threads.claim(key)
            if not isinstance(claim, ThreadFollow):
                return None, claim
            try:
                return claim.wait(self._wait_timeout()), None
            except LeaderAbandoned:
                continue  # claim again: one of the followers leads the next flight
            except LeaderTimedOut:
                return None, None
        return None, None

    async def _ajoin(
        self, key: Hashable
    ) -> tuple[Generations | None, TaskLead[Generations] | None]:
        """Async twin of :meth:`_join`."""
        while self.coalesce:
            claim = self._tasks.claim(key)
            if not isinstance(claim, TaskFollow):
                return None, claim
            try:
                return await claim.wait(self._wait_timeout()), None
            except LeaderAbandoned:
                continue
            except LeaderTimedOut:
                return None, None
        return None, None

    @staticmethod
    def _child_callbacks(
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
    ) -> CallbackManager | None:
        """Callbacks for the wrapped model's run: a child of the wrapper's run, tagged
        ``nostream`` so LangGraph does not stream the same tokens twice."""
        if run_manager is None:
            return None
        manager = CallbackManager(handlers=[], parent_run_id=run_manager.run_id)
        manager.set_handlers(run_manager.inheritable_handlers)
        manager.add_tags(run_manager.inheritable_tags)
        manager.add_tags([_NOSTREAM_TAG])
        manager.add_metadata(run_manager.inheritable_metadata)
        return manager

    @classmethod
    def _child_config(
        cls, run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None
    ) -> RunnableConfig:
        """The config of the wrapped model's ``stream``/``astream`` call.

        langchain-core does not pass a run manager to ``_stream``/``_astream`` (it calls
        them with ``stop`` and the call's arguments only), so there the wrapped model's run
        inherits the callbacks of the surrounding runnable (a LangGraph node, say); it is
        still tagged ``nostream``, or LangGraph's ``stream_mode="messages"`` would emit
        every token twice (the wrapper's and the model's).
        """
        if run_manager is None:
            return {"tags": [_NOSTREAM_TAG]}
        return {"callbacks": cls._child_callbacks(run_manager)}

    # -- sync paths ----------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt, llm_string = self._key(messages, stop, kwargs)
        answer, lead = self._join((prompt, llm_string))
        if answer is None:
            answer = self._lead(lead, prompt, llm_string, messages, stop, run_manager, kwargs)
        return ChatResult(generations=_copies(answer))

    def _lead(
        self,
        lead: ThreadLead[Generations] | None,
        prompt: str,
        llm_string: str,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> Generations:
        try:
            cache = self._cache()
            cached = cache.lookup(prompt, llm_string) if cache is not None else None
            if cached is not None:
                answer = _chat_generations(cached)
                if lead is not None:
                    lead.resolve(answer)
                return answer
            callbacks = self._child_callbacks(run_manager)
            result = self._uncached().generate([messages], stop=stop, callbacks=callbacks, **kwargs)
            answer = _chat_generations(result.generations[0])
            if lead is not None:
                lead.resolve(answer)  # followers go on while the entry is written
            if cache is not None:
                cache.update(prompt, llm_string, answer)
            return answer
        except Exception as error:
            if lead is not None:
                lead.fail(error)
            raise
        finally:
            if lead is not None:
                lead.release()  # after the write: late arrivals follow, then hit

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        prompt, llm_string = self._key(messages, stop, kwargs)
        answer, lead = self._join((prompt, llm_string))
        if answer is not None:
            yield _replay(answer)
            return
        try:
            cache = self._cache()
            cached = cache.lookup(prompt, llm_string) if cache is not None else None
            if cached is not None:
                answer = _chat_generations(cached)
                if lead is not None:
                    lead.resolve(answer)
                yield _replay(answer)
                return
            chunks: list[AIMessageChunk] = []
            source = self._uncached().stream(
                messages, self._child_config(run_manager), stop=stop, **kwargs
            )
            with closing(source):  # type: ignore[type-var]
                for message in source:
                    chunk = _as_chunk(message)
                    chunks.append(chunk)
                    yield ChatGenerationChunk(message=chunk)
            answer = _aggregate(chunks)
            if lead is not None:
                lead.resolve(answer)
            if cache is not None:
                cache.update(prompt, llm_string, answer)
        except Exception as error:
            if lead is not None:
                lead.fail(error)
            raise
        finally:
            if lead is not None:
                lead.release()  # without an outcome (closed, interrupted): abandoned

    # -- async paths ---------------------------------------------------------------------

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt, llm_string = self._key(messages, stop, kwargs)
        answer, lead = await self._ajoin((prompt, llm_string))
        if answer is None:
            answer = await self._alead(
                lead, prompt, llm_string, messages, stop, run_manager, kwargs
            )
        return ChatResult(generations=_copies(answer))

    async def _alead(
        self,
        lead: TaskLead[Generations] | None,
        prompt: str,
        llm_string: str,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: AsyncCallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> Generations:
        try:
            cache = self._cache()
            cached = await cache.alookup(prompt, llm_string) if cache is not None else None
            if cached is not None:
                answer = _chat_generations(cached)
                if lead is not None:
                    lead.resolve(answer)
                return answer
            callbacks = self._child_callbacks(run_manager)
            result = await self._uncached().agenerate(
                [messages], stop=stop, callbacks=callbacks, **kwargs
            )
            answer = _chat_generations(result.generations[0])
            if lead is not None:
                lead.resolve(answer)
            if cache is not None:
                await cache.aupdate(prompt, llm_string, answer)
            return answer
        except Exception as error:
            if lead is not None:
                lead.fail(error)
            raise
        finally:
            if lead is not None:
                lead.release()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        prompt, llm_string = self._key(messages, stop, kwargs)
        answer, lead = await self._ajoin((prompt, llm_string))
        if answer is not None:
            yield _replay(answer)
            return
        try:
            cache = self._cache()
            cached = await cache.alookup(prompt, llm_string) if cache is not None else None
            if cached is not None:
                answer = _chat_generations(cached)
                if lead is not None:
                    lead.resolve(answer)
                yield _replay(answer)
                return
            chunks: list[AIMessageChunk] = []
            source = self._uncached().astream(
                messages, self._child_config(run_manager), stop=stop, **kwargs
            )
            async with aclosing(source):  # type: ignore[type-var]
                async for message in source:
                    chunk = _as_chunk(message)
                    chunks.append(chunk)
                    yield ChatGenerationChunk(message=chunk)
            answer = _aggregate(chunks)
            if lead is not None:
                lead.resolve(answer)
            if cache is not None:
                await cache.aupdate(prompt, llm_string, answer)
        except Exception as error:
            if lead is not None:
                lead.fail(error)
            raise
        finally:
            if lead is not None:
                lead.release()


def _constructor_signature() -> inspect.Signature:
    """What a caller passes to ``CachedChatModel(...)``: pydantic would otherwise show every
    inherited ``BaseChatModel`` field (callbacks, tags...), which ``**kwargs`` still takes."""
    init = inspect.signature(CachedChatModel.__init__)
    return init.replace(
        parameters=list(init.parameters.values())[1:], return_annotation=inspect.Signature.empty
    )


CachedChatModel.__signature__ = _constructor_signature()
