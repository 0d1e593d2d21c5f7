"""What the semantic cache stores and asks for: records with a prompt vector, kNN queries.

Separate from the rules (splitting, guards, policy) because it changes with the stored
document's shape, and because the ports and every vector adapter need it and nothing else.

A semantic entry is an LLM cache entry (same fields as :class:`LlmRecord`, so exact-key
lookups work as in the exact cache) plus:

* ``vector``: the embedding of the prompt's *meaning* part (see :func:`.splitting.split_prompt`);
* ``llm_string_hash`` and ``context_hash``: hashes of the ``llm_string`` and of the prompt's
  exact *context* part (system prompt, earlier turns). A kNN search is filtered to equal
  hashes, so another model's entries, or another conversation's, can never answer;
* ``prompt_text``: the meaning text, kept (only when ``store_input``) so hit guards can
  compare the candidate's text with the query's;
* ``observations``: what a verified cache learned about this entry (see :mod:`.verified`),
  empty for entries written before, or by a cache without ``max_error_rate``.

Stored document fields: the LLM cache's (``llm_output``, ``llm_params``, ``llm_input``,
``metadata``, ``timestamp``) plus ``prompt_vector``, ``llm_string_hash``, ``context_hash``
``prompt_text`` and ``observations`` (``[[similarity, right, wrong], ...]``, stored but
not indexed; absent when empty).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from ..entries import (
    LlmRecord,
    as_utc,
    frozen_metadata,
    llm_record_from_document,
    llm_record_to_document,
    log_malformed,
    logger,
    read_llm_document,
    str_tuple,
)
from ..errors import ConfigurationError
from .verified import ObservationBin, observations_from_document, observations_to_document

__all__ = [
    "SemanticCandidate",
    "SemanticRecord",
    "VectorQuery",
    "semantic_record_from_document",
    "read_semantic_document",
    "semantic_record_to_document",
    "validate_vector",
]


def validate_vector(value: Iterable[Any], *, what: str = "embedding") -> tuple[float, ...]:
    """A non-empty tuple of finite floats, or a ``ConfigurationError`` saying what is wrong.

    Used on what an embedding model returns (a user-supplied component: its mistakes are
    configuration errors) and, through the document reader, on stored vectors.
    """
    try:
        vector = tuple(map(float, value))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"the {what} must be a list of numbers ({exc}); check the Embeddings object "
            "passed as `embedding`"
        ) from None
    if not vector:
        raise ConfigurationError(
            f"the {what} is empty; the Embeddings object passed as `embedding` must return "
            "at least one dimension"
        )
    if not all(map(math.isfinite, vector)):  # map: no Python frame per item
        raise ConfigurationError(
            f"the {what} contains NaN or infinity; check the Embeddings object passed as "
            "`embedding`"
        )
    if not any(vector):  # every item is a finite float here: 0.0 and -0.0 are false
        raise ConfigurationError(
            f"the {what} is all zeros, which has no direction (cosine similarity is "
            "undefined); check the Embeddings object passed as `embedding`"
        )
    return vector


def _vector_tuple(value: Iterable[float]) -> tuple[float, ...]:
    return tuple(map(float, value))


def _observation_tuple(value: Iterable[ObservationBin]) -> tuple[ObservationBin, ...]:
    return tuple(value)


def _optional_vector(value: Iterable[float] | None) -> tuple[float, ...] | None:
    return None if value is None else _vector_tuple(value)


@attrs.frozen
class SemanticRecord:
    """The stored form of a semantic cache entry, under its exact ``key``."""

    key: str
    llm_output: tuple[str, ...] = attrs.field(converter=str_tuple)
    timestamp: datetime = attrs.field(converter=as_utc)
    llm_string_hash: str
    context_hash: str
    #: ``None`` when the store did not return it (a kNN hit needs no vector, and
    #: Elasticsearch 9 leaves vectors out of ``_source`` unless asked); always set on write
    vector: tuple[float, ...] | None = attrs.field(default=None, converter=_optional_vector)
    prompt_text: str | None = None
    llm_input: str | None = None
    llm_params: str | None = None
    metadata: Mapping[str, Any] | None = attrs.field(default=None, converter=frozen_metadata)
    #: what a verified cache learned about this entry (similarity bins of right and wrong
    #: answers); empty for a new entry and for entries written before observations existed
    observations: tuple[ObservationBin, ...] = attrs.field(default=(), converter=_observation_tuple)

    @property
    def llm_record(self) -> LlmRecord:
        """The exact cache's view of this entry (what an exact-key hit decodes)."""
        return LlmRecord(
            key=self.key,
            llm_output=self.llm_output,
            timestamp=self.timestamp,
            llm_input=self.llm_input,
            llm_params=self.llm_params,
            metadata=self.metadata,
        )


@attrs.frozen
class VectorQuery:
    """One filtered nearest-neighbour question to a :class:`VectorRepository`.

    Every candidate returned must have ``llm_string_hash`` and ``context_hash`` equal to
    these, a ``timestamp`` strictly after ``not_before`` (when given: expired entries are
    filtered inside the search, so they never hide live ones), and a cosine similarity of
    at least ``min_similarity``. At most ``k`` candidates, most similar first.
    """

    vector: tuple[float, ...] = attrs.field(converter=_vector_tuple)
    llm_string_hash: str
    context_hash: str
    min_similarity: float
    k: int = 4
    not_before: datetime | None = None


@attrs.frozen
class SemanticCandidate:
    """A record a kNN search found, with its cosine similarity to the query in [-1, 1]."""

    record: SemanticRecord
    similarity: float


def semantic_record_to_document(record: SemanticRecord) -> dict[str, Any]:
    doc = llm_record_to_document(record.llm_record)
    if record.vector is not None:
        doc["prompt_vector"] = list(record.vector)
    doc["llm_string_hash"] = record.llm_string_hash
    doc["context_hash"] = record.context_hash
    if record.prompt_text is not None:
        doc["prompt_text"] = record.prompt_text
    if record.observations:
        doc["observations"] = observations_to_document(record.observations)
    return doc


def semantic_record_from_document(key: str, source: Any) -> SemanticRecord | None:
    """Validate an untrusted semantic cache document; ``None`` (logged) when malformed."""
    base = llm_record_from_document(key, source)
    if base is None:
        return None
    problem = _semantic_problem(source)
    if problem is not None:
        log_malformed(key, "semantic", problem)
        return None
    vector = source.get("prompt_vector")
    prompt_text = source.get("prompt_text")
    observations = observations_from_document(source.get("observations"))
    if isinstance(observations, str):
        # the answer is still good; only what was learned about it is lost (a verified
        # cache then explores this entry again, the safe side)
        logger.warning(
            "semantic cache document %s has malformed observations (%s); they are ignored "
            "and the entry is learned about again",
            key,
            observations,
        )
        observations = ()
    return SemanticRecord(
        key=key,
        llm_output=base.llm_output,
        timestamp=base.timestamp,
        llm_string_hash=source["llm_string_hash"],
        context_hash=source["context_hash"],
        vector=vector,
        prompt_text=prompt_text,
        llm_input=base.llm_input,
        llm_params=base.llm_params,
        metadata=base.metadata,
        observations=observations,
    )


def read_semantic_document(key: str, source: Any) -> SemanticRecord | str:
    """The record of an untrusted semantic cache document, or what is wrong with it (not
    logged; see :func:`..entries.read_llm_document`)."""
    base = read_llm_document(key, source)
    if isinstance(base, str):
        return base
    problem = _semantic_problem(source)
    if problem is not None:
        return problem
    return SemanticRecord(
        key=key,
        llm_output=base.llm_output,
        timestamp=base.timestamp,
        llm_string_hash=source["llm_string_hash"],
        context_hash=source["context_hash"],
        vector=source.get("prompt_vector"),
        prompt_text=source.get("prompt_text"),
        llm_input=base.llm_input,
        llm_params=base.llm_params,
        metadata=base.metadata,
    )


def _semantic_problem(source: Mapping[str, Any]) -> str | None:
    vector = source.get("prompt_vector")
    if vector is None:
        pass  # not returned (see SemanticRecord.vector)
    elif not isinstance(vector, Sequence) or isinstance(vector, str) or not vector:
        return "prompt_vector is not a list of numbers"
    elif not all(
        isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item)
        for item in vector
    ):
        return "prompt_vector is not a list of finite numbers"
    for field in ("llm_string_hash", "context_hash"):
        if not isinstance(source.get(field), str):
            return f"{field} is not a string"
    text = source.get("prompt_text")
    if text is not None and not isinstance(text, str):
        return "prompt_text is not a string"
    return None
