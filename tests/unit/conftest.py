"""Fixtures for the unit tests: nothing here needs Elasticsearch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from langchain_core.globals import get_llm_cache, set_llm_cache

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


class FakeClock:
    """A clock the test moves by hand; caches accept it as ``clock=``."""

    def __init__(self, start: datetime = T0) -> None:
        self.start = start
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now = self.now + timedelta(seconds=seconds)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def global_llm_cache_restored() -> Iterator[None]:
    """Restore LangChain's process-wide LLM cache after a test that sets it."""
    previous = get_llm_cache()
    try:
        yield
    finally:
        set_llm_cache(previous)
