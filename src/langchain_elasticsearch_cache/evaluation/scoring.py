"""Turn labelled pairs into scored pairs with the cache's own parts plugged in.

The semantic cache decides a hit in three steps, and each is a parameter here so a
calibration measures the cache as it really runs:

1. ``split(prompt) -> (context, meaning)``: the prompt splitter. The *context* (system
   prompt, earlier turns) must match exactly, as the cache filters its kNN search on a hash
   of it; only the *meaning* (the last user question) is embedded. Default: no context, the
   whole prompt is the meaning.
2. ``embed(texts) -> vectors``: the embedding model, called once with every distinct
   meaning text (``Embeddings.embed_documents`` has this signature). Similarity is the
   cosine of the two vectors, computed here.
3. ``guard(meaning_a, meaning_b) -> bool``: the hit guard (e.g. "the numbers must match").
   A pair it rejects is never a hit. Default: accept everything.

Nothing here calls a model itself; pass ``embedding.embed_documents`` and the cache's
splitter and guard.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

from ..domain.errors import ConfigurationError
from ..domain.semantic_records import validate_vector
from .calibration import ScoredPair
from .pairs import LabelledPair

__all__ = ["Embed", "Guard", "Split", "cosine", "score_pairs"]

Embed = Callable[[list[str]], Sequence[Sequence[float]]]
Split = Callable[[str], tuple[str, str]]
Guard = Callable[[str, str], bool]


def cosine(u: Sequence[float], v: Sequence[float]) -> float:
    """The cosine of the angle between two non-zero vectors of the same length."""
    if len(u) != len(v):
        raise ConfigurationError(
            f"vectors of different lengths ({len(u)} and {len(v)}) cannot be compared; "
            "the embedding model must return one dimension for every text"
        )
    norm = math.sqrt(math.fsum(x * x for x in u)) * math.sqrt(math.fsum(y * y for y in v))
    if norm == 0.0:
        raise ConfigurationError(
            "an all-zero vector has no direction, so its cosine similarity is undefined; "
            "check the embedding model"
        )
    value = math.fsum(x * y for x, y in zip(u, v, strict=True)) / norm
    return max(-1.0, min(1.0, value))


def _no_context(prompt: str) -> tuple[str, str]:
    return "", prompt


def _accept(_a: str, _b: str) -> bool:
    return True


def score_pairs(
    pairs: Iterable[LabelledPair],
    *,
    embed: Embed,
    split: Split | None = None,
    guard: Guard | None = None,
) -> list[ScoredPair]:
    """One :class:`ScoredPair` per pair, in order (see the module docstring for the parts).

    ``embed`` is called once, with each distinct meaning text once; it must return one
    finite, non-zero vector per text, all of the same length.
    """
    split = split or _no_context
    guard = guard or _accept
    items = list(pairs)
    parts = [(split(item.a), split(item.b)) for item in items]
    texts = list(dict.fromkeys(text for (_, a), (_, b) in parts for text in (a, b)))
    vectors = embed(texts) if texts else []
    if len(vectors) != len(texts):
        raise ConfigurationError(
            f"the embedding function returned {len(vectors)} vector(s) for {len(texts)} "
            "text(s); it must return exactly one vector per text, in order"
        )
    by_text = {
        text: validate_vector(vector, what=f"embedding of {text[:40]!r}")
        for text, vector in zip(texts, vectors, strict=True)
    }
    scored = []
    for item, ((context_a, meaning_a), (context_b, meaning_b)) in zip(items, parts, strict=True):
        similarity = cosine(by_text[meaning_a], by_text[meaning_b])
        blocked_by = None
        if context_a != context_b:
            blocked_by = "context"
        elif not guard(meaning_a, meaning_b):
            blocked_by = "guard"
        scored.append(ScoredPair(item, similarity, blocked_by is None, blocked_by))
    return scored
