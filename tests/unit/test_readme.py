"""The Python examples of README.md and docs/*.md run as written (those that need a server:
see tests/integration/test_readme_es.py)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.globals import get_llm_cache, set_llm_cache

import langchain_elasticsearch_cache
from langchain_elasticsearch_cache import InMemoryEmbeddingsCache

from ..readme_blocks import EXAMPLE_URL, python_blocks, the_block


def test_blocks_that_need_no_server_run_in_reading_order() -> None:
    """Run each document's blocks top to bottom in one namespace, as a reader of that
    document would; the statistics block reads the ``cache`` a block before it made, after
    that cache has been used (its ``operations["lookup"]`` exists once a lookup was made)."""
    blocks = [block for block in python_blocks() if not block.needs_server]
    assert len(blocks) >= 2, blocks
    assert any(block.source.startswith("docs/") for block in blocks), blocks
    namespaces: dict[str, dict[str, Any]] = {}
    global_cache = get_llm_cache()  # a block may call set_llm_cache: not for later tests
    try:
        for block in blocks:
            namespace = namespaces.setdefault(block.source, {})
            if "cache.statistics" in block.code:
                namespace["cache"].lookup("a prompt", "an llm string")
            block.run(namespace)
    finally:
        set_llm_cache(global_cache)
    (statistics_block,) = [block for block in blocks if "cache.statistics" in block.code]
    namespace = namespaces[statistics_block.source]
    assert "cache" in namespace and "stats" in namespace


def test_every_server_block_is_a_complete_example_or_a_marked_fragment() -> None:
    """A block that needs a server either names the example URL (and is run against a real
    node) or says ``es_url=...``; nothing falls between the two tests."""
    for block in python_blocks():
        if block.needs_server:
            assert block.is_fragment or EXAMPLE_URL in block.code, block


def test_embeddings_example_runs_with_the_in_memory_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example as written, with the in-memory store standing in for the server: the
    imports exist in today's packages, the call signatures fit, and the second
    ``embed_documents`` is answered from the store."""
    block = the_block("CacheBackedEmbeddings")
    made: list[InMemoryEmbeddingsCache] = []

    def in_memory(index_name: str, *, es_url: str) -> InMemoryEmbeddingsCache:
        assert (index_name, f'"{es_url}"') == ("embeddings-cache", EXAMPLE_URL)
        made.append(InMemoryEmbeddingsCache())
        return made[-1]

    monkeypatch.setattr(langchain_elasticsearch_cache, "ElasticsearchEmbeddingsCache", in_memory)
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. LangChain's warning about SHA-1 keys
        block.run(namespace)

    (store,) = made
    texts = ["hello", "world"]
    assert namespace["vectors"] == namespace["underlying"].embed_documents(texts)
    keys = sorted(store.yield_keys())
    assert len(keys) == len(texts) and all(key.startswith("model-x") for key in keys), keys
    assert (store.statistics.hits, store.statistics.misses) == (2, 2)


def test_streaming_example_streams_a_miss_then_replays_the_hit() -> None:
    """The README's CachedChatModel example, checked from outside the block too (its own
    asserts could be edited away): two streams, one model call, the hit in one chunk."""
    namespace: dict[str, Any] = {}
    the_block('chat.stream("Capital of France?")').run(namespace)
    text = "Paris is the capital of France."
    assert len(namespace["first"]) > 1 and "".join(namespace["first"]) == text
    assert namespace["again"] == [text]
    assert list(namespace["answers"]) == [], "the model was called more than once"


def test_batch_example_makes_one_model_call_for_duplicates() -> None:
    namespace: dict[str, Any] = {}
    the_block("chat.batch(").run(namespace)
    assert [reply.content for reply in namespace["replies"]] == ["Rome"] * 4
    assert list(namespace["answers"]) == [], "the model was called more than once"
