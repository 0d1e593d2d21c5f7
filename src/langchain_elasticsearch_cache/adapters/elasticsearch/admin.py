"""Index administration used by the CLI: existence, identification, an overview and scans.

These are index-level reads that the cache itself never needs (the repository works key
by key). Every client failure is translated into the domain's errors, so the CLI can map
them to exit codes and one-line messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

from elasticsearch import AuthorizationException, Elasticsearch

from .errors import CLIENT_ERRORS, denied_reason, describe_hosts, permission_denied, translated
from .mappings import IndexIdentity, identify_mapping, vectors_out_of_source

__all__ = [
    "PointInTime",
    "concrete_indices",
    "detect_kind",
    "document_count",
    "index_exists",
    "index_identities",
    "index_overview",
    "namespace_counts",
    "vectors_from_doc_values",
]

_PIT_KEEP_ALIVE = "2m"
_NAMESPACE_BUCKETS = 100


def index_exists(client: Elasticsearch, index: str) -> bool:
    """True when ``index`` names an existing index or alias."""
    with translated(f"checking whether {index!r} exists", client=client):
        return bool(client.indices.exists(index=index))


def concrete_indices(client: Elasticsearch, index: str) -> list[str]:
    """The indices ``index`` resolves to: itself, or every index behind the alias."""
    with translated(f"resolving {index!r}", client=client):
        if client.indices.exists_alias(name=index):
            return sorted(client.indices.get_alias(name=index).body)
    return [index]


def index_identities(client: Elasticsearch, index: str) -> dict[str, IndexIdentity]:
    """What the mapping of each concrete index behind ``index`` (an index, or an alias)
    says it is (see ``mappings.identify_mapping``), by index name."""
    with translated(f"reading the mapping of {index!r}", client=client):
        mappings = client.indices.get_mapping(index=index)
    return {
        str(name): identify_mapping(body.get("mappings") or {})
        for name, body in sorted(mappings.body.items())
    }


def vectors_from_doc_values(client: Elasticsearch, index: str) -> bool:
    """Whether an index behind ``index`` leaves the prompt vector out of ``_source`` by
    its mapping (a semantic index made before 9.1): its vectors are read from doc values."""
    with translated(f"reading the mapping of {index!r}", client=client):
        mappings = client.indices.get_mapping(index=index)
    return any(vectors_out_of_source(body.get("mappings") or {}) for body in mappings.body.values())


def detect_kind(client: Elasticsearch, index: str) -> str | None:
    """``"llm"``, ``"semantic"`` or ``"embeddings"``: the cache kind every index behind
    ``index`` is positively identified as; ``None`` if any is not a cache, or if they
    disagree."""
    kinds = {identity.kind for identity in index_identities(client, index).values()}
    return str(next(iter(kinds))) if len(kinds) == 1 and None not in kinds else None


def document_count(client: Elasticsearch, index: str) -> int:
    """Every document of ``index``, refreshed first."""
    action = f"counting the documents of {index!r}"
    with translated(action, client=client):
        _refresh(client, index, action)
        return int(client.count(index=index)["count"])


def _refresh(client: Elasticsearch, index: str, action: str) -> None:
    """Refresh ``index``: searches, counts and points in time see refreshed documents only.

    A refresh the cluster refuses (no ``maintenance`` privilege, which the operator's role
    holds through ``manage``) raises :class:`PermissionDeniedError` naming it: counted or
    exported without it, the writes of the last second (``refresh_interval``; all of them
    when refreshes are disabled) would be missing from a result that looks complete.
    """
    try:
        client.indices.refresh(index=index)
    except AuthorizationException as exc:
        raise permission_denied(
            denied_reason(exc),
            action,
            describe_hosts(client),
            needed_for=(
                "so that the result includes the writes not yet refreshed, instead of "
                "looking complete without them"
            ),
        ) from exc


def index_overview(
    client: Elasticsearch, index: str, *, query: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Document count, store size, the oldest and newest entry times and, behind an alias,
    the documents of each index; documents counted are those of ``query`` (default:
    all; ``RecordKind.entries_only()`` leaves out those that are not entries)."""
    action = f"reading statistics of {index!r}"
    with translated(action, client=client):
        _refresh(client, index, action)
        stats = client.indices.stats(index=index, metric="docs,store")
        names = sorted(stats.body.get("indices", {}))
        answer = client.search(
            index=index,
            size=0,
            query=query or {"match_all": {}},
            track_total_hits=True,
            aggs={
                "oldest": {"min": {"field": "timestamp"}},
                "newest": {"max": {"field": "timestamp"}},
                "per_index": {"terms": {"field": "_index", "size": max(1, len(names))}},
            },
        )
    primaries = stats["_all"]["primaries"]
    aggs = answer.body.get("aggregations", {})
    buckets = aggs.get("per_index", {}).get("buckets", [])
    counted = {str(bucket["key"]): int(bucket["doc_count"]) for bucket in buckets}
    per_index = {name: counted.get(name, 0) for name in names}
    documents = int(answer.body.get("hits", {}).get("total", {}).get("value", 0))
    return {
        "documents": documents,
        "size_bytes": int(primaries.get("store", {}).get("size_in_bytes", 0)),
        "oldest": aggs.get("oldest", {}).get("value_as_string"),
        "newest": aggs.get("newest", {}).get("value_as_string"),
        "indices": per_index,
    }


def namespace_counts(client: Elasticsearch, index: str) -> dict[str, int]:
    """Entries per ``namespace`` of an embeddings index (``(none)`` for no namespace);
    beyond the largest 100 namespaces the rest are summed under ``(others)``."""
    with translated(f"counting namespaces of {index!r}", client=client):
        answer = client.search(
            index=index,
            size=0,
            aggs={
                "namespaces": {
                    "terms": {"field": "namespace", "size": _NAMESPACE_BUCKETS},
                },
                "none": {"missing": {"field": "namespace"}},
            },
        )
    aggs = answer.body.get("aggregations", {})
    terms = aggs.get("namespaces", {})
    counts = {str(b["key"]): int(b["doc_count"]) for b in terms.get("buckets", [])}
    if aggs.get("none", {}).get("doc_count"):
        counts["(none)"] = int(aggs["none"]["doc_count"])
    if terms.get("sum_other_doc_count"):
        counts["(others)"] = int(terms["sum_other_doc_count"])
    return counts


class PointInTime:
    """A point in time over ``index``: any number of consistent scans of one snapshot.

    ``with PointInTime(client, index) as pit: for page in pit.pages(...)``; the point in
    time is closed on exit. The index is refreshed first, so every write made before is in
    the snapshot.
    """

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self._client = client
        self._index = index
        self._pit_id: str | None = None

    def __enter__(self) -> PointInTime:
        action = f"opening a point in time on {self._index!r}"
        with translated(action, client=self._client):
            _refresh(self._client, self._index, action)
            opened = self._client.open_point_in_time(index=self._index, keep_alive=_PIT_KEEP_ALIVE)
        self._pit_id = str(opened["id"])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pit_id is not None:
            with contextlib.suppress(*CLIENT_ERRORS):
                self._client.close_point_in_time(id=self._pit_id)
            self._pit_id = None

    def pages(
        self,
        *,
        source: list[str],
        page_size: int,
        fields: Sequence[str] = (),
        doc_values: bool = False,
        query: dict[str, Any] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of hits of ``query`` (default: every document; ``_index``, ``_id``,
        ``_source`` limited to ``source``, and the ``fields`` asked for: see
        ``RecordKind.fetched_fields``; with ``doc_values``, asked for as
        ``docvalue_fields``)."""
        option = "docvalue_fields" if doc_values else "fields"
        extra: dict[str, Any] = {option: list(fields)} if fields else {}
        if self._pit_id is None:
            raise RuntimeError("use the PointInTime in a with block")
        search_after: list[Any] | None = None
        while True:
            with translated(f"scanning {self._index!r}", client=self._client):
                answer = self._client.search(
                    pit={"id": self._pit_id, "keep_alive": _PIT_KEEP_ALIVE},
                    query=query or {"match_all": {}},
                    sort=[{"_shard_doc": "asc"}],
                    size=page_size,
                    search_after=search_after,
                    source_includes=source,
                    track_total_hits=False,
                    filter_path="pit_id,hits.hits._index,hits.hits._id,"
                    "hits.hits._source,hits.hits.fields,hits.hits.sort",
                    **extra,
                )
            self._pit_id = str(answer.body.get("pit_id", self._pit_id))
            hits: list[dict[str, Any]] = answer.body.get("hits", {}).get("hits", [])
            if not hits:
                return
            yield hits
            if len(hits) < page_size:
                return
            search_after = hits[-1]["sort"]
