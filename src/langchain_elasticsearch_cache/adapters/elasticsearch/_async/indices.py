"""The index behind the repository: created, identified and checked before first use.

On first use ``_ensure_index`` finds out whether the name is an index or an alias,
creates a missing index with the kind's mapping (or puts the mapping on an alias's write
index), and refuses an index that is not a cache of this kind
(``mappings.check_index_mapping``), or takes it over when it is empty and unidentified.
Behind an alias it also resolves, and remembers for a while, the concrete indices.
"""

from __future__ import annotations

import time
from typing import Any

from elasticsearch import AuthorizationException, BadRequestError, NotFoundError

from ....domain.errors import BackendError
from ....domain.ports import R
from ..aliases import alias_write_index, unmapped_properties
from ..errors import error_type_and_reason, existence_check_reason
from ..mappings import cache_marker, check_index_mapping, foreign_index_error, identify_mapping
from .base import AsyncRepositoryBase, logger

__all__ = ["AsyncIndexLifecycle"]


class AsyncIndexLifecycle(AsyncRepositoryBase[R]):
    """Creating, identifying and checking the index; the indices behind an alias."""

    async def _ensure_index(self) -> bool:
        """Check the index (or create it, or put the mapping on the alias) once per
        repository; a failure is not remembered, so the next call tries again."""
        if self._is_alias is not None:
            return self._is_alias
        async with self._bootstrap_lock:
            if self._is_alias is None:
                try:
                    self._is_alias = await self._bootstrap()
                except AuthorizationException as exc:
                    # found wrong at start: never swallowed by fail-open. The existence
                    # checks are HEAD requests, whose 403 has no body to name the
                    # privilege: it is the one that grants them.
                    raise self._denied(
                        exc if exc.body else existence_check_reason(self._index_name),
                        "checking the index",
                        needed_for="to check (or create) the index before its first use",
                        during_setup=True,
                    ) from exc
        return self._is_alias

    async def _bootstrap(self) -> bool:
        indices = self._client.indices
        for _ in range(2):
            if await indices.exists_alias(name=self._index_name):
                # checked first: putting the mapping would add this kind's fields to an
                # index of the other kind
                if not await self._check_mapping(alias=True):
                    continue
                await self._put_alias_mapping()
                return True
            if await indices.exists(index=self._index_name):
                if not await self._check_mapping(alias=False):
                    continue
                await self._wait_until_searchable()
                return False
            try:
                await self._create_index()
            except BadRequestError as exc:
                kind, _ = error_type_and_reason(exc)
                if kind == "resource_already_exists_exception":
                    # a concurrent creator won (perhaps a cache of the other kind); its
                    # primary shard may still be starting
                    if not await self._check_mapping(alias=False):
                        continue
                    await self._wait_until_searchable()
                    return False
                if kind != "invalid_index_name_exception":
                    raise
                # "already exists as alias": created concurrently; look again
            else:
                logger.debug("created Elasticsearch index %r", self._index_name)
                return False
        raise BackendError(
            f"cannot tell whether {self._index_name!r} is an index or an alias: it changed "
            "while the cache was creating it; retry"
        )

    async def _check_mapping(self, *, alias: bool) -> bool:
        """Raise ``ConfigurationError`` unless every index behind the name is positively a
        cache of this kind (``mappings.check_index_mapping``); False if the index vanished
        meanwhile (bootstrap again).

        An index that is not identified but maps no field this kind does not write (e.g.
        created by hand with no mapping) is taken over when it holds no document: its
        mapping and marker are put on it. Holding documents, it is refused.
        """
        try:
            answer = await self._client.indices.get_mapping(index=self._index_name)
        except NotFoundError:
            return False
        adopt: list[tuple[str, dict[str, Any]]] = []
        for index, body in sorted(answer.body.items()):
            mappings = body.get("mappings") or {}
            behind = self._index_name if alias else None
            if check_index_mapping(self._kind, index, mappings, alias=behind):
                documents = await self._documents_in(index)
                if documents:
                    raise foreign_index_error(
                        index,
                        identify_mapping(mappings),
                        kind=self._kind.name,
                        alias=behind,
                        documents=documents,
                    )
                adopt.append((index, mappings))
        for index, mappings in adopt:
            await self._adopt(index, mappings)
        return True

    async def _documents_in(self, index: str) -> int:
        """Every document of ``index``, refreshed first (a count sees refreshed ones).

        A refresh the cluster refuses (no ``maintenance``) is a setup
        :class:`PermissionDeniedError` naming it, the index left as it is: a count of the
        refreshed documents only could be 0 for an index holding writes of the last
        second (all of them when its refreshes are disabled), and take it over. No
        realtime check replaces the refresh with the caches' privileges: the shards'
        sequence numbers need ``monitor``, and a ``refresh=wait_for`` write would change
        an index not known to be a cache.
        """
        try:
            await self._client.indices.refresh(index=index)
        except AuthorizationException as exc:
            raise self._denied(
                exc,
                f"checking the unidentified index {index!r}",
                needed_for=(
                    "to count its documents, recent writes included, before taking it over: "
                    "an index holding documents is never taken over; nothing was changed"
                ),
                during_setup=True,
            ) from exc
        answer = await self._client.count(index=index)
        return int(answer["count"])

    async def _adopt(self, index: str, mappings: dict[str, Any]) -> None:
        """Put this kind's mapping (the fields not mapped yet) and marker on an index that
        holds no document; ``_meta`` the index already has is kept."""
        present = mappings.get("properties") or {}
        properties = {
            name: value
            for name, value in self._kind.mappings["properties"].items()
            if name not in present
        }
        meta = dict(mappings.get("_meta") or {})
        meta.update(cache_marker(self._kind.name))
        await self._client.indices.put_mapping(index=index, properties=properties, meta=meta)
        logger.info("took over the empty index %r for the %s cache", index, self._kind.name)

    async def _create_index(self) -> None:
        """Create the index with the kind's mapping (settings come from index templates)."""
        await self._client.indices.create(index=self._index_name, mappings=self._kind.mappings)

    async def _put_alias_mapping(self) -> None:
        """Put the kind's fields that the alias's write index lacks on it (see
        ``aliases``: never a put on the alias, which reaches every index behind it)."""
        aliases = await self._client.indices.get_alias(name=self._index_name)
        index = alias_write_index(aliases.body, self._index_name)
        if index is not None:
            answer = await self._client.indices.get_mapping(index=index)
            mappings = (answer.body.get(index) or {}).get("mappings") or {}
            missing = unmapped_properties(self._kind.mappings["properties"], mappings)
            if missing:
                await self._client.indices.put_mapping(index=index, properties=missing)

    async def _wait_until_searchable(self) -> None:
        """Wait for the primary shard of an index someone else may have just created.

        Without it, a lookup racing the creator gets 503 "no shard available". Needs the
        ``monitor`` cluster privilege; without it the wait is skipped.
        """
        try:
            # not wait_for_status: a new index whose primary is still starting is yellow
            await self._client.cluster.health(
                index=self._index_name, wait_for_active_shards="1", timeout="30s"
            )
        except AuthorizationException:
            logger.debug("no privilege to read cluster health: not waiting for shards")

    def _forget_indices(self, *, index_missing: bool = False) -> None:
        self._alias_indices = None
        if index_missing:
            self._is_alias = None  # bootstrap again: the index may have to be recreated

    async def _concrete_indices(self, *, fresh: bool = False) -> tuple[str, ...]:
        now = time.monotonic()
        if not fresh and self._alias_indices is not None and now < self._alias_indices_expire:
            return self._alias_indices
        try:
            answer = await self._client.indices.get_alias(name=self._index_name)
        except NotFoundError:
            self._forget_indices(index_missing=True)
            raise
        indices = tuple(sorted(answer.body))
        self._alias_indices = indices
        self._alias_indices_expire = now + self._alias_cache_seconds
        return indices

    def _note_written_index(self, index: Any) -> None:
        """A write through the alias landed in ``index``; unknown means the alias moved."""
        if self._alias_indices is not None and index not in self._alias_indices:
            self._alias_indices = None
