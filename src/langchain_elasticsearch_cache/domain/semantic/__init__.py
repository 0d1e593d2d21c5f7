"""The semantic cache's rules: what is compared by meaning, what must match, when a hit is one.

Pure code (no I/O, no clock, no embedding model): the interfaces embed, search and decide
with these functions. One module per reason to change:

* :mod:`.splitting`: a prompt becomes :class:`PromptParts` (``meaning`` is embedded and
  compared by similarity, ``context`` must be identical) and the partition hashes;
* :mod:`.validation`: the settings' defaults and checks (threshold, ``k``, guard, splitter);
* :mod:`.guards`: the hit guards, one module per family of rules, and
  :func:`default_hit_guard` that combines them;
* :mod:`.policy`: :class:`SemanticCachePolicy`, the lookup and store decisions;
* :mod:`.records`: what is stored and asked of a vector repository;
* :mod:`.verified`: per-entry observations, the learned boundary and the serve/explore
  decision of a verified cache (``max_error_rate``); :mod:`.judges`: the answer judges.

Every public name is importable from here, as it was when this was a single module.
"""

from __future__ import annotations

from .guards import (
    DEFAULT_GUARD_RULES,
    NEGATORS,
    OPPOSITES,
    STOPWORDS,
    HitGuard,
    calendar_guard,
    calendar_words,
    combine_guards,
    content_words,
    default_hit_guard,
    entities,
    entity_order_guard,
    extract_numbers,
    negation_guard,
    number_guard,
    opposite_guard,
    unit_guard,
    unit_words,
    word_order_guard,
)
from .judges import (
    DEFAULT_ANSWER_SIMILARITY,
    AnswerJudge,
    EmbeddingAnswerJudge,
    same_text_judge,
)
from .policy import SemanticCachePolicy, SemanticHit
from .records import (
    SemanticCandidate,
    SemanticRecord,
    VectorQuery,
    semantic_record_from_document,
    semantic_record_to_document,
    validate_vector,
)
from .splitting import PromptParts, PromptSplitter, partition_hashes, split_prompt
from .validation import (
    DEFAULT_K,
    DEFAULT_SIMILARITY_THRESHOLD,
    MAX_K,
    validate_k,
    validate_similarity_threshold,
)
from .verified import (
    ObservationBin,
    VerifiedDecision,
    add_observation,
    decide,
    error_estimate,
    fit_boundary,
    validate_max_error_rate,
)

__all__ = [
    "DEFAULT_ANSWER_SIMILARITY",
    "AnswerJudge",
    "EmbeddingAnswerJudge",
    "ObservationBin",
    "VerifiedDecision",
    "add_observation",
    "decide",
    "error_estimate",
    "fit_boundary",
    "same_text_judge",
    "validate_max_error_rate",
    "DEFAULT_GUARD_RULES",
    "DEFAULT_K",
    "DEFAULT_SIMILARITY_THRESHOLD",
    "MAX_K",
    "NEGATORS",
    "OPPOSITES",
    "STOPWORDS",
    "HitGuard",
    "PromptParts",
    "PromptSplitter",
    "SemanticCachePolicy",
    "SemanticCandidate",
    "SemanticHit",
    "SemanticRecord",
    "VectorQuery",
    "calendar_guard",
    "calendar_words",
    "combine_guards",
    "content_words",
    "default_hit_guard",
    "entities",
    "entity_order_guard",
    "extract_numbers",
    "negation_guard",
    "number_guard",
    "opposite_guard",
    "partition_hashes",
    "semantic_record_from_document",
    "semantic_record_to_document",
    "split_prompt",
    "unit_guard",
    "unit_words",
    "validate_k",
    "validate_similarity_threshold",
    "validate_vector",
    "word_order_guard",
]
