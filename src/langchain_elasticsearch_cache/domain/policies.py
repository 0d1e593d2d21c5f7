"""The cache rules, composed: key scheme + codec + expiry + what to store.

Interfaces hold a policy and a repository; the policy decides everything that is not I/O.
The current time is always passed in: the domain never reads a clock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
from langchain_core.outputs import Generation

from .codecs import GenerationCodec, VectorCodec
from .entries import EmbeddingRecord, ListedLlmEntry, LlmRecord, validate_metadata
from .expiry import is_expired, normalize_ttl
from .keys import DEFAULT_KEY_SCHEME, KeyScheme, resolve_key_scheme

logger = logging.getLogger("langchain_elasticsearch_cache")


def _metadata_converter(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return validate_metadata(value)


@attrs.frozen
class LlmCachePolicy:
    """How LLM answers are keyed, stored, expired and read back."""

    key_scheme: KeyScheme = attrs.field(default=DEFAULT_KEY_SCHEME, converter=resolve_key_scheme)
    store_input: bool = True
    store_input_params: bool = True
    metadata: Mapping[str, Any] | None = attrs.field(default=None, converter=_metadata_converter)
    ttl: timedelta | None = attrs.field(default=None, converter=normalize_ttl)
    codec: GenerationCodec = attrs.field(factory=GenerationCodec)

    def key(self, prompt: str, llm_string: str) -> str:
        return self.key_scheme.llm_key(prompt, llm_string)

    def record(
        self, prompt: str, llm_string: str, generations: Sequence[Generation], now: datetime
    ) -> LlmRecord:
        return LlmRecord(
            key=self.key(prompt, llm_string),
            llm_output=self.codec.encode(generations),
            timestamp=now,
            llm_input=prompt if self.store_input else None,
            llm_params=llm_string if self.store_input_params else None,
            metadata=self.metadata,
        )

    def is_live(self, record: LlmRecord, now: datetime) -> bool:
        return not is_expired(record.timestamp, now, self.ttl)

    def generations(self, record: LlmRecord | None, now: datetime) -> list[Generation] | None:
        """What a lookup returns for ``record``: ``None`` for absent, expired or unreadable."""
        if record is None or not self.is_live(record, now):
            return None
        return self.answer(record)

    def answer(self, record: LlmRecord) -> list[Generation] | None:
        """The record's generations as a lookup answer; ``None`` (a miss) when unreadable
        or empty: LangChain reads the first generation of a hit, so an empty answer would
        crash the caller (IndexError) instead of letting the model answer."""
        generations = self.codec.decode(record.llm_output, key=record.key)
        if generations is not None and not generations:
            logger.warning(
                "cache entry %s holds no generation and is treated as a miss", record.key
            )
            return None
        return generations

    def listed_entry(
        self, record: LlmRecord, now: datetime, *, include_expired: bool = False
    ) -> ListedLlmEntry | None:
        """How ``record`` is listed, or ``None`` when a listing leaves it out: expired
        (unless ``include_expired``), or holding a prompt and llm string that do not hash
        to its id under this key scheme (another scheme's document sharing the index: no
        lookup of this cache answers from it, and ``delete`` could not reach it).
        """
        if not include_expired and not self.is_live(record, now):
            return None
        prompt, llm_string = record.llm_input, record.llm_params
        if (
            prompt is not None
            and llm_string is not None
            and self.key(prompt, llm_string) != record.key
        ):
            return None
        return ListedLlmEntry(prompt, llm_string, record.timestamp, record.key)


@attrs.frozen
class EmbeddingCachePolicy:
    """How byte-store values (embedding vectors) are keyed, stored, expired and read back."""

    key_scheme: KeyScheme = attrs.field(default=DEFAULT_KEY_SCHEME, converter=resolve_key_scheme)
    namespace: str | None = None
    store_input: bool = True
    metadata: Mapping[str, Any] | None = attrs.field(default=None, converter=_metadata_converter)
    ttl: timedelta | None = attrs.field(default=None, converter=normalize_ttl)
    codec: VectorCodec = attrs.field(factory=VectorCodec)

    def key(self, key: str) -> str:
        return self.key_scheme.embedding_key(key, self.namespace)

    def record(self, key: str, value: bytes, now: datetime) -> EmbeddingRecord:
        return EmbeddingRecord(
            key=self.key(key),
            vector_dump=self.codec.encode(value),
            timestamp=now,
            text_input=key if self.store_input else None,
            namespace=self.namespace,
            metadata=self.metadata,
        )

    def is_live(self, record: EmbeddingRecord, now: datetime) -> bool:
        return not is_expired(record.timestamp, now, self.ttl)

    def value(self, record: EmbeddingRecord | None, now: datetime) -> bytes | None:
        if record is None or not self.is_live(record, now):
            return None
        return self.codec.decode(record.vector_dump, key=record.key)

    def listed_key(self, record: EmbeddingRecord, prefix: str | None, now: datetime) -> str | None:
        """The user key ``record`` stands for, if it belongs here and matches ``prefix``.

        A record belongs to this store when it is in the same namespace (the seed stores
        no ``namespace`` field for an empty one), carries its original key, and that key
        hashes to the record's id under this store's scheme (so documents of another
        scheme or namespace sharing the index are not listed).
        """
        if (record.namespace or None) != (self.namespace or None):
            return None
        original = record.text_input
        if original is None or not self.is_live(record, now):
            return None
        if prefix is not None and not original.startswith(prefix):
            return None
        if self.key(original) != record.key:
            return None
        return original
