"""The semantic cache end to end: a fake chat model, the in-memory store, a REAL embedding
model (WordLlama, offline) where meaning matters, and a counting fake where only the
mechanics do."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncInMemorySemanticCache,
    ConfigurationError,
    InMemorySemanticCache,
    PromptParts,
    RepositorySemanticCache,
)
from langchain_elasticsearch_cache.adapters.memory_vector import InMemoryVectorRepository
from langchain_elasticsearch_cache.domain.semantic import partition_hashes, split_prompt
from langchain_elasticsearch_cache.domain.semantic_records import SemanticRecord
from langchain_elasticsearch_cache.interfaces.langchain._runtime import Runtime
from langchain_elasticsearch_cache.interfaces.langchain.wordllama import WordLlamaEmbeddings
from tests.fakes import CountingEmbeddings, CountingListChatModel, HashEmbeddings

from .conftest import FakeClock

LOGGER = "langchain_elasticsearch_cache"


@pytest.fixture(scope="module")
def wordllama() -> WordLlamaEmbeddings:
    return WordLlamaEmbeddings()


@pytest.fixture
def embeddings(wordllama: WordLlamaEmbeddings) -> CountingEmbeddings:
    return CountingEmbeddings(wordllama)


@pytest.fixture
def cache(embeddings: CountingEmbeddings, clock: FakeClock) -> Iterator[InMemorySemanticCache]:
    with InMemorySemanticCache(embeddings, clock=clock) as semantic_cache:
        yield semantic_cache


def _model(cache: Any, *responses: str) -> CountingListChatModel:
    return CountingListChatModel(responses=list(responses) or ["model answer"], cache=cache)


def _cos(embedding: Embeddings, a: str, b: str) -> float:
    x, y = embedding.embed_query(a), embedding.embed_query(b)
    dot = sum(p * q for p, q in zip(x, y, strict=True))
    return dot / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y))


# --------------------------------------------------------------------------- real model


def test_a_paraphrase_is_answered_from_the_cache(
    cache: InMemorySemanticCache, embeddings: CountingEmbeddings
) -> None:
    model = _model(cache, "Jane Austen", "someone else")
    assert model.invoke("Who wrote Pride and Prejudice?").content == "Jane Austen"
    answer = model.invoke("Who is the author of Pride and Prejudice?")
    assert answer.content == "Jane Austen"
    assert model.calls == 1
    stats = cache.statistics
    assert (stats.exact_hits, stats.semantic_hits, stats.misses) == (0, 1, 1)
    (similarity,) = stats.similarities
    assert cache.policy.similarity_threshold <= similarity < 1.0


def test_an_unrelated_question_is_a_miss(cache: InMemorySemanticCache) -> None:
    model = _model(cache, "Jane Austen", "Paris")
    model.invoke("Who wrote Pride and Prejudice?")
    assert model.invoke("What is the capital of France?").content == "Paris"
    assert model.calls == 2


def test_an_exact_repeat_makes_no_embedding_call(
    cache: InMemorySemanticCache, embeddings: CountingEmbeddings
) -> None:
    model = _model(cache, "Jane Austen")
    model.invoke("Who wrote Pride and Prejudice?")
    embeddings.calls.clear()
    assert model.invoke("Who wrote Pride and Prejudice?").content == "Jane Austen"
    assert embeddings.calls == []
    assert cache.statistics.exact_hits == 1


def test_a_miss_and_its_update_embed_once(
    cache: InMemorySemanticCache, embeddings: CountingEmbeddings
) -> None:
    model = _model(cache, "Jane Austen")
    model.invoke([SystemMessage("Be brief."), HumanMessage("Who wrote Pride and Prejudice?")])
    assert embeddings.calls == ["Who wrote Pride and Prejudice?"]
    assert cache.statistics.embedding_calls == 1
    assert cache.statistics.writes == 1


def test_another_models_nearer_entries_never_answer(embeddings: CountingEmbeddings) -> None:
    question = "Who wrote Pride and Prejudice?"
    paraphrase = "Who is the author of Pride and Prejudice?"
    cache = InMemorySemanticCache(embeddings, k=1)  # one candidate: it must be model B's
    model_a = _model(cache, "answer of model A")
    model_b = _model(cache, "answer of model B")
    model_b.invoke(paraphrase)
    model_a.invoke(question)  # identical to the question below (similarity 1)
    for i in range(10):  # and a crowd of near entries of model A
        cache.update(
            dumps([HumanMessage(f"{question}{'!' * (i + 1)}")]),
            model_a._get_llm_string(),
            [Generation(text="answer of model A")],
        )
    assert model_b.invoke(question).content == "answer of model B"
    assert model_b.calls == 1
    assert cache.statistics.semantic_hits == 1
    fresh_model = _model(cache, "a third model's answer")
    assert fresh_model.invoke(question).content == "a third model's answer"


def test_expired_neighbours_do_not_hide_live_ones(
    embeddings: CountingEmbeddings, clock: FakeClock
) -> None:
    cache = InMemorySemanticCache(embeddings, ttl=60, clock=clock, k=1)
    old = _model(cache, "old answer", "fresh answer", "unused")
    old.invoke("Who wrote Pride and Prejudice?")  # identical to the query below
    clock.advance(61)
    old.invoke("Who is the author of Pride and Prejudice?")  # live, a little further away
    clock.advance(1)
    assert old.invoke("Who wrote Pride and Prejudice?").content == "fresh answer"
    assert old.calls == 2
    assert cache.statistics.semantic_hits == 1


def test_the_number_guard(embeddings: CountingEmbeddings, wordllama: WordLlamaEmbeddings) -> None:
    two_plus_two, two_plus_three = "What is 2+2?", "What is 2+3?"
    threshold = 0.8
    assert _cos(wordllama, two_plus_two, two_plus_three) >= threshold  # close in meaning
    guarded = InMemorySemanticCache(embeddings, similarity_threshold=threshold)
    model = _model(guarded, "4", "5")
    model.invoke(two_plus_two)
    assert model.invoke(two_plus_three).content == "5"
    assert model.invoke("What's 2+2?").content == "4"  # same numbers: a hit
    assert model.calls == 2
    unguarded = InMemorySemanticCache(embeddings, similarity_threshold=threshold, hit_guard=None)
    reckless = _model(unguarded, "4", "5")
    reckless.invoke(two_plus_two)
    assert reckless.invoke(two_plus_three).content == "4"  # what the guard prevents


def test_a_shared_long_system_prompt_does_not_make_unrelated_questions_hit(
    embeddings: CountingEmbeddings, wordllama: WordLlamaEmbeddings
) -> None:
    system = SystemMessage(
        "You are the assistant of ACME Corp. Answer politely and concisely, cite the "
        "internal handbook where relevant, never reveal confidential data, and always "
        "answer in English. " * 3
    )
    first = [system, HumanMessage("How do I reset my password?")]
    second = [system, HumanMessage("What is the capital of France?")]
    # what a cache embedding the serialised messages would compare: nearly identical
    assert _cos(wordllama, dumps(first), dumps(second)) > 0.95
    cache = InMemorySemanticCache(embeddings)
    model = _model(cache, "use the reset link", "Paris")
    model.invoke(first)
    assert model.invoke(second).content == "Paris"
    whole = InMemorySemanticCache(embeddings, prompt_splitter=lambda p: PromptParts(p, ""))
    naive = _model(whole, "use the reset link", "Paris")
    naive.invoke(first)
    assert naive.invoke(second).content == "use the reset link"  # the peers' fault


def test_conversations_differing_only_in_an_earlier_turn_do_not_hit(
    cache: InMemorySemanticCache,
) -> None:
    def conversation(name: str) -> list[BaseMessage]:
        return [
            HumanMessage(f"My name is {name}."),
            AIMessage(f"Hi {name}!"),
            HumanMessage("What is my name?"),
        ]

    model = _model(cache, "Ann", "Bob")
    assert model.invoke(conversation("Ann")).content == "Ann"
    assert model.invoke(conversation("Bob")).content == "Bob"
    assert model.invoke(conversation("Ann")).content == "Ann"  # an exact hit
    assert model.calls == 2


def test_corrupt_and_hostile_records_are_misses(
    cache: InMemorySemanticCache, embeddings: CountingEmbeddings, caplog: pytest.LogCaptureFixture
) -> None:
    model = _model(cache, "the model's answer", "again")
    question = "Who wrote Pride and Prejudice?"
    llm_string = model._get_llm_string()
    context = split_prompt(dumps([HumanMessage(question)])).context  # what the model sends
    llm_hash, context_hash = partition_hashes(llm_string, context)
    vector = embeddings.embed_query(question)
    hostile = [
        ("not json",),
        ('{"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {}}',),
        ('{"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]}',),
        (42,),
    ]
    assert isinstance(cache.repository, InMemoryVectorRepository)
    for i, output in enumerate(hostile):
        cache.repository.put(
            SemanticRecord(
                key=f"forged-{i}",
                llm_output=output,  # type: ignore[arg-type]
                timestamp=cache._clock(),
                llm_string_hash=llm_hash,
                context_hash=context_hash,
                vector=vector,
                prompt_text=question,
            )
        )
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert model.invoke(question).content == "the model's answer"
    assert model.calls == 1
    assert "treated as a miss" in caplog.text


def test_a_corrupt_nearest_candidate_is_skipped_for_the_next(
    cache: InMemorySemanticCache, embeddings: CountingEmbeddings
) -> None:
    model = _model(cache, "Jane Austen")
    model.invoke("Who is the author of Pride and Prejudice?")
    stored = next(iter(cache.repository.scan()))
    cache.repository.put(
        SemanticRecord(
            key="forged",
            llm_output=("garbage",),
            timestamp=stored.timestamp,
            llm_string_hash=stored.llm_string_hash,
            context_hash=stored.context_hash,
            vector=embeddings.embed_query("Who wrote Pride and Prejudice?"),
            prompt_text="Who wrote Pride and Prejudice?",
        )
    )
    assert model.invoke("Who wrote Pride and Prejudice?").content == "Jane Austen"
    assert model.calls == 1


def test_fail_open_with_the_embedding_model_down(
    embeddings: CountingEmbeddings, caplog: pytest.LogCaptureFixture
) -> None:
    cache = InMemorySemanticCache(embeddings, fail_open=True)
    model = _model(cache, "first", "second", "third", "fourth")
    model.invoke("Who wrote Pride and Prejudice?")
    embeddings.failure = ConnectionError("embedding service down")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert model.invoke("Who is the author of Pride and Prejudice?").content == "second"
        assert model.invoke("What is a cache?").content == "third"
        assert model.invoke("Who wrote Pride and Prejudice?").content == "first"  # exact
    stats = cache.statistics
    assert stats.failed_open == 4  # two lookups, two updates
    assert stats.embedding_failures == 4
    assert stats.writes == 1
    assert cache.repository.count() == 1  # nothing written without its vector
    warnings = [r for r in caplog.records if "continuing without the cache" in r.getMessage()]
    assert len(warnings) == 1
    assert "embedding service down" in warnings[0].getMessage()
    embeddings.failure = None
    assert model.invoke("Who is the author of Pride and Prejudice?").content == "first"


def test_without_fail_open_the_models_error_reaches_the_caller(
    embeddings: CountingEmbeddings,
) -> None:
    cache = InMemorySemanticCache(embeddings)
    failure = ConnectionError("embedding service down")
    embeddings.failure = failure
    with pytest.raises(ConnectionError) as info:
        cache.lookup("What is a cache?", "llm")
    assert info.value is failure
    with pytest.raises(ConnectionError):
        cache.update("What is a cache?", "llm", [Generation(text="x")])


@pytest.mark.parametrize("garbage", [[], [math.nan, 1.0], ["x"], 7])
def test_a_model_returning_garbage(embeddings: CountingEmbeddings, garbage: Any) -> None:
    embeddings.garbage = garbage
    with pytest.raises(ConfigurationError, match="embedding"):
        InMemorySemanticCache(embeddings).lookup("What is a cache?", "llm")
    failing_open = InMemorySemanticCache(embeddings, fail_open=True)
    assert failing_open.lookup("What is a cache?", "llm") is None
    failing_open.update("What is a cache?", "llm", [Generation(text="x")])
    assert failing_open.repository.count() == 0
    assert failing_open.statistics.failed_open == 2


# --------------------------------------------------------------------------- mechanics


@pytest.fixture
def hashed() -> CountingEmbeddings:
    return CountingEmbeddings(HashEmbeddings())


def test_a_zero_vector_is_compared_exactly_only(hashed: CountingEmbeddings) -> None:
    hashed.garbage = [0.0] * 32
    cache = InMemorySemanticCache(hashed)
    assert cache.lookup("q", "llm") is None
    cache.update("q", "llm", [Generation(text="a")])
    assert cache.lookup("q", "llm") == [Generation(text="a")]
    assert next(iter(cache.repository.scan())).vector is None


def test_blank_meanings_are_cached_exactly_without_embedding(hashed: CountingEmbeddings) -> None:
    cache = InMemorySemanticCache(hashed)
    image_only = dumps([HumanMessage(content=[{"type": "image_url", "image_url": {"url": "u"}}])])
    for prompt in ("", "   ", image_only):
        assert cache.lookup(prompt, "llm") is None
        cache.update(prompt, "llm", [Generation(text=f"answer to {prompt!r}")])
        assert cache.lookup(prompt, "llm") == [Generation(text=f"answer to {prompt!r}")]
    assert hashed.calls == []


def test_the_vector_memo_is_bounded(hashed: CountingEmbeddings) -> None:
    cache = InMemorySemanticCache(hashed, vector_memo_size=2)
    for prompt in ("a", "b", "c"):
        assert cache.lookup(prompt, "llm") is None
    assert len(cache._memo) == 2
    for prompt in ("a", "b", "c"):
        cache.update(prompt, "llm", [Generation(text=prompt)])
    assert hashed.calls == ["a", "b", "c", "a"]  # "a" was forgotten, so embedded again
    assert len(cache._memo) == 0


def test_a_semantic_hit_leaves_nothing_in_the_memo(hashed: CountingEmbeddings) -> None:
    cache = InMemorySemanticCache(hashed, prompt_splitter=lambda p: PromptParts(p.rstrip("?"), ""))
    cache.update("q", "llm", [Generation(text="a")])
    assert cache.lookup("q?", "llm") == [Generation(text="a")]
    assert len(cache._memo) == 0


def test_store_input_false_with_the_number_guard(hashed: CountingEmbeddings) -> None:
    splitter = lambda p: PromptParts(p.rstrip("?"), "")  # noqa: E731 - "q?" means "q"
    cache = InMemorySemanticCache(hashed, store_input=False, prompt_splitter=splitter)
    cache.update("What is a cache", "llm", [Generation(text="a")])
    cache.update("What is 2+2", "llm", [Generation(text="4")])
    record = next(r for r in cache.repository.scan() if r.llm_output[0].find("4") > 0)
    assert record.prompt_text is None
    assert cache.lookup("What is a cache?", "llm") == [Generation(text="a")]
    assert cache.lookup("What is 2+2?", "llm") is None  # cannot check the numbers


def test_delete_clear_purge_and_statistics(hashed: CountingEmbeddings, clock: FakeClock) -> None:
    with InMemorySemanticCache(hashed, ttl=10, clock=clock) as cache:
        cache.update("a", "llm", [Generation(text="A")])
        cache.update("b", "llm", [Generation(text="B")])
        assert cache.delete("a", "llm") is True
        assert cache.delete("a", "llm") is False
        assert cache.lookup("a", "llm") is None
        clock.advance(10)
        assert cache.purge_expired() == 1
        cache.update("c", "llm", [Generation(text="C")])
        assert cache.lookup("c", "llm") == [Generation(text="C")]
        stats = cache.statistics
        assert (stats.hits, stats.exact_hits, stats.semantic_hits, stats.misses) == (1, 1, 0, 1)
        assert stats.operations["delete"].calls == 2
        cache.clear()
        assert cache.repository.count() == 0
        cache.reset_statistics()
        assert cache.statistics.embedding_calls == 0
        assert cache.statistics.operations == {}
    assert "similarity_threshold=0.9" in repr(cache)


def test_bad_options_are_configuration_errors(hashed: CountingEmbeddings) -> None:
    with pytest.raises(ConfigurationError, match="Embeddings"):
        InMemorySemanticCache("text-embedding-3-small")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="similarity_threshold"):
        InMemorySemanticCache(hashed, similarity_threshold=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="vector_memo_size"):
        InMemorySemanticCache(hashed, vector_memo_size=-1)
    with pytest.raises(ConfigurationError, match="ttl"):
        InMemorySemanticCache(hashed, ttl=-1)


def test_a_dimension_mismatch_raises_even_failing_open(hashed: CountingEmbeddings) -> None:
    repository = InMemoryVectorRepository()
    cache = RepositorySemanticCache(repository, hashed, fail_open=True)
    cache.update("a", "llm", [Generation(text="A")])
    hashed.garbage = [1.0, 0.0, 0.0]
    with pytest.raises(ConfigurationError, match="3 dimensions but this store holds vectors of 32"):
        cache.lookup("b", "llm")


def test_runtime_is_the_shared_one(hashed: CountingEmbeddings) -> None:
    assert isinstance(InMemorySemanticCache(hashed)._runtime, Runtime)


# --------------------------------------------------------------------------- async


async def test_async_paraphrase_exact_and_one_embedding_per_miss(
    embeddings: CountingEmbeddings,
) -> None:
    async with AsyncInMemorySemanticCache(embeddings) as cache:
        model = _model(cache, "Jane Austen", "other")
        assert (await model.ainvoke("Who wrote Pride and Prejudice?")).content == "Jane Austen"
        assert embeddings.calls == ["Who wrote Pride and Prejudice?"]
        await model.ainvoke("Who wrote Pride and Prejudice?")
        assert len(embeddings.calls) == 1
        answer = await model.ainvoke("Who is the author of Pride and Prejudice?")
        assert answer.content == "Jane Austen"
        assert model.calls == 1
        stats = cache.statistics
        assert (stats.exact_hits, stats.semantic_hits, stats.embedding_calls) == (1, 1, 2)


async def test_async_concurrent_lookups_share_their_exact_gets(hashed: CountingEmbeddings) -> None:
    cache = AsyncInMemorySemanticCache(hashed)
    for i in range(20):
        await cache.aupdate(f"q{i}", "llm", [Generation(text=str(i))])
    calls: list[int] = []
    inner = cache.repository
    original = inner.get_many

    async def counting_get_many(keys: Any) -> Any:
        calls.append(len(keys))
        return await original(keys)

    inner.get_many = counting_get_many  # type: ignore[method-assign]
    results = await asyncio.gather(*(cache.alookup(f"q{i}", "llm") for i in range(20)))
    assert results == [[Generation(text=str(i))] for i in range(20)]
    assert calls == [20]
    assert len(hashed.calls) == 20  # the updates only


async def test_async_fail_open_and_delete(hashed: CountingEmbeddings) -> None:
    cache = AsyncInMemorySemanticCache(hashed, fail_open=True)
    await cache.aupdate("a", "llm", [Generation(text="A")])
    hashed.failure = TimeoutError("slow model")
    assert await cache.alookup("b", "llm") is None
    await cache.aupdate("b", "llm", [Generation(text="B")])
    assert await cache.alookup("a", "llm") == [Generation(text="A")]
    assert await cache.adelete("a", "llm") is True
    assert cache.statistics.failed_open == 2
    await cache.aclear()
    assert await cache.repository.count() == 0
    with pytest.raises(NotImplementedError, match="alookup"):
        cache.lookup("a", "llm")
    strict = AsyncInMemorySemanticCache(hashed)
    with pytest.raises(TimeoutError, match="slow model"):
        await strict.alookup("b", "llm")


def test_threads_share_one_cache(hashed: CountingEmbeddings) -> None:
    cache = InMemorySemanticCache(hashed)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(50):
                prompt = f"question {worker}-{i}"
                if cache.lookup(prompt, "llm") is None:
                    cache.update(prompt, "llm", [Generation(text=prompt)])
                assert cache.lookup(prompt, "llm") == [Generation(text=prompt)]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stats = cache.statistics
    assert (stats.writes, stats.exact_hits, stats.embedding_calls) == (200, 200, 200)
    assert len(cache._memo) == 0
