"""Index mappings, record kinds and index-name rules.

The mappings are exactly those ``langchain_elasticsearch`` 1.0.0 creates, so an index made
by either library is used unchanged by the other.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import math
import struct
from collections.abc import Callable, Mapping
from typing import Any, Generic

import attrs

from ...domain.entries import (
    EmbeddingRecord,
    LlmRecord,
    embedding_record_from_document,
    embedding_record_to_document,
    llm_record_from_document,
    llm_record_to_document,
)
from ...domain.errors import ConfigurationError, InvalidIndexNameError
from ...domain.ports import R
from ...domain.semantic.identity import EmbeddingIdentity
from ...domain.semantic_records import (
    SemanticRecord,
    semantic_record_from_document,
    semantic_record_to_document,
)

__all__ = [
    "CACHE_MARKER",
    "CACHE_SCHEMA",
    "EMBEDDING_PROPERTIES",
    "EMBEDDING_RECORDS",
    "LLM_PROPERTIES",
    "LLM_RECORDS",
    "MAX_ID_BYTES",
    "PROMPT_VECTOR_INDEX_OPTIONS",
    "QUANTIZED_VECTOR_INDEX_TYPES",
    "SEMANTIC_INDEX_SETTINGS",
    "SEMANTIC_LATE_FIELDS",
    "SEMANTIC_PROPERTIES",
    "SEMANTIC_RECORDS",
    "SEMANTIC_RECORDS_DOC_VALUE_VECTORS",
    "SEMANTIC_RECORDS_VECTORS_EXCLUDED",
    "VECTOR_SOURCE_EXCLUDES",
    "VECTOR_EXACT_FIELD",
    "VECTOR_INDEX_TYPES",
    "VERIFIED_POOL_ID",
    "IndexIdentity",
    "RecordKind",
    "cache_marker",
    "marker_with_embedding",
    "needs_exact_copy",
    "recorded_embedding",
    "check_index_mapping",
    "float32_vector",
    "foreign_index_error",
    "identify_mapping",
    "kind_label",
    "semantic_properties",
    "validate_index_name",
    "vector_json",
    "vectors_out_of_source",
]

LLM_PROPERTIES: Mapping[str, Any] = {
    "llm_output": {"type": "text", "index": False},
    "llm_params": {"type": "text", "index": False},
    "llm_input": {"type": "text", "index": False},
    "metadata": {"type": "object"},
    "timestamp": {"type": "date"},
}

EMBEDDING_PROPERTIES: Mapping[str, Any] = {
    "text_input": {"type": "text", "index": False},
    "vector_dump": {"type": "binary", "doc_values": False},
    "metadata": {"type": "object"},
    "timestamp": {"type": "date"},
    "namespace": {"type": "keyword"},
}

#: The HNSW variant of the prompt vectors, chosen by benchmark (``benchmarks/semantic.py``,
#: results in ``benchmarks/RESULTS.md``): float ``hnsw``, not the quantized ``int8_hnsw``
#: default. Its scores are exact cosines, so ``similarity_threshold`` means what it says
#: (a quantized score can put an entry on the wrong side of the threshold), its recall at
#: the threshold is the best of the variants (1.0, as ``bbq_hnsw``, which refuses vectors
#: of fewer than 64 dimensions), and it takes vectors of any length. It costs 4 bytes per
#: dimension instead of 1, which a cache of up to a few million prompts can afford.
PROMPT_VECTOR_INDEX_OPTIONS: Mapping[str, Any] = {"type": "hnsw", "m": 16, "ef_construction": 100}

#: The ``vector_index_type`` values a semantic index may be created with. ``hnsw`` keeps
#: float vectors in the graph (4 bytes per dimension in memory, exact scores);
#: ``int8_hnsw`` (1 byte per dimension) and ``bbq_hnsw`` (1 bit per dimension, 64
#: dimensions or more) search quantized vectors, and their candidates are rescored with
#: the exact float vectors before the threshold is applied (see the vector repository).
VECTOR_INDEX_TYPES: tuple[str, ...] = ("hnsw", "int8_hnsw", "bbq_hnsw")
#: Vector index types whose search scores are approximate and need rescoring.
QUANTIZED_VECTOR_INDEX_TYPES: frozenset[str] = frozenset({"int8_hnsw", "bbq_hnsw"})


def semantic_properties(vector_index_type: str = "hnsw") -> dict[str, Any]:
    """The semantic cache's mapped fields with ``prompt_vector`` of ``vector_index_type``
    (a fresh copy)."""
    if vector_index_type not in VECTOR_INDEX_TYPES:
        raise ConfigurationError(
            f"vector_index_type must be one of {', '.join(VECTOR_INDEX_TYPES)}, "
            f"not {vector_index_type!r}"
        )
    properties = copy.deepcopy(dict(SEMANTIC_PROPERTIES))
    properties["prompt_vector"]["index_options"] = {
        **PROMPT_VECTOR_INDEX_OPTIONS,
        "type": vector_index_type,
    }
    return properties


#: Settings of an index the semantic cache creates. Elasticsearch 9.1+ searches a filtered
#: HNSW graph with the ACORN heuristic by default; with the cache's filter (one model and
#: context among several) it found only 88-89 % of the exact top entries at the
#: threshold, "fanout" (the 8.x behaviour) all of them (benchmarks/RESULTS.md).
#:
#: ``index.mapping.exclude_source_vectors`` keeps the prompt vectors out of ``_source``
#: (set explicitly, so a node's default does not decide): the vector is stored once, in
#: the index (``4 * dims`` bytes), instead of also as JSON numbers (about 4,100 of the
#: 5,200 bytes of a 256-dimension entry). The repository reads it back from the index
#: (``_source_exclude_vectors=false``), which gives the float32 values indexed, bit for
#: bit, for vectors of unit length; any other vector is also kept exactly in
#: ``_source`` (:data:`VECTOR_EXACT_FIELD`), because a ``cosine`` field stores it
#: normalised. Nodes before 9.1 know neither setting: the index is then created without
#: them and with :data:`VECTOR_SOURCE_EXCLUDES` in its mapping instead.
SEMANTIC_INDEX_SETTINGS: Mapping[str, Any] = {
    "index.dense_vector.hnsw_filter_heuristic": "fanout",
    "index.mapping.exclude_source_vectors": True,
}

#: The ``_source`` of a new semantic index on a node before 9.1: the vector left out of
#: ``_source``, so it is stored once, in the vector index (1,097 instead of 3,612 bytes per
#: 256-dimension entry, measured on 8.19.9 after a force merge; benchmarks/RESULTS.md).
#: GET cannot give it back there: the repository reads it with a search's
#: ``docvalue_fields`` (float32-exact for vectors of unit length; any other is kept in
#: :data:`VECTOR_EXACT_FIELD`, as on 9.1+). Until a merge after the shard's retention
#: lease passed them (synced every 30 s), the node keeps the excluded vectors as
#: ``_recovery_source``.
VECTOR_SOURCE_EXCLUDES: Mapping[str, Any] = {"excludes": ["prompt_vector"]}


def vectors_out_of_source(mappings: Mapping[str, Any]) -> bool:
    """Whether an index's mapping leaves the prompt vector out of ``_source`` with
    ``_source.excludes`` (a semantic index this library made on a node before 9.1)."""
    source = mappings.get("_source")
    excludes = source.get("excludes") if isinstance(source, Mapping) else None
    return isinstance(excludes, list) and "prompt_vector" in excludes


#: The ``_source`` field holding the exact float32 bytes (little-endian, base64) of a
#: prompt vector that the vector index would not give back bit for bit: written in an
#: index that keeps vectors out of ``_source``, for vectors not of unit length (a
#: ``cosine`` field stores those normalised, and scales them back with a rounding
#: error). Never indexed or searched.
VECTOR_EXACT_FIELD = "prompt_vector_exact"
#: How far from 1 a vector's squared length may be for the index to give it back bit for
#: bit. Elasticsearch normalises a ``cosine`` vector when its squared length is more than
#: 1e-3 from 1 (checked on 9.2.8: every vector within 1e-4 came back exact, some from
#: 1e-3 on did not); this keeps a tenfold margin.
_UNIT_TOLERANCE = 1e-4

#: The semantic cache's fields: the LLM cache's (so exact-key lookups read them the same
#: way) plus the prompt vector and the hashes a kNN search is filtered on. The vector has
#: no ``dims``: Elasticsearch takes them from the first document indexed (checked on 8.19
#: and 9.2), so the index can be created before the embedding model was ever called.
SEMANTIC_PROPERTIES: Mapping[str, Any] = {
    **LLM_PROPERTIES,
    "prompt_vector": {
        "type": "dense_vector",
        "index": True,
        "similarity": "cosine",
        "index_options": dict(PROMPT_VECTOR_INDEX_OPTIONS),
    },
    "llm_string_hash": {"type": "keyword"},
    "context_hash": {"type": "keyword"},
    "prompt_text": {"type": "text", "index": False},
    # what a verified cache learned about the entry, ``[[similarity, right, wrong], ...]``:
    # kept in ``_source`` only (never searched), so neither indexed nor parsed
    "observations": {"type": "object", "enabled": False},
    # a vector the index would not give back exactly (see VECTOR_EXACT_FIELD): kept in
    # ``_source`` only (binary fields are not indexed; no doc values)
    VECTOR_EXACT_FIELD: {"type": "binary", "doc_values": False},
}

#: Semantic fields an index made by an earlier version may lack, put on it with a
#: put-mapping just before the first write of a document that has them (a dynamic
#: mapping would index them as numbers, a type a later check refuses).
SEMANTIC_LATE_FIELDS: tuple[str, ...] = ("observations", VECTOR_EXACT_FIELD)

#: Elasticsearch refuses document ids longer than this many UTF-8 bytes.
MAX_ID_BYTES = 512

#: The id of the one document of a semantic index that is not an entry: the *pool*, the
#: sum of every entry's verified-cache observations (``{"observations": [...]}``, the
#: entries' own field, so an index of an earlier version needs no other mapping). Entry
#: keys are hex digests, which never hold a colon; the id is refused as a key, and left
#: out of every count, listing, export and purge (``RecordKind.reserved_ids``).
VERIFIED_POOL_ID = "lecache:verified-pool"

#: The key, in an index mapping's ``_meta``, of the marker every index this library
#: creates carries: ``{"langchain_elasticsearch_cache": {"kind": "llm", "schema": 1}}``
#: (``kind``: ``llm``, ``embeddings`` or ``semantic``). Destructive and writing operations
#: act only on an index positively identified as a cache of their kind: by this marker,
#: or (indices of langchain-elasticsearch and of earlier versions, which have no marker)
#: by a field set that is exactly the cache's (see :func:`identify_mapping`).
CACHE_MARKER = "langchain_elasticsearch_cache"
#: The marker's ``schema``: the version of the cache's index layout.
CACHE_SCHEMA = 1


def cache_marker(kind: str) -> dict[str, Any]:
    """The ``_meta`` of a new index of ``kind`` (a fresh copy)."""
    return {CACHE_MARKER: {"kind": kind, "schema": CACHE_SCHEMA}}


#: The key, in the marker of a semantic index, of the embedding model its vectors belong
#: to (``EmbeddingIdentity.to_document()``), recorded when the index is made or first used.
EMBEDDING_META = "embedding"


def recorded_embedding(mappings: Mapping[str, Any]) -> EmbeddingIdentity | None:
    """The embedding model an index's mapping records; ``None`` when it records none (or
    one this version cannot read)."""
    meta = mappings.get("_meta")
    marker = meta.get(CACHE_MARKER) if isinstance(meta, Mapping) else None
    if not isinstance(marker, Mapping):
        return None
    return EmbeddingIdentity.from_document(marker.get(EMBEDDING_META))


def marker_with_embedding(
    meta: Mapping[str, Any] | None, kind: str, identity: EmbeddingIdentity
) -> dict[str, Any]:
    """The whole ``_meta`` to put on an index (a put replaces it): ``meta`` with the
    embedding model added to its cache marker (a marker of ``kind`` when it has none)."""
    merged = dict(meta or {})
    found = merged.get(CACHE_MARKER)
    marker = dict(found) if isinstance(found, Mapping) else cache_marker(kind)[CACHE_MARKER]
    marker[EMBEDDING_META] = identity.to_document()
    merged[CACHE_MARKER] = marker
    return merged


@attrs.frozen
class RecordKind(Generic[R]):
    """Everything the repository needs to know about one record type.

    ``from_document`` returns ``None`` for a document of the wrong shape: the repository
    treats it as a miss (and ``scan`` skips it) rather than failing.
    """

    name: str
    properties: Mapping[str, Any]
    to_document: Callable[[R], dict[str, Any]]
    from_document: Callable[[str, Any], R | None]
    #: fields a search asks for with its ``fields`` option instead of ``_source``, and
    #: puts back into the source (see :meth:`source_of`): Elasticsearch 9 leaves dense
    #: vectors out of ``_source`` by default (``index.mapping.exclude_source_vectors``),
    #: and ``fields`` returns them on 8.x and 9.x alike, with either client
    fetched_fields: tuple[str, ...] = ()
    #: whether a search asks for the :attr:`fetched_fields` with ``docvalue_fields``
    #: (``fields`` reads ``_source``, which a ``_source.excludes`` mapping leaves them out
    #: of), each put back only into a ``_source`` that lacks it
    fetched_from_doc_values: bool = False
    #: fields every entry of this kind writes: an index without a marker is recognised as
    #: this kind's only if it maps all of these (and no field the kind does not have)
    core_fields: tuple[str, ...] = ()
    #: fields an existing index need not map, even ``"dynamic": "strict"``: the
    #: repository puts them on the index when it first writes one (older indices lack them)
    late_fields: tuple[str, ...] = ()
    #: ids of documents in an index of this kind that are not entries (never a key; left
    #: out of counts, scans and deletes by query): see :func:`entries_only`
    reserved_ids: tuple[str, ...] = ()

    def entries_only(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """``query`` (``None``: every document) restricted to entries: the
        :attr:`reserved_ids` left out. Unchanged for a kind without reserved ids."""
        query = query if query is not None else {"match_all": {}}
        if not self.reserved_ids:
            return query
        return {"bool": {"must": query, "must_not": {"ids": {"values": list(self.reserved_ids)}}}}

    @property
    def mappings(self) -> dict[str, Any]:
        """The ``mappings`` of a new index, with the cache marker in ``_meta`` (a fresh
        copy, safe to mutate)."""
        return {
            "_meta": cache_marker(self.name),
            "properties": copy.deepcopy(dict(self.properties)),
        }

    @property
    def source_fields(self) -> list[str]:
        """The ``_source`` fields a search fetches: every mapped field but the
        :attr:`fetched_fields`."""
        return [name for name in self.properties if name not in self.fetched_fields]

    def source_of(self, hit: Mapping[str, Any]) -> Any:
        """A search hit's ``_source``, with the :attr:`fetched_fields` it returned put back.

        The ``fields`` option returns every value as a list; a dense vector comes back
        as its flat list of numbers. Anything malformed is left for ``from_document``
        to reject.
        """
        source = hit.get("_source")
        fields = hit.get("fields")
        if not isinstance(source, Mapping) or not isinstance(fields, Mapping):
            return source
        merged = dict(source)
        for name in self.fetched_fields:
            if name not in fields:
                continue
            value = fields[name]
            if self.fetched_from_doc_values:
                if name in source:
                    continue  # kept in _source (an index of another layout behind an alias)
                # doc values of a dense vector: a list holding the vector
                if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
                    value = value[0]
            merged[name] = value
        return merged


LLM_RECORDS: RecordKind[LlmRecord] = RecordKind(
    name="llm",
    properties=LLM_PROPERTIES,
    to_document=llm_record_to_document,
    from_document=llm_record_from_document,
    core_fields=("llm_output", "timestamp"),
)

EMBEDDING_RECORDS: RecordKind[EmbeddingRecord] = RecordKind(
    name="embeddings",
    properties=EMBEDDING_PROPERTIES,
    to_document=embedding_record_to_document,
    from_document=embedding_record_from_document,
    core_fields=("vector_dump", "timestamp"),
)


def float32_vector(values: Any, *, what: str = "the vector") -> list[float]:
    """``values`` rounded to float32, as Python floats holding those float32 values exactly:
    what Elasticsearch indexes and searches (a ``dense_vector`` of floats is float32).

    Raises ``ConfigurationError`` for a value beyond float32's range (about 3.4e38).
    """
    count = len(values)
    try:
        packed = struct.pack(f"<{count}f", *values)
    except (OverflowError, struct.error) as exc:
        raise ConfigurationError(
            f"{what} cannot be stored as float32, the type Elasticsearch indexes vectors "
            f"as ({exc}): every value must lie within +-3.4e38; check the Embeddings object"
        ) from None
    return list(struct.unpack(f"<{count}f", packed))


def _unit_length(rounded: list[float]) -> bool:
    return abs(math.fsum(v * v for v in rounded) - 1.0) <= _UNIT_TOLERANCE


def needs_exact_copy(vector: Any) -> bool:
    """Whether a vector written into an index that keeps vectors out of ``_source`` is
    also kept in :data:`VECTOR_EXACT_FIELD`: the vector index would not give it back bit
    for bit (not of unit length)."""
    return not _unit_length(float32_vector(vector))


def _short_json(rounded: list[float]) -> list[float]:
    return list(map(float, map("{:.9g}".format, rounded)))


def vector_json(vector: Any) -> list[float]:
    """``vector`` as the document's ``prompt_vector``: its float32 values, as the shortest
    JSON numbers that identify them (9 significant digits)."""
    return _short_json(float32_vector(vector))


def _semantic_document(record: SemanticRecord, *, exact_copy: bool) -> dict[str, Any]:
    """The document of ``record`` with its vector rounded to float32; with ``exact_copy``,
    a vector the index would not give back bit for bit (not of unit length) is also kept
    exactly in :data:`VECTOR_EXACT_FIELD`."""
    document = semantic_record_to_document(record)
    vector = document.get("prompt_vector")
    if vector is not None:
        rounded = float32_vector(vector, what=f"the vector of key {record.key!r}")
        # 9 significant digits identify a float32 exactly: JSON numbers about a third
        # shorter than the float64 repr of the float32 values, which Elasticsearch parses
        # back to the same float32 (and so does _stored_vector)
        document["prompt_vector"] = _short_json(rounded)
        if exact_copy and not _unit_length(rounded):
            packed = struct.pack(f"<{len(rounded)}f", *rounded)
            document[VECTOR_EXACT_FIELD] = base64.b64encode(packed).decode("ascii")
    return document


def _document_vectors_in_source(record: SemanticRecord) -> dict[str, Any]:
    return _semantic_document(record, exact_copy=False)


def _document_vectors_excluded(record: SemanticRecord) -> dict[str, Any]:
    return _semantic_document(record, exact_copy=True)


def _exact_vector(value: Any) -> list[float] | None:
    """The vector kept in :data:`VECTOR_EXACT_FIELD`; ``None`` if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        packed = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not packed or len(packed) % 4:
        return None
    return list(struct.unpack(f"<{len(packed) // 4}f", packed))


def _stored_vector(source: Any) -> Any:
    """``source`` with its vector as the float32 values stored: the exact copy when there
    is one, else ``prompt_vector`` (from ``_source`` or read back from the index) rounded
    to float32. Anything malformed is left for the record reader to reject."""
    if not isinstance(source, Mapping):
        return source
    exact = source.get(VECTOR_EXACT_FIELD)
    vector = source.get("prompt_vector")
    if exact is None and vector is None:
        return source
    merged = dict(source)
    merged.pop(VECTOR_EXACT_FIELD, None)
    decoded = _exact_vector(exact)
    if decoded is not None and (not isinstance(vector, list) or len(vector) == len(decoded)):
        merged["prompt_vector"] = decoded
    elif isinstance(vector, list) and all(type(v) is float or type(v) is int for v in vector):
        # beyond float32's range it is no float32 vector: left as stored, for the reader
        with contextlib.suppress(ConfigurationError):
            merged["prompt_vector"] = float32_vector(vector)
    return merged


def _semantic_record_from_stored(key: str, source: Any) -> SemanticRecord | None:
    return semantic_record_from_document(key, _stored_vector(source))


SEMANTIC_RECORDS: RecordKind[SemanticRecord] = RecordKind(
    name="semantic",
    properties=SEMANTIC_PROPERTIES,
    to_document=_document_vectors_in_source,
    from_document=_semantic_record_from_stored,
    fetched_fields=("prompt_vector",),
    core_fields=("llm_output", "timestamp", "llm_string_hash", "context_hash"),
    late_fields=SEMANTIC_LATE_FIELDS,
    reserved_ids=(VERIFIED_POOL_ID,),
)
"""Semantic entries: vectors written as float32 (``prompt_vector``, in ``_source`` unless
the index excludes vectors from it), read back as the float32 values stored."""

#: The semantic entries as written on Elasticsearch 9.1+, where an index may keep vectors
#: out of ``_source``: a vector the index would not give back bit for bit is also kept in
#: :data:`VECTOR_EXACT_FIELD`. Read as :data:`SEMANTIC_RECORDS` reads.
SEMANTIC_RECORDS_VECTORS_EXCLUDED: RecordKind[SemanticRecord] = attrs.evolve(
    SEMANTIC_RECORDS, to_document=_document_vectors_excluded
)
#: Entries of an index whose mapping leaves vectors out of ``_source`` (a node before
#: 9.1, :data:`VECTOR_SOURCE_EXCLUDES`): written as on 9.1+, read from doc values.
SEMANTIC_RECORDS_DOC_VALUE_VECTORS: RecordKind[SemanticRecord] = attrs.evolve(
    SEMANTIC_RECORDS_VECTORS_EXCLUDED, fetched_from_doc_values=True
)


#: Per type the cache maps a field with, the types an existing index may have instead:
#: each stores what the cache writes there and serves the cache's queries.
_COMPATIBLE_TYPES: Mapping[str, frozenset[str]] = {
    "text": frozenset({"text"}),
    "binary": frozenset({"binary"}),
    "keyword": frozenset({"keyword"}),
    "date": frozenset({"date", "date_nanos"}),
    "object": frozenset({"object", "nested", "flattened"}),
}

_KINDS_BY_NAME: Mapping[str, RecordKind[Any]] = {
    kind.name: kind for kind in (LLM_RECORDS, EMBEDDING_RECORDS, SEMANTIC_RECORDS)
}
_KIND_LABELS = {
    "llm": "LLM cache",
    "embeddings": "embeddings cache",
    SEMANTIC_RECORDS.name: "semantic cache",
}
_SHOWN_FIELDS = 8


def kind_label(kind: str) -> str:
    """``"LLM cache"``, ``"embeddings cache"``, ``"semantic cache"``."""
    return _KIND_LABELS.get(kind, f"{kind} cache")


def _mapped_type(field: Mapping[str, Any]) -> str:
    # an object field with sub-fields is listed without a "type"
    return str(field.get("type", "object"))


@attrs.frozen
class IndexIdentity:
    """What an index's mapping says it is.

    ``kind`` is the cache kind the index positively holds, or ``None``: identified by the
    cache marker in ``_meta`` (``marked``), or, without a marker, by a field set that is
    exactly a cache's: no field the kind does not have, and every field each of its
    entries writes (``RecordKind.core_fields``). That is what langchain-elasticsearch
    1.0.0 and earlier versions of this library create (explicit mappings), and also what
    their first write maps dynamically into an index that had no mapping.
    """

    kind: str | None
    marked: bool
    fields: tuple[str, ...]
    #: why a marker could not be used (an unknown kind, a newer schema)
    problem: str | None = None

    def found(self) -> str:
        """What was found, for a message: ``"fields @timestamp, host; no cache marker"``."""
        if not self.fields:
            shown = "no mapped field"
        else:
            listed = ", ".join(self.fields[:_SHOWN_FIELDS])
            more = len(self.fields) - _SHOWN_FIELDS
            shown = f"fields {listed}" + (f" and {more} more" if more > 0 else "")
        if self.problem is not None:
            return f"{shown}; {self.problem}"
        if self.marked and self.kind is not None:
            return f"{shown}; the {kind_label(self.kind)} marker"
        return f"{shown}; no cache marker"

    def adoptable_by(self, kind: RecordKind[Any]) -> bool:
        """Not identified, but no field a ``kind`` entry does not write and no marker: a
        cache of ``kind`` may take the index over when it holds no document (nothing in
        it can be lost)."""
        return self.kind is None and not self.marked and set(self.fields) <= set(kind.properties)


def identify_mapping(mappings: Mapping[str, Any]) -> IndexIdentity:
    """Identify an index from its mapping (see :class:`IndexIdentity`)."""
    properties = mappings.get("properties") or {}
    fields = tuple(sorted(str(name) for name in properties))
    meta = mappings.get("_meta")
    marker = meta.get(CACHE_MARKER) if isinstance(meta, Mapping) else None
    if marker is not None:
        kind = marker.get("kind") if isinstance(marker, Mapping) else None
        schema = marker.get("schema") if isinstance(marker, Mapping) else None
        if kind in _KINDS_BY_NAME and schema == CACHE_SCHEMA:
            return IndexIdentity(str(kind), True, fields)
        if isinstance(schema, int) and schema > CACHE_SCHEMA:
            problem = (
                f"a cache marker of schema {schema} (this version knows {CACHE_SCHEMA}): the "
                "index was made by a newer version of langchain-elasticsearch-cache; upgrade"
            )
        else:
            problem = f"an unreadable cache marker {marker!r}"
        return IndexIdentity(None, True, fields, problem)
    present = set(fields)
    for kind in _KINDS_BY_NAME.values():
        if present <= set(kind.properties) and set(kind.core_fields) <= present:
            return IndexIdentity(kind.name, False, fields)
    return IndexIdentity(None, False, fields)


def _where(index: str, alias: str | None) -> str:
    return f"index {index!r}" + (f" (behind alias {alias!r})" if alias else "")


def foreign_index_error(
    index: str,
    identity: IndexIdentity,
    *,
    kind: str | None = None,
    alias: str | None = None,
    documents: int | None = None,
) -> ConfigurationError:
    """The error for an index that is not positively a cache (of ``kind``, if given).

    It says what was found and that nothing was changed, and suggests no option that
    would act on the index anyway: there is none.
    """
    label = f"{'an' if kind in ('llm', 'embeddings') else 'a'} " + (
        kind_label(kind) if kind else "cache"
    )
    held = f"; {documents} document(s)" if documents is not None else ""
    return ConfigurationError(
        f"{_where(index, alias)} is not {label} index (found {identity.found()}{held}); "
        "nothing was changed. The cache acts only on an index it can identify: one it "
        f"created (marker _meta.{CACHE_MARKER}) or one with exactly a cache's fields "
        "(made by langchain-elasticsearch or an earlier version). Check the index name; a "
        "name not in use gives a new cache index"
    )


def check_index_mapping(
    kind: RecordKind[Any], index: str, mappings: Mapping[str, Any], *, alias: str | None = None
) -> bool:
    """Refuse an existing index that is not positively a cache of ``kind``, or whose
    mapping cannot hold ``kind``'s entries.

    Checked once, before the first lookup or write, so a wrong index costs no model call
    whose answer could then not be stored, and no operation (``clear``, a purge, a write)
    ever touches an index that is not this cache's. Refused: an index of another cache
    kind (each kind needs an index of its own: ``clear()`` of one would delete the
    other's entries), an index that is not identified as a cache (see
    :func:`identify_mapping`), a cache field mapped with an incompatible type, and a
    ``dynamic: strict`` index that does not map a cache field (but a ``late_fields`` one,
    which the repository puts on the index before writing it). Accepted in an identified
    index: cache fields not mapped yet (mapped when first written), extra fields of a
    marked index (an operator's template) and other field parameters (``index``,
    ``doc_values``...).

    Returns True for an index that is not identified but may be taken over if it holds no
    document (:meth:`IndexIdentity.adoptable_by`): the caller counts its documents,
    raises :func:`foreign_index_error` if there are any, and else puts the mapping and
    the marker on it.
    """
    where = _where(index, alias)
    label = kind_label(kind.name)
    identity = identify_mapping(mappings)
    properties = mappings.get("properties") or {}
    if identity.kind is not None and identity.kind != kind.name:
        other = identity.kind
        own = sorted(set(identity.fields) - set(kind.properties))
        how = ", ".join(
            ["its cache marker says so"] * identity.marked
            + [f"it maps {', '.join(own)}"] * bool(own)
        )
        if kind.name == SEMANTIC_RECORDS.name and other == LLM_RECORDS.name:
            if not identity.marked:
                how = "it maps llm_output but not llm_string_hash, context_hash"
            raise ConfigurationError(
                f"{where} holds exact LLM cache entries ({how}), so the semantic cache "
                "cannot use it: its entries have no vectors and would never be found by "
                "meaning, and clear() would delete the exact cache's entries; nothing was "
                "changed; give the semantic cache another index name"
            )
        raise ConfigurationError(
            f"{where} holds {kind_label(other)} entries ({how}), so the {label} cannot use "
            "it: the LLM, semantic and embeddings caches each need an index of their own "
            "(clear() of one would delete the other's entries); nothing was changed; give "
            "this cache another index name"
        )
    if identity.kind is None:
        if identity.adoptable_by(kind):
            return True
        raise foreign_index_error(index, identity, kind=kind.name, alias=alias)
    strict = str(mappings.get("dynamic", "true")).lower().startswith("strict")
    for name, wanted in kind.properties.items():
        expected = str(wanted.get("type", "object"))
        field = properties.get(name)
        if field is None:
            if strict and name not in kind.late_fields:
                raise ConfigurationError(
                    f"{where} cannot hold {label} entries: it does not map the field "
                    f"{name!r} (expected type {expected!r}) and refuses unmapped fields "
                    '("dynamic": "strict"); use a new index name (the cache creates it with '
                    "its mapping), or add the field to the index mapping"
                )
            continue
        found_type = _mapped_type(field) if isinstance(field, Mapping) else repr(field)
        if found_type not in _COMPATIBLE_TYPES.get(expected, frozenset({expected})):
            raise ConfigurationError(
                f"{where} cannot hold {label} entries: field {name!r} is mapped as type "
                f"{found_type!r}, the cache needs {expected!r} ({dict(wanted)}); use a new "
                "index name (the cache creates it with the right mapping), or reindex the "
                "entries into an index this library created"
            )
    return False


_FORBIDDEN_CHARACTERS = '\\/*?"<>| ,#:'
_FORBIDDEN_START = "-_+"
_MAX_NAME_BYTES = 255


def _example(name: str) -> str:
    """A valid name close to ``name``, for the hint of an error: lower case, each forbidden
    character (and a lone surrogate) as ``-``, no leading ``- _ + .``, at most 255 bytes;
    ``llm-cache`` when nothing is left. Every name it returns passes
    :func:`validate_index_name` (a property test checks it)."""
    fixed = name
    for _ in range(4):  # lower() of a few characters is not lower case yet
        fixed = fixed.lower()
    fixed = "".join(
        "-" if char in _FORBIDDEN_CHARACTERS or "\ud800" <= char <= "\udfff" else char
        for char in fixed.strip()
    ).lstrip(_FORBIDDEN_START + ".")
    fixed = fixed.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", "ignore")
    if not fixed or fixed != fixed.lower() or fixed in (".", ".."):
        return "llm-cache"
    return fixed


def _encodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_index_name(name: object) -> str:
    """Check ``name`` against Elasticsearch's rules for index and alias names.

    Raised before any request, so a bad name costs nothing and the message can say
    exactly which rule was broken and suggest a valid name.
    """
    if not isinstance(name, str):
        raise InvalidIndexNameError(
            f"index_name must be a string, not {type(name).__name__}; e.g. 'llm-cache'"
        )
    problem: str | None = None
    if not name:
        problem = "it is empty; give a name such as 'llm-cache'"
    elif name in (".", ".."):
        problem = "'.' and '..' are reserved; give a name such as 'llm-cache'"
    elif not _encodable(name):
        problem = (
            "it contains a lone surrogate (a code point in U+D800..U+DFFF), which is not "
            "Unicode text and cannot be sent to Elasticsearch; give a name such as 'llm-cache'"
        )
    elif name != name.lower():
        problem = f"it contains upper-case letters; use lower case (try {_example(name)!r})"
    elif any(char in _FORBIDDEN_CHARACTERS for char in name):
        bad = sorted({char for char in name if char in _FORBIDDEN_CHARACTERS})
        shown = " ".join(repr(char) for char in bad)
        problem = (
            f"it contains {shown}; names may not contain spaces or any of "
            f'\\ / * ? " < > | , # :  (try {_example(name)!r})'
        )
    elif name[0] in _FORBIDDEN_START:
        problem = f"it starts with {name[0]!r}; names may not start with -, _ or + " + (
            f"(try {_example(name)!r})"
        )
    elif len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        size = len(name.encode("utf-8"))
        problem = f"it is {size} bytes long; the limit is {_MAX_NAME_BYTES} bytes (UTF-8)"
    if problem is not None:
        raise InvalidIndexNameError(f"invalid Elasticsearch index name {name!r}: {problem}")
    return name
