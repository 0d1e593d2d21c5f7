"""The LLM cache features LangChain users expect, on a real Elasticsearch node: answers that
could never be read back are not written, ``delete`` invalidates one entry, and the entry
listing streams page by page (checked by spying on the real client's requests)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_elasticsearch_cache import AsyncElasticsearchCache, ElasticsearchCache
from langchain_elasticsearch_cache.adapters.elasticsearch import LLM_RECORDS

pytestmark = pytest.mark.elasticsearch

LOGGER = "langchain_elasticsearch_cache"


class Spy:
    """Wraps some methods of a real client: each call is recorded, then really made."""

    def __init__(self, client: Any, *names: str) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        for name in names:
            setattr(client, name, self._wrap(name, getattr(client, name)))

    def _wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return method(*args, **kwargs)

        return spy

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for called, kwargs in self.calls if called == name]


def with_datetime() -> list[Generation]:
    created = datetime(2024, 5, 1, tzinfo=timezone.utc)
    return [ChatGeneration(message=AIMessage(content="a", response_metadata={"created": created}))]


def with_bytes() -> list[Generation]:
    return [ChatGeneration(message=AIMessage(content="a", additional_kwargs={"raw": b"\x01"}))]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "not caching an answer" in r.getMessage()]


def test_an_uncacheable_answer_is_never_written(
    es_client: Elasticsearch, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cache = ElasticsearchCache(index_name, client=es_client)
    spy = Spy(es_client, "index", "bulk")
    for attempt in range(3):
        for answer in (with_datetime, with_bytes):
            cache.update(f"prompt {attempt}", "llm", answer())
            assert cache.lookup(f"prompt {attempt}", "llm") is None
    assert spy.calls == []  # nothing was sent to be written
    assert cache.repository.count() == 0
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "generations[0].message.response_metadata.created" in warnings[0]
    assert not [r for r in caplog.records if "unreadable" in r.getMessage()]
    assert cache.statistics.uncacheable == 6
    cache.update("fine", "llm", [Generation(text="ok")])
    assert len(spy.named("index")) == 1
    assert cache.lookup("fine", "llm") == [Generation(text="ok")]


async def test_an_uncacheable_answer_is_never_written_async(
    async_es_client: AsyncElasticsearch, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cache = AsyncElasticsearchCache(index_name, client=async_es_client)
    spy = Spy(async_es_client, "index", "bulk")
    for attempt in range(3):
        for answer in (with_bytes, with_datetime):
            await cache.aupdate(f"prompt {attempt}", "llm", answer())
            assert await cache.alookup(f"prompt {attempt}", "llm") is None
    assert spy.calls == []
    assert await cache.repository.count() == 0
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "generations[0].message.additional_kwargs.raw" in warnings[0]
    assert cache.statistics.uncacheable == 6


def _answer(text: str) -> list[Generation]:
    return [Generation(text=text)]


def test_delete_removes_exactly_one_entry(es_client: Elasticsearch, index_name: str) -> None:
    cache = ElasticsearchCache(index_name, client=es_client)
    for prompt in ("a", "b", "c"):
        cache.update(prompt, "llm", _answer(prompt))
    cache.update("a", "other llm", _answer("a2"))
    assert cache.delete("a", "llm") is True
    assert cache.lookup("a", "llm") is None
    assert cache.lookup("a", "other llm") == _answer("a2")
    assert cache.lookup("b", "llm") == _answer("b")
    assert cache.lookup("c", "llm") == _answer("c")
    assert cache.delete("a", "llm") is False
    assert cache.repository.count() == 3


async def test_adelete_removes_exactly_one_entry(
    async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    cache = AsyncElasticsearchCache(index_name, client=async_es_client)
    for prompt in ("a", "b"):
        await cache.aupdate(prompt, "llm", _answer(prompt))
    assert await cache.adelete("a", "llm") is True
    assert await cache.alookup("a", "llm") is None
    assert await cache.alookup("b", "llm") == _answer("b")
    assert await cache.adelete("a", "llm") is False
    assert await cache.repository.count() == 1


def test_delete_behind_an_alias_removes_every_copy(
    es_client: Elasticsearch, index_name: str
) -> None:
    old, new = f"{index_name}-000001", f"{index_name}-000002"
    mappings = LLM_RECORDS.mappings
    es_client.indices.create(
        index=old, mappings=mappings, aliases={index_name: {"is_write_index": False}}
    )
    es_client.indices.create(
        index=new, mappings=mappings, aliases={index_name: {"is_write_index": True}}
    )
    older = ElasticsearchCache(old, client=es_client)
    older.update("a", "llm", _answer("old copy"))
    older.update("b", "llm", _answer("b"))
    cache = ElasticsearchCache(index_name, client=es_client)
    cache.update("a", "llm", _answer("new copy"))
    assert cache.delete("a", "llm") is True
    assert cache.lookup("a", "llm") is None  # the old copy went too
    assert cache.lookup("b", "llm") == _answer("b")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def _filled(
    es_client: Elasticsearch, index_name: str, count: int
) -> tuple[ElasticsearchCache, dict[tuple[str, str], datetime]]:
    """A cache holding ``count`` entries, each written at its own second."""
    clock = Clock()
    cache = ElasticsearchCache(index_name, client=es_client, clock=clock)
    times = {}
    for i in range(count):
        clock.now = datetime(2024, 5, 1, 12, 0, i, tzinfo=timezone.utc)
        cache.update(f"prompt {i}", f"llm {i % 2}", _answer(str(i)))
        times[(f"prompt {i}", f"llm {i % 2}")] = clock.now
    return cache, times


def test_entries_lists_every_entry_page_by_page(es_client: Elasticsearch, index_name: str) -> None:
    cache, written = _filled(es_client, index_name, 7)
    spy = Spy(es_client, "search")
    listed = list(cache.entries(page_size=3))
    assert {(e.prompt, e.llm_string): e.timestamp for e in listed} == written
    assert len(listed) == 7
    assert {e.key for e in listed} == {cache.policy.key(p, s) for p, s in written}
    sizes = [request["size"] for request in spy.named("search")]
    assert sizes and all(size <= 3 for size in sizes)
    assert len(sizes) >= 3  # 7 entries, at most 3 a page


def test_taking_the_first_entry_fetches_one_page(es_client: Elasticsearch, index_name: str) -> None:
    cache, _ = _filled(es_client, index_name, 6)
    spy = Spy(es_client, "search")
    listing = cache.entries(page_size=2)
    first = next(listing)
    assert first.prompt is not None and first.prompt.startswith("prompt ")
    assert [request["size"] for request in spy.named("search")] == [2]
    listing.close()  # stopping early closes the point in time


def test_entries_without_stored_inputs(es_client: Elasticsearch, index_name: str) -> None:
    cache = ElasticsearchCache(
        index_name, client=es_client, store_input=False, store_input_params=False
    )
    cache.update("p", "llm", _answer("x"))
    [entry] = cache.entries()
    assert (entry.prompt, entry.llm_string, entry.key) == (None, None, cache.policy.key("p", "llm"))


async def test_aentries_lists_every_entry_page_by_page(
    async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    cache = AsyncElasticsearchCache(index_name, client=async_es_client)
    for i in range(5):
        await cache.aupdate(f"prompt {i}", "llm", _answer(str(i)))
    spy = Spy(async_es_client, "search")
    listed = [entry async for entry in cache.aentries(page_size=2)]
    assert sorted(str(e.prompt) for e in listed) == [f"prompt {i}" for i in range(5)]
    sizes = [request["size"] for request in spy.named("search")]
    assert sizes and all(size <= 2 for size in sizes)

    spy.calls.clear()
    listing = cache.aentries(page_size=2)
    await listing.__anext__()
    assert [request["size"] for request in spy.named("search")] == [2]
    await listing.aclose()
