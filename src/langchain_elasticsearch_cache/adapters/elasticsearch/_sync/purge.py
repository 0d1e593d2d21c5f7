# Generated from _async/purge.py by scripts/run_unasync.py: do not edit by hand.
# Change the async source and run `python scripts/run_unasync.py`.
"""Deleting by query: ``clear`` and ``delete_older_than``.

Both search, so both refresh first (``searches``). They use ``_delete_by_query`` when the
cluster has it (the ``reindex`` module), and otherwise stream the matching ids with a
point in time and delete them in bulk (``writes``). Behind an alias every index it
covers is checked again first: an index added since the first check must be a cache of
this kind too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from elasticsearch import ApiError

from ....domain.entries import parse_timestamp
from ....domain.errors import BackendError, ConfigurationError
from ....domain.ports import R
from ..errors import error_type_and_reason
from .base import EPOCH, epoch_millis, logger
from .searches import Searches
from .writes import Writes

__all__ = ["Purge"]


def _missing_timestamp() -> dict[str, Any]:
    return {"bool": {"must_not": {"exists": {"field": "timestamp"}}}}


def _any_of(*queries: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": list(queries), "minimum_should_match": 1}}


def _ms_range(**bounds: int) -> dict[str, Any]:
    return {"range": {"timestamp": {**bounds, "format": "epoch_millis"}}}


class Purge(Searches[R], Writes[R]):
    """``clear`` and ``delete_older_than``: searches whose hits are deleted."""

    def _ensure_deletable(self) -> None:
        """Before deleting by query: behind an alias, check again every index it covers
        now (an index added since the first check must be a cache of this kind too)."""
        if self._ensure_index() and not self._check_mapping(alias=True):
            self._forget_indices(index_missing=True)
            self._ensure_index()

    def clear(self) -> int:
        with self._translated("clear"):
            self._ensure_deletable()
            everything = self._kind.entries_only()
            return self._delete_matching("clear", everything)

    def delete_older_than(self, cutoff: datetime) -> int:
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
        if cutoff >= EPOCH:
            certain.append(_missing_timestamp())
        with self._translated("delete_older_than"):
            self._ensure_deletable()
            older = self._kind.entries_only(_any_of(*certain))
            deleted = self._delete_matching("delete_older_than", older)
            deleted += self._delete_streamed(
                "delete_older_than",
                self._kind.entries_only(_ms_range(gte=millis, lte=millis)),
                keep=lambda stamp: stamp is not None and stamp > cutoff,
                refreshed=True,
            )
        return deleted

    def _delete_matching(self, action: str, query: dict[str, Any]) -> int:
        self._refresh_for_search(action)
        if not self._delete_by_query_missing:
            # refreshed after deleting, so that searches no longer see what was deleted:
            # by delete_by_query itself when the refresh API is allowed, else by waiting
            refresh = self._refresh_denied is None
            try:
                answer = self._client.delete_by_query(
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
                    self._wait_for_refresh(action)
                return deleted
        return self._delete_streamed(action, query, keep=None, refreshed=True)

    @staticmethod
    def _is_missing_endpoint(exc: ApiError) -> bool:
        """The 400 "no handler found" of a cluster without the ``reindex`` module."""
        _, reason = error_type_and_reason(exc)
        return exc.status_code in (400, 404, 405) and "no handler found" in reason.lower()

    def _delete_streamed(
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
            self._refresh_for_search(action)
        deleted = 0
        source = ["timestamp"] if keep is not None else None
        pages = self._pages(query, self._chunk_size, source=source)
        with contextlib.closing(pages):
            for page in pages:
                deleted += self._delete_hits(page, keep)
        if deleted:
            self._refresh_for_search(action)
        return deleted

    def _delete_hits(
        self, hits: list[dict[str, Any]], keep: Callable[[datetime | None], bool] | None
    ) -> int:
        actions = []
        for hit in hits:
            if keep is not None:
                raw = (hit.get("_source") or {}).get("timestamp")
                if keep(EPOCH if raw is None else parse_timestamp(raw)):
                    continue
            actions.append({"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]})
        if not actions:
            return 0
        # documents, not keys: behind an alias one key may be deleted from several indices
        return len(self._bulk("delete", actions, {}))
