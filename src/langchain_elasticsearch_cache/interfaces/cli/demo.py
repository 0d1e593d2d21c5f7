"""``demo``: a fake chat model answered through the cache, misses then hits, then a new
prompt streamed twice through ``CachedChatModel`` (a streamed miss, then the streamed hit
replayed); in memory, or in Elasticsearch when a connection is given. ``demo --semantic``
is in :mod:`.semantic_demo` (imported only when asked for: it needs the ``[semantic]``
extra)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from typing import Any

from .connection import add_connection_flags, cache_connection, has_connection
from .errors import EXIT_OK

__all__ = ["add_demo_command", "cmd_demo"]


def cmd_demo(args: argparse.Namespace) -> int:
    if getattr(args, "semantic", False):
        from .semantic_demo import run_semantic_demo

        return run_semantic_demo(args)
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    class CountingChatModel(FakeListChatModel):
        """A fake chat model that counts how often it is really called."""

        calls: int = 0

        def _call(self, *call_args: Any, **kwargs: Any) -> str:
            self.calls += 1
            return super()._call(*call_args, **kwargs)

    if has_connection(args):
        from ..langchain.elasticsearch_caches import ElasticsearchCache

        cache: Any = ElasticsearchCache(args.index, **cache_connection(args))
        where = f"Elasticsearch index {args.index!r}"
    else:
        from ..langchain.memory import InMemoryLlmCache

        cache = InMemoryLlmCache()
        where = "the in-memory cache (no ES_URL / --es-url given)"
    print(f"demo: a fake chat model answered through {where}")
    prompts = ["What is a cache?", "Why Elasticsearch?", "What is a cache?"]
    model = CountingChatModel(responses=[f"answer #{i}" for i in range(1, 10)], cache=cache)
    try:
        for round_no in (1, 2):
            for prompt in prompts:
                before = model.calls
                started = time.perf_counter()
                answer = model.invoke(prompt).content
                took = (time.perf_counter() - started) * 1000
                source = "model call (miss)" if model.calls > before else "cache hit"
                print(
                    f"  round {round_no}: {prompt!r:24} -> {answer!r:12} {source:18} {took:7.2f} ms"
                )
        stats = cache.statistics
        print(f"model calls: {model.calls} for {2 * len(prompts)} invocations")
        print(
            f"cache lookups: {stats.hits} hits, {stats.misses} misses, "
            f"{stats.writes} writes, hit rate {stats.hit_rate:.0%}"
        )
        _stream_twice(cache)
        if has_connection(args) and not args.keep:
            cache.clear()
    finally:
        cache.close()
    return EXIT_OK


STREAM_PROMPT = "How are streamed answers cached?"
STREAM_ANSWER = "Stored whole when the stream ends."


def _stream_twice(cache: Any) -> None:
    """Stream one new prompt twice through ``CachedChatModel`` with ``cache``: the model's
    chunks as they arrive (a miss), then the stored answer replayed as one chunk (a hit).
    langchain-core alone never consults the cache when streaming."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    from ..langchain.cached_chat_model import CachedChatModel

    calls = 0

    def answers() -> Iterator[str]:  # one per model call; shared by the wrapper's copies
        nonlocal calls
        while True:
            calls += 1
            yield STREAM_ANSWER

    chat = CachedChatModel(GenericFakeChatModel(messages=answers()), cache)
    print(f"streamed through CachedChatModel (the same cache): {STREAM_PROMPT!r}, twice")
    for stream_no in (1, 2):
        before = calls
        print(f"  stream {stream_no}:", end="", flush=True)
        started = time.perf_counter()
        chunks = 0
        for chunk in chat.stream(STREAM_PROMPT):
            chunks += 1
            print(f" {chunk.content!r}", end="", flush=True)  # each chunk as it arrives
        took = (time.perf_counter() - started) * 1000
        source = "model call (miss)" if calls > before else "cache hit (replayed)"
        unit = "chunk" if chunks == 1 else "chunks"
        print(f" -> {source}, {chunks} {unit}, {took:.2f} ms")
    print(f"model calls: {calls} for 2 streams")


def add_demo_command(sub: Any) -> None:
    """Register ``demo`` on the CLI's subparsers."""
    demo = sub.add_parser(
        "demo",
        help="show a fake chat model answered from the cache",
        description="A fake chat model answered through the cache: misses, then hits; "
        "then a new prompt streamed twice through CachedChatModel (a miss, then a hit). "
        "In memory, or in Elasticsearch when ES_URL / --es-url is given.",
    )
    add_connection_flags(demo)
    demo.add_argument("--index", default="langchain-cache-demo", help="index or alias name")
    demo.add_argument("--keep", action="store_true", help="keep the demo entries")
    demo.add_argument(
        "--semantic",
        action="store_true",
        help="the semantic cache: a paraphrase answered from the cache (needs the "
        "[semantic] extra: a small embedding model that runs offline)",
    )
    demo.set_defaults(func=cmd_demo)
