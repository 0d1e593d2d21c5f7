"""The Elasticsearch vector repository: semantic cache entries, searched by kNN.

``_async/vector_repository.py`` is the source; ``_sync/vector_repository.py`` is generated
from it by ``scripts/run_unasync.py``. Edit the async file only.

Exact-key lookups, writes, ``scan``, ``clear`` and the rest are the exact cache's
(:class:`AsyncElasticsearchRepository` with ``SEMANTIC_RECORDS``). What is added, and why:

* Vectors are float32: a prompt vector is rounded to float32 when it is written
  (Elasticsearch indexes and searches float32 anyway), and ``get``, ``get_many``, ``scan``
  (export) and ``put_many`` (import) give back the float32 values indexed, bit for bit.
* Storage (measured in benchmarks/RESULTS.md, "Semantic vector storage"): on
  Elasticsearch 9.1+ an index created here keeps vectors out of ``_source``
  (``index.mapping.exclude_source_vectors: true``, set explicitly), so a vector is stored
  once, in the vector index; GET and mget ask for it back (``_source_exclude_vectors=
  false``; the node is known to be 9.1+ when it reports that setting for the index, read
  at bootstrap) and ``scan`` reads it with the search's ``fields``. The index gives back a
  vector of unit length bit for bit; any other (a ``cosine`` field stores it normalised
  and scales it back, off by up to a few 1e-8) is also kept exactly, as float32 bytes,
  in ``prompt_vector_exact`` in ``_source``, and read from there. Before 9.1 a new index
  leaves the vector out of ``_source`` with ``_source.excludes`` in its mapping: GET and
  mget cannot give it back there, so ``get`` / ``get_many`` read the vectors of the
  documents found with one search by id (``docvalue_fields``, the ``_seq_no`` checked
  against the GET's; a document written since the last refresh costs one refresh, or a
  wait for one, first) and ``scan`` asks for them with ``docvalue_fields``; the layout is
  learned from the mapping. Indices made by earlier versions keep vectors in ``_source``.
* ``nearest`` is ONE search request with a ``knn`` clause (behind an alias, a second one
  only when older copies of keys crowded out the newest ones). Its ``filter`` (same
  ``llm_string_hash``, same ``context_hash``, timestamp not before ``not_before``) is
  applied *inside* the approximate search, so the ``k`` results all match: a nearer entry
  of another model, another conversation or an expired one never takes a valid entry's
  place. The threshold is given to Elasticsearch as ``similarity``, which for a ``cosine``
  field is the raw cosine (checked on 8.19 and 9.2: ``_score`` is ``(1 + cosine) / 2``
  and is converted back). Vectors are left out of the response: a candidate needs none.
* Behind an alias over several indices, a candidate is kept only when it is the copy
  ``get`` returns (the newest of its key), checked with one realtime ``mget`` of the
  candidates' keys.
* The vector length is taken by Elasticsearch from the first document (the mapping has
  no ``dims``); afterwards a vector of another length is a ``ConfigurationError`` naming
  both lengths and the fix, raised before any request once the length is known.
* The embedding model is part of the index's identity: :meth:`check_embedding` (the
  semantic cache's first lookup or write) records it in the index's ``_meta`` (the
  cache marker's ``embedding``) when the cache creates the index, and on first use of an
  index that records none; a model that does not match the recorded one (behind an
  alias: any index's) is a ``ConfigurationError`` naming both, before anything is
  searched, embedded or written. Vectors of the same length from different models would
  otherwise be mixed silently.
* kNN searches see refreshed documents only (about a second after a write with the
  default ``refresh_interval``, at once with ``refresh="wait_for"``); ``get`` sees every
  write at once.
* ``add_observation`` (verified hits) is optimistic concurrency on the one document: a
  realtime GET of the copy ``get`` returns (its concrete index, ``_seq_no`` and
  ``_primary_term``), the observations rebuilt by the domain's pure function, and a
  partial update of that field alone, conditional on the sequence number (no script: a
  node without scripting takes it; no re-index of the whole ``_source``, which on
  Elasticsearch 9 may lack the vector). Before 9.1, where an update re-indexes the
  merged ``_source`` and so would drop a vector ``_source.excludes`` left out of it, the
  partial document carries the vector too. One repository object writes the observations of
  a key one at a time (its threads or tasks never race each other); another writer in
  between (another process) is a 409: read and try again after a jittered pause that
  doubles, at most ``OBSERVATION_RETRIES`` times. An index made by an earlier version
  gets the ``observations`` field (stored, not indexed) with a put-mapping before the
  first document that has one is written.
* The *pool* (:class:`...domain.ports.PoolingVectorRepository`) is one more document in
  the index, id ``VERIFIED_POOL_ID``, holding the sum of every entry's observations in the
  entries' own ``observations`` field (no other mapping; no vector, so kNN never returns
  it; left out of counts, scans, exports and purges, refused as a key). After an entry's
  observation is written, the same observation is added to the pool of the entry's
  index the same way (created with ``op_type=create`` when absent, conditional on its
  sequence number otherwise, bounded retries); a pool write that still fails is logged
  once and counted (``pool_write_failures``): the entry keeps its observation and the
  call succeeds. ``pooled_observations`` reads it (behind an alias: every index's pool,
  summed) at most once per ``pool_cache_seconds``; a malformed pool reads as empty.
  ``clear`` deletes it with the entries.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    AuthorizationException,
    BadRequestError,
    ConflictError,
    NotFoundError,
)

from ....domain.errors import BackendError, BackendUnavailableError, ConfigurationError
from ....domain.semantic.identity import EmbeddingIdentity, embedding_mismatch
from ....domain.semantic.verified import (
    ObservationBin,
    add_observation,
    observations_from_document,
    observations_to_document,
)
from ....domain.semantic_records import SemanticCandidate, SemanticRecord, VectorQuery
from ..aliases import alias_write_index, unmapped_properties
from ..backoff import AsyncRejectionRetry
from ..errors import CLIENT_ERRORS, error_type_and_reason
from ..mappings import (
    QUANTIZED_VECTOR_INDEX_TYPES,
    SEMANTIC_INDEX_SETTINGS,
    SEMANTIC_RECORDS,
    SEMANTIC_RECORDS_DOC_VALUE_VECTORS,
    SEMANTIC_RECORDS_VECTORS_EXCLUDED,
    VECTOR_EXACT_FIELD,
    VECTOR_INDEX_TYPES,
    VECTOR_SOURCE_EXCLUDES,
    VERIFIED_POOL_ID,
    float32_vector,
    marker_with_embedding,
    needs_exact_copy,
    recorded_embedding,
    semantic_properties,
    vector_json,
    vectors_out_of_source,
)
from .repository import AsyncElasticsearchRepository, epoch_millis

__all__ = ["DEFAULT_NUM_CANDIDATES", "OBSERVATION_RETRIES", "AsyncElasticsearchVectorRepository"]

logger = logging.getLogger(__name__)

#: ``num_candidates`` of a kNN search when the caller gives none: at least this many,
#: and at least ``10 * k``. Chosen by benchmark (``benchmarks/semantic.py``, results in
#: ``benchmarks/RESULTS.md``): on 10k real embeddings the ``hnsw`` variant found every
#: exact top entry at the threshold from 50 candidates on (8.19, and 9.2 with the
#: ``fanout`` filter heuristic); the number counts per segment, so 100 leaves a margin for
#: indices of many segments, and more costs latency for nothing a cache needs (it wants
#: the few nearest entries, not a long ranked list).
DEFAULT_NUM_CANDIDATES = 100
_MAX_K = 10_000  # Elasticsearch's limit for k and num_candidates
_VECTOR_FIELD = "prompt_vector"
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
_INDEX_MISSING = "index_not_found_exception"
# "... has a different number of dimensions [2] than defined in the mapping [3]" (put)
# "The query vector has a different number of dimensions [2] than the document vectors [3]"
_DIMS_MISMATCH = re.compile(r"different number of dimensions \[(\d+)\] than [^\[]*\[(\d+)\]")
#: how far below the threshold a similarity may come back from Elasticsearch and still be
#: a rounding error: its float32 ``_score`` carries about 7 significant digits
_ROUNDING = 1e-6
#: How many times ``add_observation`` reads and writes again when another writer changed
#: the entry in between (HTTP 409); after that it raises ``BackendUnavailableError``.
OBSERVATION_RETRIES = 16
_CONFLICT_PAUSE = 0.01  # seconds before the first retry, doubled per retry...
_CONFLICT_PAUSE_MAX = 1.0  # ...up to this; each pause drawn uniformly below its cap
#: Observations of keys in one stripe are written one at a time by a repository object, so
#: its own threads (tasks) never race each other; the 409s left are other processes'.
_OBSERVATION_STRIPES = 64


def _conflict_pauses() -> list[float]:
    """Pauses before each retry of a conflicting observation write: capped doubling with
    full jitter, so writers that collided once do not collide again in lockstep."""
    return [
        random.uniform(0.0, min(_CONFLICT_PAUSE_MAX, _CONFLICT_PAUSE * 2**attempt))  # noqa: S311
        for attempt in range(OBSERVATION_RETRIES)
    ]


#: ``rescore_vector.oversample`` of a kNN search on a quantized index: the approximate
#: search keeps ``oversample * k`` candidates, which Elasticsearch rescores with the float
#: vectors; chosen by benchmark (``benchmarks/scale.py``, results in benchmarks/RESULTS.md)
RESCORE_OVERSAMPLE = 3.0


def dimensions_mismatch(index: str, given: int, stored: int, *, what: str) -> ConfigurationError:
    """The error for a vector whose length is not the one the index holds."""
    return ConfigurationError(
        f"{what} has {given} dimensions but index {index!r} holds vectors of {stored} "
        "dimensions, and the dimensions of an existing dense_vector field cannot change "
        "(was the embedding model changed?). Use a new index_name for this embedding "
        f"model, or delete the index {index!r} (clearing it keeps its mapping) so the "
        "cache creates it again"
    )


def _mismatch_numbers(exc: BaseException | None) -> tuple[int, int] | None:
    """``(given, stored)`` from an Elasticsearch dimensions error, else ``None``."""
    while exc is not None:
        if isinstance(exc, ApiError):
            _, reason = error_type_and_reason(exc)
            found = _DIMS_MISMATCH.search(reason) or _DIMS_MISMATCH.search(str(exc.body))
            if found:
                return int(found.group(1)), int(found.group(2))
            return None
        exc = exc.__cause__
    return None


def _quoted(value: str) -> str:
    """An index name or document id as a URL path segment (as the client quotes them)."""
    return urllib.parse.quote(value, ",*")


def _under(hit: dict[str, Any], threshold: float) -> bool:
    """Whether a hit's similarity (from its ``_score``) is under ``threshold``."""
    score = hit.get("_score")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return False
    return 2.0 * float(score) - 1.0 < threshold


class _PoolState:
    """What a repository remembers of the pool: the bins last read (or written) and when
    (``time.monotonic()``), and the locks that make its own readers (writers) take turns."""

    def __init__(self) -> None:
        self.bins: tuple[ObservationBin, ...] = ()
        self.read_at = -math.inf
        self.read_lock = asyncio.Lock()
        self.write_lock = asyncio.Lock()
        self.write_failures = 0
        self.warned = False


class AsyncElasticsearchVectorRepository(AsyncElasticsearchRepository[SemanticRecord]):
    """Semantic cache entries in an index or alias: the exact repository plus ``nearest``.

    Parameters are those of :class:`AsyncElasticsearchRepository` (the record kind is
    always ``SEMANTIC_RECORDS``), plus:

        num_candidates: candidates per shard of a kNN search; ``None`` (the default) means
            ``max(DEFAULT_NUM_CANDIDATES, 10 * k)``. More raises recall and latency.
        vector_index_type: how an index created here indexes the prompt vectors: ``hnsw``
            (float, the default), ``int8_hnsw`` or ``bbq_hnsw`` (quantized: less memory;
            ``bbq_hnsw`` needs vectors of 64 dimensions or more). An existing index keeps
            its own type. Whatever the type, the threshold is applied to exact cosines: on
            a quantized index (whoever made it) the candidates are rescored with the float
            vectors (``rescore_vector``, Elasticsearch 8.18+) and the threshold is applied
            to the rescored similarity, so no entry under it is ever returned.

    ``pool_cache_seconds`` (a class attribute, settable per object): how long
    :meth:`pooled_observations` answers from its last read of the pool.
    """

    #: how long ``pooled_observations`` reuses its last read of the pool: a lookup costs
    #: no extra request most of the time, and the pool lags other processes by this much
    pool_cache_seconds: float = 5.0

    def __init__(
        self,
        client: AsyncElasticsearch,
        index_name: str,
        *,
        refresh: bool | str = False,
        maximum_duplicates_allowed: int = 1,
        chunk_size: int = 500,
        owns_client: bool = False,
        alias_cache_seconds: float = 15.0,
        num_candidates: int | None = None,
        vector_index_type: str = "hnsw",
    ) -> None:
        super().__init__(
            client,
            index_name,
            SEMANTIC_RECORDS,
            refresh=refresh,
            maximum_duplicates_allowed=maximum_duplicates_allowed,
            chunk_size=chunk_size,
            owns_client=owns_client,
            alias_cache_seconds=alias_cache_seconds,
        )
        if num_candidates is not None and (
            isinstance(num_candidates, bool)
            or not isinstance(num_candidates, int)
            or not 1 <= num_candidates <= _MAX_K
        ):
            raise ConfigurationError(
                f"num_candidates must be None or an integer from 1 to {_MAX_K}, "
                f"not {num_candidates!r}"
            )
        if vector_index_type not in VECTOR_INDEX_TYPES:
            raise ConfigurationError(
                f"vector_index_type must be one of {', '.join(VECTOR_INDEX_TYPES)}, "
                f"not {vector_index_type!r}"
            )
        self._num_candidates = num_candidates
        self._vector_index_type = vector_index_type
        self._dims: int | None = None
        #: whether the node may keep vectors out of ``_source`` (Elasticsearch 9.1+, known
        #: at bootstrap): lookups then ask for them back, and writes keep a vector the
        #: index would not give back exactly in VECTOR_EXACT_FIELD
        self._vectors_read_back = False
        #: whether an index behind the name leaves vectors out of ``_source`` with
        #: ``_source.excludes`` (made before 9.1): lookups read them from doc values
        self._vectors_from_doc_values = False
        self._exact_field_mapped = False
        self._late_fields_mapped = False
        self._observation_locks = tuple(asyncio.Lock() for _ in range(_OBSERVATION_STRIPES))
        self._pool_state = _PoolState()
        #: the embedding model the index records (once checked), and the one the
        #: current check asks for (recorded in an index created meanwhile)
        self._embedding: EmbeddingIdentity | None = None
        self._embedding_wanted: EmbeddingIdentity | None = None
        self._embedding_lock = asyncio.Lock()
        self._warned_unrecordable = False
        # whether a kNN search must rescore: the index's vectors are quantized
        self._rescore = vector_index_type in QUANTIZED_VECTOR_INDEX_TYPES

    def _new_mappings(self) -> dict[str, Any]:
        """The mappings of a new index: the vector field of the chosen index type, and the
        marker recording the embedding model if known."""
        mappings = self._kind.mappings
        mappings["properties"] = semantic_properties(self._vector_index_type)
        identity = self._embedding or self._embedding_wanted
        if identity is not None:
            mappings["_meta"] = marker_with_embedding(mappings["_meta"], self._kind.name, identity)
        return mappings

    async def _bootstrap(self) -> bool:
        """The base bootstrap, then the mapping's vector type and length (one request,
        once): a quantized index, whoever created it, is searched with rescoring."""
        is_alias = await super()._bootstrap()
        await self._learn_layout()
        await self._learn_mapping()
        return is_alias

    async def _learn_layout(self) -> None:
        """Whether the node keeps (or may keep) vectors out of ``_source``: it reports
        ``index.mapping.exclude_source_vectors`` for the index (9.1+; a node before 9.1
        knows no such setting and keeps every vector in ``_source``). One request."""
        try:
            answer = await self._client.indices.get_settings(
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

    async def _get_document(self, index: str, key: str) -> Any:
        """A realtime GET; on 9.1+ with the vector put back into ``_source`` (an index
        that keeps vectors out of ``_source`` gives the float32 values it indexed), before
        9.1 with the vector read from doc values (:meth:`_fill_vectors`)."""
        wanted = _VECTORS_WANTED.get()
        if self._vectors_from_doc_values:
            answer = await super()._get_document(index, key)
            if wanted:
                await self._fill_vectors([answer.body])
            return answer
        if not (self._vectors_read_back and wanted):
            return await super()._get_document(index, key)
        return await self._client.perform_request(
            "GET",
            f"/{_quoted(index)}/_doc/{_quoted(key)}",
            params=dict(_READ_BACK_VECTORS),
            headers={"accept": "application/json"},
            endpoint_id="get",
            path_parts={"index": index, "id": key},
        )

    async def _mget_documents(self, **request: Any) -> Any:
        """A realtime ``mget``; with the vectors put back, as :meth:`_get_document`."""
        wanted = _VECTORS_WANTED.get()
        if self._vectors_from_doc_values:
            answer = await super()._mget_documents(**request)
            if wanted:
                await self._fill_vectors(answer.body.get("docs", []))
            return answer
        if not (self._vectors_read_back and wanted):
            return await super()._mget_documents(**request)
        index = request.get("index")
        body = {"ids": request["ids"]} if "ids" in request else {"docs": request["docs"]}
        return await self._client.perform_request(
            "POST",
            f"/{_quoted(index)}/_mget" if index else "/_mget",
            params=dict(_READ_BACK_VECTORS),
            headers={"accept": "application/json", "content-type": "application/json"},
            body=body,
            endpoint_id="mget",
            path_parts={"index": index} if index else {},
        )

    async def get_without_vectors(self, key: str) -> SemanticRecord | None:
        """``get(key)`` without asking for the vector back (the record's ``vector`` is
        ``None`` unless ``_source`` holds it or its exact copy): one GET, no search for doc
        values before 9.1 and no vectors put back into ``_source`` on 9.1+. What a
        semantic cache's exact-key step and its answer judge use (they need the answer)."""
        token = _VECTORS_WANTED.set(False)
        try:
            return await self.get(key)
        finally:
            _VECTORS_WANTED.reset(token)

    async def get_many_without_vectors(self, keys: Sequence[str]) -> list[SemanticRecord | None]:
        """``get_many(keys)`` without the vectors, as :meth:`get_without_vectors`."""
        token = _VECTORS_WANTED.set(False)
        try:
            return await self.get_many(keys)
        finally:
            _VECTORS_WANTED.reset(token)

    async def _fill_vectors(self, docs: Sequence[Any]) -> None:
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
            if not isinstance(source, dict) or _VECTOR_FIELD in source:
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
                await self._refresh_for_search("get")
            for start in range(0, len(wanted), _DOC_VALUE_CHUNK):
                pairs = list(wanted)[start : start + _DOC_VALUE_CHUNK]
                for hit in await self._doc_value_hits(pairs):
                    doc = wanted.get((str(hit.get("_index")), str(hit.get("_id"))))
                    if doc is None or (hit.get("_seq_no"), hit.get("_primary_term")) != (
                        doc.get("_seq_no"),
                        doc.get("_primary_term"),
                    ):
                        continue
                    values = (hit.get("fields") or {}).get(_VECTOR_FIELD)
                    if isinstance(values, list) and len(values) == 1:
                        doc["_source"][_VECTOR_FIELD] = values[0]
                    del wanted[(doc["_index"], doc["_id"])]

    async def _doc_value_hits(self, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
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
        answer = await self._client.search(
            index=sorted(by_index),
            query=query,
            size=len(pairs),
            source=False,
            docvalue_fields=[{"field": _VECTOR_FIELD}],
            seq_no_primary_term=True,
            track_total_hits=False,
            filter_path="hits.hits._index,hits.hits._id,hits.hits._seq_no,"
            "hits.hits._primary_term,hits.hits.fields",
        )
        hits: list[dict[str, Any]] = answer.body.get("hits", {}).get("hits", [])
        return hits

    async def _create_index(self) -> None:
        """Create the index with ``SEMANTIC_INDEX_SETTINGS`` where the node knows them,
        else (before 9.1) with the vector left out of ``_source`` by the mapping."""
        try:
            await self._client.indices.create(
                index=self._index_name,
                mappings=self._new_mappings(),
                settings=dict(SEMANTIC_INDEX_SETTINGS),
            )
        except BadRequestError as exc:
            _, reason = error_type_and_reason(exc)
            if not any(name in reason for name in SEMANTIC_INDEX_SETTINGS):
                raise
            # a node before 9.1: no such setting, and no ACORN heuristic to turn off
            mappings = self._new_mappings()
            mappings["_source"] = {"excludes": list(VECTOR_SOURCE_EXCLUDES["excludes"])}
            await self._client.indices.create(index=self._index_name, mappings=mappings)

    async def _put_alias_mapping(self) -> None:
        """Put the fields the alias's write index lacks on it (see ``aliases``); a mapped
        ``prompt_vector`` has its ``dims`` set: the dims-less one would be a change."""
        aliases = await self._client.indices.get_alias(name=self._index_name)
        index = alias_write_index(aliases.body, self._index_name)
        if index is not None:
            answer = await self._client.indices.get_mapping(index=index)
            mappings = (answer.body.get(index) or {}).get("mappings") or {}
            wanted = semantic_properties(self._vector_index_type)
            missing = unmapped_properties(wanted, mappings)
            if missing:
                await self._client.indices.put_mapping(index=index, properties=missing)

    # -- embedding model ----------------------------------------------------------

    async def check_embedding(self, identity: EmbeddingIdentity) -> None:
        """Refuse an embedding model that is not the one the index's vectors belong to.

        The first call reads (creating the index if needed) the model every index behind
        the name records; the index, or the alias's write index, gets ``identity``
        recorded if it records none (its ``_meta`` merged, the rest kept). Later calls
        compare without a request. Raises ``ConfigurationError`` naming both models when
        they differ, or when the indices behind an alias record different models.
        """
        if self._embedding is None:
            async with self._embedding_lock:
                if self._embedding is None:
                    with self._translated("check_embedding"):
                        self._embedding_wanted = identity
                        await self._ensure_index()
                        self._embedding = await self._recorded_embedding(identity)
        if not self._embedding.matches(identity):
            raise embedding_mismatch(f"index {self._index_name!r}", self._embedding, identity)

    async def _recorded_embedding(self, identity: EmbeddingIdentity) -> EmbeddingIdentity:
        """The model the indices record (checked to agree), recording ``identity`` in the
        index (or the alias's write index) if it records none."""
        try:
            answer = await self._client.indices.get_mapping(index=self._index_name)
        except NotFoundError:
            self._forget_indices(index_missing=True)  # recreated, recording identity
            return identity
        recorded: dict[str, EmbeddingIdentity] = {}
        unrecorded: list[tuple[str, dict[str, Any]]] = []
        for index, body in sorted(answer.body.items()):
            mappings = body.get("mappings") or {}
            found = recorded_embedding(mappings)
            if found is None:
                unrecorded.append((index, mappings))
            else:
                recorded[index] = found
        distinct: list[EmbeddingIdentity] = []
        for found in recorded.values():
            if not any(found.matches(other) for other in distinct):
                distinct.append(found)
        if len(distinct) > 1:
            listed = "; ".join(f"{index}: {found.describe()}" for index, found in recorded.items())
            raise ConfigurationError(
                f"the indices behind {self._index_name!r} hold vectors of different embedding "
                f"models ({listed}), so one kNN search cannot compare them; remove the "
                "indices of the old embedding model from the alias"
            )
        if distinct and not distinct[0].matches(identity):
            index = next(iter(recorded))
            where = f"index {index!r}" + (
                f" (behind {self._index_name!r})" if index != self._index_name else ""
            )
            raise embedding_mismatch(where, distinct[0], identity)
        recordable = await self._recordable_index(answer.body) if unrecorded else None
        for index, mappings in unrecorded:
            if index == recordable:
                await self._record_embedding(index, mappings, identity)
        return distinct[0] if distinct else identity

    async def _recordable_index(self, found: dict[str, Any]) -> str | None:
        """The one index the model is recorded in when it records none: the index itself,
        or the alias's write index (``aliases.alias_write_index``). The older indices
        behind an alias are never written to, so never changed: recording there needed
        ``manage`` on each (the caches' ``write`` gets a deprecation warning) and failed on
        a read-only one; their records are still read and checked above."""
        if self._index_name in found:
            return self._index_name
        aliases = await self._client.indices.get_alias(name=self._index_name)
        return alias_write_index(aliases.body, self._index_name)

    async def _record_embedding(
        self, index: str, mappings: dict[str, Any], identity: EmbeddingIdentity
    ) -> None:
        """Record ``identity`` in ``index``'s ``_meta`` (merged: a put replaces it whole)."""
        meta = marker_with_embedding(mappings.get("_meta"), self._kind.name, identity)
        try:
            await self._client.indices.put_mapping(index=index, meta=meta)
        except AuthorizationException:
            if not self._warned_unrecordable:
                self._warned_unrecordable = True
                logger.warning(
                    "no privilege to record the embedding model in the _meta of index %r "
                    "(needs the manage privilege on it): a cache with another model will "
                    "not be refused there",
                    index,
                )
            return
        field = (mappings.get("properties") or {}).get(_VECTOR_FIELD)
        dims = field.get("dims") if isinstance(field, dict) else None
        if isinstance(dims, int):
            logger.warning(
                "index %r holds %d-dimension vectors of an embedding model it did not record; "
                "recorded %s as its model: if those vectors were made by another model, "
                "clear the index (its vectors cannot be compared with this model's)",
                index,
                dims,
                identity.describe(),
            )
        else:
            logger.info("recorded the embedding model %s in index %r", identity.describe(), index)

    # -- dimensions ---------------------------------------------------------------

    async def dimensions(self) -> int | None:
        """The vector length the index holds; ``None`` while it holds no vector.

        Read from the mapping (Elasticsearch sets ``dims`` at the first vector) and
        remembered once known.
        """
        if self._dims is None:
            with self._translated("dimensions"):
                await self._ensure_index()
                self._dims = await self._mapped_dimensions()
        return self._dims

    async def _learn_mapping(self) -> None:
        dims = await self._mapped_dimensions()
        if dims is not None:
            self._dims = dims

    async def _mapped_dimensions(self) -> int | None:
        """The mapped vector length (``None`` before the first vector); also notes whether
        any index behind the name holds quantized vectors."""
        try:
            answer = await self._client.indices.get_mapping(index=self._index_name)
        except NotFoundError:
            self._forget_indices(index_missing=True)
            return None
        found: dict[str, int] = {}
        quantized = False
        out_of_source = False
        for index, body in sorted(answer.body.items()):
            out_of_source = out_of_source or vectors_out_of_source(body.get("mappings") or {})
            field = body.get("mappings", {}).get("properties", {}).get(_VECTOR_FIELD, {})
            if not isinstance(field, dict) or not field:
                continue  # not mapped yet: mapped by the first write, as this cache maps it
            options = field.get("index_options")
            kind = options.get("type") if isinstance(options, dict) else None
            # a mapping without index_options: the node's default, int8_hnsw since 8.14
            quantized = quantized or kind not in ("hnsw", "flat")
            dims = field.get("dims")
            if isinstance(dims, int):
                found[index] = dims
        self._rescore = quantized
        if not self._vectors_read_back:
            self._vectors_from_doc_values = out_of_source
            self._kind = SEMANTIC_RECORDS_DOC_VALUE_VECTORS if out_of_source else SEMANTIC_RECORDS
        if len(set(found.values())) > 1:
            listed = ", ".join(f"{index}: {dims}" for index, dims in found.items())
            raise ConfigurationError(
                f"the indices behind {self._index_name!r} hold vectors of different lengths "
                f"({listed}), so one kNN search cannot cover them; remove the indices of "
                "the old embedding model from the alias"
            )
        return next(iter(found.values()), None)

    def _check_length(self, length: int, *, what: str) -> None:
        if self._dims is not None and length != self._dims:
            raise dimensions_mismatch(self._index_name, length, self._dims, what=what)

    def _mismatch_error(self, exc: BaseException, *, what: str) -> ConfigurationError | None:
        numbers = _mismatch_numbers(exc)
        if numbers is None:
            return None
        given, stored = numbers
        self._dims = stored
        return dimensions_mismatch(self._index_name, given, stored, what=what)

    # -- writes -------------------------------------------------------------------

    async def _prepare_write(self, action: str, records: Sequence[SemanticRecord]) -> None:
        """Know the index's layout before documents are made (a vector kept exactly in
        ``_source`` on 9.1+), and map the fields an earlier version's index lacks before a
        document that has them is written. Bad keys and vectors fail before any request."""
        for record in records:
            self._check_key(record.key)
            if record.vector is not None:
                float32_vector(record.vector, what=f"the vector of key {record.key!r}")
        with self._translated(action):
            await self._ensure_index()
            if (
                (self._vectors_read_back or self._vectors_from_doc_values)
                and not self._exact_field_mapped
                and any(r.vector is not None and needs_exact_copy(r.vector) for r in records)
            ):
                await self._ensure_exact_field()
        if any(record.observations for record in records):
            await self._prepare_late_fields(action)

    async def _ensure_exact_field(self) -> None:
        """Map ``prompt_vector_exact`` on every index behind the name that lacks it (an
        index of an earlier version, or made by another tool), once per repository: a
        dynamic mapping would make the base64 text a searchable text field."""
        try:
            answer = await self._client.indices.get_mapping(index=self._index_name)
        except NotFoundError:
            return  # gone: the write that follows recreates it, with every field
        field = {VECTOR_EXACT_FIELD: dict(self._kind.properties[VECTOR_EXACT_FIELD])}
        for index, body in sorted(answer.body.items()):
            present = (body.get("mappings") or {}).get("properties") or {}
            if VECTOR_EXACT_FIELD not in present:
                await self._client.indices.put_mapping(index=index, properties=field)
        self._exact_field_mapped = True

    async def put(self, record: SemanticRecord) -> None:
        if record.vector is not None:
            self._check_length(len(record.vector), what=f"the vector of key {record.key!r}")
        await self._prepare_write("put", (record,))
        try:
            await super().put(record)
        except BackendError as exc:
            mismatch = self._mismatch_error(exc, what=f"the vector of key {record.key!r}")
            if mismatch is not None:
                raise mismatch from exc
            raise
        if record.vector is not None and self._dims is None:
            self._dims = len(record.vector)

    async def put_many(self, records: Sequence[SemanticRecord]) -> None:
        lengths = {len(r.vector): r.key for r in records if r.vector is not None}
        if len(lengths) > 1:
            shown = ", ".join(f"{key!r}: {length}" for length, key in sorted(lengths.items()))
            raise ConfigurationError(
                f"put_many got vectors of different lengths ({shown}); one index holds one "
                "length: give every record the same embedding model"
            )
        if lengths:
            length, key = next(iter(lengths.items()))
            if self._dims is None:
                await self.dimensions()
            self._check_length(length, what=f"the vector of key {key!r}")
        if records:
            await self._prepare_write("put_many", records)
        await super().put_many(records)
        if lengths and self._dims is None:
            self._dims = next(iter(lengths))

    async def _prepare_late_fields(self, action: str) -> None:
        with self._translated(action):
            await self._ensure_index()
            await self._ensure_late_fields()

    async def _ensure_late_fields(self) -> None:
        """Put the fields an index of an earlier version lacks (``observations``) on every
        index behind the name that does not map them, once per repository: written into
        an index without them, they would be mapped dynamically, as numbers."""
        if self._late_fields_mapped:
            return
        try:
            answer = await self._client.indices.get_mapping(index=self._index_name)
        except NotFoundError:
            return  # gone: the write that follows recreates it, with every field
        for index, body in sorted(answer.body.items()):
            present = (body.get("mappings") or {}).get("properties") or {}
            missing = {
                name: dict(self._kind.properties[name])
                for name in self._kind.late_fields
                if name not in present
            }
            if missing:
                await self._client.indices.put_mapping(index=index, properties=missing)
                logger.info("mapped %s in the semantic cache index %r", ", ".join(missing), index)
        self._late_fields_mapped = True

    # -- observations (verified hits) ---------------------------------------------

    async def add_observation(self, key: str, similarity: float, right: bool) -> bool:
        """Add one observation to the entry ``key`` (the copy :meth:`get` returns), then to
        the pool of its index; False when there is no such entry. Concurrent calls lose
        none: each write is conditional on the document being unchanged since it was read,
        and is tried again otherwise. A pool write that fails is logged (once) and counted
        in ``pool_write_failures``; the entry keeps the observation either way.

        Raises:
            ValueError: ``similarity`` is not a finite number in [-1, 1] (before any request).
            BackendUnavailableError: The cluster cannot be reached, or other writers
                changed the entry between read and write ``OBSERVATION_RETRIES + 1`` times.
        """
        self._check_key(key)
        add_observation((), similarity, right)  # a bad similarity fails before any request
        lock = self._observation_locks[hash(key) % _OBSERVATION_STRIPES]
        with self._translated("add_observation"):
            is_alias = await self._ensure_index()
            await self._ensure_late_fields()
            async with lock:
                written = await self._observe(key, similarity, right, is_alias)
        if isinstance(written, str):
            await self._add_to_pool(written, similarity, right, is_alias)
            return True
        if written is None:
            raise BackendUnavailableError(
                f"add_observation ({self._index_name!r}): other writers changed the entry "
                f"{key!r} between each read and write of its observations "
                f"{OBSERVATION_RETRIES + 1} times in a row; this observation was not "
                "recorded (the entry is unchanged); retry later"
            )
        return written

    async def _observe(
        self, key: str, similarity: float, right: bool, is_alias: bool
    ) -> str | bool | None:
        """Read, rebuild and conditionally write the observations: the concrete index
        written, False when there is no entry, ``None`` when every attempt conflicted."""
        pauses = _conflict_pauses()
        for attempt in range(OBSERVATION_RETRIES + 1):
            found = await self._versioned_copy(key, is_alias)
            if found is None:
                return False
            index, record, seq_no, primary_term = found
            bins = add_observation(record.observations, similarity, right)
            document: dict[str, Any] = {"observations": observations_to_document(bins)}
            if not self._vectors_read_back and record.vector is not None:
                # before 9.1 the update re-indexes the merged _source, which may lack it
                document[_VECTOR_FIELD] = vector_json(record.vector)
            try:
                await self._conditional_update(index, key, document, seq_no, primary_term)
            except ConflictError:
                if attempt < OBSERVATION_RETRIES:
                    await AsyncRejectionRetry.pause(pauses[attempt])
                continue
            except NotFoundError as exc:
                kind, _ = error_type_and_reason(exc)
                if kind == _INDEX_MISSING:
                    self._forget_indices(index_missing=not is_alias)
                return False  # deleted between read and write
            return index
        return None

    # -- the pool (the sum of every entry's observations) ---------------------------

    async def pooled_observations(self) -> tuple[ObservationBin, ...]:
        """The sum of the observations of every entry (behind an alias: of every index),
        as read at most ``pool_cache_seconds`` ago; ``()`` while there is none. A pool
        document that is not valid observations counts as empty (logged once).

        Raises:
            PermissionDeniedError, BackendUnavailableError: as a lookup would.
        """
        state = self._pool_state
        if time.monotonic() - state.read_at < self.pool_cache_seconds:
            return state.bins
        async with state.read_lock:
            if time.monotonic() - state.read_at < self.pool_cache_seconds:
                return state.bins  # read meanwhile by another caller
            with self._translated("pooled_observations"):
                is_alias = await self._ensure_index()
                sources = await self._pool_sources(is_alias)
            state.bins = self._summed_pool(sources)
            state.read_at = time.monotonic()
        return state.bins

    @property
    def pool_write_failures(self) -> int:
        """How many observations reached their entry but not the pool (see
        :meth:`add_observation`)."""
        return self._pool_state.write_failures

    async def _pool_sources(self, is_alias: bool) -> list[Any]:
        """The ``_source`` of every pool document behind the name, read in realtime."""
        if not is_alias:
            found = await self._pool_copy(self._index_name)
            return [] if found is None else [found[0]]
        indices = await self._concrete_indices()
        answer = await self._client.mget(
            docs=[{"_index": index, "_id": VERIFIED_POOL_ID} for index in indices]
        )
        sources = []
        for doc in answer.body.get("docs", []):
            if "error" in doc:
                self._mget_item_error(doc)
            elif doc.get("found"):
                sources.append(doc.get("_source"))
        return sources

    def _summed_pool(self, sources: list[Any]) -> tuple[ObservationBin, ...]:
        """The pools of ``sources`` (untrusted) added up, bin by bin; a malformed one
        counts as empty."""
        totals: dict[float, list[int]] = {}
        for source in sources:
            for item in self._pool_bins(source):
                total = totals.setdefault(item.similarity, [0, 0])
                total[0] += item.right
                total[1] += item.wrong
        summed = observations_from_document([[s, r, w] for s, (r, w) in sorted(totals.items())])
        return () if isinstance(summed, str) else summed

    def _pool_bins(self, source: Any) -> tuple[ObservationBin, ...]:
        """The observations of one untrusted pool ``_source``; ``()`` (logged) if malformed."""
        if not isinstance(source, Mapping):
            bins: tuple[ObservationBin, ...] | str = "its source is not an object"
        else:
            bins = observations_from_document(source.get("observations"))
        if isinstance(bins, str):
            self._pool_problem("the pool document %r of %r is malformed (%s): read as empty", bins)
            return ()
        return bins

    def _pool_problem(self, message: str, detail: object) -> None:
        """Log a pool problem once per repository (warning), afterwards at debug level."""
        state = self._pool_state
        level = logging.DEBUG if state.warned else logging.WARNING
        state.warned = True
        logger.log(level, message, VERIFIED_POOL_ID, self._index_name, detail)

    async def _pool_copy(self, index: str) -> tuple[Any, int, int] | None:
        """The pool document of the concrete ``index``: its ``_source``, ``_seq_no`` and
        ``_primary_term``; ``None`` when there is none."""
        try:
            answer = await self._client.get(index=index, id=VERIFIED_POOL_ID)
        except NotFoundError as exc:
            kind, _ = error_type_and_reason(exc)
            if kind == _INDEX_MISSING:
                self._forget_indices(index_missing=index == self._index_name)
            return None
        body = answer.body
        seq_no, primary_term = body.get("_seq_no"), body.get("_primary_term")
        if not body.get("found") or not isinstance(seq_no, int):
            return None
        if not isinstance(primary_term, int):
            return None
        return body.get("_source"), seq_no, primary_term

    async def _add_to_pool(
        self, index: str, similarity: float, right: bool, is_alias: bool
    ) -> None:
        """Add one observation to the pool of the concrete ``index``; a failure is logged
        and counted, never raised (the entry has the observation already)."""
        state = self._pool_state
        try:
            async with state.write_lock:  # this object's writers take turns: no 409 between them
                bins = await self._write_pool(index, similarity, right)
        except CLIENT_ERRORS as exc:
            failure = f"{type(exc).__name__}: {exc}"
        else:
            if bins is not None:
                if is_alias:
                    state.read_at = -math.inf  # a sum over indices: read it again
                else:
                    state.bins = bins  # this object's own write is seen at once
                    state.read_at = time.monotonic()
                return
            failure = f"{OBSERVATION_RETRIES + 1} conflicting writes in a row"
        state.write_failures += 1
        self._pool_problem(
            "an observation was recorded on its entry but not in the pool %r of %r (%s); "
            "the pool lacks as many as pool_write_failures counts",
            failure,
        )

    async def _write_pool(
        self, index: str, similarity: float, right: bool
    ) -> tuple[ObservationBin, ...] | None:
        """Read, add to and conditionally write (create, if absent) the pool of ``index``:
        the pool written, ``None`` when every attempt conflicted."""
        pauses = _conflict_pauses()
        for attempt in range(OBSERVATION_RETRIES + 1):
            found = await self._pool_copy(index)
            bins = add_observation(
                () if found is None else self._pool_bins(found[0]), similarity, right
            )
            document = {"observations": observations_to_document(bins)}
            try:
                await self._put_pool(index, document, None if found is None else found[1:])
            except ConflictError:  # created or changed by another process meanwhile
                if attempt < OBSERVATION_RETRIES:
                    await AsyncRejectionRetry.pause(pauses[attempt])
                continue
            return bins
        return None

    async def _put_pool(
        self, index: str, document: dict[str, Any], version: tuple[int, int] | None
    ) -> None:
        """Write the pool of ``index``: created (``version`` None: it must not exist), or
        replaced if it is still at ``version`` (``_seq_no``, ``_primary_term``)."""
        if version is None:
            options: dict[str, Any] = {"op_type": "create"}
        else:
            options = {"if_seq_no": version[0], "if_primary_term": version[1]}
        await AsyncRejectionRetry.call(
            lambda: self._client.index(
                index=index,
                id=VERIFIED_POOL_ID,
                document=document,
                **options,
                **self._refresh_option(),
            )
        )

    async def clear(self) -> int:
        """Delete every entry (the count returned), and the pool."""
        deleted = await super().clear()
        with self._translated("clear"):
            indices = await self._concrete_indices() if self._is_alias else (self._index_name,)
            pools = [{"_op_type": "delete", "_index": i, "_id": VERIFIED_POOL_ID} for i in indices]
            await self._bulk("delete", pools, self._refresh_option())
        self._pool_state.bins = ()
        self._pool_state.read_at = -math.inf
        return deleted

    async def _versioned_copy(
        self, key: str, is_alias: bool
    ) -> tuple[str, SemanticRecord, int, int] | None:
        """The copy of ``key`` that :meth:`get` returns, read in realtime: its concrete
        index, the record, ``_seq_no`` and ``_primary_term``; ``None`` when there is none."""
        index = self._index_name
        if is_alias:
            newest = await self._newest_copies([key])
            if key not in newest:
                return None
            index = newest[key][1]
        try:
            answer = await self._client.get(index=index, id=key)
            if not self._vectors_read_back:
                # before 9.1 the update re-indexes the merged _source, so the vector is
                # written back with it: read from doc values when _source lacks it,
                # whatever this repository learned (the alias may have rolled over since)
                await self._fill_vectors([answer.body])
        except NotFoundError as exc:
            kind, _ = error_type_and_reason(exc)
            if kind == _INDEX_MISSING:
                self._forget_indices(index_missing=not is_alias)
            return None
        body = answer.body
        if not body.get("found"):
            return None
        record = self._kind.from_document(key, body.get("_source"))
        seq_no, primary_term = body.get("_seq_no"), body.get("_primary_term")
        if record is None or not isinstance(seq_no, int) or not isinstance(primary_term, int):
            return None  # a corrupt document is no entry, as for get
        return str(body.get("_index", index)), record, seq_no, primary_term

    async def _conditional_update(
        self, index: str, key: str, document: dict[str, Any], seq_no: int, primary_term: int
    ) -> None:
        """Write ``document``'s fields into the entry (a partial update: the other fields
        are kept as stored) if it is still at ``seq_no`` / ``primary_term``."""
        await AsyncRejectionRetry.call(
            lambda: self._client.update(
                index=index,
                id=key,
                doc=document,
                if_seq_no=seq_no,
                if_primary_term=primary_term,
                **self._refresh_option(),
            )
        )

    # -- kNN ----------------------------------------------------------------------

    def _check_query(self, query: VectorQuery) -> None:
        if not isinstance(query, VectorQuery):
            raise ConfigurationError(f"nearest() takes a VectorQuery, not {type(query).__name__}")
        if isinstance(query.k, bool) or not isinstance(query.k, int) or not 1 <= query.k <= _MAX_K:
            raise ConfigurationError(f"k must be an integer from 1 to {_MAX_K}, not {query.k!r}")
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
            "field": _VECTOR_FIELD,
            "query_vector": list(query.vector),
            "k": k,
            "num_candidates": min(_MAX_K, max(wanted, k)),
            "filter": filters,
        }
        if self._rescore:
            # quantized scores are approximate: a threshold applied to them would let an
            # entry under it through (or drop one over it). The top candidates are
            # rescored with the float vectors; the threshold is applied to the rescored
            # similarity in _candidates
            clause["rescore_vector"] = {"oversample": RESCORE_OVERSAMPLE}
            clause["num_candidates"] = min(
                _MAX_K, max(clause["num_candidates"], math.ceil(k * RESCORE_OVERSAMPLE))
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
            k = min(_MAX_K, query.k * len(indices))
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
                if len(candidates) >= query.k or found < k or under or k >= _MAX_K:
                    return candidates
                k = min(_MAX_K, k * 4)

    async def _search(self, query: VectorQuery, k: int) -> list[dict[str, Any]] | None:
        """The hits of one kNN search; ``None`` when the index is gone."""
        try:
            answer = await self._client.search(
                index=self._index_name,
                knn=self._knn_clause(query, k),
                size=k,
                source_excludes=[_VECTOR_FIELD, VECTOR_EXACT_FIELD],
                track_total_hits=False,
                filter_path="hits.hits._index,hits.hits._id,hits.hits._score,hits.hits._source",
            )
        except ApiError as exc:
            kind, _ = error_type_and_reason(exc)
            if isinstance(exc, NotFoundError) and kind == _INDEX_MISSING:
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
