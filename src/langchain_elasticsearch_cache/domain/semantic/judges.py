"""Answer judges: was the cached answer right for a prompt the model just answered?

A verified semantic cache (see :mod:`.verified`) learns from explored lookups: the model
answers, and a judge compares that fresh answer with the entry's cached one. The default
judge costs nothing (normalised text equal); :class:`EmbeddingAnswerJudge` compares
meanings (two embedding calls per explored lookup); any callable
``(fresh, cached) -> bool`` will do, for example one that asks an LLM.
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.outputs import Generation

from ..errors import ConfigurationError

__all__ = [
    "DEFAULT_ANSWER_SIMILARITY",
    "AnswerJudge",
    "EmbeddingAnswerJudge",
    "resolve_answer_judge",
    "same_text_judge",
]

#: The default bound of :class:`EmbeddingAnswerJudge`: answers this similar are the same.
DEFAULT_ANSWER_SIMILARITY = 0.95

AnswerJudge = Callable[[Sequence[Generation], Sequence[Generation]], Any]
"""``judge(fresh, cached) -> bool``: would the cached answer have been right for the prompt
that the model just answered with ``fresh``? (An async cache also accepts a coroutine
function.)"""


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def same_text_judge(fresh: Sequence[Generation], cached: Sequence[Generation]) -> bool:
    """The default judge: the same number of generations with equal text once normalised
    (Unicode NFKC, case folded, runs of white space as one space, trimmed). Costs nothing;
    strict for free-form answers (an LLM judge or :class:`EmbeddingAnswerJudge` is looser)."""
    return len(fresh) == len(cached) and all(
        _normalised(new.text) == _normalised(old.text)
        for new, old in zip(fresh, cached, strict=True)
    )


def _cosine(first: Sequence[float], second: Sequence[float]) -> float:
    if len(first) != len(second):
        raise ConfigurationError(
            f"the answer embeddings have {len(first)} and {len(second)} dimensions; "
            "EmbeddingAnswerJudge needs one embedding model"
        )
    dot = math.fsum(x * y for x, y in zip(first, second, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in first) * math.fsum(y * y for y in second))
    return dot / norm if norm else 0.0


class EmbeddingAnswerJudge:
    """Answers are the same when the cosine similarity of their embeddings is at least
    ``min_similarity``. ``embed`` is any ``(text) -> vector`` callable, for example
    ``OpenAIEmbeddings().embed_query``: the judge's one cost is two embedding calls per
    explored lookup (nothing on hits or ordinary misses)."""

    def __init__(
        self,
        embed: Callable[[str], Sequence[float]],
        *,
        min_similarity: float = DEFAULT_ANSWER_SIMILARITY,
    ) -> None:
        if not callable(embed):
            raise ConfigurationError(
                f"embed must be a callable (text) -> list of floats, such as "
                f"my_embeddings.embed_query, not {type(embed).__name__}"
            )
        if (
            isinstance(min_similarity, bool)
            or not isinstance(min_similarity, numbers.Real)
            or not -1.0 <= float(min_similarity) <= 1.0
        ):
            raise ConfigurationError(
                f"min_similarity must be a cosine similarity in [-1, 1], not {min_similarity!r}"
            )
        self.embed: Callable[[str], Sequence[float]] = embed
        self.min_similarity: float = float(min_similarity)

    def __call__(self, fresh: Sequence[Generation], cached: Sequence[Generation]) -> bool:
        if same_text_judge(fresh, cached):
            return True  # no embedding call for identical answers
        fresh_text = "\n".join(item.text for item in fresh)
        cached_text = "\n".join(item.text for item in cached)
        return _cosine(self.embed(fresh_text), self.embed(cached_text)) >= self.min_similarity

    def __repr__(self) -> str:
        return f"EmbeddingAnswerJudge(min_similarity={self.min_similarity!r})"


def resolve_answer_judge(value: Any) -> AnswerJudge:
    """The judge to use: ``value`` when callable, :func:`same_text_judge` for ``None``.

    Raises:
        ConfigurationError: ``value`` is neither.
    """
    if value is None:
        return same_text_judge
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigurationError(
        f"answer_judge must be a callable (fresh_generations, cached_generations) -> bool, "
        f"for example EmbeddingAnswerJudge(my_embeddings.embed_query), or None for the "
        f"default (normalised text equal); not {type(value).__name__}"
    )
