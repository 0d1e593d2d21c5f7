"""The verified pool: the sum of every entry's observations, one document per index.

The fifth layer of the vector repository (see ``vector_repository``). The pool is the
document ``VERIFIED_POOL_ID`` of each index. After an entry's observation is written
(``add_observation``, the layer below) it is added to the pool of the entry's index the
same way (created with ``op_type=create`` when absent, conditional on its sequence number
otherwise, bounded retries); a pool write that still fails is logged once and counted.
``pooled_observations`` reads it (behind an alias: every index's pool, summed) at most
once per ``pool_cache_seconds``; ``clear`` deletes it with the entries.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from elasticsearch import ConflictError, NotFoundError

from ....domain.semantic.verified import (
    ObservationBin,
    add_observation,
    observations_from_document,
    observations_to_document,
)
from ..backoff import AsyncRejectionRetry
from ..errors import CLIENT_ERRORS, error_type_and_reason
from ..mappings import VERIFIED_POOL_ID
from . import vector_observations
from .base import INDEX_MISSING
from .vector_layout import logger
from .vector_observations import AsyncVectorObservations, conflict_pauses

__all__ = ["AsyncVectorPool", "PoolState"]


class PoolState:
    """What a repository remembers of the pool: the bins last read (or written) and when
    (``time.monotonic()``), and the locks that make its own readers (writers) take turns."""

    def __init__(self) -> None:
        self.bins: tuple[ObservationBin, ...] = ()
        self.read_at = -math.inf
        self.read_lock = asyncio.Lock()
        self.write_lock = asyncio.Lock()
        self.write_failures = 0
        self.warned = False


class AsyncVectorPool(AsyncVectorObservations):
    """The pool: read (cached), added to after each observation, deleted by ``clear``."""

    #: how long ``pooled_observations`` reuses its last read of the pool: a lookup costs
    #: no extra request most of the time, and the pool lags other processes by this much
    pool_cache_seconds: float = 5.0

    # set by the constructor (vector_repository)
    _pool_state: PoolState

    async def pooled_observations(self) -> tuple[ObservationBin, ...]:
        """The sum of the observations of every entry (behind an alias: of every index),
        as read at most ``pool_cache_seconds`` ago; ``()`` while there is none. A pool
        document that is not valid observations counts as empty (logged once).

        Raises:
            PermissionDeniedError, BackendUnavailableError: as a lookup would.
        """
        state = self._pool_state
        if time.monotonic() - state.read_at < self.pool_cache_seconds:
            return state.bins
        async with state.read_lock:
            if time.monotonic() - state.read_at < self.pool_cache_seconds:
                return state.bins  # read meanwhile by another caller
            with self._translated("pooled_observations"):
                is_alias = await self._ensure_index()
                sources = await self._pool_sources(is_alias)
            state.bins = self._summed_pool(sources)
            state.read_at = time.monotonic()
        return state.bins

    @property
    def pool_write_failures(self) -> int:
        """How many observations reached their entry but not the pool (see
        :meth:`add_observation`)."""
        return self._pool_state.write_failures

    async def _pool_sources(self, is_alias: bool) -> list[Any]:
        """The ``_source`` of every pool document behind the name, read in realtime."""
        if not is_alias:
            found = await self._pool_copy(self._index_name)
            return [] if found is None else [found[0]]
        indices = await self._concrete_indices()
        answer = await self._client.mget(
            docs=[{"_index": index, "_id": VERIFIED_POOL_ID} for index in indices]
        )
        sources = []
        for doc in answer.body.get("docs", []):
            if "error" in doc:
                self._mget_item_error(doc)
            elif doc.get("found"):
                sources.append(doc.get("_source"))
        return sources

    def _summed_pool(self, sources: list[Any]) -> tuple[ObservationBin, ...]:
        """The pools of ``sources`` (untrusted) added up, bin by bin; a malformed one
        counts as empty."""
        totals: dict[float, list[int]] = {}
        for source in sources:
            for item in self._pool_bins(source):
                total = totals.setdefault(item.similarity, [0, 0])
                total[0] += item.right
                total[1] += item.wrong
        summed = observations_from_document([[s, r, w] for s, (r, w) in sorted(totals.items())])
        return () if isinstance(summed, str) else summed

    def _pool_bins(self, source: Any) -> tuple[ObservationBin, ...]:
        """The observations of one untrusted pool ``_source``; ``()`` (logged) if malformed."""
        if not isinstance(source, Mapping):
            bins: tuple[ObservationBin, ...] | str = "its source is not an object"
        else:
            bins = observations_from_document(source.get("observations"))
        if isinstance(bins, str):
            self._pool_problem("the pool document %r of %r is malformed (%s): read as empty", bins)
            return ()
        return bins

    def _pool_problem(self, message: str, detail: object) -> None:
        """Log a pool problem once per repository (warning), afterwards at debug level."""
        state = self._pool_state
        level = logging.DEBUG if state.warned else logging.WARNING
        state.warned = True
        logger.log(level, message, VERIFIED_POOL_ID, self._index_name, detail)

    async def _pool_copy(self, index: str) -> tuple[Any, int, int] | None:
        """The pool document of the concrete ``index``: its ``_source``, ``_seq_no`` and
        ``_primary_term``; ``None`` when there is none."""
        try:
            answer = await self._client.get(index=index, id=VERIFIED_POOL_ID)
        except NotFoundError as exc:
            kind, _ = error_type_and_reason(exc)
            if kind == INDEX_MISSING:
                self._forget_indices(index_missing=index == self._index_name)
            return None
        body = answer.body
        seq_no, primary_term = body.get("_seq_no"), body.get("_primary_term")
        if not body.get("found") or not isinstance(seq_no, int):
            return None
        if not isinstance(primary_term, int):
            return None
        return body.get("_source"), seq_no, primary_term

    async def _add_to_pool(
        self, index: str, similarity: float, right: bool, is_alias: bool
    ) -> None:
        """Add one observation to the pool of the concrete ``index``; a failure is logged
        and counted, never raised (the entry has the observation already)."""
        state = self._pool_state
        try:
            async with state.write_lock:  # this object's writers take turns: no 409 between them
                bins = await self._write_pool(index, similarity, right)
        except CLIENT_ERRORS as exc:
            failure = f"{type(exc).__name__}: {exc}"
        else:
            if bins is not None:
                if is_alias:
                    state.read_at = -math.inf  # a sum over indices: read it again
                else:
                    state.bins = bins  # this object's own write is seen at once
                    state.read_at = time.monotonic()
                return
            failure = f"{vector_observations.OBSERVATION_RETRIES + 1} conflicting writes in a row"
        state.write_failures += 1
        self._pool_problem(
            "an observation was recorded on its entry but not in the pool %r of %r (%s); "
            "the pool lacks as many as pool_write_failures counts",
            failure,
        )

    async def _write_pool(
        self, index: str, similarity: float, right: bool
    ) -> tuple[ObservationBin, ...] | None:
        """Read, add to and conditionally write (create, if absent) the pool of ``index``:
        the pool written, ``None`` when every attempt conflicted."""
        pauses = conflict_pauses()
        for attempt in range(vector_observations.OBSERVATION_RETRIES + 1):
            found = await self._pool_copy(index)
            bins = add_observation(
                () if found is None else self._pool_bins(found[0]), similarity, right
            )
            document = {"observations": observations_to_document(bins)}
            try:
                await self._put_pool(index, document, None if found is None else found[1:])
            except ConflictError:  # created or changed by another process meanwhile
                if attempt < vector_observations.OBSERVATION_RETRIES:
                    await AsyncRejectionRetry.pause(pauses[attempt])
                continue
            return bins
        return None

    async def _put_pool(
        self, index: str, document: dict[str, Any], version: tuple[int, int] | None
    ) -> None:
        """Write the pool of ``index``: created (``version`` None: it must not exist), or
        replaced if it is still at ``version`` (``_seq_no``, ``_primary_term``)."""
        if version is None:
            options: dict[str, Any] = {"op_type": "create"}
        else:
            options = {"if_seq_no": version[0], "if_primary_term": version[1]}
        await AsyncRejectionRetry.call(
            lambda: self._client.index(
                index=index,
                id=VERIFIED_POOL_ID,
                document=document,
                **options,
                **self._refresh_option(),
            )
        )

    async def clear(self) -> int:
        """Delete every entry (the count returned), and the pool."""
        deleted = await super().clear()
        with self._translated("clear"):
            indices = await self._concrete_indices() if self._is_alias else (self._index_name,)
            pools = [{"_op_type": "delete", "_index": i, "_id": VERIFIED_POOL_ID} for i in indices]
            await self._bulk("delete", pools, self._refresh_option())
        self._pool_state.bins = ()
        self._pool_state.read_at = -math.inf
        return deleted
