"""Writes: ``put`` (one index request), ``put_many`` and ``delete_many`` (bulk).

Writes never force a refresh (lookups are realtime); ``refresh`` is passed only when the
caller asked for it, and ``require_alias`` when writing through an alias. A write that
the cluster rejects with 429 (a full write queue) is sent again after a pause (see
``..backoff``); ``_bulk`` also halves requests found too large.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from elasticsearch import ApiError
from elasticsearch.helpers import async_streaming_bulk

from ....domain.errors import BulkOperationError
from ....domain.ports import R
from ..backoff import AsyncRejectionRetry, backoff_delays
from ..errors import (
    BulkBackendUnavailableError,
    BulkEntriesRefusedError,
    error_type_and_reason,
    is_unavailable_status,
    refused_entry_error,
    refused_entry_reason,
)
from .base import INDEX_MISSING
from .indices import AsyncIndexLifecycle

__all__ = ["AsyncWrites"]


def _json_size(document: Any) -> int:
    """About the bytes ``document`` takes in a request (said when it is refused)."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8", "surrogatepass"))


class AsyncWrites(AsyncIndexLifecycle[R]):
    """``put``, ``put_many`` and ``delete_many``; the bulk sender they share."""

    async def put(self, record: R) -> None:
        self._check_key(record.key)
        document = self._kind.to_document(record)
        with self._translated("put"):
            await self._ensure_index()
            try:
                # a 429 (write queue full) is retried after a pause, not raised at once
                answer = await AsyncRejectionRetry.call(
                    lambda: self._client.index(
                        index=self._index_name,
                        id=record.key,
                        document=document,
                        **self._write_options(),
                    )
                )
            except ApiError as exc:
                kind, _ = error_type_and_reason(exc)
                self._forget_indices(index_missing=kind == INDEX_MISSING)
                refused = refused_entry_error(
                    exc, f"put ({self._index_name!r})", record.key, _json_size(document)
                )
                if refused is not None:
                    raise refused from exc
                raise
            self._note_written_index(answer.body.get("_index"))

    async def put_many(self, records: Sequence[R]) -> None:
        for record in records:
            self._check_key(record.key)
        if not records:
            return
        actions = [
            {
                "_op_type": "index",
                "_index": self._index_name,
                "_id": record.key,
                "_source": self._kind.to_document(record),
            }
            for record in records
        ]
        with self._translated("put_many"):
            await self._ensure_index()
            await self._bulk("put", actions, self._write_options())

    async def delete_many(self, keys: Sequence[str]) -> int:
        for key in keys:
            self._check_key(key)
        unique = list(dict.fromkeys(keys))
        if not unique:
            return 0
        with self._translated("delete_many"):
            if await self._ensure_index():
                # a key may be in every index; resolve now so a retired index is spared
                targets = await self._concrete_indices(fresh=True)
            else:
                targets = (self._index_name,)
            actions = [
                {"_op_type": "delete", "_index": index, "_id": key}
                for key in unique
                for index in targets
            ]
            deleted = await self._bulk("delete", actions, self._refresh_option())
        return len(set(deleted))

    async def _bulk(
        self, operation: str, actions: list[dict[str, Any]], options: dict[str, Any]
    ) -> list[str]:
        """Send ``actions`` in chunks; return the id of every document actually deleted.

        Items rejected with 429 (a full write queue: ``es_rejected_execution_exception``
        inside a 200 answer, or the whole chunk refused so) are sent again after a pause
        that doubles, with jitter so that writers rejected together do not return
        together (see ``..backoff``). Items of a request the cluster found too large
        (413, ``http.max_content_length``) are sent again in requests of half as many
        items, down to one; only an entry too large on its own is refused. A delete of an
        absent document (404) is not a failure. Other failed items, and items still
        rejected after the last retry, raise :class:`BulkOperationError` naming every
        failed key, once every chunk was sent; the error is also a
        ``BackendUnavailableError`` when every failure was a 429 or a server error, and an
        ``EntryRefusedError`` when every failure was an entry the cluster refused.
        """
        failures: dict[str, str] = {}
        refused: set[str] = set()
        statuses: set[Any] = set()
        deleted: list[str] = []
        request_error: ApiError | None = None
        denied: Any = None  # an item's 403 error: a missing privilege
        delays = backoff_delays()
        attempt = 0
        chunk_size = self._chunk_size
        pending = actions
        while pending:
            again: list[dict[str, Any]] = []
            rejected = too_large = False
            position = 0
            async for ok, item in async_streaming_bulk(
                self._client,
                pending,
                chunk_size=chunk_size,
                raise_on_error=False,
                raise_on_exception=False,
                max_retries=0,  # retried here, with jitter
                **options,
            ):
                action = pending[position]  # one answer per action, in order
                position += 1
                op_type, info = next(iter(item.items()))
                key = str(info.get("_id"))
                if ok:
                    if op_type == "delete" and info.get("result") == "deleted":
                        deleted.append(key)
                    elif op_type == "index":
                        self._note_written_index(info.get("_index"))
                    continue
                status = info.get("status")
                if status == 413 and chunk_size > 1:
                    again.append(action)  # the request was too large, perhaps not the item
                    too_large = True
                    continue
                if status == 429 and attempt < len(delays):
                    again.append(action)
                    rejected = True
                    continue
                if op_type == "delete" and status == 404:
                    continue  # already absent (or its index is gone): nothing to delete
                if isinstance(info.get("exception"), ApiError):
                    request_error = info["exception"]
                error = info.get("exception") or info.get("error")
                reason = None
                if op_type == "index":
                    size = _json_size(action.get("_source"))
                    reason = refused_entry_reason(status, error, size)
                if reason is not None:
                    refused.add(key)
                else:
                    statuses.add(status)
                    _, reason = error_type_and_reason(info.get("error"))
                    if status == 403:
                        denied = info.get("error")
                failures[key] = f"HTTP {status}: {reason}" if status else reason
            if rejected:
                await AsyncRejectionRetry.pause(delays[attempt])
                attempt += 1
            if too_large:
                chunk_size = max(1, chunk_size // 2)
            pending = again
        if not failures:
            return deleted
        self._forget_indices()
        if request_error is not None and request_error.status_code in (401, 403):
            raise request_error  # translated into an authentication or permission error
        if statuses == {403}:
            raise self._denied(denied, operation)
        if not statuses:
            raise BulkEntriesRefusedError(operation, failures)
        if all(is_unavailable_status(status) for status in statuses):
            raise BulkBackendUnavailableError(operation, failures)
        raise BulkOperationError(operation, failures)
