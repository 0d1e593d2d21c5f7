"""Searches: ``count`` and ``scan``, and the refresh every search waits for first.

A search sees only refreshed documents, so each one first makes every earlier write
visible: with the ``maintenance`` privilege by a refresh, without it by waiting for the
next scheduled refresh (``_wait_for_refresh``); never by searching whatever happens to
be refreshed already. ``scan`` walks a point in time with ``search_after``; behind an
alias over several indices it yields, per key, only the copy ``get`` returns.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from elasticsearch import AuthorizationException

from ....domain.errors import BackendError, ConfigurationError, PermissionDeniedError
from ....domain.ports import R
from ..errors import CLIENT_ERRORS, error_type_and_reason
from .base import logger
from .lookups import AsyncLookups

__all__ = ["AsyncSearches"]

_PIT_KEEP_ALIVE = "2m"
#: deletes of absent ids sent per shard by ``_wait_for_refresh``: with ids spread at random
#: over S shards, one shard gets none of S * 24 with a probability below S * e**-24
_BARRIER_IDS_PER_SHARD = 24


class AsyncSearches(AsyncLookups[R]):
    """``count`` and ``scan``; paging a point in time; refreshing before a search."""

    async def count(self) -> int:
        with self._translated("count"):
            await self._ensure_index()
            await self._refresh_for_search("count")
            answer = await self._client.count(
                index=self._index_name, query=self._kind.entries_only()
            )
        return int(answer["count"])

    async def scan(self, *, page_size: int = 1000) -> AsyncIterator[R]:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ConfigurationError(f"page_size must be an integer >= 1, not {page_size!r}")
        with self._translated("scan"):
            is_alias = await self._ensure_index()
            await self._refresh_for_search("scan")
            everything = self._kind.entries_only()
            pages = self._pages(everything, page_size, source=self._kind.source_fields)
            async with contextlib.aclosing(pages):
                async for page in pages:
                    if is_alias and len(await self._concrete_indices()) > 1:
                        for winner in await self._winning_copies(page):
                            yield winner
                        continue
                    for hit in page:
                        record = self._kind.from_document(hit["_id"], self._kind.source_of(hit))
                        if record is not None:
                            yield record  # a corrupt document is skipped

    async def _winning_copies(self, page: list[dict[str, Any]]) -> list[R]:
        """Of a page of hits behind an alias, the copies ``get`` would return: each key is
        listed once, when the scan meets the index that holds its newest copy. Memory stays
        bounded by the page: one realtime mget of the page's keys in every index.

        The winner is decoded from the hit, not from the mget: a search can return what
        an mget leaves out of ``_source`` (the vectors of Elasticsearch 9, see
        ``RecordKind.fetched_fields``)."""
        newest = await self._newest_copies(list(dict.fromkeys(hit["_id"] for hit in page)))
        winners: list[R] = []
        for hit in page:
            found = newest.get(hit["_id"])
            if found is not None and found[1] == hit["_index"]:
                if not self._kind.fetched_fields:
                    winners.append(found[0])
                    continue
                record = self._kind.from_document(hit["_id"], self._kind.source_of(hit))
                winners.append(found[0] if record is None else record)
        return winners

    async def _pages(
        self, query: dict[str, Any], page_size: int, *, source: list[str] | None
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        """Pages of hits matching ``query``: a point in time walked with search_after."""
        opened = await self._client.open_point_in_time(
            index=self._index_name, keep_alive=_PIT_KEEP_ALIVE
        )
        pit_id: str = opened["id"]
        fields: dict[str, Any] = (
            {"source": False} if source is None else {"source_includes": source}
        )
        if source is not None and self._kind.fetched_fields:
            option = "docvalue_fields" if self._kind.fetched_from_doc_values else "fields"
            fields[option] = list(self._kind.fetched_fields)
        try:
            search_after: list[Any] | None = None
            while True:
                answer = await self._client.search(
                    pit={"id": pit_id, "keep_alive": _PIT_KEEP_ALIVE},
                    query=query,
                    sort=[{"_shard_doc": "asc"}],
                    size=page_size,
                    search_after=search_after,
                    **fields,
                    track_total_hits=False,
                    filter_path="pit_id,hits.hits._index,hits.hits._id,hits.hits._source,"
                    "hits.hits.fields,hits.hits.sort",
                )
                pit_id = answer.body.get("pit_id", pit_id)
                hits: list[dict[str, Any]] = answer.body.get("hits", {}).get("hits", [])
                if not hits:
                    return
                yield hits
                if len(hits) < page_size:
                    return
                search_after = hits[-1]["sort"]
        finally:
            with contextlib.suppress(*CLIENT_ERRORS):
                await self._client.close_point_in_time(id=pit_id)

    async def _refresh_for_search(self, action: str) -> None:
        """Searches see only refreshed documents: make every write made so far visible.

        With the ``maintenance`` privilege (the refresh API), a refresh. Without it (a
        cache's least-privilege role), :meth:`_wait_for_refresh`: a write privilege is
        enough. Never a search of what happens to be refreshed already: a ``clear()``
        that misses the last writes, or a listing without them, would look like success.
        """
        if self._refresh_denied is None:
            try:
                await self._client.indices.refresh(index=self._index_name)
                return
            except AuthorizationException as exc:
                self._refresh_denied = exc  # not asked again by this repository
                logger.debug(
                    "no privilege to refresh %r: waiting for the next refresh instead",
                    self._index_name,
                )
        await self._wait_for_refresh(action)

    async def _wait_for_refresh(self, action: str) -> None:
        """Wait until every write made so far is visible to searches, without the refresh
        API: one bulk request deleting absent ids with ``refresh=wait_for``, spread over
        every shard. Such a delete is a write (the ``delete`` privilege, part of
        ``write``) that leaves nothing behind but a tombstone; ``wait_for`` answers once
        a refresh has made it, and so every earlier write on its shard, visible. It
        waits for the next scheduled refresh (``index.refresh_interval``, one second by
        default; a search-idle shard is refreshed for it).

        Neither privilege, or an index whose refreshes are disabled
        (``refresh_interval: -1``), is a :class:`PermissionDeniedError` /
        ``ConfigurationError`` naming the fix.
        """
        answer = await self._client.indices.get_settings(
            index=self._index_name,
            name="index.number_of_shards,index.refresh_interval",
            flat_settings=True,
        )
        actions: list[dict[str, Any]] = []
        for index, body in sorted(answer.body.items()):
            settings = body.get("settings") or {}
            if str(settings.get("index.refresh_interval")) == "-1":
                raise ConfigurationError(
                    f"{action} ({self._index_name!r}): index {index!r} has refreshes disabled "
                    "(index.refresh_interval: -1) and the cache lacks the 'maintenance' "
                    "privilege to refresh it: grant 'maintenance' on the index, or set a "
                    "refresh_interval"
                )
            shards = int(settings.get("index.number_of_shards") or 1)
            count = 1 if shards == 1 else shards * _BARRIER_IDS_PER_SHARD
            tag = uuid.uuid4().hex
            actions += [
                {"delete": {"_index": index, "_id": f"lecache-refresh-barrier-{tag}-{n}"}}
                for n in range(count)
            ]
        if not actions:
            return
        try:
            answer = await self._client.bulk(operations=actions, refresh="wait_for")
        except AuthorizationException as exc:
            raise self._cannot_see_writes(action, exc) from exc
        for item in answer.body.get("items", []):
            info = next(iter(item.values()))
            status = info.get("status")
            if status in (200, 404):
                continue
            if status == 403:
                raise self._cannot_see_writes(action, info.get("error"))
            _, reason = error_type_and_reason(info.get("error"))
            raise BackendError(
                f"{action} ({self._index_name!r}): waiting for a refresh of "
                f"{info.get('_index')!r} failed: {reason}"
            )

    def _cannot_see_writes(self, action: str, error: Any) -> PermissionDeniedError:
        """Neither the refresh nor the wait for one was allowed: name the privilege the
        wait needs (the caches' role has it), and ``maintenance`` as the other way."""
        return self._denied(
            error,
            action,
            needed_for=(
                f"by {action} to see the writes made just before it: without the "
                "'maintenance' privilege to refresh the index, the cache waits for the next "
                "refresh by deleting absent ids with refresh=wait_for; granting "
                "'maintenance' instead also works"
            ),
        )
