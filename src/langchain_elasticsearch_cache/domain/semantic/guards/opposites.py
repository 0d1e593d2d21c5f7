"""The opposites rule: "benefits of X" never answers "drawbacks of X", "good" never "bad".

Separate because its table of opposite word groups is the part of the guard most likely to
grow, and it changes for no other rule.
"""

from __future__ import annotations

from .words import words

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
    query_words, candidate_words = set(words(query_text)), set(words(candidate_text))
    for positive, negative in OPPOSITES:
        q_pos, q_neg = bool(query_words & positive), bool(query_words & negative)
        c_pos, c_neg = bool(candidate_words & positive), bool(candidate_words & negative)
        if (q_pos and not q_neg and c_neg and not c_pos) or (
            q_neg and not q_pos and c_pos and not c_neg
        ):
            return False
    return True
