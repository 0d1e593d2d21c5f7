"""The word order rule: "Why do cats chase mice?" never answers "Why do mice chase cats?".

Separate from :mod:`.entity_order`: it compares all content words, not entities, and it
accepts a phrase moved to the front or the back (a rotation), which entity order need not.
"""

from __future__ import annotations

from collections import Counter

from .words import STOPWORDS, words

__all__ = ["content_words", "word_order_guard"]


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not :data:`.words.STOPWORDS`, lower-cased, in order.

    Args:
        text: Any text.

    Returns:
        The content words, repeats included.
    """
    return [word for word in words(text) if word not in STOPWORDS]


def _is_rotation(a: list[str], b: list[str]) -> bool:
    return len(a) == len(b) and any(a[k:] + a[:k] == b for k in range(len(a)))


def word_order_guard(query_text: str, candidate_text: str | None) -> bool:
    """The word order rule: the same content words are not swapped.

    Refused when both texts have exactly the same content words (:func:`content_words`, as
    a multiset, at least three) in an order that is not a rotation of the other's.

    "Why do cats chase mice?" / "Why do mice chase cats?" and "convert a list to a tuple" /
    "convert a tuple to a list" are refused. Moving a phrase to the front or the back ("For
    a soft yolk, how long do I boil an egg?") is a rotation of the content words and is
    accepted, and so are two-word texts, where a swap and a rotation are the same thing.

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        False when the same content words come in an order that is not a rotation; True
        otherwise, or when the candidate is unknown.
    """
    if candidate_text is None:
        return True
    query_words, candidate_words = content_words(query_text), content_words(candidate_text)
    if len(query_words) < 3 or Counter(query_words) != Counter(candidate_words):
        return True
    return _is_rotation(query_words, candidate_words)
