"""The calendar rule: "open on Monday?" never answers "open on Sunday?", nor "today" "tomorrow".

Separate because its tables (weekdays, months, seasons, "next week") are English-specific
and change on their own. (Named ``dates`` so as not to be mistaken for the standard
``calendar`` module.)
"""

from __future__ import annotations

from collections import Counter

from .words import TOKEN_RE, starts_sentence, wordlist

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
)
_PERIODS = frozenset({"week", "month", "year", "weekend", "decade", "century", "season"})
_PERIOD_MARKERS = frozenset({"last", "next", "this", "previous", "coming", "past"})


def calendar_words(text: str) -> Counter[str]:
    """The multiset of calendar words in ``text``, canonical ("Jan" is "january").

    Weekdays, months (full or abbreviated), today / tomorrow / yesterday / tonight /
    weekend, the seasons, and "last/next/this ... week/month/year" (as "last week"). "May"
    counts only capitalised and inside a sentence ("in May"), not as "May I ...?" or "you
    may". English only.

    Args:
        text: Any text.

    Returns:
        How many times each canonical calendar word occurs.
    """
    found: Counter[str] = Counter()
    previous = ""
    for match in TOKEN_RE.finditer(text):
        raw = match.group()
        word = raw.lower()
        if word == "may" and (raw != "May" or starts_sentence(text, match.start())):
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

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        True when the multisets are equal, or the candidate is unknown.
    """
    if candidate_text is None:
        return True
    return calendar_words(query_text) == calendar_words(candidate_text)
