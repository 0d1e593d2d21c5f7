"""The Elasticsearch semantic caches end to end against the real node: a fake chat model,
the REAL WordLlama embedding model (offline) where meaning matters."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from langchain_core.embeddings import Embeddings
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchSemanticCache,
    ConfigurationError,
    ElasticsearchSemanticCache,
)
from langchain_elasticsearch_cache.domain.semantic import partition_hashes, split_prompt
from langchain_elasticsearch_cache.domain.semantic_records import (
    SemanticRecord,
    semantic_record_to_document,
)
from langchain_elasticsearch_cache.interfaces.langchain.wordllama import WordLlamaEmbeddings
from tests.fakes import CountingEmbeddings, CountingListChatModel

pytestmark = pytest.mark.elasticsearch

LOGGER = "langchain_elasticsearch_cache"
QUESTION = "Who wrote Pride and Prejudice?"
PARAPHRASE = "Who is the author of Pride and Prejudice?"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ShortEmbeddings(Embeddings):
    """Three-dimension vectors: another 'embedding model' for the dims mismatch."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, float(len(text) % 7), 0.5]


def _model(cache: Any, *responses: str) -> CountingListChatModel:
    return CountingListChatModel(responses=list(responses) or ["model answer"], cache=cache)


def closed_port_url() -> str:
    """A URL nothing listens on: connecting is refused (a real outage, no mock)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def wordllama() -> WordLlamaEmbeddings:
    return WordLlamaEmbeddings()


@pytest.fixture
def embeddings(wordllama: WordLlamaEmbeddings) -> CountingEmbeddings:
    return CountingEmbeddings(wordllama)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(
    es_url: str, index_name: str, embeddings: CountingEmbeddings, clock: Clock
) -> Iterator[ElasticsearchSemanticCache]:
    with ElasticsearchSemanticCache(
        index_name, embeddings, es_url=es_url, refresh="wait_for", clock=clock
    ) as semantic_cache:
        yield semantic_cache


def test_a_paraphrase_hits_and_an_exact_repeat_makes_no_embedding_call(
    cache: ElasticsearchSemanticCache, embeddings: CountingEmbeddings
) -> None:
    model = _model(cache, "Jane Austen", "someone else")
    assert model.invoke(QUESTION).content == "Jane Austen"
    assert embeddings.calls == [QUESTION]  # the miss and its update: one call
    assert model.invoke(PARAPHRASE).content == "Jane Austen"
    assert model.calls == 1
    embeddings.calls.clear()
    assert model.invoke(QUESTION).content == "Jane Austen"
    assert embeddings.calls == []
    stats = cache.statistics
    assert (stats.exact_hits, stats.semantic_hits, stats.misses) == (1, 1, 1)
    assert stats.embedding_calls == 2
    assert model.invoke("What is the capital of France?").content == "someone else"


def test_another_models_nearer_entries_never_answer(
    es_url: str, index_name: str, embeddings: CountingEmbeddings
) -> None:
    with ElasticsearchSemanticCache(
        index_name, embeddings, es_url=es_url, refresh="wait_for", k=1
    ) as cache:
        model_a = _model(cache, "answer of model A")
        model_b = _model(cache, "answer of model B")
        model_b.invoke(PARAPHRASE)
        model_a.invoke(QUESTION)  # identical to the question below
        for i in range(10):  # and a crowd of nearer entries of model A
            cache.update(
                dumps([HumanMessage(f"{QUESTION}{'!' * (i + 1)}")]),
                model_a._get_llm_string(),
                [Generation(text="answer of model A")],
            )
        assert model_b.invoke(QUESTION).content == "answer of model B"
        assert model_b.calls == 1
        assert cache.statistics.semantic_hits == 1


def test_expired_neighbours_do_not_hide_live_ones(
    es_url: str, index_name: str, embeddings: CountingEmbeddings, clock: Clock
) -> None:
    with ElasticsearchSemanticCache(
        index_name, embeddings, es_url=es_url, refresh="wait_for", ttl=60, clock=clock, k=1
    ) as cache:
        model = _model(cache, "old answer", "fresh answer", "unused")
        model.invoke(QUESTION)  # identical to the lookup below, soon expired
        clock.advance(61)
        model.invoke(PARAPHRASE)  # live, a little further away
        clock.advance(1)
        assert model.invoke(QUESTION).content == "fresh answer"
        assert model.calls == 2
        assert cache.statistics.semantic_hits == 1


def test_the_number_guard_and_the_negation_rule(
    es_url: str, index_name: str, embeddings: CountingEmbeddings
) -> None:
    with ElasticsearchSemanticCache(
        index_name, embeddings, es_url=es_url, refresh="wait_for", similarity_threshold=0.8
    ) as cache:
        model = _model(cache, "4", "5", "yes", "no")
        model.invoke("What is 2+2?")
        assert model.invoke("What is 2+3?").content == "5"
        assert model.invoke("What's 2+2?").content == "4"  # same numbers: a hit
        model.invoke("Is this mushroom safe to eat?")
        assert model.invoke("Is this mushroom not safe to eat?").content == "no"
        assert model.calls == 4
    with ElasticsearchSemanticCache(
        f"{index_name}-unguarded",
        embeddings,
        es_url=es_url,
        refresh="wait_for",
        similarity_threshold=0.8,
        hit_guard=None,
    ) as unguarded:
        reckless = _model(unguarded, "4", "5")
        reckless.invoke("What is 2+2?")
        assert reckless.invoke("What is 2+3?").content == "4"  # what the guard prevents


def test_a_shared_system_prompt_and_earlier_turns(cache: ElasticsearchSemanticCache) -> None:
    system = SystemMessage(
        "You are the assistant of ACME Corp. Answer politely and concisely, cite the "
        "internal handbook where relevant, never reveal confidential data. " * 3
    )
    model = _model(cache, "use the reset link", "Paris", "Ann", "Bob")
    model.invoke([system, HumanMessage("How do I reset my password?")])
    assert model.invoke([system, HumanMessage("What is the capital of France?")]).content == (
        "Paris"
    )

    def conversation(name: str) -> list[BaseMessage]:
        return [
            HumanMessage(f"My name is {name}."),
            AIMessage(f"Hi {name}!"),
            HumanMessage("What is my name?"),
        ]

    assert model.invoke(conversation("Ann")).content == "Ann"
    assert model.invoke(conversation("Bob")).content == "Bob"
    assert model.calls == 4


def test_an_index_of_other_dims_is_a_configuration_error(
    es_url: str, index_name: str, embeddings: CountingEmbeddings
) -> None:
    with ElasticsearchSemanticCache(index_name, embeddings, es_url=es_url) as cache:
        _model(cache).invoke(QUESTION)
    with (
        ElasticsearchSemanticCache(
            index_name, ShortEmbeddings(), es_url=es_url, fail_open=True
        ) as other,
        pytest.raises(ConfigurationError) as caught,
    ):
        other.lookup(dumps([HumanMessage(PARAPHRASE)]), "llm")
    message = str(caught.value)
    # another model: refused by the model the index records, before the length is compared
    assert f"index {index_name!r} holds vectors of the embedding model" in message
    assert "CountingEmbeddings()" in message and "ShortEmbeddings()" in message
    assert "another index_name" in message


def test_corrupt_and_hostile_documents_are_misses(
    cache: ElasticsearchSemanticCache,
    embeddings: CountingEmbeddings,
    es_client: Elasticsearch,
    index_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = _model(cache, "the model's answer")
    llm_string = model._get_llm_string()
    prompt = dumps([HumanMessage(QUESTION)])
    llm_hash, context_hash = partition_hashes(llm_string, split_prompt(prompt).context)
    vector = tuple(embeddings.embed_query(QUESTION))
    cache.update("seed", "another model", [Generation(text="seed")])  # creates the index
    genuine = semantic_record_to_document(
        SemanticRecord(
            key="x",
            llm_output=("placeholder",),
            timestamp=cache._clock(),
            llm_string_hash=llm_hash,
            context_hash=context_hash,
            vector=vector,
            prompt_text=QUESTION,
        )
    )
    hostile_outputs: list[Any] = [
        ["not json"],
        ['{"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {}}'],
        ['{"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]}'],
        [],
    ]
    for i, output in enumerate(hostile_outputs):
        es_client.index(
            index=index_name, id=f"forged-{i}", document={**genuine, "llm_output": output}
        )
    es_client.index(
        index=index_name,
        id="no-output",
        document={k: v for k, v in genuine.items() if k != "llm_output"},
    )
    es_client.indices.refresh(index=index_name)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert model.invoke(QUESTION).content == "the model's answer"
    assert model.calls == 1
    assert "treated as a miss" in caplog.text


def test_fail_open_with_the_embedding_model_down(
    cache: ElasticsearchSemanticCache, embeddings: CountingEmbeddings
) -> None:
    cache._runtime.fail_open = True
    embeddings.failure = ConnectionError("embedding service down")
    model = _model(cache, "first", "second")
    assert model.invoke(QUESTION).content == "first"
    assert model.invoke(PARAPHRASE).content == "second"
    assert cache.statistics.embedding_failures >= 2


def test_fail_open_with_elasticsearch_down(embeddings: CountingEmbeddings) -> None:
    url = closed_port_url()
    with ElasticsearchSemanticCache(
        "semantic", embeddings, es_url=url, fail_open=True, max_retries=0, request_timeout=3
    ) as cache:
        model = _model(cache, "first", "second")
        assert model.invoke(QUESTION).content == "first"
        assert model.invoke(QUESTION).content == "second"
        assert cache.statistics.failed_open >= 2
    with pytest.raises(Exception, match="cannot reach Elasticsearch"):
        ElasticsearchSemanticCache("semantic", embeddings, es_url=url, max_retries=0)


async def test_async_fail_open_with_elasticsearch_down(embeddings: CountingEmbeddings) -> None:
    url = closed_port_url()
    async with AsyncElasticsearchSemanticCache(
        "semantic", embeddings, es_url=url, fail_open=True, max_retries=0, request_timeout=3
    ) as cache:
        model = _model(cache, "first", "second")
        assert (await model.ainvoke(QUESTION)).content == "first"
        assert (await model.ainvoke(QUESTION)).content == "second"
        assert cache.statistics.failed_open >= 2
    strict = AsyncElasticsearchSemanticCache("semantic", embeddings, es_url=url, max_retries=0)
    with pytest.raises(Exception, match="cannot reach Elasticsearch"):
        await strict.alookup("prompt", "llm")
    await strict.aclose()


def test_refresh_semantics(
    es_url: str, index_name: str, embeddings: CountingEmbeddings, es_client: Elasticsearch
) -> None:
    with ElasticsearchSemanticCache(index_name, embeddings, es_url=es_url) as cache:
        model = _model(cache, "seed", "Jane Austen", "unused")
        model.invoke("What is the capital of France?")  # creates the index
        es_client.indices.put_settings(index=index_name, settings={"refresh_interval": "-1"})
        es_client.indices.refresh(index=index_name)
        model.invoke(QUESTION)
        assert model.invoke(QUESTION).content == "Jane Austen"  # exact: realtime
        assert cache.lookup(dumps([HumanMessage(PARAPHRASE)]), model._get_llm_string()) is None
        es_client.indices.refresh(index=index_name)
        assert model.invoke(PARAPHRASE).content == "Jane Austen"
        assert model.calls == 2
    with ElasticsearchSemanticCache(
        f"{index_name}-wait", embeddings, es_url=es_url, refresh="wait_for"
    ) as waiting:
        model = _model(waiting, "seed", "Jane Austen", "unused")
        model.invoke("What is the capital of France?")
        model.invoke(QUESTION)  # returns once a refresh has made it searchable
        assert model.invoke(PARAPHRASE).content == "Jane Austen"
        assert model.calls == 2


async def test_async_paraphrases_and_concurrent_lookups(
    es_url: str, index_name: str, embeddings: CountingEmbeddings
) -> None:
    async with AsyncElasticsearchSemanticCache(
        index_name, embeddings, es_url=es_url, refresh="wait_for"
    ) as cache:
        model = _model(cache, "Jane Austen", "Paris", "unused")
        await model.ainvoke(QUESTION)
        await model.ainvoke("What is the capital of France?")
        assert len(embeddings.calls) == 2
        answers = await asyncio.gather(
            model.ainvoke(PARAPHRASE),
            model.ainvoke("What's the capital of France?"),
            model.ainvoke(QUESTION),
        )
        assert [a.content for a in answers] == ["Jane Austen", "Paris", "Jane Austen"]
        assert model.calls == 2
        stats = cache.statistics
        assert (stats.exact_hits, stats.semantic_hits) == (1, 2)


def test_demo_semantic_uses_elasticsearch_with_a_url(
    es_url: str, index_name: str, es_client: Elasticsearch, capsys: pytest.CaptureFixture[str]
) -> None:
    from langchain_elasticsearch_cache.interfaces import cli

    # cli.main() adds a handler on the (captured) stderr and sets the client loggers'
    # levels: put them back afterwards, or later tests see other logging
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = ("elastic_transport", "elasticsearch")
    levels = {name: logging.getLogger(name).level for name in names}
    try:
        code = cli.main(["demo", "--semantic", "--es-url", es_url, "--index", index_name, "--keep"])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)
    assert code == 0
    out = capsys.readouterr().out
    assert f"the Elasticsearch semantic index '{index_name}-semantic'" in out
    paraphrase = next(line for line in out.splitlines() if "Who is the author" in line)
    assert "semantic hit" in paraphrase
    assert "1 exact hit(s), 1 semantic hit(s), 3 miss(es), 4 embedding call(s)" in out
    assert es_client.count(index=f"{index_name}-semantic")["count"] == 3
