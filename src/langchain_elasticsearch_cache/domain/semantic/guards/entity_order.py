"""The entity order rule: "Is Paris bigger than Lyon?" never answers the reverse question.

Separate because finding entities (quoted strings, numbers, capitalised words that do not
start a sentence) is its own heuristic, with its own failure cases.
"""

from __future__ import annotations

import re

from .numerals import digit_numbers
from .words import STOPWORDS, TOKEN_RE, per_text, starts_sentence, words

__all__ = ["entities", "entity_order_guard"]

_QUOTED_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|«([^»]+)»|(?<!\w)'([^']+)'(?!\w)")
_QUOTE_MARKS = ('"', "“", "«", "'")  # each match of _QUOTED_RE starts with one


def _may_quote(text: str) -> bool:
    """False only when :data:`_QUOTED_RE` finds nothing: ``text`` holds none of its quotes."""
    return any(mark in text for mark in _QUOTE_MARKS)


@per_text
def _entity_spans(text: str) -> tuple[tuple[tuple[str, bool], ...], frozenset[str]]:
    """(every entity candidate of ``text`` in order of appearance, each with whether it is
    a sentence's first word, which counts only when the other text has it as an entity;
    the capitalised words found inside sentences)."""
    spans: list[tuple[int, str, bool]] = []
    quoted: list[tuple[int, int]] = []
    for match in _QUOTED_RE.finditer(text) if _may_quote(text) else ():
        inner = next(group for group in match.groups() if group is not None)
        spans.append((match.start(), "“" + " ".join(words(inner)) + "”", False))
        quoted.append((match.start(), match.end()))
    for at, _, number, _ in digit_numbers(text):
        if not any(start <= at < end for start, end in quoted):
            spans.append((at, "#" + number.replace(",", ""), False))
    inside: set[str] = set()
    for match in TOKEN_RE.finditer(text):
        raw = match.group()
        if raw.islower():
            continue  # no capital letter: never an entity
        if quoted and any(start <= match.start() < end for start, end in quoted):
            continue
        word = raw.lower()
        if word in STOPWORDS or not any(ch.isupper() for ch in raw):
            continue
        initial = starts_sentence(text, match.start()) and not any(ch.isupper() for ch in raw[1:])
        if not initial:
            inside.add(word)
        spans.append((match.start(), word, initial))
    spans.sort(key=lambda span: span[:2])
    return tuple((name, initial) for _, name, initial in spans), frozenset(inside)


def _entity_sequence(text: str, initial_allowed: frozenset[str]) -> list[str]:
    """The entities of ``text`` in order of appearance, a sentence's first word only when it
    is in ``initial_allowed``."""
    return [
        name for name, initial in _entity_spans(text)[0] if not initial or name in initial_allowed
    ]


def entities(text: str) -> list[str]:
    """The entities of ``text``, lower-cased, in order of appearance.

    An entity is a quoted string (one entity, whatever its length), a number, or a word
    with a capital letter that is neither a stopword nor a sentence's first word (unless
    capitalised inside, like "iPhone" or "PS5").

    Args:
        text: Any text.

    Returns:
        The entities, repeats included.
    """
    return _entity_sequence(text, frozenset())


def _first_occurrences(sequence: list[str], keep: set[str]) -> list[str]:
    return list(dict.fromkeys(item for item in sequence if item in keep))


def entity_order_guard(query_text: str, candidate_text: str | None) -> bool:
    """The entity order rule: shared entities (:func:`entities`) appear in the same order.

    Refused when both texts name the same two or more entities in another order: "Is Paris
    bigger than Lyon?" never answers "Is Lyon bigger than Paris?", nor "from Windows to
    Linux" "from Linux to Windows".

    The order compared is that of each shared entity's first appearance. A sentence's first
    word counts as an entity when the other text has it as one ("Paris is bigger than
    Lyon" / "Is Lyon bigger than Paris?").

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        False when two shared entities are in another order; True otherwise, or when the
        candidate is unknown.
    """
    if candidate_text is None:
        return True
    query_inside, candidate_inside = _entity_spans(query_text)[1], _entity_spans(candidate_text)[1]
    query_entities = _entity_sequence(query_text, candidate_inside)
    candidate_entities = _entity_sequence(candidate_text, query_inside)
    shared = set(query_entities) & set(candidate_entities)
    if len(shared) < 2:
        return True
    return _first_occurrences(query_entities, shared) == _first_occurrences(
        candidate_entities, shared
    )
