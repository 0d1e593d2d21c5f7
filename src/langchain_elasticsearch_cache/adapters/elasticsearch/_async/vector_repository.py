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

The class is built from layers, one module each, each building on the ones listed
before it (and all on :class:`AsyncElasticsearchRepository`):

* ``vector_layout``: where vectors are stored and how GET / mget get them back
  (``get_without_vectors``, the doc-value search before 9.1);
* ``vector_identity``: the embedding model (``check_embedding``), the vector length and
  type (``dimensions``), creating the index;
* ``vector_writes``: ``put`` / ``put_many`` with their vectors checked; mapping the fields
  an index of an earlier version lacks;
* ``vector_observations``: ``add_observation`` (``OBSERVATION_RETRIES`` is read there);
* ``vector_pool``: the pool (``pooled_observations``), and ``clear`` deleting it;
* ``vector_search``: ``nearest``;
* this module: the public class and its construction.
"""

from __future__ import annotations

import asyncio

from elasticsearch import AsyncElasticsearch

from ....domain.errors import ConfigurationError
from ....domain.semantic.identity import EmbeddingIdentity
from ..mappings import QUANTIZED_VECTOR_INDEX_TYPES, SEMANTIC_RECORDS, VECTOR_INDEX_TYPES
from .vector_identity import dimensions_mismatch
from .vector_observations import OBSERVATION_RETRIES, OBSERVATION_STRIPES
from .vector_pool import PoolState
from .vector_search import DEFAULT_NUM_CANDIDATES, MAX_K, RESCORE_OVERSAMPLE, AsyncVectorSearch

# the constants are re-exported from where they were defined before the split into layers;
# the code reads them from the layer modules (patch them there)
__all__ = [
    "DEFAULT_NUM_CANDIDATES",
    "OBSERVATION_RETRIES",
    "RESCORE_OVERSAMPLE",
    "AsyncElasticsearchVectorRepository",
    "dimensions_mismatch",
]


class AsyncElasticsearchVectorRepository(AsyncVectorSearch):
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
            or not 1 <= num_candidates <= MAX_K
        ):
            raise ConfigurationError(
                f"num_candidates must be None or an integer from 1 to {MAX_K}, "
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
        self._observation_locks = tuple(asyncio.Lock() for _ in range(OBSERVATION_STRIPES))
        self._pool_state = PoolState()
        #: the embedding model the index records (once checked), and the one the
        #: current check asks for (recorded in an index created meanwhile)
        self._embedding: EmbeddingIdentity | None = None
        self._embedding_wanted: EmbeddingIdentity | None = None
        self._embedding_lock = asyncio.Lock()
        self._warned_unrecordable = False
        # whether a kNN search must rescore: the index's vectors are quantized
        self._rescore = vector_index_type in QUANTIZED_VECTOR_INDEX_TYPES
