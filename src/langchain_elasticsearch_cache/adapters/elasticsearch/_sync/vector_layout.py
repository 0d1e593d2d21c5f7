# Generated from _async/vector_layout.py by scripts/run_unasync.py: do not edit by hand.
# Change the async source and run `python scripts/run_unasync.py`.
"""Where the vectors are stored, and how a lookup gets them back.

The first layer of the vector repository (see ``vector_repository`` for how the layers
fit together). On bootstrap it learns whether the node may keep vectors out of
``_source`` (Elasticsearch 9.1+ reports ``index.mapping.exclude_source_vectors``): GET and
mget then ask for them back (``_source_exclude_vectors=false``). Before 9.1 an index that
leaves them out with ``_source.excludes`` (learned from the mapping, by the identity
layer) has them read from doc values with one search by id (``_fill_vectors``).
``get_without_vectors`` / ``get_many_without_vectors`` skip both.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from elasticsearch import NotFoundError

from ....domain.semantic_records import SemanticRecord
from ..mappings import SEMANTIC_RECORDS, SEMANTIC_RECORDS_VECTORS_EXCLUDED, VECTOR_EXACT_FIELD
from .repository import ElasticsearchRepository

__all__ = ["VECTOR_FIELD", "VectorLayout", "logger"]

#: one logger for every vector layer, named as it was when the vector repository was a
#: single module (``..._async.vector_repository`` / ``..._sync.vector_repository``)
logger = logging.getLogger(__name__.rpartition(".")[0] + ".vector_repository")

VECTOR_FIELD = "prompt_vector"
#: the index setting of Elasticsearch 9.1+ that keeps vectors out of ``_source``; a node
#: that knows it (reports it for the index) can give the vectors back on GET and mget
_EXCLUDE_VECTORS_SETTING = "index.mapping.exclude_source_vectors"
#: the query parameter of a GET / mget that puts the vectors back into ``_source``
_READ_BACK_VECTORS = {"_source_exclude_vectors": "false"}
#: False while ``get_without_vectors`` / ``get_many_without_vectors`` run (in this thread or
#: task only): the GET / mget hooks then leave the vector out instead of asking for it back
_VECTORS_WANTED: ContextVar[bool] = ContextVar("lecache_vectors_wanted", default=True)
#: documents per search that reads vectors from doc values (below the 10,000 hits limit)
_DOC_VALUE_CHUNK = 1_000


def _quoted(value: str) -> str:
    """An index name or document id as a URL path segment (as the client quotes them)."""
    return urllib.parse.quote(value, ",*")


class VectorLayout(ElasticsearchRepository[SemanticRecord]):
    """How vectors are stored (learned at bootstrap) and read back by GET and mget."""

    # set by the constructor (vector_repository); see there
    _vectors_read_back: bool
    _vectors_from_doc_values: bool

    def _learn_layout(self) -> None:
        """Whether the node keeps (or may keep) vectors out of ``_source``: it reports
        ``index.mapping.exclude_source_vectors`` for the index (9.1+; a node before 9.1
        knows no such setting and keeps every vector in ``_source``). One request."""
        try:
            answer = self._client.indices.get_settings(
                index=self._index_name,
                name=_EXCLUDE_VECTORS_SETTING,
                include_defaults=True,
                flat_settings=True,
            )
        except NotFoundError:
            self._forget_indices(index_missing=True)
            return
        known = any(
            _EXCLUDE_VECTORS_SETTING in (body.get(part) or {})
            for body in answer.body.values()
            if isinstance(body, dict)
            for part in ("settings", "defaults")
        )
        self._vectors_read_back = known
        self._kind = SEMANTIC_RECORDS_VECTORS_EXCLUDED if known else SEMANTIC_RECORDS

    def _get_document(self, index: str, key: str) -> Any:
        """A realtime GET; on 9.1+ with the vector put back into ``_source`` (an index
        that keeps vectors out of ``_source`` gives the float32 values it indexed), before
        9.1 with the vector read from doc values (:meth:`_fill_vectors`)."""
        wanted = _VECTORS_WANTED.get()
        if self._vectors_from_doc_values:
            answer = super()._get_document(index, key)
            if wanted:
                self._fill_vectors([answer.body])
            return answer
        if not (self._vectors_read_back and wanted):
            return super()._get_document(index, key)
        return self._client.perform_request(
            "GET",
            f"/{_quoted(index)}/_doc/{_quoted(key)}",
            params=dict(_READ_BACK_VECTORS),
            headers={"accept": "application/json"},
            endpoint_id="get",
            path_parts={"index": index, "id": key},
        )

    def _mget_documents(self, **request: Any) -> Any:
        """A realtime ``mget``; with the vectors put back, as :meth:`_get_document`."""
        wanted = _VECTORS_WANTED.get()
        if self._vectors_from_doc_values:
            answer = super()._mget_documents(**request)
            if wanted:
                self._fill_vectors(answer.body.get("docs", []))
            return answer
        if not (self._vectors_read_back and wanted):
            return super()._mget_documents(**request)
        index = request.get("index")
        body = {"ids": request["ids"]} if "ids" in request else {"docs": request["docs"]}
        return self._client.perform_request(
            "POST",
            f"/{_quoted(index)}/_mget" if index else "/_mget",
            params=dict(_READ_BACK_VECTORS),
            headers={"accept": "application/json", "content-type": "application/json"},
            body=body,
            endpoint_id="mget",
            path_parts={"index": index} if index else {},
        )

    def get_without_vectors(self, key: str) -> SemanticRecord | None:
        """``get(key)`` without asking for the vector back (the record's ``vector`` is
        ``None`` unless ``_source`` holds it or its exact copy): one GET, no search for doc
        values before 9.1 and no vectors put back into ``_source`` on 9.1+. What a
        semantic cache's exact-key step and its answer judge use (they need the answer)."""
        token = _VECTORS_WANTED.set(False)
        try:
            return self.get(key)
        finally:
            _VECTORS_WANTED.reset(token)

    def get_many_without_vectors(self, keys: Sequence[str]) -> list[SemanticRecord | None]:
        """``get_many(keys)`` without the vectors, as :meth:`get_without_vectors`."""
        token = _VECTORS_WANTED.set(False)
        try:
            return self.get_many(keys)
        finally:
            _VECTORS_WANTED.reset(token)

    def _fill_vectors(self, docs: Sequence[Any]) -> None:
        """Put into the ``_source`` of each found document (a GET or mget answer, changed
        in place) the vector read from its doc values, where the source holds neither the
        vector nor its exact copy: an index that leaves vectors out of ``_source`` with
        ``_source.excludes``, on a node before 9.1, whose GET cannot give them back.

        One search by id; a copy whose ``_seq_no`` / ``_primary_term`` is not the GET's
        (written since the last refresh, so not yet or not as such seen by searches) is
        looked for again after a refresh (or a wait for one, without ``maintenance``).
        A document the search finds without a vector is left without one."""
        wanted: dict[tuple[str, str], dict[str, Any]] = {}
        for doc in docs:
            if not isinstance(doc, dict) or not doc.get("found"):
                continue
            source = doc.get("_source")
            if not isinstance(source, dict) or VECTOR_FIELD in source:
                continue
            if VECTOR_EXACT_FIELD in source:
                continue  # read from there (exactly)
            index, key = doc.get("_index"), doc.get("_id")
            if isinstance(index, str) and isinstance(key, str):
                wanted[(index, key)] = doc
        for attempt in range(2):
            if not wanted:
                return
            if attempt:
                self._refresh_for_search("get")
            for start in range(0, len(wanted), _DOC_VALUE_CHUNK):
                pairs = list(wanted)[start : start + _DOC_VALUE_CHUNK]
                for hit in self._doc_value_hits(pairs):
                    doc = wanted.get((str(hit.get("_index")), str(hit.get("_id"))))
                    if doc is None or (hit.get("_seq_no"), hit.get("_primary_term")) != (
                        doc.get("_seq_no"),
                        doc.get("_primary_term"),
                    ):
                        continue
                    values = (hit.get("fields") or {}).get(VECTOR_FIELD)
                    if isinstance(values, list) and len(values) == 1:
                        doc["_source"][VECTOR_FIELD] = values[0]
                    del wanted[(doc["_index"], doc["_id"])]

    def _doc_value_hits(self, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """The search hits (``_index``, ``_id``, ``_seq_no``, ``_primary_term`` and the
        vector's doc values) of the ``(index, id)`` pairs."""
        by_index: dict[str, list[str]] = {}
        for index, key in pairs:
            by_index.setdefault(index, []).append(key)
        query = {
            "bool": {
                "should": [
                    {"bool": {"filter": [{"term": {"_index": index}}, {"ids": {"values": keys}}]}}
                    for index, keys in sorted(by_index.items())
                ],
                "minimum_should_match": 1,
            }
        }
        answer = self._client.search(
            index=sorted(by_index),
            query=query,
            size=len(pairs),
            source=False,
            docvalue_fields=[{"field": VECTOR_FIELD}],
            seq_no_primary_term=True,
            track_total_hits=False,
            filter_path="hits.hits._index,hits.hits._id,hits.hits._seq_no,"
            "hits.hits._primary_term,hits.hits.fields",
        )
        hits: list[dict[str, Any]] = answer.body.get("hits", {}).get("hits", [])
        return hits
