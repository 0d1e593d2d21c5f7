# Generated from _async/vector_identity.py by scripts/run_unasync.py: do not edit by hand.
# Change the async source and run `python scripts/run_unasync.py`.
"""The index's identity for vectors: the embedding model it records, the vector length
and type its mapping holds, and creating the index with them.

The second layer of the vector repository (see ``vector_repository``). ``check_embedding``
reads (and, where none is recorded, records) the model in the index's ``_meta``;
``dimensions`` and the bootstrap read the mapped vector length and whether the vectors
are quantized (so searched with rescoring); a vector of another length is refused with
``dimensions_mismatch`` before any request once the length is known, or translated from
Elasticsearch's error when it is not.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from elasticsearch import ApiError, AuthorizationException, BadRequestError, NotFoundError

from ....domain.errors import ConfigurationError
from ....domain.semantic.identity import EmbeddingIdentity, embedding_mismatch
from ..aliases import alias_write_index, unmapped_properties
from ..errors import error_type_and_reason
from ..mappings import (
    SEMANTIC_INDEX_SETTINGS,
    SEMANTIC_RECORDS,
    SEMANTIC_RECORDS_DOC_VALUE_VECTORS,
    VECTOR_SOURCE_EXCLUDES,
    marker_with_embedding,
    recorded_embedding,
    semantic_properties,
    vectors_out_of_source,
)
from .vector_layout import VECTOR_FIELD, VectorLayout, logger

__all__ = ["VectorIdentity", "dimensions_mismatch"]

# "... has a different number of dimensions [2] than defined in the mapping [3]" (put)
# "The query vector has a different number of dimensions [2] than the document vectors [3]"
_DIMS_MISMATCH = re.compile(r"different number of dimensions \[(\d+)\] than [^\[]*\[(\d+)\]")


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


class VectorIdentity(VectorLayout):
    """The embedding model, the vector length and type; creating the index."""

    # set by the constructor (vector_repository); see there
    _vector_index_type: str
    _dims: int | None
    _rescore: bool
    _embedding: EmbeddingIdentity | None
    _embedding_wanted: EmbeddingIdentity | None
    _embedding_lock: threading.Lock
    _warned_unrecordable: bool

    def _new_mappings(self) -> dict[str, Any]:
        """The mappings of a new index: the vector field of the chosen index type, and the
        marker recording the embedding model if known."""
        mappings = self._kind.mappings
        mappings["properties"] = semantic_properties(self._vector_index_type)
        identity = self._embedding or self._embedding_wanted
        if identity is not None:
            mappings["_meta"] = marker_with_embedding(mappings["_meta"], self._kind.name, identity)
        return mappings

    def _bootstrap(self) -> bool:
        """The base bootstrap, then the mapping's vector type and length (one request,
        once): a quantized index, whoever created it, is searched with rescoring."""
        is_alias = super()._bootstrap()
        self._learn_layout()
        self._learn_mapping()
        return is_alias

    def _create_index(self) -> None:
        """Create the index with ``SEMANTIC_INDEX_SETTINGS`` where the node knows them,
        else (before 9.1) with the vector left out of ``_source`` by the mapping."""
        try:
            self._client.indices.create(
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
            self._client.indices.create(index=self._index_name, mappings=mappings)

    def _put_alias_mapping(self) -> None:
        """Put the fields the alias's write index lacks on it (see ``aliases``); a mapped
        ``prompt_vector`` has its ``dims`` set: the dims-less one would be a change."""
        aliases = self._client.indices.get_alias(name=self._index_name)
        index = alias_write_index(aliases.body, self._index_name)
        if index is not None:
            answer = self._client.indices.get_mapping(index=index)
            mappings = (answer.body.get(index) or {}).get("mappings") or {}
            wanted = semantic_properties(self._vector_index_type)
            missing = unmapped_properties(wanted, mappings)
            if missing:
                self._client.indices.put_mapping(index=index, properties=missing)

    # -- embedding model ----------------------------------------------------------

    def check_embedding(self, identity: EmbeddingIdentity) -> None:
        """Refuse an embedding model that is not the one the index's vectors belong to.

        The first call reads (creating the index if needed) the model every index behind
        the name records; the index, or the alias's write index, gets ``identity``
        recorded if it records none (its ``_meta`` merged, the rest kept). Later calls
        compare without a request. Raises ``ConfigurationError`` naming both models when
        they differ, or when the indices behind an alias record different models.
        """
        if self._embedding is None:
            with self._embedding_lock:
                if self._embedding is None:
                    with self._translated("check_embedding"):
                        self._embedding_wanted = identity
                        self._ensure_index()
                        self._embedding = self._recorded_embedding(identity)
        if not self._embedding.matches(identity):
            raise embedding_mismatch(f"index {self._index_name!r}", self._embedding, identity)

    def _recorded_embedding(self, identity: EmbeddingIdentity) -> EmbeddingIdentity:
        """The model the indices record (checked to agree), recording ``identity`` in the
        index (or the alias's write index) if it records none."""
        try:
            answer = self._client.indices.get_mapping(index=self._index_name)
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
        recordable = self._recordable_index(answer.body) if unrecorded else None
        for index, mappings in unrecorded:
            if index == recordable:
                self._record_embedding(index, mappings, identity)
        return distinct[0] if distinct else identity

    def _recordable_index(self, found: dict[str, Any]) -> str | None:
        """The one index the model is recorded in when it records none: the index itself,
        or the alias's write index (``aliases.alias_write_index``). The older indices
        behind an alias are never written to, so never changed: recording there needed
        ``manage`` on each (the caches' ``write`` gets a deprecation warning) and failed on
        a read-only one; their records are still read and checked above."""
        if self._index_name in found:
            return self._index_name
        aliases = self._client.indices.get_alias(name=self._index_name)
        return alias_write_index(aliases.body, self._index_name)

    def _record_embedding(
        self, index: str, mappings: dict[str, Any], identity: EmbeddingIdentity
    ) -> None:
        """Record ``identity`` in ``index``'s ``_meta`` (merged: a put replaces it whole)."""
        meta = marker_with_embedding(mappings.get("_meta"), self._kind.name, identity)
        try:
            self._client.indices.put_mapping(index=index, meta=meta)
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
        field = (mappings.get("properties") or {}).get(VECTOR_FIELD)
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

    def dimensions(self) -> int | None:
        """The vector length the index holds; ``None`` while it holds no vector.

        Read from the mapping (Elasticsearch sets ``dims`` at the first vector) and
        remembered once known.
        """
        if self._dims is None:
            with self._translated("dimensions"):
                self._ensure_index()
                self._dims = self._mapped_dimensions()
        return self._dims

    def _learn_mapping(self) -> None:
        dims = self._mapped_dimensions()
        if dims is not None:
            self._dims = dims

    def _mapped_dimensions(self) -> int | None:
        """The mapped vector length (``None`` before the first vector); also notes whether
        any index behind the name holds quantized vectors."""
        try:
            answer = self._client.indices.get_mapping(index=self._index_name)
        except NotFoundError:
            self._forget_indices(index_missing=True)
            return None
        found: dict[str, int] = {}
        quantized = False
        out_of_source = False
        for index, body in sorted(answer.body.items()):
            out_of_source = out_of_source or vectors_out_of_source(body.get("mappings") or {})
            field = body.get("mappings", {}).get("properties", {}).get(VECTOR_FIELD, {})
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
