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
from ...domain.errors import ConfigurationError, InvalidIndexNameError
from ...domain.ports import R

__all__ = [
    "EMBEDDING_PROPERTIES",
    "EMBEDDING_RECORDS",
    "LLM_PROPERTIES",
    "LLM_RECORDS",
    "MAX_ID_BYTES",
    "RecordKind",
    "check_index_mapping",
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


#: Per type the cache maps a field with, the types an existing index may have instead:
#: each stores what the cache writes there and serves the cache's queries.
_COMPATIBLE_TYPES: Mapping[str, frozenset[str]] = {
    "text": frozenset({"text"}),
    "binary": frozenset({"binary"}),
    "keyword": frozenset({"keyword"}),
    "date": frozenset({"date", "date_nanos"}),
    "object": frozenset({"object", "nested", "flattened"}),
}

_KINDS_BY_NAME = {kind.name: kind for kind in (LLM_RECORDS, EMBEDDING_RECORDS)}
_KIND_LABELS = {"llm": "LLM cache", "embeddings": "embeddings cache"}


def _mapped_type(field: Mapping[str, Any]) -> str:
    # an object field with sub-fields is listed without a "type"
    return str(field.get("type", "object"))


def check_index_mapping(
    kind: RecordKind[Any], index: str, mappings: Mapping[str, Any], *, alias: str | None = None
) -> None:
    """Refuse an existing index whose mapping cannot hold ``kind``'s entries.

    Checked once, before the first lookup, so a wrong index costs no model call whose
    answer could then not be stored. Refused: an index of the other cache kind (the two
    caches need an index each: ``clear()`` of one would delete the other's entries), a
    cache field mapped with an incompatible type, and a ``dynamic: strict`` index that
    does not map a cache field. Accepted: fields the index does not map yet (they are
    mapped when first written), extra fields (an operator's template) and other field
    parameters (``index``, ``doc_values``...).
    """
    where = f"index {index!r}" + (f" (behind alias {alias!r})" if alias else "")
    label = _KIND_LABELS.get(kind.name, f"{kind.name} cache")
    properties = mappings.get("properties") or {}
    for other in _KINDS_BY_NAME.values():
        own_fields = sorted(set(other.properties) - set(kind.properties))
        found = [name for name in own_fields if name in properties]
        if found:
            raise ConfigurationError(
                f"{where} holds {_KIND_LABELS.get(other.name, other.name)} entries (it maps "
                f"{', '.join(found)}), so the {label} cannot use it: the LLM cache and the "
                "embeddings cache each need an index of their own (clear() of one would "
                "delete the other's entries); give this cache another index name"
            )
    strict = str(mappings.get("dynamic", "true")).lower().startswith("strict")
    for name, wanted in kind.properties.items():
        expected = str(wanted.get("type", "object"))
        field = properties.get(name)
        if field is None:
            if strict:
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
