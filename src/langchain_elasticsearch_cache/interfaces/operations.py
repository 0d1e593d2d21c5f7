"""Index-level operations behind the CLI: statistics, purge, clear, export and import.

Export writes one JSON object per line, ``{"kind": ..., "id": ..., "doc": ...}``, where
``doc`` is the stored document (the seed's fields). Only documents the cache can read are
exported, and behind an alias over several indices only the copy a lookup would return
(the newest), so importing an export gives an index whose lookups answer exactly as the
source's did. Import validates every line with the domain's document readers and writes
in batches under the same ids, so running it twice, or again after an interruption,
converges to the same index (idempotent).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

import attrs
from elasticsearch import Elasticsearch

from ..adapters.elasticsearch import (
    EMBEDDING_RECORDS,
    LLM_RECORDS,
    SEMANTIC_RECORDS,
    ElasticsearchRepository,
    ElasticsearchVectorRepository,
    RecordKind,
    create_elasticsearch_client,
    validate_index_name,
)
from ..adapters.elasticsearch.admin import (
    PointInTime,
    concrete_indices,
    document_count,
    index_exists,
    index_identities,
    index_overview,
    namespace_counts,
    vectors_from_doc_values,
)
from ..adapters.elasticsearch.mappings import (
    MAX_ID_BYTES,
    SEMANTIC_RECORDS_DOC_VALUE_VECTORS,
    foreign_index_error,
    kind_label,
)
from ..domain.entries import EmbeddingRecord, LlmRecord
from ..domain.errors import BulkOperationError, CacheError, ConfigurationError, EntryRefusedError
from ..domain.semantic_records import SemanticRecord

__all__ = [
    "KINDS",
    "checked_kind",
    "ImportResult",
    "ImportWriteError",
    "IndexNotFoundError",
    "IndexTarget",
    "kind_of_line",
    "line_to_record",
    "model_of",
    "record_to_line",
]

KINDS = ("llm", "embeddings", "semantic")
_RECORD_KINDS: dict[str, RecordKind[Any]] = {
    "llm": LLM_RECORDS,
    "embeddings": EMBEDDING_RECORDS,
    "semantic": SEMANTIC_RECORDS,
}

Record = LlmRecord | EmbeddingRecord | SemanticRecord


class IndexNotFoundError(CacheError):
    """The index or alias named on the command line does not exist."""


class ImportWriteError(CacheError):
    """A write of :meth:`IndexTarget.import_lines` failed; the import stopped there.

    ``written`` entries are stored for sure; ``uncertain`` more (those of the failed
    batch the error does not name) may be stored too. The cause is ``__cause__``.
    Importing the same input again is safe: it writes the same entries under the same ids.
    """

    def __init__(self, message: str, written: int, uncertain: int = 0) -> None:
        super().__init__(message)
        self.written = written
        self.uncertain = uncertain


# --------------------------------------------------------------------------- pure helpers

_MODEL_KEYS = r"""['"](?:model_name|model|model_id|deployment_name|repo_id)['"]"""
_MODEL = re.compile(_MODEL_KEYS + r"""\s*[:,]\s*['"]([^'"]+)['"]""")
_TYPE = re.compile(r"""['"]_type['"]\s*[:,]\s*['"]([^'"]+)['"]""")
_CLASS = re.compile(r""""id"\s*:\s*\[[^\]]*?"([^"\]]+)"\s*\]""")


def model_of(llm_params: str | None) -> str:
    """The model an ``llm_string`` names.

    LangChain builds it either as ``str(sorted(params.items()))`` (``('model_name',
    'gpt-4o')``, ``('_type', 'fake-list-chat-model')``) or as the model's JSON
    serialisation (``"kwargs": {"model": ...}``, ``"id": [..., "ChatOpenAI"]``). The model
    name wins; else the model type or class; else ``(unknown)``.
    """
    if not llm_params:
        return "(not stored)"
    for pattern in (_MODEL, _TYPE, _CLASS):
        found = pattern.search(llm_params)
        if found:
            return found.group(1)
    return "(unknown)"


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def record_to_line(kind: str, record: Record) -> str:
    """One export line for ``record`` (compact JSON, non-ASCII kept as is).

    A lone surrogate (a prompt can hold one, and Elasticsearch stores it) cannot be
    written as UTF-8: it is written as its JSON escape, which reads back as the same
    string, so the line is valid UTF-8 and the round trip stays exact.
    """
    doc = _RECORD_KINDS[kind].to_document(record)
    text = json.dumps(
        {"kind": kind, "id": record.key, "doc": doc},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return _LONE_SURROGATE.sub(_escape_surrogate, text)


def _loads(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def kind_of_line(line: str) -> str | None:
    """The ``kind`` an export line declares, if it is one of :data:`KINDS`."""
    item = _loads(line)
    kind = item.get("kind") if isinstance(item, dict) else None
    return kind if kind in KINDS else None


def line_to_record(kind: str, line: str) -> Record | None:
    """The record of an export line of ``kind``; ``None`` for anything else."""
    item = _loads(line)
    if not isinstance(item, dict) or item.get("kind") != kind:
        return None
    key = item.get("id")
    if not isinstance(key, str) or not key:
        return None
    if len(key.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
        return None
    record: Record | None = _RECORD_KINDS[kind].from_document(key, item.get("doc"))
    return record


@attrs.frozen
class ImportResult:
    """What an import did: lines written, lines skipped and the first skipped line numbers."""

    imported: int
    skipped: int
    first_skipped: tuple[int, ...] = ()


# --------------------------------------------------------------------------- one index


def _a(kind: str) -> str:
    return f"{'a' if kind == 'semantic' else 'an'} {kind_label(kind)}"


def checked_kind(
    client: Elasticsearch, index: str, kind: str | None, *, kind_if_empty: str | None = None
) -> str:
    """The cache kind of the existing index (or alias) ``index``, positively identified.

    Every concrete index must be a cache (marker or exact field set), all of one kind,
    and of ``kind`` when it is given: ``kind`` chooses between cache kinds only for an
    index that holds none yet. An index that is not identified passes only when it holds
    no document and maps no field of anything but the cache (a cache takes it over at
    first use; nothing in it can be lost); its kind is then ``kind``, else
    ``kind_if_empty``. Anything else is a ``ConfigurationError`` saying what was found
    and that nothing was changed.
    """
    identities = index_identities(client, index)
    alias = None if list(identities) == [index] else index
    kinds = sorted({identity.kind for identity in identities.values() if identity.kind})
    if len(kinds) > 1:
        held = ", ".join(
            f"{name}: {kind_label(identity.kind)}"
            for name, identity in identities.items()
            if identity.kind
        )
        raise ConfigurationError(
            f"the indices behind alias {index!r} hold different caches ({held}); nothing was "
            "changed: an alias must cover the indices of one cache only; remove the others"
        )
    found = kinds[0] if kinds else None
    if found is not None and kind is not None and kind != found:
        raise ConfigurationError(
            f"{index!r} is {_a(found)} index, not {_a(kind)} index; nothing was changed "
            "(the kind of a cache index is read from it: leave --kind out)"
        )
    wanted = kind or found or kind_if_empty
    for name, identity in identities.items():
        if identity.kind is not None:
            continue
        candidates = [_RECORD_KINDS[wanted]] if wanted else list(_RECORD_KINDS.values())
        if not any(identity.adoptable_by(candidate) for candidate in candidates):
            raise foreign_index_error(name, identity, kind=wanted, alias=alias)
        documents = document_count(client, name)
        if documents:
            raise foreign_index_error(name, identity, kind=wanted, alias=alias, documents=documents)
    if wanted is None:
        raise ConfigurationError(
            f"{index!r} holds no document and no field of a cache, so which cache it is for "
            "cannot be read from it: pass --kind llm, --kind semantic or --kind embeddings"
        )
    return wanted


class IndexTarget:
    """One index (or alias) of one kind, with its repository; closes the client on exit."""

    def __init__(self, client: Elasticsearch, index: str, kind: str) -> None:
        if kind not in KINDS:
            raise ConfigurationError(f"kind must be one of {KINDS}, not {kind!r}")
        self.client = client
        self.index = index
        self.kind = kind
        self.record_kind: RecordKind[Any] = _RECORD_KINDS[kind]
        # the semantic kind needs the vector repository: an index it creates gets the
        # semantic settings, and it checks vector lengths against the index's dims
        self.repository: ElasticsearchRepository[Any] = (
            ElasticsearchVectorRepository(client, index)
            if kind == "semantic"
            else ElasticsearchRepository(client, index, self.record_kind)
        )
        self.unreadable = 0
        """Documents the last export skipped because the cache cannot read them either."""

    @classmethod
    def connect(
        cls,
        index: str,
        *,
        kind: str,
        must_exist: bool,
        kind_if_new: str | None = None,
        **connection: Any,
    ) -> IndexTarget:
        """Connect and check ``index``.

        An existing index must be positively a cache (see :func:`checked_kind`), of
        ``kind`` if one is given. ``kind="auto"`` reads the kind from the index, or takes
        ``kind_if_new`` when the index does not exist yet (and ``must_exist`` is false) or
        holds no document and no cache field.
        """
        validate_index_name(index)
        client = create_elasticsearch_client(**connection)
        try:
            exists = index_exists(client, index)
            if must_exist and not exists:
                raise IndexNotFoundError(
                    f"index or alias {index!r} does not exist at this Elasticsearch: "
                    "check the name (commands that read never create an index)"
                )
            if exists:
                kind = checked_kind(
                    client, index, None if kind == "auto" else kind, kind_if_empty=kind_if_new
                )
            elif kind == "auto":
                if kind_if_new is None:
                    raise ConfigurationError(
                        f"{index!r} does not exist yet, so which cache it is for cannot be "
                        "read from it: pass --kind llm, --kind semantic or --kind embeddings"
                    )
                kind = kind_if_new
            return cls(client, index, kind)
        except BaseException:
            client.close()
            raise

    def __enter__(self) -> IndexTarget:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.client.close()

    # -- reading --------------------------------------------------------------------

    def count(self) -> int:
        """Documents in the index (behind an alias: every copy of every key)."""
        return self.repository.count()

    def dimensions(self) -> int | None:
        """The vector length a semantic index holds (``None``: no vector yet, or not a
        semantic index)."""
        if isinstance(self.repository, ElasticsearchVectorRepository):
            return self.repository.dimensions()
        return None

    def indices(self) -> list[str]:
        """The concrete indices: the index itself, or those behind the alias."""
        return concrete_indices(self.client, self.index)

    def statistics(self, *, per_model: bool, page_size: int = 1000) -> dict[str, Any]:
        """Documents, size, oldest and newest; per model (LLM, semantic) or namespace
        (embeddings); for a semantic index also the vector length (``dims``, ``None``
        while it holds no vector)."""
        report: dict[str, Any] = {"index": self.index, "kind": self.kind}
        entries = self.record_kind.entries_only()
        report.update(index_overview(self.client, self.index, query=entries))
        if isinstance(self.repository, ElasticsearchVectorRepository):
            report["dims"] = self.repository.dimensions()
        if self.kind == "embeddings":
            report["namespaces"] = namespace_counts(self.client, self.index)
        elif per_model:
            counts: Counter[str] = Counter()
            with PointInTime(self.client, self.index) as pit:
                pages = pit.pages(source=["llm_params"], page_size=page_size, query=entries)
                for page in pages:
                    for hit in page:
                        params = (hit.get("_source") or {}).get("llm_params")
                        counts[model_of(params if isinstance(params, str) else None)] += 1
            report["models"] = dict(counts)
        return report

    def _export_kind(self) -> RecordKind[Any]:
        """The record kind an export reads with: a semantic index made before 9.1 leaves
        the vector out of ``_source`` (``_source.excludes``), so it is read from doc values
        (behind an alias, from every index whose ``_source`` lacks it)."""
        if self.kind == "semantic" and vectors_from_doc_values(self.client, self.index):
            return SEMANTIC_RECORDS_DOC_VALUE_VECTORS
        return self.record_kind

    def export_lines(
        self, *, page_size: int = 1000, on_page: Callable[[int], None] | None = None
    ) -> Iterator[str]:
        """Every entry a lookup can return, one JSON line each, from one snapshot."""
        self.unreadable = 0
        record_kind = self._export_kind()
        source = record_kind.source_fields
        several = len(self.indices()) > 1
        with PointInTime(self.client, self.index) as pit:
            pages = pit.pages(
                source=source,
                page_size=page_size,
                fields=record_kind.fetched_fields,
                doc_values=record_kind.fetched_from_doc_values,
                query=record_kind.entries_only(),
            )
            for page in pages:
                # behind an alias over several indices, keep the copy a lookup returns;
                # asked page by page, so memory stays bounded by the page size
                newest = (
                    self.repository.newest_copy_indices([hit["_id"] for hit in page])
                    if several
                    else None
                )
                lines = []
                for hit in page:
                    winner = None if newest is None else newest.get(hit["_id"])
                    if winner is not None and winner != hit["_index"]:
                        continue  # an older copy behind the alias: lookups never see it
                    record = record_kind.from_document(hit["_id"], record_kind.source_of(hit))
                    if record is None:
                        self.unreadable += 1  # a miss for the cache too; logged
                        continue
                    lines.append(record_to_line(self.kind, record))
                yield from lines
                if on_page is not None:
                    on_page(len(lines))

    # -- writing --------------------------------------------------------------------

    def purge_older_than(self, cutoff: datetime) -> int:
        return self.repository.delete_older_than(cutoff)

    def clear(self) -> int:
        return self.repository.clear()

    def import_lines(
        self,
        lines: Iterable[str],
        *,
        batch_size: int = 500,
        on_batch: Callable[[int], None] | None = None,
        total: int | None = None,
    ) -> ImportResult:
        """Write the valid lines in batches; count (and remember) the others.

        A failed write stops the import with :class:`ImportWriteError`, which says how many
        entries were written (``total``, when given, is the number the input holds).
        """
        if batch_size < 1:
            raise ConfigurationError(f"batch size must be at least 1, got {batch_size}")
        imported = skipped = 0
        first_skipped: list[int] = []
        batch: list[Record] = []

        def flush() -> None:
            nonlocal imported, batch
            try:
                self.repository.put_many(batch)
            except CacheError as exc:
                raise self._write_failed(exc, imported, batch, total) from exc
            imported += len(batch)
            if on_batch is not None:
                on_batch(len(batch))
            batch = []

        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            record = line_to_record(self.kind, line)
            if record is None:
                skipped += 1
                if len(first_skipped) < 5:
                    first_skipped.append(number)
                continue
            batch.append(record)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        return ImportResult(imported, skipped, tuple(first_skipped))

    def _write_failed(
        self, exc: CacheError, imported: int, batch: list[Record], total: int | None
    ) -> ImportWriteError:
        """How many entries a failed import wrote: the batches before, and of the failed
        batch the entries a bulk error does not name (Elasticsearch stored them)."""
        failed: set[str] | None = None
        if isinstance(exc, BulkOperationError):
            failed = set(exc.failures)
        elif isinstance(exc, EntryRefusedError) and exc.keys:
            failed = set(exc.keys)
        of_total = f" of {total}" if total is not None else ""
        rerun = (
            "import is idempotent: once the cause is fixed, run the same import again "
            "(entries already written are written again unchanged)"
        )
        if failed is not None:
            written = imported + sum(1 for record in batch if record.key not in failed)
            return ImportWriteError(
                f"import into {self.index!r} stopped after writing {written}{of_total} "
                f"entries: {exc}; {rerun}",
                written,
            )
        return ImportWriteError(
            f"import into {self.index!r} stopped after writing {imported}{of_total} entries "
            f"(the {len(batch)} of the batch that failed may be written too): {exc}; {rerun}",
            imported,
            len(batch),
        )
