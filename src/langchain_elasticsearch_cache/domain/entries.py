"""What the caches hold, as frozen values, and the stored document shape.

Two levels:

* *entries* are what the domain reasons about (decoded generations, raw vector bytes);
* *records* are what repositories store: the same fields as the documents that
  ``langchain_elasticsearch`` 1.0.0 writes (``llm_output``, ``llm_params``, ``llm_input``,
  ``metadata``, ``timestamp`` / ``vector_dump``, ``text_input``, ``namespace``), so an index
  is readable by either library.

``record_from_document`` functions validate an untrusted document and return ``None``
(a miss) for any shape they do not recognise.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
from langchain_core.outputs import Generation

from .errors import ConfigurationError

JsonObject = Mapping[str, Any]

logger = logging.getLogger("langchain_elasticsearch_cache")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def as_utc(value: datetime) -> datetime:
    """A timezone-aware datetime converted to UTC (an attrs converter for timestamps).

    Raises:
        ValueError: ``value`` is naive (no timezone).
    """
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    return value.astimezone(timezone.utc)


def str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    """The strings as a tuple (an attrs converter: records are frozen, so no lists)."""
    return tuple(value)


def _generation_tuple(value: Iterable[Generation]) -> tuple[Generation, ...]:
    return tuple(value)


def frozen_metadata(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A copy of the metadata, so a record never shares the caller's dict (attrs converter)."""
    return None if value is None else dict(value)


def validate_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Metadata goes into every document: it must be a JSON object, checked up front."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise ConfigurationError(
            f"metadata must be a dict of JSON values, not {type(metadata).__name__}"
        )
    try:
        text = json.dumps(dict(metadata), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"metadata must be JSON serialisable (str keys; str, number, bool, None, list "
            f"and dict values): {exc}"
        ) from None
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@attrs.frozen
class LlmEntry:
    """A cached LLM answer: the generations, and optionally what produced them."""

    generations: tuple[Generation, ...] = attrs.field(converter=_generation_tuple)
    created_at: datetime = attrs.field(converter=as_utc)
    prompt: str | None = None
    llm_string: str | None = None
    metadata: Mapping[str, Any] | None = attrs.field(default=None, converter=frozen_metadata)


@attrs.frozen
class EmbeddingEntry:
    """A cached embedding: the vector bytes and, optionally, the key it was stored under."""

    vector: bytes
    created_at: datetime = attrs.field(converter=as_utc)
    original_key: str | None = None
    namespace: str | None = None
    metadata: Mapping[str, Any] | None = attrs.field(default=None, converter=frozen_metadata)


@attrs.frozen
class LlmRecord:
    """The stored form of an :class:`LlmEntry` (generations serialised), under ``key``.

    Attributes:
        key: The document id (from the key scheme).
        llm_output: The answer: each generation serialised as a JSON string.
        timestamp: When the entry was written (UTC; a naive time is read as UTC).
        llm_input: The prompt, or ``None`` when written with ``store_input=False``.
        llm_params: The ``llm_string``, or ``None`` with ``store_input_params=False``.
        metadata: The extra fields stored with the entry (read-only), or ``None``.
    """

    key: str
    llm_output: tuple[str, ...] = attrs.field(converter=str_tuple)
    timestamp: datetime = attrs.field(converter=as_utc)
    llm_input: str | None = None
    llm_params: str | None = None
    metadata: Mapping[str, Any] | None = attrs.field(default=None, converter=frozen_metadata)


@attrs.frozen
class EmbeddingRecord:
    """The stored form of an :class:`EmbeddingEntry` (vector base64-encoded), under ``key``.

    Attributes:
        key: The document id (from the key scheme and the namespace).
        vector_dump: The value (the serialised vector), base64-encoded.
        timestamp: When the entry was written (UTC; a naive time is read as UTC).
        text_input: The store's key (the embedded text), or ``None`` when written with
            ``store_input=False``.
        namespace: The namespace of the store that wrote it, or ``None``.
        metadata: The extra fields stored with the entry (read-only), or ``None``.
    """

    key: str
    vector_dump: str
    timestamp: datetime = attrs.field(converter=as_utc)
    text_input: str | None = None
    namespace: str | None = None
    metadata: Mapping[str, Any] | None = attrs.field(default=None, converter=frozen_metadata)


@attrs.frozen
class ListedLlmEntry:
    """One entry of an LLM cache as its listing shows it (the answer is not decoded).

    Attributes:
        prompt: The prompt, or ``None`` when written with ``store_input=False``.
        llm_string: The model parameters, or ``None`` with ``store_input_params=False``.
        timestamp: When the entry was written (UTC).
        key: The document id, the one thing every entry has.
    """

    prompt: str | None
    llm_string: str | None
    timestamp: datetime = attrs.field(converter=as_utc)
    key: str


Record = LlmRecord | EmbeddingRecord


def format_timestamp(value: datetime) -> str:
    """ISO 8601 with an explicit UTC offset; Elasticsearch's default date format reads it."""
    return as_utc(value).isoformat()


def parse_timestamp(value: Any) -> datetime | None:
    """Read a stored timestamp; ``None`` when it is not one (never an exception).

    ``langchain_elasticsearch`` writes naive local times (``datetime.now().isoformat()``);
    those are read as UTC, which is what they are on the usual UTC server.
    Epoch milliseconds (Elasticsearch's other default format), as a number or a string of
    digits, are accepted too.
    """
    if isinstance(value, str) and len(value) <= _CACHED_TIMESTAMP_LENGTH:
        # the documents of one bulk write share a timestamp: an mget of them parses it once
        return _parse_timestamp_text(value)
    return _parse_timestamp(value)


_CACHED_TIMESTAMP_LENGTH = 64  # longer strings are no timestamp: not worth keeping


@functools.lru_cache(maxsize=1024)
def _parse_timestamp_text(value: str) -> datetime | None:
    return _parse_timestamp(value)  # datetimes are immutable: sharing one is safe


def _parse_timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isascii():
        digits = value.strip().lstrip("-")
        if digits.isdigit():
            value = int(value.strip())
    try:
        if isinstance(value, int):
            return _EPOCH + timedelta(milliseconds=value)
        if isinstance(value, float):
            if not math.isfinite(value):
                return None
            return _EPOCH + timedelta(milliseconds=value)
        if not isinstance(value, str):
            return None
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def _optional_str(source: JsonObject, field: str) -> tuple[bool, str | None]:
    value = source.get(field)
    if value is None or isinstance(value, str):
        return True, value
    return False, None


def _optional_metadata(source: JsonObject) -> tuple[bool, Mapping[str, Any] | None]:
    value = source.get("metadata")
    if value is None or isinstance(value, Mapping):
        return True, value
    return False, None


# A timestamp the stored document lacks is read as the epoch: the entry is then the
# oldest possible, so it loses every "latest wins" comparison and expires first.
_MISSING_TIME = _EPOCH


def llm_record_to_document(record: LlmRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "llm_output": list(record.llm_output),
        "timestamp": format_timestamp(record.timestamp),
    }
    if record.llm_params is not None:
        doc["llm_params"] = record.llm_params
    if record.metadata is not None:
        doc["metadata"] = dict(record.metadata)
    if record.llm_input is not None:
        doc["llm_input"] = record.llm_input
    return doc


def log_malformed(key: str, kind: str, why: str) -> None:
    """Log (warning) that the ``kind`` cache document ``key`` is malformed and read as a miss."""
    logger.warning(
        "%s cache document %s is malformed (%s) and is treated as a miss", kind, key, why
    )


def llm_record_from_document(key: str, source: Any) -> LlmRecord | None:
    """Validate an untrusted LLM cache document; ``None`` (logged) when its shape is wrong."""
    record = _llm_record(key, source)
    if isinstance(record, str):
        log_malformed(key, "LLM", record)
        return None
    return record


def read_llm_document(key: str, source: Any) -> LlmRecord | str:
    """The record of an untrusted LLM cache document, or what is wrong with it (not
    logged: for callers that report the problem themselves, as ``import`` does)."""
    return _llm_record(key, source)


def _llm_record(key: str, source: Any) -> LlmRecord | str:
    if not isinstance(source, Mapping):
        return "not a JSON object"
    output = source.get("llm_output")
    if isinstance(output, str):  # a single-element array may come back as a scalar
        output = [output]
    if not isinstance(output, list) or not all(isinstance(item, str) for item in output):
        return "llm_output is not a list of strings"
    ok_in, llm_input = _optional_str(source, "llm_input")
    ok_params, llm_params = _optional_str(source, "llm_params")
    ok_meta, metadata = _optional_metadata(source)
    if not (ok_in and ok_params and ok_meta):
        return "llm_input, llm_params or metadata has the wrong type"
    raw_time = source.get("timestamp")
    timestamp = _MISSING_TIME if raw_time is None else parse_timestamp(raw_time)
    if timestamp is None:
        return "timestamp is not a date"
    return LlmRecord(
        key=key,
        llm_output=tuple(output),
        timestamp=timestamp,
        llm_input=llm_input,
        llm_params=llm_params,
        metadata=metadata,
    )


def embedding_record_to_document(record: EmbeddingRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "vector_dump": record.vector_dump,
        "timestamp": format_timestamp(record.timestamp),
    }
    if record.metadata is not None:
        doc["metadata"] = dict(record.metadata)
    if record.text_input is not None:
        doc["text_input"] = record.text_input
    if record.namespace:
        doc["namespace"] = record.namespace
    return doc


def embedding_record_from_document(key: str, source: Any) -> EmbeddingRecord | None:
    """Validate an untrusted embedding document; ``None`` (logged) when its shape is wrong."""
    record = _embedding_record(key, source)
    if isinstance(record, str):
        log_malformed(key, "embedding", record)
        return None
    return record


def read_embedding_document(key: str, source: Any) -> EmbeddingRecord | str:
    """The record of an untrusted embedding document, or what is wrong with it (not
    logged); see :func:`read_llm_document`."""
    return _embedding_record(key, source)


def _embedding_record(key: str, source: Any) -> EmbeddingRecord | str:
    if not isinstance(source, Mapping):
        return "not a JSON object"
    vector = source.get("vector_dump")
    if not isinstance(vector, str):
        return "vector_dump is not a string"
    ok_text, text_input = _optional_str(source, "text_input")
    ok_ns, namespace = _optional_str(source, "namespace")
    ok_meta, metadata = _optional_metadata(source)
    if not (ok_text and ok_ns and ok_meta):
        return "text_input, namespace or metadata has the wrong type"
    raw_time = source.get("timestamp")
    timestamp = _MISSING_TIME if raw_time is None else parse_timestamp(raw_time)
    if timestamp is None:
        return "timestamp is not a date"
    return EmbeddingRecord(
        key=key,
        vector_dump=vector,
        timestamp=timestamp,
        text_input=text_input,
        namespace=namespace,
        metadata=metadata,
    )
