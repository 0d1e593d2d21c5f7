"""Observations of verified hits on an entry: ``add_observation``.

The fourth layer of the vector repository (see ``vector_repository``). Optimistic
concurrency on the one document: a realtime GET of the copy ``get`` returns, the
observations rebuilt by the domain's pure function, and a partial update conditional on
the sequence number; a 409 (another process wrote in between) is read and tried again
after a jittered pause, at most ``OBSERVATION_RETRIES`` times. The pool layer above adds
the observation to the pool afterwards (``_add_to_pool``) and retries the same way.

``OBSERVATION_RETRIES`` is read from this module by both layers: patch it here.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Any

from elasticsearch import ConflictError, NotFoundError

from ....domain.errors import BackendUnavailableError
from ....domain.semantic.verified import add_observation, observations_to_document
from ....domain.semantic_records import SemanticRecord
from ..backoff import AsyncRejectionRetry
from ..errors import error_type_and_reason
from ..mappings import vector_json
from .base import INDEX_MISSING
from .vector_layout import VECTOR_FIELD
from .vector_writes import AsyncVectorWrites

__all__ = [
    "OBSERVATION_RETRIES",
    "OBSERVATION_STRIPES",
    "AsyncVectorObservations",
    "conflict_pauses",
]

#: How many times ``add_observation`` reads and writes again when another writer changed
#: the entry in between (HTTP 409); after that it raises ``BackendUnavailableError``.
OBSERVATION_RETRIES = 16
_CONFLICT_PAUSE = 0.01  # seconds before the first retry, doubled per retry...
_CONFLICT_PAUSE_MAX = 1.0  # ...up to this; each pause drawn uniformly below its cap
#: Observations of keys in one stripe are written one at a time by a repository object, so
#: its own threads (tasks) never race each other; the 409s left are other processes'.
OBSERVATION_STRIPES = 64


def conflict_pauses() -> list[float]:
    """Pauses before each retry of a conflicting observation write: capped doubling with
    full jitter, so writers that collided once do not collide again in lockstep."""
    return [
        random.uniform(0.0, min(_CONFLICT_PAUSE_MAX, _CONFLICT_PAUSE * 2**attempt))  # noqa: S311
        for attempt in range(OBSERVATION_RETRIES)
    ]


class AsyncVectorObservations(AsyncVectorWrites):
    """``add_observation``: conditional partial updates of an entry's observations."""

    # set by the constructor (vector_repository); see there
    _observation_locks: tuple[asyncio.Lock, ...]

    if TYPE_CHECKING:
        # defined by the pool layer (vector_pool) built on this one

        async def _add_to_pool(
            self, index: str, similarity: float, right: bool, is_alias: bool
        ) -> None: ...

    async def add_observation(self, key: str, similarity: float, right: bool) -> bool:
        """Add one observation to the entry ``key`` (the copy :meth:`get` returns), then to
        the pool of its index; False when there is no such entry. Concurrent calls lose
        none: each write is conditional on the document being unchanged since it was read,
        and is tried again otherwise. A pool write that fails is logged (once) and counted
        in ``pool_write_failures``; the entry keeps the observation either way.

        Raises:
            ValueError: ``similarity`` is not a finite number in [-1, 1] (before any request).
            BackendUnavailableError: The cluster cannot be reached, or other writers
                changed the entry between read and write ``OBSERVATION_RETRIES + 1`` times.
        """
        self._check_key(key)
        add_observation((), similarity, right)  # a bad similarity fails before any request
        lock = self._observation_locks[hash(key) % OBSERVATION_STRIPES]
        with self._translated("add_observation"):
            is_alias = await self._ensure_index()
            await self._ensure_late_fields()
            async with lock:
                written = await self._observe(key, similarity, right, is_alias)
        if isinstance(written, str):
            await self._add_to_pool(written, similarity, right, is_alias)
            return True
        if written is None:
            raise BackendUnavailableError(
                f"add_observation ({self._index_name!r}): other writers changed the entry "
                f"{key!r} between each read and write of its observations "
                f"{OBSERVATION_RETRIES + 1} times in a row; this observation was not "
                "recorded (the entry is unchanged); retry later"
            )
        return written

    async def _observe(
        self, key: str, similarity: float, right: bool, is_alias: bool
    ) -> str | bool | None:
        """Read, rebuild and conditionally write the observations: the concrete index
        written, False when there is no entry, ``None`` when every attempt conflicted."""
        pauses = conflict_pauses()
        for attempt in range(OBSERVATION_RETRIES + 1):
            found = await self._versioned_copy(key, is_alias)
            if found is None:
                return False
            index, record, seq_no, primary_term = found
            bins = add_observation(record.observations, similarity, right)
            document: dict[str, Any] = {"observations": observations_to_document(bins)}
            if not self._vectors_read_back and record.vector is not None:
                # before 9.1 the update re-indexes the merged _source, which may lack it
                document[VECTOR_FIELD] = vector_json(record.vector)
            try:
                await self._conditional_update(index, key, document, seq_no, primary_term)
            except ConflictError:
                if attempt < OBSERVATION_RETRIES:
                    await AsyncRejectionRetry.pause(pauses[attempt])
                continue
            except NotFoundError as exc:
                kind, _ = error_type_and_reason(exc)
                if kind == INDEX_MISSING:
                    self._forget_indices(index_missing=not is_alias)
                return False  # deleted between read and write
            return index
        return None

    async def _versioned_copy(
        self, key: str, is_alias: bool
    ) -> tuple[str, SemanticRecord, int, int] | None:
        """The copy of ``key`` that :meth:`get` returns, read in realtime: its concrete
        index, the record, ``_seq_no`` and ``_primary_term``; ``None`` when there is none."""
        index = self._index_name
        if is_alias:
            newest = await self._newest_copies([key])
            if key not in newest:
                return None
            index = newest[key][1]
        try:
            answer = await self._client.get(index=index, id=key)
            if not self._vectors_read_back:
                # before 9.1 the update re-indexes the merged _source, so the vector is
                # written back with it: read from doc values when _source lacks it,
                # whatever this repository learned (the alias may have rolled over since)
                await self._fill_vectors([answer.body])
        except NotFoundError as exc:
            kind, _ = error_type_and_reason(exc)
            if kind == INDEX_MISSING:
                self._forget_indices(index_missing=not is_alias)
            return None
        body = answer.body
        if not body.get("found"):
            return None
        record = self._kind.from_document(key, body.get("_source"))
        seq_no, primary_term = body.get("_seq_no"), body.get("_primary_term")
        if record is None or not isinstance(seq_no, int) or not isinstance(primary_term, int):
            return None  # a corrupt document is no entry, as for get
        return str(body.get("_index", index)), record, seq_no, primary_term

    async def _conditional_update(
        self, index: str, key: str, document: dict[str, Any], seq_no: int, primary_term: int
    ) -> None:
        """Write ``document``'s fields into the entry (a partial update: the other fields
        are kept as stored) if it is still at ``seq_no`` / ``primary_term``."""
        await AsyncRejectionRetry.call(
            lambda: self._client.update(
                index=index,
                id=key,
                doc=document,
                if_seq_no=seq_no,
                if_primary_term=primary_term,
                **self._refresh_option(),
            )
        )
