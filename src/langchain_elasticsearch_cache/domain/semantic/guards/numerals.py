"""The numbers rule: two questions that differ only in a number are different questions.

Separate because its tables (spelled-out numbers, ordinals) and its number pattern change
for their own reasons; :mod:`.entity_order` reuses :data:`NUMBER_RE` to find numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from decimal import Decimal, InvalidOperation

from .words import STOPWORDS, per_text, word_set

__all__ = ["NUMBER_RE", "digit_numbers", "extract_numbers", "number_counts", "number_guard"]

_WORD_NUMBERS = {
    word: index
    for index, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70}
_TENS |= {"eighty": 80, "ninety": 90}
_ORDINAL_WORDS = {
    word: index
    for index, word in enumerate(
        [
            "zeroth",
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
            "thirteenth",
            "fourteenth",
            "fifteenth",
            "sixteenth",
            "seventeenth",
            "eighteenth",
            "nineteenth",
            "twentieth",
        ]
    )
}
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_WORD_RE = re.compile(
    r"\b(?:(?P<tens>" + "|".join(_TENS) + r")(?:[-\s](?P<unit>" + _UNITS + r"))?"
    r"|(?P<word>" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + r")"
    r"|(?P<ordinal>" + "|".join(sorted(_ORDINAL_WORDS, key=len, reverse=True)) + r"))\b",
    re.IGNORECASE,
)
#: A number written with digits (any script), with its sign, and its "%" or ordinal suffix.
# a sign only where it cannot be an operator: not after a letter, digit or closing bracket
NUMBER_RE = re.compile(
    r"(?P<sign>(?<![\w)\]])[-+\u2212])?"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<suffix>\s?%|st\b|nd\b|rd\b|th\b)?",
    re.IGNORECASE,
)


#: Every word :data:`_WORD_RE` starts a match with, lower-cased.
_SPELLED = frozenset(_WORD_NUMBERS) | frozenset(_TENS) | frozenset(_ORDINAL_WORDS)
# The characters other than ASCII letters that an IGNORECASE pattern matches to ASCII
# letters (U+0130 and U+0131, capital I with a dot and dotless i, to "i"; U+017F, long s,
# to "s"; U+212A, the Kelvin sign, to "k"), as they are lower-cased (the Kelvin sign lowers
# to "k", U+0130 to "i" + U+0307): mapped to those letters.
_CASE_TWINS = str.maketrans({"\u0131": "i", "\u017f": "s", "\u0307": None})


def _may_spell_a_number(text: str) -> bool:
    """False only when :data:`_WORD_RE` finds nothing in ``text``.

    A match's first word is a whole run of letters (``\\b`` on both sides), so it is one of
    the apostrophe-separated pieces of a word of :func:`.words.word_set`, once that word's
    characters that IGNORECASE reads as ASCII letters are made so.
    """
    found = word_set(text)
    if not found.isdisjoint(_SPELLED):
        return True
    if text.isascii() and "'" not in text:
        return False  # every word is one piece, of ASCII letters: it was looked up above
    return any(
        not _SPELLED.isdisjoint(word.translate(_CASE_TWINS).split("'"))
        for word in found
        if "'" in word or not word.isascii()
    )


# "one" as a pronoun or determiner, not a number: after a determiner, possibly with one word
# between ("which one", "the red one"), after a question's auxiliary ("how does one"), before
# "of", "another", "'s", a modal ("one should") or "at a time" ("one line at a time"), and
# in "one by one". A hyphen after it ("one-day"), or "or", "and", "to", "plus"... ("one or
# two") make it a number whatever comes before.
_DETERMINERS = (
    "which|whichever|this|that|the|each|every|any|another|no|some|such|either|neither"
    "|my|your|his|her|its|our|their|a|an"
)
_AUXILIARIES = "does|did|do|can|could|should|would|must|might|may|shall"
_ONE_BEFORE_RE = re.compile(
    r"(?:\b(?:" + _DETERMINERS + r")\s+(?:(?P<between>[^\W\d_]+)\s+)?"
    r"|\b(?:" + _AUXILIARIES + r")\s+|\bone\s+by\s+)$",
    re.IGNORECASE,
)
_ONE_AFTER_RE = re.compile(
    r"(?:\s+(?:of|another|by\s+one|should|could|would|must|might|shall|cannot|needs"
    r"|ought)\b|['\u2019]s\b|(?:\s+[^\W\d_]+)?\s+at\s+a\s+time\b)",
    re.IGNORECASE,
)

# "one or two", "one and a half", "one to ten", "one plus one": a number whatever comes before
_COUNTED_AFTER_RE = re.compile(r"\s+(?:or|and|to|plus|minus|times)\b", re.IGNORECASE)


def _pronoun_one(text: str, start: int, end: int) -> bool:
    """Whether the word "one" at ``text[start:end]`` is a pronoun or determiner (see above)."""
    if text[end : end + 1] in ("-", "\u2010", "\u2011") or _COUNTED_AFTER_RE.match(text, end):
        return False
    before = _ONE_BEFORE_RE.search(text, 0, start)
    if before is not None:
        between = (before["between"] or "").lower()
        if not between or (
            between not in STOPWORDS and between != "number" and _WORD_RE.fullmatch(between) is None
        ):
            return True
    return _ONE_AFTER_RE.match(text, end) is not None


@per_text
def digit_numbers(text: str) -> tuple[tuple[int, str | None, str, str | None], ...]:
    """Each match of :data:`NUMBER_RE` in ``text``: ``(start, sign, number, suffix)``,
    remembered (:func:`.words.per_text`; the numbers and entity order rules both read it).

    Args:
        text: Any text.

    Returns:
        The matches' start and groups, in order.
    """
    return tuple(
        (match.start(), match["sign"], match["number"], match["suffix"])
        for match in NUMBER_RE.finditer(text)
    )


def _decimal(digits: str) -> Decimal:
    ascii_digits = "".join(
        str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in digits.replace(",", "")
    )
    return Decimal(ascii_digits)


def _canonical_number(kind: str, value: Decimal) -> tuple[str, str]:
    normalized = value.normalize()
    if normalized == 0:
        normalized = Decimal(0)  # -0 and 0.0 are 0
    return kind, format(normalized, "f")


def extract_numbers(text: str) -> Counter[tuple[str, str]]:
    """The multiset of numbers in ``text``, as ``(kind, value)``.

    ``kind`` is ``"n"`` (a number), ``"%"`` (a percentage) or ``"ord"`` (an ordinal:
    "3rd", "third"). Values are normalised: ``"1,000"``, ``"1000"`` and ``"1000.0"`` are
    the same number; ``"-5"`` is not ``"5"``, but in ``"2-5"`` the dash is an operator.
    Digits of any script count. Spelled-out numbers from zero to ninety-nine and ordinals
    up to "twentieth" count too ("two apples" = "2 apples"); larger spelled-out numbers
    and fractions in words do not (a known gap: such pairs are left to the similarity).

    The word "one" is no number where it is a pronoun or a determiner: "which one", "this
    one", "the red one", "one of the best", "one another", "one's", "how does one", "one
    should", "one by one", "one (line) at a time". So "Which one is faster?" holds no
    number, like "Which is faster?"; "Which two are faster?" still differs from both. It
    stays the number 1 elsewhere ("one apple", "one plus one", "number one", "a one-day
    pass"). A cost: "one of the best" against "the best" is no longer the numbers rule's
    business (the similarity decides).

    Args:
        text: Any text.

    Returns:
        How many times each ``(kind, value)`` occurs.
    """
    return Counter(number_counts(text))


@per_text
def number_counts(text: str) -> Counter[tuple[str, str]]:
    """:func:`extract_numbers`, remembered (:func:`.words.per_text`): the rules' copy, which
    they only read (never mutate the Counter returned)."""
    found: Counter[tuple[str, str]] = Counter()
    for _, sign, digits, suffix in digit_numbers(text):
        try:
            value = _decimal(digits)
        except (InvalidOperation, ValueError):
            continue
        if sign in ("-", "\u2212"):
            value = -value
        ending = (suffix or "").strip().lower()
        kind = "%" if ending == "%" else "ord" if ending else "n"
        found[_canonical_number(kind, value)] += 1
    if not _may_spell_a_number(text):
        return found
    for match in _WORD_RE.finditer(text):
        # the regex matches case-insensitively, so a letter that only folds to ASCII
        # ("\u0130", "\u017f") may match: fold it the same way, and skip what still is
        # not a known word rather than fail
        tens, unit, word, ordinal_word = (
            (match[group] or "").lower().translate(_CASE_TWINS)
            for group in ("tens", "unit", "word", "ordinal")
        )
        if tens:
            if tens not in _TENS or (unit and unit not in _WORD_NUMBERS):
                continue
            number = _TENS[tens] + (_WORD_NUMBERS[unit] if unit else 0)
            found[_canonical_number("n", Decimal(number))] += 1
        elif word:
            if word not in _WORD_NUMBERS:
                continue
            if word == "one" and _pronoun_one(text, *match.span()):
                continue
            found[_canonical_number("n", Decimal(_WORD_NUMBERS[word]))] += 1
        elif ordinal_word in _ORDINAL_WORDS:
            found[_canonical_number("ord", Decimal(_ORDINAL_WORDS[ordinal_word]))] += 1
    return found


def number_guard(query_text: str, candidate_text: str | None) -> bool:
    """The numbers rule: both texts hold the same numbers (:func:`extract_numbers`).

    "What is 2+2?" never answers "What is 2+3?", nor "2 apples" "two apples and 3 pears".
    When the candidate's text was not stored (``store_input=False``) it cannot be checked:
    the candidate is accepted only if the query holds no number at all.

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        True when the two multisets of numbers are equal (for an unknown candidate: when
        the query holds no number).
    """
    query_numbers = number_counts(query_text)
    if candidate_text is None:
        return not query_numbers
    return query_numbers == number_counts(candidate_text)
