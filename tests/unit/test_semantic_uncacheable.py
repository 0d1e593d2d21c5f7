"""A semantic cache never raises on an answer that can never be cached (issue 9's rule for
the exact cache, kept by the semantic classes): the write is skipped, counted, warned once,
and the embedding model is not asked for a vector that would not be stored."""

from __future__ import annotations

import datetime
import logging

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_elasticsearch_cache import AsyncInMemorySemanticCache, InMemorySemanticCache


class CountingEmbedding(DeterministicFakeEmbedding):
    calls: int = 0

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return super().embed_query(text)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


def _uncacheable() -> list[Generation]:
    created = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    return [ChatGeneration(message=AIMessage("hi", response_metadata={"created": created}))]


def test_sync_update_skips_counts_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    embedding = CountingEmbedding(size=16)
    cache = InMemorySemanticCache(embedding)
    with caplog.at_level(logging.WARNING, logger="langchain_elasticsearch_cache"):
        for _ in range(3):
            cache.update("What time is it?", "model", _uncacheable())
    assert cache.repository.count() == 0
    assert cache.statistics.uncacheable == 3
    assert embedding.calls == 0
    warnings = [r for r in caplog.records if "response_metadata.created" in r.getMessage()]
    assert len(warnings) == 1
    cache.update("What time is it?", "model", [Generation(text="noon")])  # still writes
    assert cache.lookup("What time is it?", "model") == [Generation(text="noon")]


async def test_async_update_skips_and_counts() -> None:
    embedding = CountingEmbedding(size=16)
    cache = AsyncInMemorySemanticCache(embedding)
    await cache.aupdate("What time is it?", "model", _uncacheable())
    assert await cache.repository.count() == 0
    assert cache.statistics.uncacheable == 1
    assert embedding.calls == 0
