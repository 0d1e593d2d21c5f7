"""Writes of semantic entries: ``put`` and ``put_many`` with their vectors checked.

The third layer of the vector repository (see ``vector_repository``). Before a write the
vector lengths are checked against the index's, and the fields an index of an earlier
version lacks are mapped (``prompt_vector_exact`` where a vector must be kept exactly,
``observations`` before the first document that has some), so they are never mapped
dynamically.
"""

from __future__ import annotations

from collections.abc import Sequence

from elasticsearch import NotFoundError

from ....domain.errors import BackendError, ConfigurationError
from ....domain.semantic_records import SemanticRecord
from ..mappings import VECTOR_EXACT_FIELD, float32_vector, needs_exact_copy
from .vector_identity import AsyncVectorIdentity
from .vector_layout import logger

__all__ = ["AsyncVectorWrites"]


class AsyncVectorWrites(AsyncVectorIdentity):
    """``put`` / ``put_many`` with vector checks; mapping the fields older indices lack."""

    # set by the constructor (vector_repository); see there
    _exact_field_mapped: bool
    _late_fields_mapped: bool

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
