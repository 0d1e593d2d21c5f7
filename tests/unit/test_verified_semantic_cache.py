"""Verified semantic hits (``max_error_rate``) end to end on the in-memory store: explore,
judge, learn, serve; the bookkeeping between lookup and update; failures that must never
cost the caller the answer."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncInMemorySemanticCache,
    AsyncRepositorySemanticCache,
    BackendUnavailableError,
    ConfigurationError,
    InMemorySemanticCache,
    RepositorySemanticCache,
)
from langchain_elasticsearch_cache.adapters.memory_vector import (
    AsyncInMemoryVectorRepository,
    InMemoryVectorRepository,
)
from langchain_elasticsearch_cache.domain.semantic import EmbeddingAnswerJudge, same_text_judge
from langchain_elasticsearch_cache.domain.semantic_records import SemanticRecord
from langchain_elasticsearch_cache.interfaces.langchain import _semantic_base

from .conftest import FakeClock

LLM = "fake-llm"


class DialEmbeddings(Embeddings):
    """``"base"`` is (1, 0, 0); ``"q@0.93#7"`` is a unit vector at cosine 0.93 to it
    (the ``#`` part turns it around the base axis, so queries differ from each other)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        self.calls.append(text)
        if "@" not in text:
            return [1.0, 0.0, 0.0]
        cosine = float(text.split("@")[1].split("#")[0])
        turn = float(text.split("#")[1]) if "#" in text else 0.0
        rest = math.sqrt(max(0.0, 1.0 - cosine * cosine))
        return [cosine, rest * math.cos(turn), rest * math.sin(turn)]


def _answer(text: str) -> list[Generation]:
    return [Generation(text=text)]


def _cache(**options: Any) -> InMemorySemanticCache:
    options.setdefault("max_error_rate", 0.05)
    options.setdefault("similarity_threshold", 0.5)
    options.setdefault("hit_guard", None)
    return InMemorySemanticCache(DialEmbeddings(), **options)


def _explore(cache: Any, prompt: str, answer: str) -> list[Generation] | None:
    found = cache.lookup(prompt, LLM)
    if found is None:
        cache.update(prompt, LLM, _answer(answer))
    return found  # type: ignore[no-any-return]


def test_a_new_entry_is_explored_until_its_answer_proves_right_then_served() -> None:
    cache = _cache()
    cache.update("base", LLM, _answer("Paris"))
    first = cache.lookup("q@0.95#1", LLM)
    assert first is None  # nothing is known about the entry: explored, not served
    cache.update("q@0.95#1", LLM, _answer("paris "))  # same answer once normalised
    stats = cache.statistics
    assert (stats.explorations, stats.observations, stats.wrong_observations) == (1, 1, 0)
    entry = cache.repository.get(cache.policy.key("base", LLM))
    assert entry is not None and [(b.similarity, b.right, b.wrong) for b in entry.observations] == [
        (0.95, 1, 0)
    ]
    served_at = None
    for index in range(2, 40):
        if _explore(cache, f"q@0.95#{index}", "Paris") is not None:
            served_at = index
            break
    assert served_at is not None, "right answers at 0.95 never made the entry servable"
    assert cache.statistics.semantic_hits == 1
    # far below where it was observed, the entry is still explored, not served
    assert cache.lookup("q@0.6#99", LLM) is None


def test_a_wrong_answer_is_observed_and_stored_as_a_new_entry_with_its_vector() -> None:
    cache = _cache()
    cache.update("base", LLM, _answer("Paris"))
    assert cache.lookup("q@0.9#1", LLM) is None
    cache.update("q@0.9#1", LLM, _answer("Lyon"))
    assert (cache.statistics.observations, cache.statistics.wrong_observations) == (1, 1)
    new = cache.repository.get(cache.policy.key("q@0.9#1", LLM))
    assert new is not None and new.vector is not None and new.observations == ()
    # the same answer: the new prompt is kept for exact repeats, without a vector
    assert cache.lookup("q@0.9#4", LLM) is None
    cache.update("q@0.9#4", LLM, _answer("Paris"))
    same = cache.repository.get(cache.policy.key("q@0.9#4", LLM))
    assert same is not None and same.vector is None
    assert cache.lookup("q@0.9#4", LLM) == _answer("Paris")  # an exact hit


def test_the_update_after_an_exploration_embeds_nothing() -> None:
    cache = _cache()
    embeddings: DialEmbeddings = cache.embedding  # type: ignore[assignment]
    cache.update("base", LLM, _answer("Paris"))
    embeddings.calls.clear()
    assert cache.lookup("q@0.9#1", LLM) is None
    cache.update("q@0.9#1", LLM, _answer("Lyon"))
    assert embeddings.calls == ["q@0.9#1"]


def test_without_max_error_rate_nothing_changes() -> None:
    cache = InMemorySemanticCache(DialEmbeddings(), similarity_threshold=0.9, hit_guard=None)
    cache.update("base", LLM, _answer("Paris"))
    assert cache.lookup("q@0.95#1", LLM) == _answer("Paris")
    assert cache.statistics.explorations == 0


def test_an_expired_or_forgotten_exploration_only_stores_the_answer(clock: FakeClock) -> None:
    cache = _cache(clock=clock)
    cache.update("base", LLM, _answer("Paris"))
    assert cache.lookup("q@0.9#1", LLM) is None
    clock.advance(_semantic_base.PENDING_TTL.total_seconds() + 1)
    cache.update("q@0.9#1", LLM, _answer("Paris"))
    assert cache.statistics.observations == 0
    assert cache.repository.get(cache.policy.key("q@0.9#1", LLM)) is not None


def test_the_pending_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_semantic_base, "PENDING_OBSERVATIONS", 3)
    cache = _cache()
    cache.update("base", LLM, _answer("Paris"))
    for index in range(10):
        assert cache.lookup(f"q@0.9#{index}", LLM) is None
    assert len(cache._pending) == 3
    cache.update("q@0.9#0", LLM, _answer("Paris"))  # forgotten: no observation
    cache.update("q@0.9#9", LLM, _answer("Paris"))  # remembered
    assert cache.statistics.observations == 1


def test_a_judge_that_raises_costs_no_answer(caplog: pytest.LogCaptureFixture) -> None:
    def broken(fresh: Sequence[Generation], cached: Sequence[Generation]) -> bool:
        raise RuntimeError("judge model down")

    cache = _cache(answer_judge=broken)
    cache.update("base", LLM, _answer("Paris"))
    assert cache.lookup("q@0.9#1", LLM) is None
    cache.update("q@0.9#1", LLM, _answer("Paris"))
    assert cache.statistics.judge_failures == 1 and cache.statistics.observations == 0
    stored = cache.repository.get(cache.policy.key("q@0.9#1", LLM))
    assert stored is not None and stored.vector is not None
    assert "judge model down" in caplog.text


def test_a_sync_cache_refuses_a_coroutine_judge_without_losing_the_answer() -> None:
    async def judge(fresh: Sequence[Generation], cached: Sequence[Generation]) -> bool:
        return True

    cache = _cache(answer_judge=judge)
    cache.update("base", LLM, _answer("Paris"))
    assert cache.lookup("q@0.9#1", LLM) is None
    cache.update("q@0.9#1", LLM, _answer("Paris"))
    assert cache.statistics.judge_failures == 1
    assert cache.repository.get(cache.policy.key("q@0.9#1", LLM)) is not None


def test_the_embedding_judge_compares_meanings_and_skips_identical_texts() -> None:
    seen: list[str] = []

    def embed(text: str) -> list[float]:
        seen.append(text)
        return {"Paris": [1.0, 0.0], "It is Paris": [0.99, 0.14], "Lyon": [0.0, 1.0]}[text]

    judge = EmbeddingAnswerJudge(embed, min_similarity=0.95)
    assert judge(_answer("Paris"), _answer(" paris")) and seen == []
    assert judge(_answer("It is Paris"), _answer("Paris"))
    assert not judge(_answer("Lyon"), _answer("Paris"))
    with pytest.raises(ConfigurationError, match="min_similarity"):
        EmbeddingAnswerJudge(embed, min_similarity=2)
    assert same_text_judge(_answer("A  b"), _answer("a b"))
    assert not same_text_judge(_answer("a"), [Generation(text="a"), Generation(text="a")])


class NoObservations(InMemoryVectorRepository):
    """A vector repository that cannot record observations (None: not implemented)."""

    add_observation = None  # type: ignore[assignment]


def test_bad_settings_are_configuration_errors() -> None:
    for bad in (0, 0.5, 1, -0.1, float("nan"), "0.1", True):
        with pytest.raises(ConfigurationError, match="max_error_rate"):
            _cache(max_error_rate=bad)
    with pytest.raises(ConfigurationError, match="answer_judge"):
        _cache(answer_judge="equal")

    repository = InMemoryVectorRepository()
    RepositorySemanticCache(repository, DialEmbeddings(), max_error_rate=0.1)  # accepted
    with pytest.raises(ConfigurationError, match="add_observation"):
        RepositorySemanticCache(NoObservations(), DialEmbeddings(), max_error_rate=0.1)


class FailingObservations(InMemoryVectorRepository):
    def add_observation(self, key: str, similarity: float, right: bool) -> bool:
        raise BackendUnavailableError("observation write timed out")


def test_fail_open_an_observation_that_cannot_be_written_costs_no_answer() -> None:
    cache = RepositorySemanticCache(
        FailingObservations(),
        DialEmbeddings(),
        max_error_rate=0.05,
        similarity_threshold=0.5,
        hit_guard=None,
        fail_open=True,
    )
    cache.update("base", LLM, _answer("Paris"))
    assert cache.lookup("q@0.9#1", LLM) is None
    cache.update("q@0.9#1", LLM, _answer("Paris"))  # must not raise
    assert cache.lookup("q@0.9#1", LLM) == _answer("Paris")
    stats = cache.statistics
    assert stats.operations["observe"].failed_open == 1 and stats.observations == 0

    strict = RepositorySemanticCache(
        FailingObservations(),
        DialEmbeddings(),
        max_error_rate=0.05,
        similarity_threshold=0.5,
        hit_guard=None,
    )
    strict.update("base", LLM, _answer("Paris"))
    assert strict.lookup("q@0.9#1", LLM) is None
    with pytest.raises(BackendUnavailableError):
        strict.update("q@0.9#1", LLM, _answer("Paris"))
    # the entry was written before the observation failed
    assert strict.lookup("q@0.9#1", LLM) == _answer("Paris")


def test_concurrent_observations_in_memory_lose_nothing() -> None:
    cache = _cache()
    cache.update("base", LLM, _answer("Paris"))
    key = cache.policy.key("base", LLM)
    repository: InMemoryVectorRepository = cache.repository  # type: ignore[assignment]

    def work(offset: int) -> None:
        for index in range(50):
            repository.add_observation(key, 0.8 + (offset + index) % 20 / 100, index % 3 != 0)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entry = repository.get(key)
    assert entry is not None and sum(b.total for b in entry.observations) == 400
    assert sum(b.total for b in repository.pooled_observations()) == 400
    assert repository.add_observation("absent", 0.9, True) is False
    assert sum(b.total for b in repository.pooled_observations()) == 400  # nothing added


def test_threads_explore_and_learn_through_one_cache() -> None:
    cache = _cache()
    cache.update("base", LLM, _answer("Paris"))

    def work(offset: int) -> None:
        for index in range(10):
            _explore(cache, f"q@0.97#{offset * 100 + index}", "Paris")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = cache.statistics
    entry = cache.repository.get(cache.policy.key("base", LLM))
    assert entry is not None
    assert sum(b.total for b in entry.observations) == stats.observations == stats.explorations
    assert stats.explorations + stats.semantic_hits == 40


async def test_async_cache_with_a_coroutine_judge_learns_from_concurrent_tasks() -> None:
    verdicts: list[bool] = []

    async def judge(fresh: Sequence[Generation], cached: Sequence[Generation]) -> bool:
        await asyncio.sleep(0)
        verdicts.append(fresh[0].text == cached[0].text)
        return verdicts[-1]

    cache = AsyncInMemorySemanticCache(
        DialEmbeddings(),
        max_error_rate=0.05,
        similarity_threshold=0.5,
        hit_guard=None,
        answer_judge=judge,
    )
    await cache.aupdate("base", LLM, _answer("Paris"))

    async def one(index: int) -> None:
        if await cache.alookup(f"q@0.97#{index}", LLM) is None:
            await cache.aupdate(f"q@0.97#{index}", LLM, _answer("Paris"))

    await asyncio.gather(*(one(index) for index in range(30)))
    stats = cache.statistics
    repository: AsyncInMemoryVectorRepository = cache.repository  # type: ignore[assignment]
    entry = await repository.get(cache.policy.key("base", LLM))
    assert entry is not None and sum(b.total for b in entry.observations) == len(verdicts)
    assert stats.observations == stats.explorations == len(verdicts) > 0
    assert all(verdicts)


# -- the pool: a new entry learns from what its neighbours taught the store -----------------


class ObservingOnlyRepository(InMemoryVectorRepository):
    """An in-memory store that keeps observations per entry but no pool (as a third-party
    ObservingVectorRepository would): the protocol check sees no pooled_observations."""

    pooled_observations = None  # type: ignore[assignment]


def _seed_pool(repository: InMemoryVectorRepository, rights: int, similarity: float) -> None:
    """Right answers observed on another entry, orthogonal to "base" (never a candidate)."""
    repository.put(
        SemanticRecord(
            key="other",
            llm_output=(),
            timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc),
            llm_string_hash="elsewhere",
            context_hash="elsewhere",
            vector=(0.0, 0.0, 1.0),
        )
    )
    for _ in range(rights):
        assert repository.add_observation("other", similarity, True)


def _pooled_cache(repository: InMemoryVectorRepository) -> RepositorySemanticCache:
    return RepositorySemanticCache(
        repository, DialEmbeddings(), max_error_rate=0.05, similarity_threshold=0.5, hit_guard=None
    )


def test_a_pooling_store_serves_a_new_entry_on_what_other_entries_taught() -> None:
    repository = InMemoryVectorRepository()
    _seed_pool(repository, 100, 0.95)
    cache = _pooled_cache(repository)
    cache.update("base", LLM, _answer("Paris"))
    assert cache.lookup("q@0.96#1", LLM) == _answer("Paris")  # the pool vouches for 0.95 up
    assert cache.lookup("q@0.8#3", LLM) is None  # the pool knows nothing down there
    cache.update("q@0.8#3", LLM, _answer("Paris"))
    pool = repository.pooled_observations()
    assert sum(b.total for b in pool) == 101 and all(b.wrong == 0 for b in pool)


def test_an_entry_s_own_wrong_answer_overrides_the_pool() -> None:
    repository = InMemoryVectorRepository()
    _seed_pool(repository, 100, 0.95)
    cache = _pooled_cache(repository)
    cache.update("base", LLM, _answer("Paris"))
    assert _explore(cache, "q@0.6#1", "Lyon") is None  # wrong far below: no veto above
    assert cache.lookup("q@0.96#2", LLM) == _answer("Paris")
    repository.add_observation(cache.policy.key("base", LLM), 0.97, False)  # wrong at 0.97
    # its boundary is above 0.97: at 0.96 and 0.97 it is explored again, despite the pool
    assert cache.lookup("q@0.96#3", LLM) is None
    assert cache.lookup("q@0.97#4", LLM) is None
    assert cache.lookup("q@0.99#5", LLM) == _answer("Paris")  # above it, the pool decides


def test_a_store_without_a_pool_keeps_the_per_entry_rule() -> None:
    repository = ObservingOnlyRepository()
    _seed_pool(repository, 100, 0.95)
    cache = _pooled_cache(repository)
    cache.update("base", LLM, _answer("Paris"))
    assert _explore(cache, "q@0.96#1", "Paris") is None
    assert cache.lookup("q@0.96#2", LLM) is None  # one right answer is not enough alone


def test_clear_forgets_the_pool_and_a_deleted_entry_leaves_its_evidence() -> None:
    repository = InMemoryVectorRepository()
    _seed_pool(repository, 3, 0.95)
    repository.delete_many(["other"])
    assert sum(b.total for b in repository.pooled_observations()) == 3
    repository.clear()
    assert repository.pooled_observations() == ()


async def test_the_async_cache_reads_the_pool_through_the_async_store() -> None:
    shared = InMemoryVectorRepository()
    _seed_pool(shared, 100, 0.95)
    cache = AsyncRepositorySemanticCache(
        AsyncInMemoryVectorRepository(shared),
        DialEmbeddings(),
        max_error_rate=0.05,
        similarity_threshold=0.5,
        hit_guard=None,
    )
    await cache.aupdate("base", LLM, _answer("Paris"))
    assert await cache.alookup("q@0.96#1", LLM) == _answer("Paris")
    assert await cache.alookup("q@0.8#2", LLM) is None
    await cache.aupdate("q@0.8#2", LLM, _answer("Lyon"))
    repository: AsyncInMemoryVectorRepository = cache.repository  # type: ignore[assignment]
    pool = await repository.pooled_observations()
    assert sum(b.total for b in pool) == 101 and sum(b.wrong for b in pool) == 1
