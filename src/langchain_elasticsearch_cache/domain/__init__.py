"""The pure core: keys, entries, codecs, expiry and the storage ports. No I/O here."""

from .codecs import ALLOWED_GENERATION_CLASSES, GenerationCodec, VectorCodec
from .entries import (
    EmbeddingEntry,
    EmbeddingRecord,
    ListedLlmEntry,
    LlmEntry,
    LlmRecord,
    embedding_record_from_document,
    embedding_record_to_document,
    llm_record_from_document,
    llm_record_to_document,
)
from .errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    BulkOperationError,
    CacheError,
    ConfigurationError,
    EntryRefusedError,
    InvalidIndexNameError,
    KeysNotStoredError,
    PermissionDeniedError,
    TlsVerificationError,
    UncacheableAnswerError,
)
from .expiry import expiry_cutoff, is_expired, normalize_ttl
from .keys import KeyScheme, LegacyMd5KeyScheme, Sha256KeyScheme, resolve_key_scheme
from .policies import EmbeddingCachePolicy, LlmCachePolicy
from .ports import AsyncRepository, Repository

__all__ = [
    "ALLOWED_GENERATION_CLASSES",
    "AsyncRepository",
    "AuthenticationError",
    "BackendError",
    "BackendUnavailableError",
    "BulkOperationError",
    "CacheError",
    "ConfigurationError",
    "EntryRefusedError",
    "EmbeddingCachePolicy",
    "EmbeddingEntry",
    "EmbeddingRecord",
    "GenerationCodec",
    "InvalidIndexNameError",
    "KeyScheme",
    "KeysNotStoredError",
    "PermissionDeniedError",
    "ListedLlmEntry",
    "LegacyMd5KeyScheme",
    "LlmCachePolicy",
    "LlmEntry",
    "LlmRecord",
    "Repository",
    "Sha256KeyScheme",
    "TlsVerificationError",
    "UncacheableAnswerError",
    "VectorCodec",
    "embedding_record_from_document",
    "embedding_record_to_document",
    "expiry_cutoff",
    "is_expired",
    "llm_record_from_document",
    "llm_record_to_document",
    "normalize_ttl",
    "resolve_key_scheme",
]
