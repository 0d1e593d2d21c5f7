"""Lookups: realtime ``GET`` / ``mget`` of entries by key.

A single index answers a ``GET`` per key, or an ``mget`` per ``chunk_size`` keys. Behind
an alias every ``(index, key)`` pair is fetched with realtime ``mget`` and, per key, the
copy with the newest ``timestamp`` wins (on equal timestamps, the index whose name sorts
first). A copy in an index that vanished meanwhile is a miss, not a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elasticsearch import NotFoundError

from ....domain.errors import BackendError, BackendUnavailableError
from ....domain.ports import R
from ..errors import error_type_and_reason
from .base import INDEX_MISSING, logger
from .indices import AsyncIndexLifecycle

__all__ = ["AsyncLookups"]


def _index_gone(error: Any) -> bool:
    """An ``mget`` item's error says its index no longer exists: directly, or as the cause
    of "no shard available" (an index being deleted, e.g. by retention, answers that way
    until every node has applied the deletion). Its copies are gone: a miss, not a failure."""
    if not isinstance(error, dict):
        return False
    cause = error.get("caused_by")
    return error.get("type") == INDEX_MISSING or (
        isinstance(cause, dict) and cause.get("type") == INDEX_MISSING
    )


class AsyncLookups(AsyncIndexLifecycle[R]):
    """``get``, ``get_many`` and ``newest_copy_indices``: realtime reads by key."""

    async def _get_document(self, index: str, key: str) -> Any:
        """One realtime GET of a document (a subclass may ask for more of it)."""
        return await self._client.get(index=index, id=key)

    async def _mget_documents(self, **request: Any) -> Any:
        """One realtime ``mget`` (``index`` + ``ids``, or ``docs``)."""
        return await self._client.mget(**request)

    async def get(self, key: str) -> R | None:
        self._check_key(key)
        with self._translated("get"):
            if await self._ensure_index():
                found = await self._get_through_alias([key])
                return found.get(key)
            try:
                answer = await self._get_document(self._index_name, key)
            except NotFoundError as exc:
                kind, _ = error_type_and_reason(exc)
                if kind == INDEX_MISSING:
                    self._forget_indices(index_missing=True)
                return None
            if not answer.body.get("found"):
                return None
            return self._kind.from_document(key, answer.body.get("_source"))

    async def get_many(self, keys: Sequence[str]) -> list[R | None]:
        for key in keys:
            self._check_key(key)
        if not keys:
            return []
        unique = list(dict.fromkeys(keys))
        with self._translated("get_many"):
            if await self._ensure_index():
                found = await self._get_through_alias(unique)
            else:
                found = await self._get_from_index(unique)
        return [found.get(key) for key in keys]

    async def _get_from_index(self, keys: list[str]) -> dict[str, R | None]:
        found: dict[str, R | None] = {}
        for start in range(0, len(keys), self._chunk_size):
            chunk = keys[start : start + self._chunk_size]
            answer = await self._mget_documents(index=self._index_name, ids=chunk)
            for doc in answer.body.get("docs", []):
                if "error" in doc:
                    self._mget_item_error(doc)
                    continue
                if doc.get("found"):
                    found[doc["_id"]] = self._kind.from_document(doc["_id"], doc.get("_source"))
        return found

    def _mget_item_error(self, doc: dict[str, Any]) -> None:
        """An ``mget`` item failed: a vanished index is a miss, anything else is raised."""
        kind, reason = error_type_and_reason(doc.get("error"))
        if _index_gone(doc.get("error")):
            self._forget_indices(index_missing=not self._is_alias)
            return
        message = f"get of key {doc.get('_id')!r} from {doc.get('_index')!r} failed: {reason}"
        if kind in ("no_shard_available_action_exception", "unavailable_shards_exception"):
            raise BackendUnavailableError(message + "; retry later")
        raise BackendError(message)

    async def _get_through_alias(self, keys: list[str]) -> dict[str, R | None]:
        """Fetch every copy behind the alias in realtime; per key the newest wins."""
        return {key: record for key, (record, _) in (await self._newest_copies(keys)).items()}

    async def newest_copy_indices(self, keys: Sequence[str]) -> dict[str, str]:
        """Per key found: the index holding the copy :meth:`get` returns (behind an alias
        over several indices, the newest valid copy; on equal timestamps the index whose
        name sorts first). Keys not found, or found only as corrupt copies, are left out."""
        for key in keys:
            self._check_key(key)
        unique = list(dict.fromkeys(keys))
        with self._translated("get_many"):
            if await self._ensure_index():
                return {
                    key: index for key, (_, index) in (await self._newest_copies(unique)).items()
                }
            found = await self._get_from_index(unique)
        return {key: self._index_name for key, record in found.items() if record is not None}

    async def _newest_copies(self, keys: list[str]) -> dict[str, tuple[R, str]]:
        """Per key found behind the alias: its newest valid copy and the index holding it
        (on equal timestamps, the index whose name sorts first)."""
        for attempt in range(2):
            indices = await self._concrete_indices()
            pairs = [{"_index": index, "_id": key} for key in keys for index in indices]
            best: dict[str, tuple[R, str]] = {}
            copies: dict[str, int] = {}
            stale = False
            for start in range(0, len(pairs), self._chunk_size):
                answer = await self._mget_documents(docs=pairs[start : start + self._chunk_size])
                for doc in answer.body.get("docs", []):
                    if "error" in doc:
                        stale = stale or _index_gone(doc.get("error"))
                        self._mget_item_error(doc)
                        continue
                    if not doc.get("found"):
                        continue
                    key = doc["_id"]
                    record = self._kind.from_document(key, doc.get("_source"))
                    if record is None:
                        continue  # a corrupt copy is a miss, never a crash
                    copies[key] = copies.get(key, 0) + 1
                    current = best.get(key)
                    if current is None or record.timestamp > current[0].timestamp:
                        best[key] = (record, doc["_index"])
            if not stale or attempt:
                self._warn_duplicates(copies)
                return best
            self._forget_indices()  # an index left the alias: resolve it again, once
        raise AssertionError("unreachable")  # pragma: no cover

    def _warn_duplicates(self, copies: dict[str, int]) -> None:
        most = max(copies.values(), default=0)
        if most > self._maximum_duplicates_allowed and not self._warned_duplicates:
            self._warned_duplicates = True
            logger.warning(
                "found %d copies of one key behind alias %r (maximum_duplicates_allowed=%d); "
                "the newest is used. Remove old indices from the alias, or raise "
                "maximum_duplicates_allowed to silence this warning",
                most,
                self._index_name,
                self._maximum_duplicates_allowed,
            )
