"""The word order rule: "Why do cats chase mice?" never answers "Why do mice chase cats?".

Separate from :mod:`.entity_order`: it compares all content words, not entities, and it
accepts a phrase moved to the front or the back (a rotation), which entity order need not,
and rephrasings that keep each word's role ("the password on my router" / "my router
password"), which it reads with its own small tables of prepositions and pronouns.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from .words import STOPWORDS, TOKEN_RE, per_text, word_tuple

__all__ = ["content_words", "word_order_guard"]


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not :data:`.words.STOPWORDS`, lower-cased, in order.

    Args:
        text: Any text.

    Returns:
        The content words, repeats included.
    """
    return list(_content(text)[0])


@per_text
def _content(text: str) -> tuple[tuple[str, ...], Counter[str]]:
    """(:func:`content_words` of ``text``, and their multiset), remembered."""
    found = tuple(word for word in word_tuple(text) if word not in STOPWORDS)
    return found, Counter(found)


def _joined(sequence: Sequence[str]) -> str:
    return "".join(word + "\x00" for word in sequence)


def _is_rotation(a: Sequence[str], b: Sequence[str]) -> bool:
    # b is a rotation of a when it is found in a twice over (words end with a NUL, which
    # no word holds, so only whole words match); linear, unlike trying each rotation
    return len(a) == len(b) and _joined(b) in _joined(a) * 2


#: Prepositions after which a phrase may be the modifier of the words before it: "the
#: password on my router" is "my router password", "a stain of wine" "a wine stain". Left
#: in place they stay in the compared order, so "a list in a tuple" never reads as the
#: compound "tuple list" (nor "a tuple in a list").
_ATTACHING = frozenset({"of", "on", "in", "at", "for"})
#: Pronouns that take up a phrase put in front: "My laptop: how do I clean it?".
_PRONOUNS = frozenset({"it", "its", "they", "them", "their", "this", "these", "those"})
#: Words ending in "ly" that are not adverbs (adverbs move freely: "quickly boil" / "boil
#: quickly"; other words keep their place).
_NOT_ADVERBS = frozenset(
    {"family", "supply", "assembly", "butterfly", "anomaly", "monopoly", "italy"}
)
_BREAKS = frozenset({",", ":", ";"})
_TOKEN_OR_BREAK_RE = re.compile(TOKEN_RE.pattern + r"|[,:;]")
#: Longer texts are compared as written: their readings would cost more than a lookup
#: should, and a question that long rarely repeats word for word in another order.
_MAX_READ_WORDS = 60
_MAX_SITES = 4  # attaching prepositions read both ways; any after them stay as written


def _is_content(word: str) -> bool:
    return word not in STOPWORDS and word not in _BREAKS


def _is_adverb(word: str) -> bool:
    return len(word) >= 6 and word.endswith("ly") and word not in _NOT_ADVERBS


def _streams(text: str) -> list[list[str]]:
    """The text's words (stopwords and ``, : ;`` included), and, when a phrase in front
    is taken up by a pronoun later, the words with the phrase put in the pronoun's place."""
    tokens = [
        match.group().lower().replace("\u2019", "'") for match in _TOKEN_OR_BREAK_RE.finditer(text)
    ]
    streams = [tokens]
    if any(token in _BREAKS for token in tokens):
        cut = next(i for i, token in enumerate(tokens) if token in _BREAKS)
        front, rest = tokens[:cut], tokens[cut + 1 :]
        spot = next((i for i, token in enumerate(rest) if token in _PRONOUNS), None)
        if spot is not None and any(_is_content(word) for word in front):
            streams.append(rest[:spot] + front + rest[spot + 1 :])
    return streams


def _attachments(tokens: list[str], start: int, budget: int) -> list[list[str]]:
    """Every reading of ``tokens`` from ``start`` on: at each attaching preposition "X P Y"
    (X the content word right before P, Y the content words after P and its determiners),
    either as written or as "Y X"; an "of" phrase is always read as "Y X" (it modifies what
    precedes it). Only the first ``budget`` prepositions are read so (the readings double
    with each); the rest stay as written.

    X is one word, the head: with more, "Is Portugal west of Spain?" would read "Spain
    Portugal west", the reading of "Is Spain west of Portugal?" read the other way.
    """
    for at in range(start, len(tokens)):
        if budget <= 0:
            break
        if tokens[at] not in _ATTACHING or at == 0 or not _is_content(tokens[at - 1]):
            continue
        after = at + 1
        while (
            after < len(tokens)
            and tokens[after] in STOPWORDS
            and tokens[after] not in _ATTACHING
            and tokens[after] not in _PRONOUNS
        ):
            after += 1
        end = after
        while end < len(tokens) and _is_content(tokens[end]):
            end += 1
        if end == after:
            continue  # nothing after the preposition to attach
        moved = tokens[: at - 1] + tokens[after:end] + [tokens[at - 1]]
        readings = _attachments(moved + tokens[end:], len(moved), budget - 1)
        if tokens[at] != "of":
            readings += _attachments(tokens, at + 1, budget - 1)
        return readings
    return [tokens]


@per_text
def _order_readings(text: str) -> frozenset[tuple[str, ...]]:
    """The orders of ``text``'s content words its possible readings give, adverbs left out,
    attaching prepositions kept where they were not rewritten."""
    readings: set[tuple[str, ...]] = set()
    for stream in _streams(text):
        for reading in _attachments(stream, 0, _MAX_SITES):
            readings.add(
                tuple(
                    word
                    for word in reading
                    if (_is_content(word) and not _is_adverb(word)) or word in _ATTACHING
                )
            )
    return frozenset(readings)


def _same_roles(query_text: str, candidate_text: str) -> bool:
    candidate_readings = _order_readings(candidate_text)
    return any(
        _is_rotation(query, candidate)
        for query in _order_readings(query_text)
        for candidate in candidate_readings
    )


def word_order_guard(query_text: str, candidate_text: str | None) -> bool:
    """The word order rule: the same content words are not swapped.

    Looked at when both texts have exactly the same content words (:func:`content_words`,
    as a multiset, at least three). Refused when they come in an order that is not a
    rotation of the other's and no reading of the two texts puts them in the same roles.

    "Why do cats chase mice?" / "Why do mice chase cats?" and "convert a list to a tuple" /
    "convert a tuple to a list" are refused. Moving a phrase to the front or the back ("For
    a soft yolk, how long do I boil an egg?") is a rotation of the content words and is
    accepted, and so are two-word texts, where a swap and a rotation are the same thing.
    Readings that keep the roles are accepted too:

    * a phrase after "of", "on", "in", "at" or "for" modifying the words before it: "the
      password on my router" reads "my router password", "a stain of red wine" "a red wine
      stain" (the preposition, when not read so, stays in the compared order, so "a list in
      a tuple" never matches "a tuple in a list");
    * a phrase put in front and taken up by a pronoun: "My laptop battery: how do I make it
      last longer?" reads "how do I make my laptop battery last longer";
    * adverbs ("quickly", "horizontally"), which move freely, are left out of the order.

    Texts of more than 60 content words are compared as written (rotations only).

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        False when the same content words come in an order that is not a rotation and no
        reading keeps their roles; True otherwise, or when the candidate is unknown.
    """
    if candidate_text is None:
        return True
    (query_words, query_counts), (candidate_words, candidate_counts) = (
        _content(query_text),
        _content(candidate_text),
    )
    if len(query_words) < 3 or query_counts != candidate_counts:
        return True
    if _is_rotation(query_words, candidate_words):
        return True
    return len(query_words) <= _MAX_READ_WORDS and _same_roles(query_text, candidate_text)
