"""Concurrent async lookups, coalesced into ``get_many`` calls.

``asyncio.gather`` over many ``alookup`` calls (a batch of prompts, a fan-out agent)
would otherwise send one GET each: per request the async HTTP stack costs far more
than the work Elasticsearch does. The ``get`` calls issued in one event-loop iteration
are instead collected and answered by ``get_many`` (one realtime ``mget`` per
``max_batch`` keys, those requests running concurrently): measured on 2 cores, 1,000
gathered lookups take about a tenth of the time.

Outcomes never change: a batch of one key is a plain ``get``, and when a batch fails
each of its keys is fetched again on its own, so every caller gets the result or the
error it would have had alone. The exception is an unavailable backend: every caller of
the batch gets that error at once rather than one more timeout each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Generic, Protocol

from ...domain.errors import BackendUnavailableError
from ...domain.ports import R
from .telemetry import AVAILABLE as _TELEMETRY
from .telemetry import BatchSpan, current_span_context

__all__ = ["LookupBatcher"]


class BatchedReads(Protocol[R]):
    """What a :class:`LookupBatcher` reads with: an async repository's ``get`` and
    ``get_many`` (or a view of them, such as reads that leave vectors out)."""

    async def get(self, key: str) -> R | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[R | None]: ...


class LookupBatcher(Generic[R]):
    """``await batcher.get(key)`` as ``repository.get(key)``, batched with its neighbours."""

    def __init__(self, repository: BatchedReads[R], *, max_batch: int = 100) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._repository: BatchedReads[R] = repository
        self._max_batch = max_batch
        # per event loop (a cache may be used from several): key -> the callers waiting
        self._pending: dict[asyncio.AbstractEventLoop, dict[str, list[asyncio.Future[R | None]]]]
        self._pending = {}
        # with OpenTelemetry: per event loop, key -> the callers' spans (a batch links them)
        self._callers: dict[asyncio.AbstractEventLoop, dict[str, list[Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: str) -> R | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R | None] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = {}
            loop.call_soon(self._flush, loop)  # after every callback already queued
        pending.setdefault(key, []).append(future)
        if _TELEMETRY:
            self._callers.setdefault(loop, {}).setdefault(key, []).append(current_span_context())
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = self._pending.pop(loop, {})
        callers = self._callers.pop(loop, {})
        keys = list(pending)
        for start in range(0, len(keys), self._max_batch):
            chunk = keys[start : start + self._max_batch]
            spans = [span for key in chunk for span in callers.get(key, ())]
            task = loop.create_task(
                self._answer(chunk, {key: pending[key] for key in chunk}, spans)
            )
            self._tasks.add(task)  # keep a reference until it is done
            task.add_done_callback(self._tasks.discard)

    async def _answer(
        self,
        keys: Sequence[str],
        waiters: dict[str, list[asyncio.Future[R | None]]],
        spans: Sequence[Any] = (),
    ) -> None:
        # the task runs in the first caller's context: one caller's request nests in its
        # span; a request for several gets a span of its own, linked to each caller's
        traced: AbstractContextManager[None] = (
            BatchSpan(len(keys), spans) if len(spans) > 1 else nullcontext()
        )
        try:
            with traced:
                await self._answer_batch(keys, waiters)
        finally:
            # never leave a caller waiting, whatever happened above
            for futures in waiters.values():
                _settle(futures, exception=RuntimeError("the batched lookup did not complete"))

    async def _answer_batch(
        self, keys: Sequence[str], waiters: dict[str, list[asyncio.Future[R | None]]]
    ) -> None:
        try:
            if len(keys) == 1:
                values: list[R | None] = [await self._repository.get(keys[0])]
            else:
                values = list(await self._repository.get_many(keys))
                if len(values) != len(keys):
                    raise ValueError("get_many answered a different number of values")
        except asyncio.CancelledError:
            for futures in waiters.values():
                _settle(futures, exception=asyncio.CancelledError())
            raise
        except BackendUnavailableError as exc:
            # the backend is not answering: asking again key by key would only multiply
            # the timeouts (and a fail-open cache is waiting on each of them)
            for futures in waiters.values():
                _settle(futures, exception=exc)
            return
        except Exception as exc:
            if len(keys) == 1:
                _settle(waiters[keys[0]], exception=exc)
            else:
                await self._answer_one_by_one(keys, waiters)
            return
        for key, value in zip(keys, values, strict=True):
            _settle(waiters[key], value=value)

    async def _answer_one_by_one(
        self, keys: Sequence[str], waiters: dict[str, list[asyncio.Future[R | None]]]
    ) -> None:
        """The batch failed: give every key its own outcome, as without batching."""
        outcomes = await asyncio.gather(
            *(self._repository.get(key) for key in keys), return_exceptions=True
        )
        for key, outcome in zip(keys, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                _settle(waiters[key], exception=outcome)
            else:
                _settle(waiters[key], value=outcome)


def _settle(
    futures: list[asyncio.Future[R | None]],
    *,
    value: R | None = None,
    exception: BaseException | None = None,
) -> None:
    for future in futures:
        if future.done():  # answered already, or the caller was cancelled
            continue
        if isinstance(exception, asyncio.CancelledError):
            future.cancel()
        elif exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(value)
