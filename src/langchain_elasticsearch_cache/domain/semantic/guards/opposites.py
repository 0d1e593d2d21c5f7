"""The opposites rule: "benefits of X" never answers "drawbacks of X", "good" never "bad".

Separate because its table of opposite word groups is the part of the guard most likely to
grow, and it changes for no other rule.
"""

from __future__ import annotations

from .words import per_text, word_set

__all__ = ["OPPOSITES", "opposite_guard"]

#: Pairs of word groups of opposite polarity: a text with only the first group's words never
#: answers one with only the second's ("benefits" / "drawbacks", "good" / "bad").
OPPOSITES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(positive.split()), frozenset(negative.split()))
    for positive, negative in (
        ("good", "bad"),
        ("best", "worst"),
        ("better", "worse"),
        (
            "benefit benefits advantage advantages pro pros upside upsides",
            "drawback drawbacks disadvantage disadvantages con cons downside downsides",
        ),
        ("strength strengths", "weakness weaknesses"),
        ("increase increases raise", "decrease decreases reduce lower"),
        ("more", "less fewer"),
        ("before", "after"),
        ("true", "false"),
        ("safe", "dangerous"),
        ("legal allowed permitted", "illegal forbidden banned prohibited"),
        ("cheap cheaper cheapest", "expensive"),
        ("easy easier easiest", "hard harder hardest difficult"),
        ("hot", "cold"),
        ("high", "low"),
        ("love", "hate"),
        ("start", "stop"),
        ("win", "lose"),
        ("buy", "sell"),
        ("import", "export"),
        ("upload", "download"),
        ("encrypt", "decrypt"),
        ("add", "remove"),
        ("open", "close"),
    )
)


def _side_table() -> dict[str, tuple[tuple[int, int], ...]]:
    table: dict[str, tuple[tuple[int, int], ...]] = {}
    for index, (positive, negative) in enumerate(OPPOSITES):
        for side, group in ((1, positive), (2, negative)):
            for word in group:
                table[word] = (*table.get(word, ()), (index, side))
    return table


#: Each word of :data:`OPPOSITES`: the pairs it is in, and on which side (1 the positive,
#: 2 the negative).
_SIDES = _side_table()


@per_text
def _polarities(text: str) -> tuple[int, ...]:
    """For each pair of :data:`OPPOSITES`, which sides ``text``'s words are on: 0 neither,
    1 only the positive, 2 only the negative, 3 both."""
    sides = [0] * len(OPPOSITES)
    for word in word_set(text):
        for index, side in _SIDES.get(word, ()):
            sides[index] |= side
    return tuple(sides)


def opposite_guard(query_text: str, candidate_text: str | None) -> bool:
    """The opposites rule: neither text asks the opposite of the other.

    Refused when one text holds only the "positive" words of a pair of :data:`OPPOSITES`
    and the other only the "negative" ones ("What are the benefits of remote work?" /
    "What are the downsides of remote work?"). A text holding both sides ("pros and cons")
    is never refused by that pair.

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        False when some pair of opposites splits the two texts; True otherwise, or when the
        candidate is unknown.
    """
    if candidate_text is None:
        return True
    query, candidate = _polarities(query_text), _polarities(candidate_text)
    return query == candidate or not any(
        sides in ((1, 2), (2, 1)) for sides in zip(query, candidate, strict=True)
    )
