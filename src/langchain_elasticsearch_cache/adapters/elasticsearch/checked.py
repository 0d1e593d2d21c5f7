"""An async repository that checks its connection once, at its first operation.

The synchronous cache classes check the connection when they are created; an async
class cannot (a constructor is not a coroutine), so its repository makes the same check
(:func:`~.client.check_connection`) before the first request that needs the cluster, with
the same errors: an unreachable cluster is ``BackendUnavailableError`` (a miss with
``fail_open=True``, and the check is made again at a later call), wrong credentials or a
client the server refuses raise whatever the mode.

Concurrent first calls (``asyncio.gather`` over lookups) share one check: the first starts
it and the others await its outcome, success or failure, instead of each sending one more
request to a cluster that may be down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ...domain.ports import R
from ._async.repository import AsyncElasticsearchRepository
from ._async.vector_repository import AsyncElasticsearchVectorRepository
from .client import check_connection

__all__ = ["ConnectionCheckedRepository", "ConnectionCheckedVectorRepository", "SharedCheck"]


class SharedCheck:
    """``await check.ensure()`` runs ``check`` until it succeeds once, one run at a time.

    Callers arriving while a run is under way await that run (its error too); a failed
    run is forgotten, so the next caller starts a new one. A run is a task shielded from
    the callers' cancellation, so a cancelled first caller does not fail the others. A
    cache used from several event loops (one per test, say) starts a run on its own loop.
    """

    def __init__(self, check: Callable[[], Awaitable[None]]) -> None:
        self._check = check
        self._passed = False
        self._running: asyncio.Task[None] | None = None
        self.runs = 0  # how many checks were started (for tests and diagnostics)

    @property
    def passed(self) -> bool:
        return self._passed

    async def ensure(self) -> None:
        if self._passed:
            return
        loop = asyncio.get_running_loop()
        running = self._running
        if running is None or running.get_loop() is not loop:
            running = loop.create_task(self._run())
            self._running = running
        await asyncio.shield(running)

    async def _run(self) -> None:
        self.runs += 1
        try:
            await self._check()
        finally:
            # success or not, a later caller must not await this run again
            if self._running is asyncio.current_task():
                self._running = None
        self._passed = True


class ConnectionCheckedRepository(AsyncElasticsearchRepository[R]):
    """:class:`AsyncElasticsearchRepository` whose first operation checks the connection
    (one ``info()``), as the synchronous classes do at construction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection_check = SharedCheck(lambda: check_connection(self.client))

    async def _ensure_index(self) -> bool:
        # every operation that sends a request goes through here first
        await self.connection_check.ensure()
        return await super()._ensure_index()


class ConnectionCheckedVectorRepository(AsyncElasticsearchVectorRepository):
    """:class:`AsyncElasticsearchVectorRepository` whose first operation checks the
    connection, as :class:`ConnectionCheckedRepository` does: ``nearest`` and
    ``dimensions`` send their requests after ``_ensure_index`` too, so they are checked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection_check = SharedCheck(lambda: check_connection(self.client))

    async def _ensure_index(self) -> bool:
        await self.connection_check.ensure()
        return await super()._ensure_index()
