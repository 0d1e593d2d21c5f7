"""The Elasticsearch repository.

``_async/repository.py`` is the source; ``_sync/repository.py`` is generated from it by
``scripts/run_unasync.py`` (``--check`` fails when it is stale). Edit the async file only.

How it talks to Elasticsearch, and why:

* Lookups are realtime ``GET`` / ``mget``: a write is visible to the next lookup without
  any refresh, so writes never force one (``refresh`` is passed only when the caller asks
  for it).
* Lookups and writes ask for no ``_source`` filtering and no ``filter_path``: a cache
  document holds only the fields a record needs, so filtering would shrink nothing, and
  it costs the node a parse and re-serialisation of every document it returns (measured
  on 8.19: +60 us per GET, up to twice the time of an ``mget`` of 1,000 vectors; see
  ``benchmarks/RESULTS.md``). Unknown fields in a document are ignored.
* Behind an alias the concrete indices are resolved (and remembered for
  ``alias_cache_seconds``) and every ``(index, key)`` pair is fetched with one realtime
  ``mget``; per key the copy with the newest ``timestamp`` wins.
* ``count``, ``scan``, ``clear`` and ``delete_older_than`` are searches, which only see
  refreshed documents, so they refresh the target first; without the ``maintenance``
  privilege they wait for the next refresh instead (``_wait_for_refresh``), never search
  stale documents.
* ``clear`` / ``delete_older_than`` use ``_delete_by_query`` when the cluster has it and
  otherwise stream the matching ids with a point in time and bulk-delete them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Generic

from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    AuthorizationException,
    BadRequestError,
    NotFoundError,
)
from elasticsearch.helpers import async_streaming_bulk

from ....domain.entries import parse_timestamp
from ....domain.errors import (
    BackendError,
    BackendUnavailableError,
    BulkOperationError,
    ConfigurationError,
    PermissionDeniedError,
)
from ....domain.ports import R
from ..aliases import alias_write_index, unmapped_properties
from ..backoff import AsyncRejectionRetry, backoff_delays
from ..errors import (
    CLIENT_ERRORS,
    BulkBackendUnavailableError,
    BulkEntriesRefusedError,
    denied_reason,
    describe_hosts,
    error_type_and_reason,
    existence_check_reason,
    is_unavailable_status,
    permission_denied,
    refused_entry_error,
    refused_entry_reason,
    translated,
)
from ..mappings import (
    MAX_ID_BYTES,
    RecordKind,
    cache_marker,
    check_index_mapping,
    foreign_index_error,
    identify_mapping,
    validate_index_name,
)

__all__ = ["AsyncElasticsearchRepository"]

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)
_PIT_KEEP_ALIVE = "2m"
_INDEX_MISSING = "index_not_found_exception"
#: deletes of absent ids sent per shard by ``_wait_for_refresh``: with ids spread at random
#: over S shards, one shard gets none of S * 24 with a probability below S * e**-24
_BARRIER_IDS_PER_SHARD = 24


def _index_gone(error: Any) -> bool:
    """An ``mget`` item's error says its index no longer exists: directly, or as the cause
    of "no shard available" (an index being deleted, e.g. by retention, answers that way
    until every node has applied the deletion). Its copies are gone: a miss, not a failure."""
    if not isinstance(error, dict):
        return False
    cause = error.get("caused_by")
    return error.get("type") == _INDEX_MISSING or (
        isinstance(cause, dict) and cause.get("type") == _INDEX_MISSING
    )


def epoch_millis(value: datetime) -> int:
    """Whole milliseconds since the epoch, rounded down (what a ``date`` field stores)."""
    return (value - _EPOCH) // _ONE_MS


def _json_size(document: Any) -> int:
    """About the bytes ``document`` takes in a request (said when it is refused)."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8", "surrogatepass"))


def _missing_timestamp() -> dict[str, Any]:
    return {"bool": {"must_not": {"exists": {"field": "timestamp"}}}}


def _any_of(*queries: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": list(queries), "minimum_should_match": 1}}


def _ms_range(**bounds: int) -> dict[str, Any]:
    return {"range": {"timestamp": {**bounds, "format": "epoch_millis"}}}


class AsyncElasticsearchRepository(Generic[R]):
    """Records of one kind (``LLM_RECORDS`` or ``EMBEDDING_RECORDS``) in an index or alias.

    Args:
        client: the Elasticsearch client; closed by :meth:`close` only if ``owns_client``.
        index_name: index or alias. A missing index is created with the kind's mapping on
            first use; an alias gets the mapping put on it and is written through with
            ``require_alias``. An existing index (every index behind an alias) is checked
            on first use, before anything is read or written: one whose mapping cannot
            hold this kind's entries, or that holds the other kind's, is a
            ``ConfigurationError`` (see ``mappings.check_index_mapping``).
        kind: what is stored, how it is mapped and (de)serialised.
        refresh: passed to every write when not ``False`` (``True`` or ``"wait_for"``);
            lookups never need it, searches by other tools may.
        maximum_duplicates_allowed: behind an alias, how many copies of one key (one per
            index) are expected. Lookups always fetch every copy and return the newest;
            finding more copies than this logs a warning (once per repository), since
            each extra copy costs a fetch and storage. Must be at least 1.
        chunk_size: documents per bulk request, ids per ``mget``, hits per search page in
            ``clear`` / ``delete_older_than``.
        owns_client: close the client in :meth:`close` (when the caller built it for
            this repository, e.g. with ``create_elasticsearch_client``).
        alias_cache_seconds: how long the concrete indices behind an alias are remembered;
            forgotten earlier when a write fails or lands in an index not in the list.

    Raises:
        InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
        ConfigurationError: ``refresh``, ``maximum_duplicates_allowed``, ``chunk_size`` or
            ``alias_cache_seconds`` is out of range.

    Behind an alias, ``count`` and ``clear`` count documents (a key stored in two indices
    counts twice); ``scan`` yields each key once, the copy ``get`` returns (checked page by
    page with one realtime ``mget``); ``delete_many`` removes a key from every index and
    counts it once.
    """

    def __init__(
        self,
        client: AsyncElasticsearch,
        index_name: str,
        kind: RecordKind[R],
        *,
        refresh: bool | str = False,
        maximum_duplicates_allowed: int = 1,
        chunk_size: int = 500,
        owns_client: bool = False,
        alias_cache_seconds: float = 15.0,
    ) -> None:
        validate_index_name(index_name)
        if not isinstance(refresh, bool) and refresh not in ("true", "false", "wait_for"):
            raise ConfigurationError(f"refresh must be False, True or 'wait_for', not {refresh!r}")
        if (
            isinstance(maximum_duplicates_allowed, bool)
            or not isinstance(maximum_duplicates_allowed, int)
            or maximum_duplicates_allowed < 1
        ):
            raise ConfigurationError(
                "maximum_duplicates_allowed must be an integer >= 1, "
                f"not {maximum_duplicates_allowed!r}"
            )
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ConfigurationError(f"chunk_size must be an integer >= 1, not {chunk_size!r}")
        if alias_cache_seconds < 0:
            raise ConfigurationError(
                f"alias_cache_seconds must be >= 0, not {alias_cache_seconds!r}"
            )
        self._client = client
        self._index_name = index_name
        self._kind: RecordKind[R] = kind
        self._refresh = refresh
        self._maximum_duplicates_allowed = maximum_duplicates_allowed
        self._chunk_size = chunk_size
        self._owns_client = owns_client
        self._alias_cache_seconds = alias_cache_seconds
        self._bootstrap_lock = asyncio.Lock()
        self._is_alias: bool | None = None
        self._alias_indices: tuple[str, ...] | None = None
        self._alias_indices_expire = 0.0
        self._delete_by_query_missing = False
        self._refresh_denied: AuthorizationException | None = None
        self._warned_duplicates = False
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index_name={self._index_name!r}, kind={self._kind.name!r})"

    @property
    def index_name(self) -> str:
        return self._index_name

    @property
    def kind(self) -> RecordKind[R]:
        return self._kind

    @property
    def client(self) -> AsyncElasticsearch:
        return self._client

    # -- plumbing -----------------------------------------------------------------

    def _translated(self, action: str) -> contextlib.AbstractContextManager[None]:
        return translated(f"{action} ({self._index_name!r})", client=self._client)

    def _refresh_option(self) -> dict[str, Any]:
        """``refresh`` only when the caller asked for it: lookups are realtime anyway."""
        if self._refresh is False or self._refresh == "false":
            return {}
        return {"refresh": self._refresh}

    def _write_options(self) -> dict[str, Any]:
        options = self._refresh_option()
        if self._is_alias:
            options["require_alias"] = True
        return options

    def _denied(
        self, exc: Any, action: str, *, needed_for: str = "", during_setup: bool = False
    ) -> PermissionDeniedError:
        """The error naming the privilege a 403 (or its reason) says is missing."""
        return permission_denied(
            denied_reason(exc),
            f"{action} ({self._index_name!r})",
            describe_hosts(self._client),
            needed_for=needed_for,
            during_setup=during_setup,
        )

    def _check_key(self, key: str) -> None:
        if not isinstance(key, str) or not key:
            raise ConfigurationError(f"a key must be a non-empty string, not {key!r}")
        if len(key.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
            raise ConfigurationError(
                f"key {key[:40]!r}... is longer than Elasticsearch's {MAX_ID_BYTES}-byte "
                "document id limit; use a hashing key scheme"
            )
        if key in self._kind.reserved_ids:
            raise ConfigurationError(
                f"key {key!r} is reserved: the index keeps a document that is not an entry "
                "under that id; use a hashing key scheme"
            )

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

    # -- lookups ------------------------------------------------------------------

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
                if kind == _INDEX_MISSING:
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

    # -- writes -------------------------------------------------------------------

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
                self._forget_indices(index_missing=kind == _INDEX_MISSING)
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

    # -- searches -----------------------------------------------------------------

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

    async def _ensure_deletable(self) -> None:
        """Before deleting by query: behind an alias, check again every index it covers
        now (an index added since the first check must be a cache of this kind too)."""
        if await self._ensure_index() and not await self._check_mapping(alias=True):
            self._forget_indices(index_missing=True)
            await self._ensure_index()

    async def clear(self) -> int:
        with self._translated("clear"):
            await self._ensure_deletable()
            everything = self._kind.entries_only()
            return await self._delete_matching("clear", everything)

    async def delete_older_than(self, cutoff: datetime) -> int:
        if not isinstance(cutoff, datetime) or cutoff.tzinfo is None:
            raise ConfigurationError(
                f"cutoff must be a timezone-aware datetime, not {cutoff!r}; "
                "e.g. datetime.now(timezone.utc) - timedelta(days=7)"
            )
        # A ``date`` field keeps whole milliseconds. Documents stored before the cutoff's
        # millisecond are certainly older; those within it are checked against the exact
        # timestamp in their source. A document without a timestamp counts as the epoch.
        millis = epoch_millis(cutoff)
        certain: list[dict[str, Any]] = [_ms_range(lt=millis)]
        if cutoff >= _EPOCH:
            certain.append(_missing_timestamp())
        with self._translated("delete_older_than"):
            await self._ensure_deletable()
            older = self._kind.entries_only(_any_of(*certain))
            deleted = await self._delete_matching("delete_older_than", older)
            deleted += await self._delete_streamed(
                "delete_older_than",
                self._kind.entries_only(_ms_range(gte=millis, lte=millis)),
                keep=lambda stamp: stamp is not None and stamp > cutoff,
                refreshed=True,
            )
        return deleted

    async def _delete_matching(self, action: str, query: dict[str, Any]) -> int:
        await self._refresh_for_search(action)
        if not self._delete_by_query_missing:
            # refreshed after deleting, so that searches no longer see what was deleted:
            # by delete_by_query itself when the refresh API is allowed, else by waiting
            refresh = self._refresh_denied is None
            try:
                answer = await self._client.delete_by_query(
                    index=self._index_name,
                    query=query,
                    conflicts="proceed",
                    refresh=refresh,
                )
            except ApiError as exc:
                if not self._is_missing_endpoint(exc):
                    raise
                self._delete_by_query_missing = True
                logger.info(
                    "this cluster has no _delete_by_query (no reindex module): deleting "
                    "by point in time and bulk instead"
                )
            else:
                failures = answer.body.get("failures") or []
                if failures:
                    _, reason = error_type_and_reason(failures[0].get("cause"))
                    raise BackendError(
                        f"delete_by_query on {self._index_name!r} left {len(failures)} "
                        f"document(s) undeleted: {reason}"
                    )
                deleted = int(answer.body.get("deleted", 0))
                if deleted and not refresh:
                    await self._wait_for_refresh(action)
                return deleted
        return await self._delete_streamed(action, query, keep=None, refreshed=True)

    @staticmethod
    def _is_missing_endpoint(exc: ApiError) -> bool:
        """The 400 "no handler found" of a cluster without the ``reindex`` module."""
        _, reason = error_type_and_reason(exc)
        return exc.status_code in (400, 404, 405) and "no handler found" in reason.lower()

    async def _delete_streamed(
        self,
        action: str,
        query: dict[str, Any],
        *,
        keep: Callable[[datetime | None], bool] | None,
        refreshed: bool = False,
    ) -> int:
        """Delete the hits of ``query`` page by page from their concrete indices.

        ``keep`` (a predicate on the parsed ``timestamp``) spares hits whose exact
        timestamp says they do not match after all.
        """
        if not refreshed:
            await self._refresh_for_search(action)
        deleted = 0
        source = ["timestamp"] if keep is not None else None
        pages = self._pages(query, self._chunk_size, source=source)
        async with contextlib.aclosing(pages):
            async for page in pages:
                deleted += await self._delete_hits(page, keep)
        if deleted:
            await self._refresh_for_search(action)
        return deleted

    async def _delete_hits(
        self, hits: list[dict[str, Any]], keep: Callable[[datetime | None], bool] | None
    ) -> int:
        actions = []
        for hit in hits:
            if keep is not None:
                raw = (hit.get("_source") or {}).get("timestamp")
                if keep(_EPOCH if raw is None else parse_timestamp(raw)):
                    continue
            actions.append({"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]})
        if not actions:
            return 0
        # documents, not keys: behind an alias one key may be deleted from several indices
        return len(await self._bulk("delete", actions, {}))

    # -- lifecycle ----------------------------------------------------------------

    async def close(self) -> None:
        """Close the client if this repository created it (``owns_client``)."""
        if self._owns_client and not self._closed:
            self._closed = True
            with self._translated("close"):
                await self._client.close()

    async def __aenter__(self) -> AsyncElasticsearchRepository[R]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
