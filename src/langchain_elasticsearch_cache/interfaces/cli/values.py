"""Option values read from the command line: durations (``7d``), positive counts and
timeouts."""

from __future__ import annotations

import argparse
import math
from datetime import timedelta

from ...domain.errors import ConfigurationError

__all__ = ["parse_duration", "parse_timeout", "positive_int"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w`` (or a bare number of seconds)."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _UNITS else "s"
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    try:
        value = float(number)
        duration = timedelta(seconds=value * _UNITS[unit])
    except (ValueError, OverflowError):
        raise ConfigurationError(
            f"cannot read duration {text!r}: use a number and a unit, e.g. 90s, 15m, 12h, 7d, 2w"
        ) from None
    if not value > 0:
        raise ConfigurationError(f"duration must be positive, got {text!r}")
    return duration


def positive_int(text: str) -> int:
    """An argparse ``type=``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_timeout(text: str | None, *, flag: str = "--timeout") -> float | None:
    """``--timeout SECONDS``: a positive, finite number (``None`` when not given).

    A ``ConfigurationError`` (one line, exit 2) for anything else: 0, a negative number,
    ``nan`` and ``inf`` included (the client would refuse the first ones with a traceback
    and take ``inf`` as a timeout no socket accepts, failing every request as if the node
    were down).
    """
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(
            f"{flag} {text!r} is not a number of seconds more than 0 and less than infinity: "
            f"give e.g. {flag} 30, or leave it out for the client's 10 s"
        )
    return value
