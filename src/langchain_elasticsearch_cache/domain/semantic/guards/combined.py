"""How rules become one hit guard: the :data:`HitGuard` type, :func:`combine_guards` and the
default guard, :func:`default_hit_guard`, with its rules by name.

Separate from the rules themselves: adding, removing or reordering a rule of the default
changes only this module, and a user's own rule plugs in here (``combine_guards``).
"""

from __future__ import annotations

from collections.abc import Callable

from ...errors import ConfigurationError
from .dates import calendar_guard
from .entity_order import entity_order_guard
from .negation import negation_guard
from .numerals import number_guard
from .opposites import opposite_guard
from .units import unit_guard
from .word_order import word_order_guard

__all__ = ["DEFAULT_GUARD_RULES", "HitGuard", "combine_guards", "default_hit_guard"]

HitGuard = Callable[[str, str | None], bool]
"""``guard(query_text, candidate_text)``: may this candidate answer this query?
``candidate_text`` is ``None`` when the entry was stored without its input."""


def combine_guards(*guards: HitGuard) -> HitGuard:
    """One guard that accepts a candidate only if every one of ``guards`` does.

    The guards are asked in order, stopping at the first refusal. Use it to add a rule of
    your own to the default one: ``combine_guards(default_hit_guard, my_rule)``.

    Args:
        *guards: Hit guards, callables ``(query_text, candidate_text) -> bool``. None at
            all gives a guard that accepts every candidate.

    Returns:
        The combined :data:`HitGuard` (its ``__doc__`` lists the guards' names).

    Raises:
        ConfigurationError: One of ``guards`` is not callable.
    """
    for guard in guards:
        if not callable(guard):
            raise ConfigurationError(
                f"combine_guards takes hit guards, callables (query_text, candidate_text) "
                f"-> bool; got {type(guard).__name__}"
            )
    rules = tuple(guards)

    def combined(query_text: str, candidate_text: str | None) -> bool:
        return all(rule(query_text, candidate_text) for rule in rules)

    combined.__doc__ = "All of: " + ", ".join(getattr(g, "__name__", repr(g)) for g in rules)
    return combined


#: The rules of :func:`default_hit_guard`, by name (the quality report switches each off).
DEFAULT_GUARD_RULES: dict[str, HitGuard] = {
    "numbers": number_guard,
    "negation": negation_guard,
    "opposites": opposite_guard,
    "calendar": calendar_guard,
    "units": unit_guard,
    "entity_order": entity_order_guard,
    "word_order": word_order_guard,
}


def default_hit_guard(query_text: str, candidate_text: str | None) -> bool:
    """The default hit guard: every rule of :data:`DEFAULT_GUARD_RULES` must accept.

    Same numbers (:func:`number_guard`), as many negations (:func:`negation_guard`), no
    opposite words (:func:`opposite_guard`), the same calendar words and units
    (:func:`calendar_guard`, :func:`unit_guard`), shared entities in the same order
    (:func:`entity_order_guard`) and, when the content words are the same, no swap
    (:func:`word_order_guard`). An embedding model that averages word vectors scores all of
    these pairs like paraphrases; the rules are cheap and pure. When the candidate's text was
    not stored (``store_input=False``) only the number rule can answer: the candidate is
    accepted if the query holds no number.

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        True when every rule accepts the candidate.
    """
    return all(rule(query_text, candidate_text) for rule in DEFAULT_GUARD_RULES.values())
