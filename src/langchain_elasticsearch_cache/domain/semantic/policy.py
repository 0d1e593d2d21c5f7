"""The semantic cache's policy: how a lookup's candidates become a hit, and what is stored.

Separate from the rules it applies (splitting, guards, validation): it changes when the
lookup flow changes (exact key first, then a filtered kNN, then guard and codec), and it is
the one object the interfaces compose. Every method is pure; the current time is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs
from langchain_core.outputs import Generation

from ..entries import LlmRecord
from ..errors import ConfigurationError
from ..expiry import expiry_cutoff
from ..policies import LlmCachePolicy
from .guards import HitGuard, default_hit_guard
from .judges import AnswerJudge, resolve_answer_judge
from .records import SemanticCandidate, SemanticRecord, VectorQuery
from .splitting import PromptParts, PromptSplitter, partition_hashes
from .validation import (
    DEFAULT_K,
    DEFAULT_SIMILARITY_THRESHOLD,
    resolve_hit_guard,
    resolve_prompt_splitter,
    validate_k,
    validate_similarity_threshold,
)
from .verified import ObservationBin, VerifiedDecision, decide, validate_max_error_rate

__all__ = ["SemanticCachePolicy", "SemanticHit"]


@attrs.frozen
class SemanticHit:
    """What a semantic lookup chose: the candidate and its decoded generations."""

    candidate: SemanticCandidate
    generations: list[Generation]

    @property
    def similarity(self) -> float:
        """The chosen candidate's cosine similarity to the query."""
        return self.candidate.similarity


def _llm_policy(value: LlmCachePolicy | None) -> LlmCachePolicy:
    return LlmCachePolicy() if value is None else value


# A store may compute similarities in float32 (Elasticsearch does): a candidate it found at
# the threshold may come back a rounding error below it, and is still one it found.
_SIMILARITY_SLACK = 1e-6


@attrs.frozen
class SemanticCachePolicy:
    """The semantic cache's rules: the exact cache's (``llm``) plus splitting, threshold,
    guard and ``k``, and for a verified cache ``max_error_rate`` and ``answer_judge`` (see
    :mod:`.verified`: the threshold is then the floor below which no entry is considered).
    Every method is pure; the current time is passed in.

    Raises:
        ConfigurationError: On construction, when a setting is invalid (see
            :mod:`.validation`).
    """

    llm: LlmCachePolicy = attrs.field(factory=LlmCachePolicy, converter=_llm_policy)
    splitter: PromptSplitter = attrs.field(default=None, converter=resolve_prompt_splitter)
    similarity_threshold: float = attrs.field(
        default=DEFAULT_SIMILARITY_THRESHOLD, converter=validate_similarity_threshold
    )
    hit_guard: HitGuard | None = attrs.field(default=default_hit_guard, converter=resolve_hit_guard)
    k: int = attrs.field(default=DEFAULT_K, converter=validate_k)
    max_error_rate: float | None = attrs.field(default=None, converter=validate_max_error_rate)
    answer_judge: AnswerJudge = attrs.field(default=None, converter=resolve_answer_judge)

    @property
    def verified(self) -> bool:
        """Whether each semantic hit is checked against its entry's learned boundary."""
        return self.max_error_rate is not None

    def verify(
        self, hit: SemanticHit, pool: Sequence[ObservationBin] = ()
    ) -> VerifiedDecision | None:
        """Serve ``hit`` or explore (see :func:`.verified.decide`; ``pool``: every entry's
        observations summed, when the repository keeps them); ``None`` when the cache is
        not verified (the threshold and guard alone decided)."""
        if self.max_error_rate is None:
            return None
        record = hit.candidate.record
        return decide(record.observations, hit.similarity, self.max_error_rate, pool=pool)

    @property
    def ttl(self) -> timedelta | None:
        """How long an entry lives (the exact cache's setting); ``None`` for ever."""
        return self.llm.ttl

    def key(self, prompt: str, llm_string: str) -> str:
        """The exact key of ``(prompt, llm_string)``, as the exact cache computes it."""
        return self.llm.key(prompt, llm_string)

    def split(self, prompt: str) -> PromptParts:
        """The prompt's parts; a custom splitter's answer is checked.

        Args:
            prompt: The prompt LangChain gave the cache.

        Returns:
            The splitter's :class:`PromptParts` (a ``(meaning, context)`` pair of strings
            is accepted too).

        Raises:
            ConfigurationError: The splitter returned anything else.
        """
        parts = self.splitter(prompt)
        if isinstance(parts, PromptParts):
            return parts
        if (
            isinstance(parts, Sequence)
            and len(parts) == 2
            and all(isinstance(part, str) for part in parts)
        ):
            return PromptParts(meaning=parts[0], context=parts[1])
        raise ConfigurationError(
            f"prompt_splitter returned {type(parts).__name__}; it must return "
            "PromptParts(meaning, context) (both str)"
        )

    def exact_generations(
        self, record: SemanticRecord | None, now: datetime
    ) -> list[Generation] | None:
        """An exact-key lookup's answer: ``None`` for absent, expired or unreadable."""
        return None if record is None else self.llm.generations(record.llm_record, now)

    def query(
        self, parts: PromptParts, llm_string: str, vector: Sequence[float], now: datetime
    ) -> VectorQuery:
        """The filtered kNN question for ``parts``: same model and context, live entries
        only (when there is a ttl), at least the threshold, ``k`` candidates."""
        llm_hash, context_hash = partition_hashes(llm_string, parts.context)
        ttl = self.llm.ttl
        return VectorQuery(
            vector=vector,
            llm_string_hash=llm_hash,
            context_hash=context_hash,
            min_similarity=self.similarity_threshold,
            k=self.k,
            not_before=None if ttl is None else expiry_cutoff(now, ttl),
        )

    def choose(
        self,
        query: VectorQuery,
        query_text: str,
        candidates: Sequence[SemanticCandidate],
        now: datetime,
    ) -> SemanticHit | None:
        """The most similar acceptable candidate, decoded; ``None`` when none is.

        A candidate is checked again here (partition, threshold, expiry: a store that
        answered loosely must not cause a wrong hit), then by the guard, then decoded
        with the safe codec: a corrupt or hostile one is skipped for the next.
        """
        ordered = sorted(candidates, key=lambda candidate: -candidate.similarity)
        for candidate in ordered:
            record = candidate.record
            if not (
                record.llm_string_hash == query.llm_string_hash
                and record.context_hash == query.context_hash
                and math.isfinite(candidate.similarity)
                and candidate.similarity >= query.min_similarity - _SIMILARITY_SLACK
                and self.llm.is_live(record.llm_record, now)
            ):
                continue
            if self.hit_guard is not None and not self.hit_guard(query_text, record.prompt_text):
                continue
            generations = self.llm.answer(record.llm_record)
            if generations is not None:
                return SemanticHit(candidate=candidate, generations=generations)
        return None

    def record(
        self,
        prompt: str,
        llm_string: str,
        generations: Sequence[Generation],
        parts: PromptParts,
        vector: Sequence[float] | None,
        now: datetime,
    ) -> SemanticRecord:
        """The entry to store for a fresh answer: the exact record plus :meth:`with_vector`."""
        return self.with_vector(
            self.llm.record(prompt, llm_string, generations, now), llm_string, parts, vector
        )

    def with_vector(
        self,
        base: LlmRecord,
        llm_string: str,
        parts: PromptParts,
        vector: Sequence[float] | None,
    ) -> SemanticRecord:
        """The semantic record of an exact-cache record (made first, so an answer that can
        never be cached is refused before the embedding model is asked for its vector)."""
        llm_hash, context_hash = partition_hashes(llm_string, parts.context)
        return SemanticRecord(
            key=base.key,
            llm_output=base.llm_output,
            timestamp=base.timestamp,
            llm_string_hash=llm_hash,
            context_hash=context_hash,
            vector=vector,
            prompt_text=parts.meaning if self.llm.store_input else None,
            llm_input=base.llm_input,
            llm_params=base.llm_params,
            metadata=base.metadata,
        )
