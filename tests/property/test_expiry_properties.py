"""Property tests of the expiry rule and ttl normalisation."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langchain_elasticsearch_cache.domain import (
    ConfigurationError,
    expiry_cutoff,
    is_expired,
    normalize_ttl,
)

OFFSETS = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
# A range wide enough to matter and narrow enough that ``now - ttl`` stays representable.
TIMES = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2300, 1, 1),
    timezones=OFFSETS | st.just(timezone.utc),
)
TTLS = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=365 * 200))
DELAYS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365 * 100))


@given(TIMES, TIMES, TTLS)
def test_expired_exactly_when_created_at_or_before_the_cutoff(
    created: datetime, now: datetime, ttl: timedelta
) -> None:
    assert is_expired(created, now, ttl) == (created <= expiry_cutoff(now, ttl))


@given(TIMES, TIMES, TTLS, DELAYS)
def test_once_expired_always_expired(
    created: datetime, now: datetime, ttl: timedelta, later: timedelta
) -> None:
    if is_expired(created, now, ttl):
        assert is_expired(created, now + later, ttl)
    else:
        assert not is_expired(created, now - later, ttl)


@given(TIMES, TTLS)
def test_boundary_is_expired_and_a_microsecond_younger_is_not(
    created: datetime, ttl: timedelta
) -> None:
    assert is_expired(created, created + ttl, ttl)
    assert not is_expired(created, created + ttl - timedelta(microseconds=1), ttl)
    assert expiry_cutoff(created + ttl, ttl) == created


@given(TIMES, TTLS, TTLS)
def test_longer_ttl_never_expires_earlier(
    created: datetime, ttl_a: timedelta, ttl_b: timedelta
) -> None:
    short, long = sorted((ttl_a, ttl_b))
    now = created + short
    if is_expired(created, now, long):
        assert is_expired(created, now, short)


@given(TIMES, TIMES)
def test_no_ttl_never_expires(created: datetime, now: datetime) -> None:
    assert not is_expired(created, now, None)


@given(TIMES, TIMES, TTLS)
def test_expiry_does_not_depend_on_the_time_zone_offsets(
    created: datetime, now: datetime, ttl: timedelta
) -> None:
    utc_created = created.astimezone(timezone.utc)
    utc_now = now.astimezone(timezone.utc)
    assert is_expired(created, now, ttl) == is_expired(utc_created, utc_now, ttl)


# --- normalize_ttl ----------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=10**9))
def test_positive_int_seconds(seconds: int) -> None:
    assert normalize_ttl(seconds) == timedelta(seconds=seconds)


@given(st.floats(min_value=1e-6, max_value=1e12))
def test_positive_float_seconds(seconds: float) -> None:
    assert normalize_ttl(seconds) == timedelta(seconds=seconds)


@given(TTLS)
def test_positive_timedelta_is_kept(ttl: timedelta) -> None:
    assert normalize_ttl(ttl) == ttl


@given(st.integers(min_value=-(10**12), max_value=0) | st.floats(min_value=-1e12, max_value=0.0))
def test_non_positive_ttl_is_a_configuration_error(seconds: float) -> None:
    with pytest.raises(ConfigurationError, match="positive"):
        normalize_ttl(seconds)


def test_ttl_none_and_bad_types() -> None:
    assert normalize_ttl(None) is None
    with pytest.raises(ConfigurationError, match="bool"):
        normalize_ttl(True)
    with pytest.raises(ConfigurationError, match="str"):
        normalize_ttl("60")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="positive"):
        normalize_ttl(timedelta(0))
    with pytest.raises(ConfigurationError, match="positive"):
        normalize_ttl(timedelta(seconds=-1))
    with pytest.raises(ConfigurationError, match="positive"):
        normalize_ttl(1e-9)  # rounds to a zero timedelta


@pytest.mark.parametrize(
    "ttl",
    [
        pytest.param(math.inf, id="inf"),
        pytest.param(math.nan, id="nan"),
        pytest.param(1e20, id="float-beyond-timedelta"),
        pytest.param(10**20, id="int-beyond-timedelta"),
    ],
)
def test_unrepresentable_ttl_is_a_configuration_error(ttl: float) -> None:
    with pytest.raises(ConfigurationError):
        normalize_ttl(ttl)
