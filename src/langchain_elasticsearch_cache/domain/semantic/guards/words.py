"""Word tokenising shared by the guard rules: words, word lists, sentence starts, stopwords.

Separate so that every rule reads words the same way ("don't" is one word, digits are not
words: numbers are :mod:`.numerals`' business), and a fix to tokenising is made once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TypeVar

__all__ = [
    "CACHED_TEXT_LENGTH",
    "STOPWORDS",
    "TEXT_CACHE_ENTRIES",
    "TOKEN_RE",
    "clear_text_caches",
    "per_text",
    "starts_sentence",
    "word_set",
    "word_tuple",
    "wordlist",
    "words",
]

_T = TypeVar("_T")

#: How many texts each per-text analysis remembers (least recently used first out), and
#: the longest text it remembers: longer ones are analysed afresh each time, so the caches
#: hold at most a few megabytes whatever the prompts.
TEXT_CACHE_ENTRIES = 4096
CACHED_TEXT_LENGTH = 1000
_CACHES: list[Callable[[], None]] = []


def per_text(analysis: Callable[[str], _T]) -> Callable[[str], _T]:
    """``analysis`` remembered for the last :data:`TEXT_CACHE_ENTRIES` texts.

    A guard compares one query with a few candidates, and a cache's stored texts come back
    lookup after lookup: each text is tokenised and read once, not once per rule and pair.
    Only for pure analyses whose result is never mutated (tuples, frozensets, or objects the
    rules only read): the same object is handed to every caller. Thread-safe
    (:func:`functools.lru_cache`).

    Args:
        analysis: A pure function of one text.

    Returns:
        The same function, cached.
    """
    cached = functools.lru_cache(maxsize=TEXT_CACHE_ENTRIES)(analysis)
    _CACHES.append(cached.cache_clear)

    @functools.wraps(analysis)
    def analyse(text: str) -> _T:
        return cached(text) if len(text) <= CACHED_TEXT_LENGTH else analysis(text)

    return analyse


def clear_text_caches() -> None:
    """Forget every text the :func:`per_text` analyses remember (benchmarks time the guard
    on texts it has not seen)."""
    for clear in _CACHES:
        clear()


#: A word: letters of any script, with inner apostrophes kept ("don't", "l'eau"); no digits.
TOKEN_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")

_SENTENCE_END = re.compile(r"[.!?\n:;]\s*$")


def wordlist(text: str) -> list[str]:
    """The whitespace-separated words of ``text``: how the rules write their word tables.

    Args:
        text: Words separated by spaces or newlines.

    Returns:
        The words, in order.
    """
    return text.split()


def words(text: str) -> list[str]:
    """The words of ``text`` (:data:`TOKEN_RE`), lower-cased, curly apostrophes made straight.

    Args:
        text: Any text.

    Returns:
        The words, in order of appearance.
    """
    return list(word_tuple(text))


@per_text
def word_tuple(text: str) -> tuple[str, ...]:
    """:func:`words` as a tuple, remembered (:func:`per_text`): what the rules share."""
    found = [word.lower() for word in TOKEN_RE.findall(text)]
    if "\u2019" in text:
        found = [word.replace("\u2019", "'") for word in found]
    return tuple(found)


@per_text
def word_set(text: str) -> frozenset[str]:
    """The set of :func:`words` of ``text``, remembered (:func:`per_text`)."""
    return frozenset(word_tuple(text))


def starts_sentence(text: str, start: int) -> bool:
    """Whether the word at index ``start`` of ``text`` is the first of a sentence.

    Opening quotes and brackets before it are skipped; a sentence ends with ``. ! ? : ;``
    or a newline.

    Args:
        text: The whole text.
        start: The index of the word's first character in ``text``.

    Returns:
        True at the start of ``text`` or after a sentence end.
    """
    before = text[:start].rstrip(" \t\"'\u201c\u2018\u00ab\u00bf\u00a1([")
    return not before or bool(_SENTENCE_END.search(before))


#: Words that carry no content of their own for the order rules: articles, pronouns,
#: auxiliaries, question words, common prepositions and conjunctions (English).
STOPWORDS = frozenset(
    wordlist("""
    a an the of to in on at for from by with about as into onto than then and or but if so
    that this these those there here it its i me my mine you your yours we us our they them
    their he him his she her what which who whom whose why how when where is are was were be
    been being am do does did done can could should would will shall may might must have has
    had having please some any just also very much many really too up out over under between
    via per vs versus s t""")
)
