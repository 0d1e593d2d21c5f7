"""Retention by index: roll a cache over to a new index behind its alias, and drop whole
indices whose newest entry has expired.

Deleting expired entries one by one (``purge_expired``) costs a search and a delete per
entry: at billions of entries that is days of work for the cluster. Behind an alias the
cache already reads every index (the newest copy of a key wins) and writes through the
alias's write index only, so an index that no longer receives writes can be dropped whole
once its *newest* entry is older than the ttl: every entry in it has expired, and a key
rewritten since lives in a newer index.

* :func:`bootstrap_alias` starts a cache that can roll over: ``<alias>-000001`` with the
  kind's mapping, behind ``<alias>`` as its write index.
* :func:`rollover` asks Elasticsearch's ``_rollover`` API to start ``<alias>-000002`` (and
  so on) when one of the conditions is met (``max_age``, ``max_docs``, ``max_size``), with
  the kind's mapping; the old index stays behind the alias, read-only in practice.
* :func:`purge_by_index` drops, by exact name, each index behind the alias that is not its
  write index and whose newest ``timestamp`` is older than the ttl.

Run the last two from a scheduler (cron, a Kubernetes CronJob): rollover e.g. daily with
``max_age`` = a fraction of the ttl, purge as often. None of this needs ILM; with ILM, an
operator maps it to a policy with a ``rollover`` action in the hot phase (same conditions)
and a ``delete`` phase with ``min_age`` = the ttl (ILM counts ``min_age`` from the
rollover, i.e. from the moment the index stopped receiving writes, which is the same bound:
its newest entry is at most that old).

Both refuse an alias behind which any index is not positively a cache of one kind (see
``mappings.identify_mapping``): nothing is rolled over or dropped then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from ...domain.errors import ConfigurationError
from .admin import index_identities
from .errors import error_type_and_reason, translated
from .mappings import (
    EMBEDDING_RECORDS,
    LLM_RECORDS,
    SEMANTIC_INDEX_SETTINGS,
    SEMANTIC_RECORDS,
    VECTOR_SOURCE_EXCLUDES,
    RecordKind,
    foreign_index_error,
    kind_label,
    marker_with_embedding,
    recorded_embedding,
    validate_index_name,
)

__all__ = [
    "FIRST_GENERATION",
    "AliasIndex",
    "DroppedIndex",
    "RolloverResult",
    "alias_indices",
    "bootstrap_alias",
    "purge_by_index",
    "rollover",
    "rollover_conditions",
]

#: The suffix of the first index behind a rollover alias: ``_rollover`` increments it.
FIRST_GENERATION = "000001"

_KINDS: Mapping[str, RecordKind[Any]] = {
    "llm": LLM_RECORDS,
    "embeddings": EMBEDDING_RECORDS,
    "semantic": SEMANTIC_RECORDS,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)
_GENERATION = re.compile(r"-\d+$")
_AGE = re.compile(r"\d+(d|h|m|s|ms)")
_SIZE = re.compile(r"\d+(\.\d+)?(b|kb|mb|gb|tb|pb)", re.IGNORECASE)


def _kind(kind: str) -> RecordKind[Any]:
    try:
        return _KINDS[kind]
    except (KeyError, TypeError):
        raise ConfigurationError(
            f"kind must be one of {sorted(_KINDS)}, not {kind!r}: the new index is created "
            "with that kind's mapping"
        ) from None


def _settings(kind: RecordKind[Any]) -> dict[str, Any]:
    """The index settings a new index of ``kind`` is created with (the semantic cache's
    kNN settings; none for the others)."""
    return dict(SEMANTIC_INDEX_SETTINGS) if kind.name == SEMANTIC_RECORDS.name else {}


def _unknown_settings(exc: BadRequestError, settings: Mapping[str, Any]) -> bool:
    """Whether a node refused ``settings`` because it does not know them (before 9.1)."""
    _, reason = error_type_and_reason(exc)
    return bool(settings) and any(name in reason for name in settings)


def _check_generation_name(alias: str) -> None:
    """The generations ``<alias>-000001`` ... must be valid names too (255 bytes)."""
    first = f"{alias}-{FIRST_GENERATION}"
    room = 255 - len(f"-{FIRST_GENERATION}")
    if len(first.encode("utf-8")) > 255:
        raise ConfigurationError(
            f"alias {alias!r} is too long to roll over: its indices are named "
            f"<alias>-{FIRST_GENERATION} and a name may have at most 255 bytes; use an alias "
            f"of at most {room} bytes"
        )


def bootstrap_alias(client: Elasticsearch, alias: str, kind: str) -> str:
    """Create ``<alias>-000001`` with the mapping of ``kind`` (``"llm"``, ``"embeddings"``
    or ``"semantic"``, whose index also gets the semantic cache's index settings where the
    node knows them, 9.1+) behind the alias ``alias`` as its write index; return its name.

    Point the cache at the alias (``ElasticsearchCache("llm-cache", ...)`` for
    ``alias="llm-cache"``). Settings (shards, replicas) come from your index template,
    which must match ``<alias>-*``: every generation gets them. Refused when ``alias``
    already names an index or an alias.
    """
    validate_index_name(alias)
    record_kind = _kind(kind)
    _check_generation_name(alias)
    first = f"{alias}-{FIRST_GENERATION}"
    with translated(f"bootstrapping rollover alias {alias!r}", client=client):
        if client.indices.exists_alias(name=alias):
            raise ConfigurationError(
                f"{alias!r} is already an alias: nothing to bootstrap; roll it over with rollover()"
            )
        if client.indices.exists(index=alias):
            raise ConfigurationError(
                f"{alias!r} is an index, not an alias, so it cannot roll over: bootstrap "
                f"another name (e.g. {_rolling_name(alias)!r}) and point the cache at it; to "
                "keep the old entries readable meanwhile, add the old index to the new alias "
                "as a non-write index (POST _aliases, add index "
                f"{alias!r} alias <new name>); purge_by_index drops it once its entries expire"
            )
        settings = _settings(record_kind)
        for attempt in (settings or None, None):
            mappings = record_kind.mappings
            if attempt is None and settings and record_kind is SEMANTIC_RECORDS:
                # before 9.1: vectors out of _source by the mapping, as the repository does
                mappings["_source"] = {"excludes": list(VECTOR_SOURCE_EXCLUDES["excludes"])}
            try:
                client.indices.create(
                    index=first,
                    mappings=mappings,
                    aliases={alias: {"is_write_index": True}},
                    settings=attempt,
                )
                break
            except BadRequestError as exc:
                if attempt is None or not _unknown_settings(exc, settings):
                    raise
                # a node before 9.1: no such settings (and no ACORN heuristic to turn off)
    return first


def _rolling_name(alias: str) -> str:
    """Another valid name for a rolling alias next to the index ``alias``."""
    room = 255 - len("-rolling")
    return alias.encode("utf-8")[:room].decode("utf-8", "ignore") + "-rolling"


@attrs.frozen
class AliasIndex:
    """One index behind an alias: its name and whether the alias writes into it."""

    name: str
    is_write_index: bool


def alias_indices(client: Elasticsearch, alias: str) -> list[AliasIndex]:
    """The indices behind ``alias`` (sorted by name) and which one is the write index.

    An alias over one index without ``is_write_index`` writes into that index. Raises
    ``ConfigurationError`` when ``alias`` is a concrete index or does not exist, and when
    an alias over several indices has no write index (nothing could tell which one must
    be kept).
    """
    validate_index_name(alias)
    with translated(f"reading alias {alias!r}", client=client):
        try:
            answer = client.indices.get_alias(name=alias)
        except NotFoundError:
            exists = client.indices.exists(index=alias)
            if exists:
                raise ConfigurationError(
                    f"{alias!r} is an index, not an alias: retention by index needs the cache "
                    "behind an alias (see bootstrap_alias, CLI: rollover --bootstrap)"
                ) from None
            raise ConfigurationError(
                f"alias {alias!r} does not exist: create it with bootstrap_alias (CLI: "
                "rollover --bootstrap --kind llm|embeddings|semantic)"
            ) from None
    found = []
    for name, body in sorted(answer.body.items()):
        settings = (body.get("aliases") or {}).get(alias) or {}
        found.append(AliasIndex(name, settings.get("is_write_index") is True))
    if len(found) == 1 and not found[0].is_write_index:
        found = [AliasIndex(found[0].name, True)]
    if not any(index.is_write_index for index in found):
        raise ConfigurationError(
            f"alias {alias!r} has {len(found)} indices and none is its write index: mark the "
            'newest one with "is_write_index": true (POST _aliases)'
        )
    return found


@attrs.frozen
class RolloverResult:
    """What :func:`rollover` did: whether it rolled over, from which index to which, and
    which conditions were met."""

    rolled_over: bool
    old_index: str
    new_index: str
    conditions: Mapping[str, bool]
    dry_run: bool = False


def _age(value: timedelta | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not _AGE.fullmatch(value.strip()):
            raise ConfigurationError(
                f"max_age {value!r} is not an Elasticsearch time value: use a number and a "
                "unit, e.g. '12h', '7d', '30m' (or a timedelta)"
            )
        return value.strip()
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigurationError(f"max_age must be a positive timedelta, not {value!r}")
    return f"{max(1, int(value.total_seconds()))}s"


def rollover_conditions(
    max_age: timedelta | str | None, max_docs: int | None, max_size: int | str | None
) -> dict[str, Any]:
    """The ``conditions`` of a ``_rollover`` request, each checked; at least one is
    required (a rollover is meant to run on a schedule and act only when due)."""
    conditions: dict[str, Any] = {}
    age = _age(max_age)
    if age is not None:
        conditions["max_age"] = age
    if max_docs is not None:
        if isinstance(max_docs, bool) or not isinstance(max_docs, int) or max_docs < 1:
            raise ConfigurationError(f"max_docs must be a whole number >= 1, not {max_docs!r}")
        conditions["max_docs"] = max_docs
    if max_size is not None:
        if isinstance(max_size, int) and not isinstance(max_size, bool) and max_size > 0:
            conditions["max_size"] = f"{max_size}b"
        elif isinstance(max_size, str) and _SIZE.fullmatch(max_size.strip()):
            conditions["max_size"] = max_size.strip().lower()
        else:
            raise ConfigurationError(
                f"max_size must be a number of bytes or a size like '50gb', '500mb', not "
                f"{max_size!r}"
            )
    if not conditions:
        raise ConfigurationError(
            "rollover needs at least one condition: max_age (e.g. '1d'), max_docs or "
            "max_size (e.g. '50gb')"
        )
    return conditions


def rollover(
    client: Elasticsearch,
    alias: str,
    *,
    max_age: timedelta | str | None = None,
    max_docs: int | None = None,
    max_size: int | str | None = None,
    dry_run: bool = False,
) -> RolloverResult:
    """Roll ``alias`` over to a new index when any given condition is met.

    ``max_age`` (a ``timedelta`` or Elasticsearch's ``"7d"``) counts from the creation of
    the current write index, ``max_docs`` its documents (primaries), ``max_size`` its
    primary store size (bytes, or ``"50gb"``). At least one condition is required (a
    rollover is meant to run on a schedule and act only when due). The new index gets the
    cache's mapping (the kind is read from the alias; a semantic index also records the
    write index's embedding model) and the settings of the index templates matching its
    name; it becomes the write index and the old one stays behind
    the alias, so lookups keep finding its entries. ``dry_run`` reports the conditions
    without rolling over.
    """
    conditions = rollover_conditions(max_age, max_docs, max_size)
    indices = alias_indices(client, alias)
    write_index = next(index.name for index in indices if index.is_write_index)
    if not _GENERATION.search(write_index):
        raise ConfigurationError(
            f"the write index of {alias!r} is {write_index!r}, whose name does not end in a "
            "generation number (-000001) for _rollover to increment: bootstrap the alias "
            "with bootstrap_alias (CLI: rollover --bootstrap)"
        )
    kind = _alias_kind(client, alias)
    settings = _settings(kind)
    mappings = kind.mappings
    with translated(f"rolling over {alias!r}", client=client):
        if kind is SEMANTIC_RECORDS:
            # the new index is for the same embedding model as the write index
            current = client.indices.get_mapping(index=write_index).body
            identity = recorded_embedding((current.get(write_index) or {}).get("mappings") or {})
            if identity is not None:
                mappings["_meta"] = marker_with_embedding(mappings["_meta"], kind.name, identity)
        try:
            answer = client.indices.rollover(
                alias=alias,
                conditions=conditions,
                mappings=mappings,
                settings=settings or None,
                dry_run=dry_run,
            )
        except BadRequestError as exc:
            if not _unknown_settings(exc, settings):
                raise
            if kind is SEMANTIC_RECORDS:  # vectors out of _source, as the repository does
                mappings["_source"] = {"excludes": list(VECTOR_SOURCE_EXCLUDES["excludes"])}
            answer = client.indices.rollover(  # a node before 9.1: no such settings
                alias=alias, conditions=conditions, mappings=mappings, dry_run=dry_run
            )
    body = answer.body
    return RolloverResult(
        rolled_over=bool(body.get("rolled_over")),
        old_index=str(body.get("old_index", write_index)),
        new_index=str(body.get("new_index", "")),
        conditions={str(name): bool(met) for name, met in (body.get("conditions") or {}).items()},
        dry_run=bool(body.get("dry_run", dry_run)),
    )


def _alias_kind(client: Elasticsearch, alias: str) -> RecordKind[Any]:
    """The cache kind of every index behind ``alias``, each positively identified (the
    cache marker, or exactly a cache's fields); else a ``ConfigurationError`` before
    anything is created or dropped."""
    identities = index_identities(client, alias)
    for name, identity in identities.items():
        if identity.kind is None:
            raise foreign_index_error(name, identity, alias=alias)
    kinds = sorted({str(identity.kind) for identity in identities.values()})
    if len(kinds) != 1:
        held = ", ".join(
            f"{name}: {kind_label(str(identity.kind))}" for name, identity in identities.items()
        )
        raise ConfigurationError(
            f"the indices behind alias {alias!r} hold different caches ({held}); nothing was "
            "changed: an alias must cover the indices of one cache only; remove the others"
        )
    return _KINDS[kinds[0]]


@attrs.frozen
class DroppedIndex:
    """An index :func:`purge_by_index` dropped (or would drop, with ``dry_run``) and the
    time of its newest entry (``None``: it held none)."""

    name: str
    newest: datetime | None


def _newest_entry(client: Elasticsearch, index: str) -> datetime | None:
    """The newest ``timestamp`` in ``index`` (refreshed first: a search sees only
    refreshed documents, and an unrefreshed late write must not make it look older)."""
    client.indices.refresh(index=index)
    answer = client.search(
        index=index,
        size=0,
        track_total_hits=1,
        aggs={"newest": {"max": {"field": "timestamp"}}},
    )
    value = ((answer.body.get("aggregations") or {}).get("newest") or {}).get("value")
    if value is None:
        total = ((answer.body.get("hits") or {}).get("total") or {}).get("value", 0)
        # documents without a timestamp count as written at the epoch (as for purge)
        return _EPOCH if total else None
    return _EPOCH + timedelta(milliseconds=float(value))


def purge_by_index(
    client: Elasticsearch,
    alias: str,
    ttl: timedelta | float,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[DroppedIndex]:
    """Drop every index behind ``alias`` that is not its write index and whose newest
    entry is older than ``ttl``; return them (oldest name first).

    An index is dropped only when *all* its entries have expired: its newest
    ``timestamp`` (a ``max`` aggregation, after a refresh) plus one millisecond (the
    ``date`` field keeps whole milliseconds, so the true time may be up to 1 ms later) is
    at or before ``now - ttl``. The write index is never dropped, nor an index whose
    entries are not all expired. Indices are deleted by their exact names (clusters that
    refuse wildcard deletes are fine). An index that holds no document is dropped too.
    Nothing is dropped unless every index behind the alias is positively a cache of one
    kind (its marker, or exactly a cache's fields): a ``ConfigurationError`` otherwise.
    """
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        ttl = timedelta(seconds=ttl)
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0):
        raise ConfigurationError(f"ttl must be a positive timedelta or seconds, not {ttl!r}")
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ConfigurationError("now must be a timezone-aware datetime")
    cutoff = now - ttl
    dropped: list[DroppedIndex] = []
    indices = alias_indices(client, alias)
    _alias_kind(client, alias)  # every index behind it is a cache's, or none is dropped
    for index in indices:
        if index.is_write_index:
            continue
        with translated(f"reading the newest entry of {index.name!r}", client=client):
            try:
                newest = _newest_entry(client, index.name)
            except NotFoundError:
                continue  # dropped meanwhile by someone else
        if newest is not None and newest + _ONE_MS > cutoff:
            continue  # an entry in it is still live
        if not dry_run:
            _delete_index(client, index.name)
        dropped.append(DroppedIndex(index.name, newest))
    return dropped


def _delete_index(client: Elasticsearch, name: str) -> None:
    with translated(f"deleting index {name!r}", client=client):
        try:
            client.indices.delete(index=name)
        except NotFoundError:
            return  # dropped meanwhile by someone else
