"""Retry what Elasticsearch rejects for load (HTTP 429), after a pause that doubles.

A node answers 429 (``es_rejected_execution_exception``) when the queue of a thread pool
is full: for a whole request (a single-document write), or per item inside a bulk
response that is itself a 200. The transport's ``retry_on_status`` retries a whole
request at once, which rarely finds the queue drained; bulk items it does not see at all.
So the repository retries both, after ``INITIAL_BACKOFF`` seconds, doubling up to
``MAX_BACKOFF``, at most ``REJECTED_RETRIES`` times (about 20 s in all), each pause
jittered so that writers rejected together do not come back together (the bulk helper's
own retry has no jitter, and under contention its synchronised retries are rejected
again); what is still rejected then is raised as ``BackendUnavailableError``.

``AsyncRejectionRetry`` is used by the async repository; unasync turns the name into
``SyncRejectionRetry`` for the generated sync twin.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from elasticsearch import ApiError

__all__ = [
    "INITIAL_BACKOFF",
    "MAX_BACKOFF",
    "REJECTED_RETRIES",
    "AsyncRejectionRetry",
    "SyncRejectionRetry",
    "backoff_delays",
]

T = TypeVar("T")

REJECTED_RETRIES = 8
INITIAL_BACKOFF = 0.25  # seconds
MAX_BACKOFF = 4.0  # seconds


def backoff_delays(retries: int = REJECTED_RETRIES) -> list[float]:
    """The pauses before each retry: doubling, capped, with jitter so that the writers a
    node rejected together do not all come back at the same instant."""
    return [
        min(MAX_BACKOFF, INITIAL_BACKOFF * 2**attempt) * (0.75 + random.random() / 2)  # noqa: S311
        for attempt in range(retries)
    ]


def _rejected(exc: Exception) -> bool:
    return isinstance(exc, ApiError) and exc.status_code == 429


class AsyncRejectionRetry:
    """``await AsyncRejectionRetry.call(lambda: client.index(...))``."""

    @staticmethod
    async def pause(seconds: float) -> None:
        await asyncio.sleep(seconds)

    @staticmethod
    async def call(request: Callable[[], Awaitable[T]]) -> T:
        for delay in backoff_delays():
            try:
                return await request()
            except ApiError as exc:
                if not _rejected(exc):
                    raise
            await asyncio.sleep(delay)
        return await request()


class SyncRejectionRetry:
    """``SyncRejectionRetry.call(lambda: client.index(...))``."""

    @staticmethod
    def pause(seconds: float) -> None:
        time.sleep(seconds)

    @staticmethod
    def call(request: Callable[[], T]) -> T:
        for delay in backoff_delays():
            try:
                return request()
            except ApiError as exc:
                if not _rejected(exc):
                    raise
            time.sleep(delay)
        return request()
