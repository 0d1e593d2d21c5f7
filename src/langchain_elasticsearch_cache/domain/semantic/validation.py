"""The semantic cache's settings and their checks: threshold, ``k``, guard and splitter.

Separate from the policy so that each bad argument's message (what is wrong, how to fix
it) is found in one place, next to the default it names.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from ..errors import ConfigurationError
from .guards import HitGuard
from .splitting import PromptSplitter, split_prompt

__all__ = [
    "DEFAULT_K",
    "DEFAULT_SIMILARITY_THRESHOLD",
    "MAX_K",
    "resolve_hit_guard",
    "resolve_prompt_splitter",
    "validate_k",
    "validate_similarity_threshold",
]

#: The default minimum cosine similarity of a semantic hit: a cautious starting point, to be
#: calibrated for your embedding model (``langchain-elasticsearch-cache calibrate``).
#: ``benchmarks/SEMANTIC.md`` measures it with the offline ``wordllama`` model on the 700-pair
#: evaluation set: with the default hit guard it gives precision about 0.96 there (0.9 on the
#: small held-out set); calibrated at 0.95 the grid chooses 0.89, one step away, well inside
#: the spread of a calibration, so the data do not support another value.
DEFAULT_SIMILARITY_THRESHOLD = 0.9

#: How many nearest candidates one lookup asks for: the guard or the codec may refuse the
#: nearest, and the next one is then tried without another search.
DEFAULT_K = 4
#: The largest ``k`` that :func:`validate_k` accepts.
MAX_K = 100


def validate_similarity_threshold(value: Any) -> float:
    """A cosine similarity in [-1, 1], or a ``ConfigurationError`` saying how to fix it.

    Args:
        value: The ``similarity_threshold`` a user passed.

    Returns:
        ``value`` as a float.

    Raises:
        ConfigurationError: ``value`` is not a real number (``None`` and booleans included),
            is NaN, or lies outside [-1, 1] (a distance passed for a similarity, say).
    """
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigurationError(
            f"similarity_threshold must be a number between -1 and 1 (a cosine similarity; "
            f"a hit needs at least this), not {value!r}; leave it out for the default "
            f"{DEFAULT_SIMILARITY_THRESHOLD}"
        )
    threshold = float(value)
    if math.isnan(threshold) or not -1.0 <= threshold <= 1.0:
        raise ConfigurationError(
            f"similarity_threshold must be a cosine similarity between -1 and 1, got "
            f"{value!r}; it is a similarity, not a distance: 1 accepts only identical "
            f"directions, lower values accept looser matches (default "
            f"{DEFAULT_SIMILARITY_THRESHOLD})"
        )
    return threshold


def validate_k(value: Any) -> int:
    """How many candidates one lookup examines: an integer from 1 to :data:`MAX_K`.

    Args:
        value: The ``k`` a user passed.

    Returns:
        ``value``, unchanged.

    Raises:
        ConfigurationError: ``value`` is not an integer (booleans included) in that range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_K:
        raise ConfigurationError(
            f"k (the candidates one semantic lookup examines) must be an integer from 1 to "
            f"{MAX_K}, got {value!r}"
        )
    return value


def resolve_hit_guard(value: Any) -> HitGuard | None:
    """The hit guard to use: ``value`` itself when it is callable or ``None`` (no guard).

    Args:
        value: The ``hit_guard`` a user passed.

    Returns:
        ``value``, unchanged.

    Raises:
        ConfigurationError: ``value`` is neither callable nor ``None``.
    """
    if value is None or callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigurationError(
        f"hit_guard must be a callable (query_text, candidate_text) -> bool, or None to "
        f"accept every candidate above the threshold, not {type(value).__name__}"
    )


def resolve_prompt_splitter(value: Any) -> PromptSplitter:
    """The prompt splitter to use: ``value`` when callable, :func:`split_prompt` for ``None``.

    Args:
        value: The ``prompt_splitter`` a user passed.

    Returns:
        A callable ``(prompt) -> PromptParts``.

    Raises:
        ConfigurationError: ``value`` is neither callable nor ``None``.
    """
    if value is None:
        return split_prompt
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigurationError(
        f"prompt_splitter must be a callable (prompt) -> PromptParts, or None for the "
        f"default, not {type(value).__name__}"
    )
