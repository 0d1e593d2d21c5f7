"""``nearest``: the kNN search of semantic entries.

The last layer of the vector repository (see ``vector_repository``): ONE search request
with a ``knn`` clause whose ``filter`` (model, context, age) is applied inside the
approximate search; the threshold is given as ``similarity``, or, on a quantized index,
applied after Elasticsearch rescored the candidates with the float vectors. Behind an
alias over several indices only the copy ``get`` returns of each key is kept.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, BadRequestError, NotFoundError

from ....domain.errors import ConfigurationError
from ....domain.semantic_records import SemanticCandidate, VectorQuery
from ..errors import error_type_and_reason
from ..mappings import SEMANTIC_RECORDS, VECTOR_EXACT_FIELD
from .base import INDEX_MISSING, epoch_millis
from .vector_layout import VECTOR_FIELD
from .vector_pool import AsyncVectorPool

__all__ = ["DEFAULT_NUM_CANDIDATES", "MAX_K", "RESCORE_OVERSAMPLE", "AsyncVectorSearch"]

#: ``num_candidates`` of a kNN search when the caller gives none: at least this many,
#: and at least ``10 * k``. Chosen by benchmark (``benchmarks/semantic.py``, results in
#: ``benchmarks/RESULTS.md``): on 10k real embeddings the ``hnsw`` variant found every
#: exact top entry at the threshold from 50 candidates on (8.19, and 9.2 with the
#: ``fanout`` filter heuristic); the number counts per segment, so 100 leaves a margin for
#: indices of many segments, and more costs latency for nothing a cache needs (it wants
#: the few nearest entries, not a long ranked list).
DEFAULT_NUM_CANDIDATES = 100
MAX_K = 10_000  # Elasticsearch's limit for k and num_candidates
#: how far below the threshold a similarity may come back from Elasticsearch and still be
#: a rounding error: its float32 ``_score`` carries about 7 significant digits
_ROUNDING = 1e-6

#: ``rescore_vector.oversample`` of a kNN search on a quantized index: the approximate
#: search keeps ``oversample * k`` candidates, which Elasticsearch rescores with the float
#: vectors; chosen by benchmark (``benchmarks/scale.py``, results in benchmarks/RESULTS.md)
RESCORE_OVERSAMPLE = 3.0


def _under(hit: dict[str, Any], threshold: float) -> bool:
    """Whether a hit's similarity (from its ``_score``) is under ``threshold``."""
    score = hit.get("_score")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return False
    return 2.0 * float(score) - 1.0 < threshold


class AsyncVectorSearch(AsyncVectorPool):
    """``nearest``: the query checked, the kNN clause built, the hits made candidates."""

    # set by the constructor (vector_repository); see there
    _num_candidates: int | None

    def _check_query(self, query: VectorQuery) -> None:
        if not isinstance(query, VectorQuery):
            raise ConfigurationError(f"nearest() takes a VectorQuery, not {type(query).__name__}")
        if isinstance(query.k, bool) or not isinstance(query.k, int) or not 1 <= query.k <= MAX_K:
            raise ConfigurationError(f"k must be an integer from 1 to {MAX_K}, not {query.k!r}")
        similarity = query.min_similarity
        if (
            isinstance(similarity, bool)
            or not isinstance(similarity, (int, float))
            or not -1.0 <= similarity <= 1.0
        ):
            raise ConfigurationError(
                f"min_similarity is a cosine similarity from -1 to 1, not {similarity!r}"
            )
        fix = "; check the Embeddings object that made it"
        if not query.vector:
            raise ConfigurationError("the query vector is empty" + fix)
        if not all(map(math.isfinite, query.vector)):  # map: no Python frame per item
            raise ConfigurationError("the query vector contains NaN or infinity" + fix)
        if not any(query.vector):
            raise ConfigurationError(
                "the query vector is all zeros, which has no direction (cosine similarity "
                "is undefined)" + fix
            )
        if query.not_before is not None and (
            not isinstance(query.not_before, datetime) or query.not_before.tzinfo is None
        ):
            raise ConfigurationError(
                f"not_before must be None or a timezone-aware datetime, not {query.not_before!r}"
            )
        for name in ("llm_string_hash", "context_hash"):
            if not isinstance(getattr(query, name), str):
                raise ConfigurationError(f"{name} must be a string")
        self._check_length(len(query.vector), what="the query vector")

    def _knn_clause(self, query: VectorQuery, k: int) -> dict[str, Any]:
        filters: list[dict[str, Any]] = [
            {"term": {"llm_string_hash": query.llm_string_hash}},
            {"term": {"context_hash": query.context_hash}},
        ]
        if query.not_before is not None:
            # a date field keeps whole milliseconds: entries within not_before's
            # millisecond pass this filter and are checked exactly afterwards
            millis = epoch_millis(query.not_before)
            filters.append({"range": {"timestamp": {"gte": millis, "format": "epoch_millis"}}})
        wanted = self._num_candidates or max(DEFAULT_NUM_CANDIDATES, 10 * k)
        clause: dict[str, Any] = {
            "field": VECTOR_FIELD,
            "query_vector": list(query.vector),
            "k": k,
            "num_candidates": min(MAX_K, max(wanted, k)),
            "filter": filters,
        }
        if self._rescore:
            # quantized scores are approximate: a threshold applied to them would let an
            # entry under it through (or drop one over it). The top candidates are
            # rescored with the float vectors; the threshold is applied to the rescored
            # similarity in _candidates
            clause["rescore_vector"] = {"oversample": RESCORE_OVERSAMPLE}
            clause["num_candidates"] = min(
                MAX_K, max(clause["num_candidates"], math.ceil(k * RESCORE_OVERSAMPLE))
            )
        else:
            clause["similarity"] = float(query.min_similarity)
        return clause

    async def nearest(self, query: VectorQuery) -> list[SemanticCandidate]:
        """At most ``query.k`` live entries of the query's model and context, most similar
        first, each with a cosine similarity >= ``query.min_similarity``."""
        self._check_query(query)
        with self._translated("nearest"):
            is_alias = await self._ensure_index()
            indices = await self._concrete_indices() if is_alias else (self._index_name,)
            # behind an alias a key may have a copy in every index: ask for enough results
            # that dropping the older copies still leaves k; if older copies crowded the
            # answer anyway, ask again for more (only then is there a second request)
            #
            # the same when the exact checks afterwards dropped hits (a corrupt document,
            # an entry within not_before's millisecond): a full answer with fewer than k
            # usable candidates may have hidden usable ones behind them
            k = min(MAX_K, query.k * len(indices))
            while True:
                hits = await self._search(query, k)
                if hits is None:
                    return []
                found = len(hits)
                # without the similarity cut-off (a rescored search), hits come back down
                # to under the threshold: one under it means there are no more over it
                under = self._rescore and bool(hits) and _under(hits[-1], query.min_similarity)
                if len(indices) > 1 and hits:
                    keys = list(dict.fromkeys(h["_id"] for h in hits))
                    newest = await self._newest_copies(keys)
                    hits = [
                        hit
                        for hit in hits
                        if hit["_id"] in newest and newest[hit["_id"]][1] == hit["_index"]
                    ]
                candidates = self._candidates(query, hits)
                if len(candidates) >= query.k or found < k or under or k >= MAX_K:
                    return candidates
                k = min(MAX_K, k * 4)

    async def _search(self, query: VectorQuery, k: int) -> list[dict[str, Any]] | None:
        """The hits of one kNN search; ``None`` when the index is gone."""
        try:
            answer = await self._client.search(
                index=self._index_name,
                knn=self._knn_clause(query, k),
                size=k,
                source_excludes=[VECTOR_FIELD, VECTOR_EXACT_FIELD],
                track_total_hits=False,
                filter_path="hits.hits._index,hits.hits._id,hits.hits._score,hits.hits._source",
            )
        except ApiError as exc:
            kind, _ = error_type_and_reason(exc)
            if isinstance(exc, NotFoundError) and kind == INDEX_MISSING:
                self._forget_indices(index_missing=True)
                self._dims = None
                return None
            mismatch = self._mismatch_error(exc, what="the query vector")
            if mismatch is not None:
                raise mismatch from exc
            if isinstance(exc, BadRequestError) and "rescore_vector" in str(exc):
                raise ConfigurationError(
                    f"index {self._index_name!r} holds quantized vectors, whose scores the "
                    "cache rescores with the float vectors before applying the threshold "
                    "(kNN rescore_vector), and this Elasticsearch does not support that "
                    "(it needs 8.18 or later): upgrade Elasticsearch, or use an index of "
                    'vector_index_type="hnsw"'
                ) from exc
            raise
        hits: list[dict[str, Any]] = answer.body.get("hits", {}).get("hits", [])
        return hits

    def _candidates(
        self, query: VectorQuery, hits: list[dict[str, Any]]
    ) -> list[SemanticCandidate]:
        candidates: list[SemanticCandidate] = []
        for hit in hits:
            record = SEMANTIC_RECORDS.from_document(hit.get("_id", ""), hit.get("_source"))
            if record is None:
                continue  # a corrupt document is a miss, never a crash (logged)
            if (
                record.llm_string_hash != query.llm_string_hash
                or record.context_hash != query.context_hash
                or (query.not_before is not None and record.timestamp <= query.not_before)
            ):
                continue  # a keyword field coerces numbers; the filter's ms is coarse
            score = hit.get("_score")
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                continue
            # _score = (1 + cosine) / 2 for a cosine field, in float32: converted back it
            # may fall a rounding error below the threshold Elasticsearch applied
            similarity = min(1.0, max(-1.0, 2.0 * float(score) - 1.0))
            if similarity < query.min_similarity:
                if self._rescore or query.min_similarity - similarity > _ROUNDING:
                    continue  # under the threshold (a rescored score is exact)
                similarity = query.min_similarity
            candidates.append(SemanticCandidate(record=record, similarity=similarity))
        candidates.sort(key=lambda candidate: -candidate.similarity)
        return candidates[: query.k]
