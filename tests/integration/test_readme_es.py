"""The complete examples of README.md and docs/*.md that need a server, run as written
against the real node: only the example URL and the index names change (to the node's URL
and to fresh names)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from langchain_core.globals import get_llm_cache, set_llm_cache

import langchain_elasticsearch_cache as package

from ..readme_blocks import EXAMPLE_URL, Block, python_blocks, the_block

SERVER_CLASSES = (
    "ElasticsearchCache",
    "ElasticsearchEmbeddingsCache",
    "ElasticsearchSemanticCache",
)


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every Elasticsearch cache the examples create (the examples do not close them; the
    test does, so no client is left open). Each class is replaced by a subclass that only
    records its instances."""
    instances: list[Any] = []
    for name in SERVER_CLASSES:
        original = getattr(package, name)
        recording = type(name, (original,), {"__init__": _recording_init(original, instances)})
        monkeypatch.setattr(package, name, recording)
    previous = get_llm_cache()
    try:
        yield instances
    finally:
        set_llm_cache(previous)
        for instance in instances:
            with contextlib.suppress(Exception):
                instance.close()


def _recording_init(original: type, instances: list[Any]) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original.__init__(self, *args, **kwargs)  # type: ignore[misc]
        instances.append(self)

    return __init__


def _run_with_node(block: Block, es_url: str, index_name: str) -> dict[str, Any]:
    replacements = {EXAMPLE_URL: repr(es_url)}
    for literal, suffix in (
        ('"llm-cache"', "llm"),
        ('"embeddings-cache"', "embeddings"),
        ('"llm-semantic"', "semantic"),
    ):
        if literal in block.code:
            replacements[literal] = repr(f"{index_name}-{suffix}")
    namespace: dict[str, Any] = {}
    block.run(namespace, replacements)
    return namespace


def test_every_complete_server_example_runs_against_the_node(
    es_url: str, index_name: str, made: list[Any]
) -> None:
    blocks = [block for block in python_blocks() if EXAMPLE_URL in block.code]
    assert len(blocks) >= 2, blocks
    assert any(block.source.startswith("docs/") for block in blocks), blocks
    for block in blocks:
        _run_with_node(block, es_url, index_name)
    assert {type(instance).__name__ for instance in made} == set(SERVER_CLASSES)


def test_embeddings_example_stores_and_reads_vectors_in_elasticsearch(
    es_url: str, index_name: str, es_client: Elasticsearch, made: list[Any]
) -> None:
    namespace = _run_with_node(the_block("CacheBackedEmbeddings"), es_url, index_name)
    (store,) = made
    texts = ["hello", "world"]
    assert namespace["vectors"] == namespace["underlying"].embed_documents(texts)
    assert (store.statistics.hits, store.statistics.misses) == (2, 2)
    es_client.indices.refresh(index=f"{index_name}-embeddings")
    assert es_client.count(index=f"{index_name}-embeddings")["count"] == len(texts)
