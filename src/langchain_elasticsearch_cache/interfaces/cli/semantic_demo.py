"""``demo --semantic``: a paraphrase answered from the cache by a real embedding model.

Imported by ``demo`` only when ``--semantic`` is given (LangChain's message classes load here).

The embedding model is WordLlama, loaded offline from its wheel (``[semantic]`` extra):
no network, no API key. The chat model is a fake that counts its calls, so what the cache
saved is visible.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from .connection import cache_connection, has_connection
from .errors import EXIT_OK

SYSTEM = "You are a concise assistant."
#: (question, what the demo expects it to be)
QUESTIONS = (
    ("Who wrote Pride and Prejudice?", "a miss: the model answers"),
    ("Who is the author of Pride and Prejudice?", "a paraphrase: answered from the cache"),
    ("Who wrote Pride and Prejudice?", "an exact repeat: no embedding call"),
    ("Convert 100 dollars to euros", "a miss: the model answers"),
    ("Convert 200 dollars to euros", "close in meaning, another number: the guard refuses"),
)


class _CountingChatModel(FakeListChatModel):
    calls: int = 0

    def _call(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        return super()._call(*args, **kwargs)


def _cosine(embedding: Embeddings, a: str, b: str) -> float:
    x, y = embedding.embed_query(a), embedding.embed_query(b)
    dot = sum(p * q for p, q in zip(x, y, strict=True))
    return dot / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y))


def semantic_cache_for(args: argparse.Namespace, embedding: Embeddings) -> tuple[Any, str]:
    """The cache the demo uses, and where it lives: with a connection (``--es-url``,
    ``ES_URL``, ``--es-cloud-id``...) an :class:`ElasticsearchSemanticCache` on the index
    ``<--index>-semantic`` (writes wait for the refresh, so the paraphrase right after its
    question is found by the kNN search); without one, the in-memory semantic cache."""
    from ..langchain.elasticsearch_semantic import ElasticsearchSemanticCache
    from ..langchain.semantic_memory import InMemorySemanticCache

    if has_connection(args):
        index = f"{args.index}-semantic"
        cache = ElasticsearchSemanticCache(
            index, embedding, refresh="wait_for", **cache_connection(args)
        )
        return cache, f"the Elasticsearch semantic index {index!r}"
    return InMemorySemanticCache(embedding), "the in-memory semantic cache"


def run_semantic_demo(args: argparse.Namespace) -> int:
    from ..langchain.wordllama import WordLlamaEmbeddings

    embedding = WordLlamaEmbeddings()  # a ConfigurationError names the missing extra
    cache, where = semantic_cache_for(args, embedding)
    print(f"demo --semantic: a fake chat model answered through {where}")
    threshold = cache.policy.similarity_threshold
    print(f"embedding model: WordLlama (offline), similarity threshold {threshold}")
    model = _CountingChatModel(
        responses=["Jane Austen.", "About 92 euros.", "About 184 euros.", "(unused)"], cache=cache
    )
    try:
        previous: str | None = None
        for question, expectation in QUESTIONS:
            before_calls = model.calls
            before = cache.statistics
            started = time.perf_counter()
            answer = model.invoke([SystemMessage(SYSTEM), HumanMessage(question)]).content
            took = (time.perf_counter() - started) * 1000
            after = cache.statistics
            if model.calls > before_calls:
                source = "model call (miss)"
            elif after.semantic_hits > before.semantic_hits:
                source = f"semantic hit, similarity {after.similarities[-1]:.3f}"
            else:
                source = "exact hit"
            print(f"  {question!r:46} -> {answer!r:20} {source} ({took:.1f} ms)")
            print(f"  {'':46}    expected: {expectation}")
            if question.startswith("Convert 200") and previous is not None:
                similarity = _cosine(embedding, previous, question)
                print(
                    f"  {'':46}    similarity to {previous!r}: {similarity:.3f}, "
                    "but the numbers differ"
                )
            previous = question
        stats = cache.statistics
        print(
            f"model calls: {model.calls} for {len(QUESTIONS)} questions; cache: "
            f"{stats.exact_hits} exact hit(s), {stats.semantic_hits} semantic hit(s), "
            f"{stats.misses} miss(es), {stats.embedding_calls} embedding call(s)"
        )
        if hasattr(cache, "index_name") and not args.keep:
            cache.clear()
    finally:
        cache.close()
    return EXIT_OK
