"""Kept so existing imports work: the semantic records live in :mod:`.semantic.records`."""

from __future__ import annotations

from .semantic.records import (
    SemanticCandidate,
    SemanticRecord,
    VectorQuery,
    semantic_record_from_document,
    semantic_record_to_document,
    validate_vector,
)

__all__ = [
    "SemanticCandidate",
    "SemanticRecord",
    "VectorQuery",
    "semantic_record_from_document",
    "semantic_record_to_document",
    "validate_vector",
]
