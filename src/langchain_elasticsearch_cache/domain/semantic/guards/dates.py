"""The calendar rule: "open on Monday?" never answers "open on Sunday?", nor "today" "tomorrow".

Separate because its tables (weekdays, months, seasons, "next week") are English-specific
and change on their own. (Named ``dates`` so as not to be mistaken for the standard
``calendar`` module.)
"""

from __future__ import annotations

import re
from collections import Counter

from .words import TOKEN_RE, per_text, starts_sentence, word_set, wordlist

__all__ = ["calendar_guard", "calendar_words"]

_WEEKDAYS = wordlist("monday tuesday wednesday thursday friday saturday sunday")
_MONTHS = wordlist(
    "january february march april may june july august september october november december"
)
_MONTH_ABBREVIATIONS = {
    "jan": "january",
    "feb": "february",
    "apr": "april",
    "jun": "june",
    "jul": "july",
    "aug": "august",
    "sep": "september",
    "sept": "september",
    "oct": "october",
    "nov": "november",
    "dec": "december",
}
_CALENDAR = (
    {day: day for day in _WEEKDAYS}
    | {day + "s": day for day in _WEEKDAYS}
    | {month: month for month in _MONTHS}
    | _MONTH_ABBREVIATIONS
    | {word: word for word in wordlist("today tomorrow yesterday tonight weekend")}
    | {word: word for word in wordlist("spring summer autumn winter")}
    | {word: word for word in wordlist("twenties thirties forties fifties sixties seventies")}
    | {word: word for word in wordlist("eighties nineties")}
)
# a lower-case "may" is the month after these words ("in may", "the 5th of may") or before a
# number ("may 5"); a capitalised one inside a sentence ("in May", "Is it warm in May?")
_BEFORE_A_MONTH = frozenset(
    wordlist("in since until till during early mid late of from through by last next")
)
_DIGIT_NEXT_RE = re.compile(r"\s+\d")
_PERIODS = frozenset({"week", "month", "year", "weekend", "decade", "century", "season"})
_PERIOD_MARKERS = frozenset({"last", "next", "this", "previous", "coming", "past"})
# a text holding none of these words holds no calendar word
_TRIGGERS = frozenset(_CALENDAR) | _PERIODS


def _is_the_month(text: str, match: re.Match[str], previous: str) -> bool:
    if previous in _BEFORE_A_MONTH or _DIGIT_NEXT_RE.match(text, match.end()):
        return True
    return match.group() == "May" and not starts_sentence(text, match.start())


def calendar_words(text: str) -> Counter[str]:
    """The multiset of calendar words in ``text``, canonical ("Jan" is "january").

    Weekdays, months (full or abbreviated), today / tomorrow / yesterday / tonight /
    weekend, the seasons, the decades in words ("the sixties"), and "last/next/this ...
    week/month/year" (as "last week"). "May" counts capitalised inside a sentence ("in
    May"), or in any case after "in", "since", "until", "of", "early"... or before a number
    ("in may", "may 5"); not as "May I ...?" or "you may". Years are numbers: they are
    :func:`.numerals.extract_numbers`' business, not this function's. English only.

    Args:
        text: Any text.

    Returns:
        How many times each canonical calendar word occurs.
    """
    return Counter(_calendar_counts(text))


@per_text
def _calendar_counts(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    if word_set(text).isdisjoint(_TRIGGERS):
        return found
    previous = ""
    for match in TOKEN_RE.finditer(text):
        raw = match.group()
        word = raw.lower()
        if word == "may" and not _is_the_month(text, match, previous):
            previous = word
            continue
        if word in _CALENDAR:
            found[_CALENDAR[word]] += 1
        if word in _PERIODS and previous in _PERIOD_MARKERS:
            found[f"{previous} {word}"] += 1
        previous = word
    return found


def calendar_guard(query_text: str, candidate_text: str | None) -> bool:
    """The calendar rule: both texts name the same calendar words (:func:`calendar_words`).

    "Is the museum open on Monday?" never answers "... on Sunday?", nor "today" "tomorrow".

    One text naming a date and the other none is a conflict too: the date constrains the
    answer ("Is the museum open on Monday?" / "Is the museum open?", "What will the weather
    be like next week?" / "What will the weather be like?"). That is what the numbers and
    negation rules do with a number or a negation on one side only, and the safe side for
    a cache: a wrong answer costs more than a miss. (The units rule alone forgives a unit
    word without a quantity against a text with no unit, "a cup of tea" / "tea": a unit
    word without a quantity rarely changes the answer, a date almost always does.) The cost
    is a question padded with a dated preamble, "I have a book club next week. What is the
    plot of Moby Dick?", refused against the bare question: a miss, never a wrong answer.
    A year is a number: "What happened in 1969 on the moon?" / "What happened on the
    moon?" is refused by :func:`.numerals.number_guard`, not by this rule.

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        True when the multisets are equal, or the candidate is unknown.
    """
    if candidate_text is None:
        return True
    return _calendar_counts(query_text) == _calendar_counts(candidate_text)
