"""Index-level operations behind the CLI: statistics, export and import.

Export writes one JSON object per line, ``{"kind": ..., "id": ..., "doc": ...}``, where
``doc`` is the stored document (the seed's fields). Import validates every line with the
domain's document readers and writes in batches under the same ids, so running it twice,
or again after an interruption, converges to the same index (idempotent).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

from elasticsearch import Elasticsearch

from ..adapters.elasticsearch import (
    EMBEDDING_RECORDS,
    LLM_RECORDS,
    ElasticsearchRepository,
    create_elasticsearch_client,
)
from ..adapters.elasticsearch.admin import detect_kind, index_exists, index_overview
from ..domain.entries import (
    EmbeddingRecord,
    LlmRecord,
    embedding_record_from_document,
    embedding_record_to_document,
    llm_record_from_document,
    llm_record_to_document,
)
from ..domain.errors import CacheError, ConfigurationError


class IndexNotFoundError(CacheError):
    """The index or alias named on the command line does not exist."""


_MODEL_PATTERNS = (
    re.compile(
        r"""['"](?:model_name|model|model_id|deployment_name)['"]\s*[:,]\s*['"]([^'"]+)['"]"""
    ),
    re.compile(r"""['"]_type['"]\s*[:,]\s*['"]([^'"]+)['"]"""),
)


def model_of(llm_params: str | None) -> str:
    """The model an ``llm_string`` names (``model``/``model_name``, else ``_type``)."""
    if not llm_params:
        return "(not stored)"
    for pattern in _MODEL_PATTERNS:
        found = pattern.search(llm_params)
        if found:
            return found.group(1)
    return "(unknown)"


class IndexTarget:
    """One index of one kind, with its repository; a context manager closing the client."""

    def __init__(self, client: Elasticsearch, index: str, kind: str) -> None:
        self.client = client
        self.index = index
        self.kind = kind
        self.repository: ElasticsearchRepository[Any] = ElasticsearchRepository(
            client, index, LLM_RECORDS if kind == "llm" else EMBEDDING_RECORDS
        )

    @classmethod
    def connect(cls, index: str, *, kind: str, must_exist: bool, **connection: Any) -> IndexTarget:
        client = create_elasticsearch_client(**connection)
        try:
            exists = index_exists(client, index)
            if must_exist and not exists:
                raise IndexNotFoundError(
                    f"index or alias {index!r} does not exist: check the name "
                    "(the commands that read never create an index)"
                )
            if kind == "auto":
                detected = detect_kind(client, index) if exists else None
                if detected is None:
                    raise ConfigurationError(
                        f"cannot tell whether {index!r} holds LLM or embedding entries: "
                        "pass --kind llm or --kind embeddings"
                    )
                kind = detected
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

    def statistics(self, *, per_model: bool) -> dict[str, Any]:
        overview = index_overview(self.client, self.index)
        report: dict[str, Any] = {"index": self.index, "kind": self.kind, **overview}
        if per_model and self.kind == "llm":
            counts: Counter[str] = Counter()
            for record in self.repository.scan():
                assert isinstance(record, LlmRecord)
                counts[model_of(record.llm_params)] += 1
            report["models"] = dict(counts)
        return report

    def export_lines(self, *, page_size: int = 1000) -> Iterator[str]:
        for record in self.repository.scan(page_size=page_size):
            if isinstance(record, LlmRecord):
                doc = llm_record_to_document(record)
            else:
                doc = embedding_record_to_document(record)
            yield json.dumps(
                {"kind": self.kind, "id": record.key, "doc": doc},
                ensure_ascii=False,
                separators=(",", ":"),
            )

    def _parse(self, line: str) -> LlmRecord | EmbeddingRecord | None:
        try:
            item = json.loads(line)
        except ValueError:
            return None
        if not isinstance(item, dict) or item.get("kind") != self.kind:
            return None
        key = item.get("id")
        if not isinstance(key, str) or not key or len(key.encode("utf-8", "surrogatepass")) > 512:
            return None
        if self.kind == "llm":
            return llm_record_from_document(key, item.get("doc"))
        return embedding_record_from_document(key, item.get("doc"))

    def import_lines(
        self,
        lines: Iterable[str],
        *,
        batch_size: int = 500,
        on_batch: Callable[[int], None] | None = None,
    ) -> tuple[int, int]:
        """Write the valid lines in batches; returns (imported, skipped)."""
        if batch_size < 1:
            raise ConfigurationError(f"batch size must be at least 1, got {batch_size}")
        imported = skipped = 0
        batch: list[Any] = []
        for line in lines:
            if not line.strip():
                continue
            record = self._parse(line)
            if record is None:
                skipped += 1
                continue
            batch.append(record)
            if len(batch) >= batch_size:
                self.repository.put_many(batch)
                imported += len(batch)
                if on_batch is not None:
                    on_batch(len(batch))
                batch = []
        if batch:
            self.repository.put_many(batch)
            imported += len(batch)
            if on_batch is not None:
                on_batch(len(batch))
        return imported, skipped
