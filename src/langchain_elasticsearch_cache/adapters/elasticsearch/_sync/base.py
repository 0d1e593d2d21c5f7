# Generated from _async/base.py by scripts/run_unasync.py: do not edit by hand.
# Change the async source and run `python scripts/run_unasync.py`.
"""The repository's foundation: its settings, its state and the plumbing every layer uses.

The base class checks and keeps the constructor's arguments and holds the state the
other layers share (whether the name is an alias, the indices behind it, what the cluster
refused); the layers above it (``indices``, ``lookups``, ``writes``, ``searches``,
``purge``) add behaviour only. See ``repository`` for how they fit together.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Generic

from elasticsearch import AuthorizationException, Elasticsearch

from ....domain.errors import ConfigurationError, PermissionDeniedError
from ....domain.ports import R
from ..errors import denied_reason, describe_hosts, permission_denied, translated
from ..mappings import MAX_ID_BYTES, RecordKind, validate_index_name

__all__ = ["EPOCH", "INDEX_MISSING", "RepositoryBase", "epoch_millis", "logger"]

#: one logger for every layer, named as it was when the repository was a single module
#: (``..._async.repository`` / ``..._sync.repository``), so logging configurations that
#: name it keep working
logger = logging.getLogger(__name__.rpartition(".")[0] + ".repository")

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)
#: the error type of a request (or ``mget`` item) on an index that does not exist
INDEX_MISSING = "index_not_found_exception"


def epoch_millis(value: datetime) -> int:
    """Whole milliseconds since the epoch, rounded down (what a ``date`` field stores)."""
    return (value - EPOCH) // _ONE_MS


class RepositoryBase(Generic[R]):
    """Settings, shared state and plumbing of the repository (the class docstring in
    ``repository`` documents the arguments)."""

    def __init__(
        self,
        client: Elasticsearch,
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
        self._bootstrap_lock = threading.Lock()
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
    def client(self) -> Elasticsearch:
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
