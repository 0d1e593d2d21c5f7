"""Index mappings, record kinds and index-name rules.

The mappings are exactly those ``langchain_elasticsearch`` 1.0.0 creates, so an index made
by either library is used unchanged by the other.
"""

from __future__ import annotations

import copy
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
from ...domain.errors import InvalidIndexNameError
from ...domain.ports import R

__all__ = [
    "EMBEDDING_PROPERTIES",
    "EMBEDDING_RECORDS",
    "LLM_PROPERTIES",
    "LLM_RECORDS",
    "MAX_ID_BYTES",
    "RecordKind",
    "validate_index_name",
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

#: Elasticsearch refuses document ids longer than this many UTF-8 bytes.
MAX_ID_BYTES = 512


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

    @property
    def mappings(self) -> dict[str, Any]:
        """The ``mappings`` of a new index (a fresh copy, safe to mutate)."""
        return {"properties": copy.deepcopy(dict(self.properties))}

    @property
    def source_fields(self) -> list[str]:
        """The ``_source`` fields a lookup fetches: every mapped field, nothing else."""
        return list(self.properties)


LLM_RECORDS: RecordKind[LlmRecord] = RecordKind(
    name="llm",
    properties=LLM_PROPERTIES,
    to_document=llm_record_to_document,
    from_document=llm_record_from_document,
)

EMBEDDING_RECORDS: RecordKind[EmbeddingRecord] = RecordKind(
    name="embeddings",
    properties=EMBEDDING_PROPERTIES,
    to_document=embedding_record_to_document,
    from_document=embedding_record_from_document,
)


_FORBIDDEN_CHARACTERS = '\\/*?"<>| ,#:'
_FORBIDDEN_START = "-_+"
_MAX_NAME_BYTES = 255


def _example(name: str) -> str:
    fixed = "".join(
        "-" if char in _FORBIDDEN_CHARACTERS else char for char in name.strip().lower()
    ).lstrip(_FORBIDDEN_START + ".")
    return fixed.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", "ignore") or "llm-cache"


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
        problem = f"it contains upper-case letters; use {name.lower()!r}"
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
