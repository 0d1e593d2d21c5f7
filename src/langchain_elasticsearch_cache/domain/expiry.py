"""Expiry rule: a pure function of the entry's time, the current time and the ttl."""

from __future__ import annotations

from datetime import datetime, timedelta

from .errors import ConfigurationError


def normalize_ttl(ttl: timedelta | float | int | None) -> timedelta | None:
    """Accept seconds or a timedelta; ``None`` means entries never expire."""
    if ttl is None:
        return None
    if isinstance(ttl, bool):
        raise ConfigurationError("ttl must be a number of seconds or a timedelta, not a bool")
    if isinstance(ttl, (int, float)):
        try:
            ttl = timedelta(seconds=ttl)
        except (OverflowError, ValueError):
            raise ConfigurationError(
                f"ttl of {ttl!r} seconds cannot be represented: use a finite number of "
                "seconds below about 2.7 million years, or None for no expiry"
            ) from None
    if not isinstance(ttl, timedelta):
        raise ConfigurationError(
            f"ttl must be a number of seconds or a timedelta, not {type(ttl).__name__}"
        )
    if ttl <= timedelta(0):
        raise ConfigurationError(f"ttl must be positive, got {ttl}; use None for no expiry")
    return ttl


def is_expired(created_at: datetime, now: datetime, ttl: timedelta | None) -> bool:
    """An entry created at ``created_at`` is expired at ``now`` once ``ttl`` has passed."""
    if ttl is None:
        return False
    return now - created_at >= ttl


def expiry_cutoff(now: datetime, ttl: timedelta) -> datetime:
    """The newest creation time that is expired at ``now``.

    ``is_expired(t, now, ttl)`` holds exactly when ``t <= expiry_cutoff(now, ttl)``;
    adapters turn it into a range filter.
    """
    return now - ttl
