"""Word tokenising shared by the guard rules: words, word lists, sentence starts, stopwords.

Separate so that every rule reads words the same way ("don't" is one word, digits are not
words: numbers are :mod:`.numerals`' business), and a fix to tokenising is made once.
"""

from __future__ import annotations

import re

__all__ = ["STOPWORDS", "TOKEN_RE", "starts_sentence", "wordlist", "words"]

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
    return [match.group().lower().replace("\u2019", "'") for match in TOKEN_RE.finditer(text)]


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
