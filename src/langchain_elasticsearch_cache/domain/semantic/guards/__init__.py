"""Hit guards: cheap, pure rules that refuse a candidate the embedding scores too kindly.

Two questions that differ only in a number embed almost identically ("What is 2+2?" /
"What is 2+3?"). A guard sees the query's meaning text and the candidate's (``None`` when
entries are stored without their input) and may refuse the candidate. One module per
family of rules, each with its own word tables:

=================  ===================  =========================================
rule (by name)     module               guard
=================  ===================  =========================================
``numbers``        :mod:`.numerals`     :func:`number_guard`
``negation``       :mod:`.negation`     :func:`negation_guard`
``opposites``      :mod:`.opposites`    :func:`opposite_guard`
``calendar``       :mod:`.dates`        :func:`calendar_guard`
``units``          :mod:`.units`        :func:`unit_guard`
``entity_order``   :mod:`.entity_order` :func:`entity_order_guard`
``word_order``     :mod:`.word_order`   :func:`word_order_guard`
=================  ===================  =========================================

:mod:`.words` holds the tokenising they share; :mod:`.combined` the :data:`HitGuard` type,
:func:`combine_guards` and :func:`default_hit_guard`.

Every rule is pure, never raises, and is symmetric: ``rule(a, b) == rule(b, a)``. Every rule
but the numbers rule returns True for an unknown candidate (``None``): it has nothing to
compare, so the default guard's answer for such a candidate is :func:`number_guard`'s.
"""

from __future__ import annotations

from .combined import DEFAULT_GUARD_RULES, HitGuard, combine_guards, default_hit_guard
from .dates import calendar_guard, calendar_words
from .entity_order import entities, entity_order_guard
from .negation import NEGATORS, negation_guard
from .numerals import extract_numbers, number_guard
from .opposites import OPPOSITES, opposite_guard
from .units import unit_guard, unit_words
from .word_order import content_words, word_order_guard
from .words import STOPWORDS

__all__ = [
    "DEFAULT_GUARD_RULES",
    "NEGATORS",
    "OPPOSITES",
    "STOPWORDS",
    "HitGuard",
    "calendar_guard",
    "calendar_words",
    "combine_guards",
    "content_words",
    "default_hit_guard",
    "entities",
    "entity_order_guard",
    "extract_numbers",
    "negation_guard",
    "number_guard",
    "opposite_guard",
    "unit_guard",
    "unit_words",
    "word_order_guard",
]
