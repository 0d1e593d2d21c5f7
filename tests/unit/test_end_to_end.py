"""The caches driven by LangChain itself: a fake chat model and a cache-backed embedder.

``CacheBackedEmbeddings`` lives in ``langchain-classic``, which is not a dependency of
this project; ``_CacheBackedEmbeddings`` below reproduces exactly what its
``from_bytes_store`` does to a ``ByteStore`` (namespace-prefixed hashed keys, JSON float
lists as bytes, ``mget`` then ``embed_documents`` for the misses then ``mset``). When
``langchain_classic`` is importable the real class is exercised as well.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.globals import set_llm_cache
from langchain_core.stores import ByteStore
from pydantic import Field

from langchain_elasticsearch_cache.adapters.memory import InMemoryRepository
from langchain_elasticsearch_cache.domain import EmbeddingRecord, KeysNotStoredError
from langchain_elasticsearch_cache.interfaces.langchain import (
    AsyncInMemoryEmbeddingsCache,
    AsyncInMemoryLlmCache,
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
    RepositoryByteStore,
)
from tests.fakes import CountingListChatModel

if TYPE_CHECKING:
    from conftest import FakeClock

# --- fakes ------------------------------------------------------------------------------


class CountingEmbeddings(DeterministicFakeEmbedding):
    """Deterministic vectors; ``counts[text]`` is how often ``text`` was embedded."""

    counts: Counter[str] = Field(default_factory=Counter)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.counts.update(texts)
        return super().embed_documents(texts)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        self.counts.update(texts)
        return super().embed_documents(texts)


class _CacheBackedEmbeddings(Embeddings):
    """What ``CacheBackedEmbeddings.from_bytes_store(..., key_encoder="sha256")`` builds."""

    def __init__(self, underlying: Embeddings, store: ByteStore, namespace: str = "") -> None:
        self.underlying = underlying
        self.store = store
        self.namespace = namespace

    def _key(self, text: str) -> str:
        return f"{self.namespace}{hashlib.sha256(text.encode('utf-8')).hexdigest()}"

    @staticmethod
    def _decode(value: bytes | None) -> list[float] | None:
        return None if value is None else json.loads(value.decode())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = [self._decode(v) for v in self.store.mget([self._key(t) for t in texts])]
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            computed = self.underlying.embed_documents([texts[i] for i in missing])
            self.store.mset(
                [
                    (self._key(texts[i]), json.dumps(vector).encode())
                    for i, vector in zip(missing, computed, strict=True)
                ]
            )
            for i, vector in zip(missing, computed, strict=True):
                vectors[i] = vector
        return [v for v in vectors if v is not None]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        stored = await self.store.amget([self._key(t) for t in texts])
        vectors = [self._decode(v) for v in stored]
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            computed = await self.underlying.aembed_documents([texts[i] for i in missing])
            await self.store.amset(
                [
                    (self._key(texts[i]), json.dumps(vector).encode())
                    for i, vector in zip(missing, computed, strict=True)
                ]
            )
            for i, vector in zip(missing, computed, strict=True):
                vectors[i] = vector
        return [v for v in vectors if v is not None]

    def embed_query(self, text: str) -> list[float]:
        return self.underlying.embed_query(text)


T_ANY = datetime(2024, 1, 1, tzinfo=timezone.utc)

EmbedderFactory = Callable[[Embeddings, ByteStore, str], Embeddings]


def _local_factory(underlying: Embeddings, store: ByteStore, namespace: str) -> Embeddings:
    return _CacheBackedEmbeddings(underlying, store, namespace)


EMBEDDER_FACTORIES: list[Any] = [pytest.param(_local_factory, id="from_bytes_store-equivalent")]
try:  # pragma: no cover - depends on whether langchain-classic is installed
    from langchain_classic.embeddings import CacheBackedEmbeddings

    def _classic_factory(underlying: Embeddings, store: ByteStore, namespace: str) -> Embeddings:
        return CacheBackedEmbeddings.from_bytes_store(
            underlying, store, namespace=namespace, key_encoder="sha256"
        )

    EMBEDDER_FACTORIES.append(pytest.param(_classic_factory, id="langchain_classic"))
except ImportError:  # pragma: no cover
    pass


# --- LLM cache through a chat model -----------------------------------------------------


def test_second_identical_invoke_is_served_from_cache() -> None:
    cache = InMemoryLlmCache()
    model = CountingListChatModel(responses=["first answer", "second answer"], cache=cache)

    assert model.invoke("What is 2+2?").content == "first answer"
    assert model.calls == 1
    # Were the model called again it would answer "second answer".
    assert model.invoke("What is 2+2?").content == "first answer"
    assert model.calls == 1

    stats = cache.statistics
    assert (stats.hits, stats.misses, stats.writes) == (1, 1, 1)
    assert cache.repository.count() == 1


def test_different_prompt_misses() -> None:
    cache = InMemoryLlmCache()
    model = CountingListChatModel(responses=["a", "b", "c"], cache=cache)

    assert model.invoke("prompt one").content == "a"
    assert model.invoke("prompt two").content == "b"
    assert model.calls == 2
    assert model.invoke("prompt one").content == "a"
    assert model.invoke("prompt two").content == "b"
    assert model.calls == 2
    assert cache.repository.count() == 2


def test_different_call_parameters_miss() -> None:
    cache = InMemoryLlmCache()
    model = CountingListChatModel(responses=["a", "b", "c"], cache=cache)

    assert model.invoke("same prompt").content == "a"
    assert model.invoke("same prompt", stop=["\n"]).content == "b"
    assert model.calls == 2
    assert model.invoke("same prompt", stop=["\n"]).content == "b"
    assert model.calls == 2


def test_differently_configured_models_do_not_share_entries() -> None:
    cache = InMemoryLlmCache()
    one = CountingListChatModel(responses=["from model one"], cache=cache)
    two = CountingListChatModel(responses=["from model two"], cache=cache)

    assert one.invoke("hello").content == "from model one"
    assert two.invoke("hello").content == "from model two"
    assert (one.calls, two.calls) == (1, 1)


def test_stored_record_holds_prompt_params_and_metadata() -> None:
    cache = InMemoryLlmCache(metadata={"project": "e2e"})
    model = CountingListChatModel(responses=["x"], cache=cache)
    model.invoke("remember me")

    (record,) = list(cache.repository.scan())
    assert record.llm_input is not None and "remember me" in record.llm_input
    assert record.llm_params is not None and "fake-list-chat-model" in record.llm_params
    assert record.metadata == {"project": "e2e"}
    assert record.key == cache.policy.key(record.llm_input, record.llm_params)


def test_store_input_false_keeps_neither_prompt_nor_params() -> None:
    cache = InMemoryLlmCache(store_input=False, store_input_params=False)
    model = CountingListChatModel(responses=["x"], cache=cache)
    model.invoke("secret prompt")
    model.invoke("secret prompt")

    assert model.calls == 1
    (record,) = list(cache.repository.scan())
    assert record.llm_input is None
    assert record.llm_params is None


def test_legacy_keys_are_the_seeds_md5_of_prompt_and_llm_string() -> None:
    cache = InMemoryLlmCache(key_scheme="legacy")
    model = CountingListChatModel(responses=["x"], cache=cache)
    model.invoke("hello")

    (record,) = list(cache.repository.scan())
    assert record.llm_input is not None and record.llm_params is not None
    expected = hashlib.md5((record.llm_input + record.llm_params).encode()).hexdigest()
    assert record.key == expected


@pytest.mark.usefixtures("global_llm_cache_restored")
def test_global_llm_cache_is_used_by_models_without_their_own() -> None:
    cache = InMemoryLlmCache()
    set_llm_cache(cache)
    model = CountingListChatModel(responses=["first", "second"])

    assert model.invoke("hi").content == "first"
    assert model.invoke("hi").content == "first"
    assert model.calls == 1
    assert cache.statistics.hits == 1


async def test_async_invoke_uses_async_cache() -> None:
    cache = AsyncInMemoryLlmCache()
    model = CountingListChatModel(responses=["first", "second"], cache=cache)

    assert (await model.ainvoke("async prompt")).content == "first"
    assert (await model.ainvoke("async prompt")).content == "first"
    assert model.calls == 1
    assert (await model.ainvoke("other prompt")).content == "second"
    assert model.calls == 2
    stats = cache.statistics
    assert (stats.hits, stats.misses, stats.writes) == (1, 2, 2)


async def test_async_invoke_with_sync_cache_works_through_executor() -> None:
    cache = InMemoryLlmCache()
    model = CountingListChatModel(responses=["first", "second"], cache=cache)

    assert (await model.ainvoke("p")).content == "first"
    assert model.invoke("p").content == "first"
    assert (await model.ainvoke("p")).content == "first"
    assert model.calls == 1


def test_sync_invoke_with_async_only_cache_raises_like_the_seed() -> None:
    model = CountingListChatModel(responses=["x"], cache=AsyncInMemoryLlmCache())
    with pytest.raises(NotImplementedError, match="alookup"):
        model.invoke("p")
    assert model.calls == 0


# --- embeddings through a cache-backed embedder -----------------------------------------


@pytest.mark.parametrize("make_embedder", EMBEDDER_FACTORIES)
def test_embedded_texts_are_not_embedded_again(make_embedder: EmbedderFactory) -> None:
    underlying = CountingEmbeddings(size=8)
    store = InMemoryEmbeddingsCache(namespace="fake-model")
    embedder = make_embedder(underlying, store, "fake-model")

    first = embedder.embed_documents(["alpha", "beta"])
    assert underlying.counts == Counter({"alpha": 1, "beta": 1})

    second = embedder.embed_documents(["beta", "alpha", "gamma", "alpha"])
    assert underlying.counts == Counter({"alpha": 1, "beta": 1, "gamma": 1})
    assert second[0] == first[1]
    assert second[1] == first[0] == second[3]
    assert second[2] == underlying.embed_query("gamma")

    # a third pass over known texts calls the model zero times
    before = sum(underlying.counts.values())
    embedder.embed_documents(["alpha", "beta", "gamma"])
    assert sum(underlying.counts.values()) == before
    assert store.statistics.operations["mget"].hits == 3 + 3


@pytest.mark.parametrize("make_embedder", EMBEDDER_FACTORIES)
async def test_async_embedded_texts_are_not_embedded_again(
    make_embedder: EmbedderFactory,
) -> None:
    underlying = CountingEmbeddings(size=8)
    store = AsyncInMemoryEmbeddingsCache(namespace="fake-model")
    embedder = make_embedder(underlying, store, "fake-model")

    first = await embedder.aembed_documents(["alpha", "beta"])
    assert underlying.counts == Counter({"alpha": 1, "beta": 1})
    second = await embedder.aembed_documents(["alpha", "beta", "gamma"])
    assert underlying.counts == Counter({"alpha": 1, "beta": 1, "gamma": 1})
    assert second[:2] == first
    before = sum(underlying.counts.values())
    await embedder.aembed_documents(["gamma", "beta", "alpha"])
    assert sum(underlying.counts.values()) == before


@pytest.mark.parametrize("make_embedder", EMBEDDER_FACTORIES)
def test_embedder_namespaces_on_one_store_do_not_share_vectors(
    make_embedder: EmbedderFactory,
) -> None:
    repository: InMemoryRepository[EmbeddingRecord] = InMemoryRepository()
    model_a = CountingEmbeddings(size=4)
    model_b = CountingEmbeddings(size=4)
    embed_a = make_embedder(model_a, RepositoryByteStore(repository, namespace="a"), "a")
    embed_b = make_embedder(model_b, RepositoryByteStore(repository, namespace="b"), "b")

    embed_a.embed_documents(["text"])
    embed_b.embed_documents(["text"])
    assert (model_a.counts["text"], model_b.counts["text"]) == (1, 1)
    assert repository.count() == 2


# --- ttl with an injected clock ---------------------------------------------------------


def _gen(text: str) -> list[Any]:
    from langchain_core.outputs import Generation

    return [Generation(text=text)]


def test_llm_ttl_hit_before_expiry_miss_after(clock: FakeClock) -> None:
    cache = InMemoryLlmCache(ttl=60, clock=clock)
    cache.update("p", "llm", _gen("answer"))

    clock.advance(59.999999)
    assert cache.lookup("p", "llm") == _gen("answer")
    clock.advance(0.000001)  # exactly ttl after creation: expired
    assert cache.lookup("p", "llm") is None
    # expiry is a read-time rule; the record is still stored until purged
    assert cache.repository.count() == 1


def test_llm_ttl_as_timedelta_and_refresh_on_update(clock: FakeClock) -> None:
    cache = InMemoryLlmCache(ttl=timedelta(minutes=1), clock=clock)
    cache.update("p", "llm", _gen("old"))
    clock.advance(50)
    cache.update("p", "llm", _gen("new"))
    clock.advance(50)  # 100 s after the first write, 50 s after the second
    assert cache.lookup("p", "llm") == _gen("new")


def test_llm_purge_expired_removes_exactly_the_expired(clock: FakeClock) -> None:
    cache = InMemoryLlmCache(ttl=100, clock=clock)
    for i in range(5):  # written at T0, T0+50, ..., T0+200
        cache.update(f"p{i}", "llm", _gen(str(i)))
        clock.advance(50)
    clock.set(clock.start + timedelta(seconds=200))
    # cutoff = T0+100: p0 (T0), p1 (T0+50) and p2 (T0+100, exactly ttl old) are expired
    assert [cache.lookup(f"p{i}", "llm") is None for i in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert cache.purge_expired() == 3
    assert sorted(r.llm_input or "" for r in cache.repository.scan()) == ["p3", "p4"]
    assert cache.purge_expired() == 0
    assert cache.lookup("p3", "llm") == _gen("3")


def test_purge_without_ttl_deletes_nothing(clock: FakeClock) -> None:
    cache = InMemoryLlmCache(clock=clock)
    cache.update("p", "llm", _gen("x"))
    clock.advance(10**9)
    assert cache.purge_expired() == 0
    assert cache.lookup("p", "llm") == _gen("x")


async def test_async_llm_ttl_and_purge(clock: FakeClock) -> None:
    cache = AsyncInMemoryLlmCache(ttl=10, clock=clock)
    await cache.aupdate("old", "llm", _gen("o"))
    clock.advance(5)
    await cache.aupdate("new", "llm", _gen("n"))
    clock.advance(6)  # old is 11 s old, new is 6 s old
    assert await cache.alookup("old", "llm") is None
    assert await cache.alookup("new", "llm") == _gen("n")
    assert await cache.apurge_expired() == 1
    assert await cache.repository.count() == 1


def test_byte_store_ttl_and_purge(clock: FakeClock) -> None:
    store = InMemoryEmbeddingsCache(ttl=30, clock=clock, namespace="ns")
    store.mset([("a", b"A")])
    clock.advance(20)
    store.mset([("b", b"B")])
    clock.advance(10)  # a: 30 s (expired), b: 10 s
    assert store.mget(["a", "b"]) == [None, b"B"]
    assert list(store.yield_keys()) == ["b"]
    assert store.purge_expired() == 1
    assert store.repository.count() == 1
    clock.advance(19.999999)
    assert store.mget(["b"]) == [b"B"]
    clock.advance(0.000001)
    assert store.mget(["b"]) == [None]


async def test_async_byte_store_ttl_and_purge(clock: FakeClock) -> None:
    store = AsyncInMemoryEmbeddingsCache(ttl=30, clock=clock)
    await store.amset([("a", b"A")])
    clock.advance(20)
    await store.amset([("b", b"B")])
    clock.advance(10)
    assert await store.amget(["a", "b"]) == [None, b"B"]
    assert [k async for k in store.ayield_keys()] == ["b"]
    assert await store.apurge_expired() == 1
    assert await store.repository.count() == 1


# --- byte store behaviours --------------------------------------------------------------


def _shared_stores(
    key_scheme: str = "sha256",
) -> tuple[RepositoryByteStore, RepositoryByteStore, RepositoryByteStore]:
    repository: InMemoryRepository[EmbeddingRecord] = InMemoryRepository()
    return (
        RepositoryByteStore(repository, namespace="ns-a", key_scheme=key_scheme),
        RepositoryByteStore(repository, namespace="ns-b", key_scheme=key_scheme),
        RepositoryByteStore(repository, key_scheme=key_scheme),
    )


@pytest.mark.parametrize("key_scheme", ["sha256", "legacy"])
def test_yield_keys_lists_only_this_namespace(key_scheme: str) -> None:
    store_a, store_b, store_none = _shared_stores(key_scheme)
    store_a.mset([("doc-1", b"1"), ("doc-2", b"2"), ("other", b"3")])
    store_b.mset([("doc-9", b"9")])
    store_none.mset([("doc-0", b"0")])

    assert sorted(store_a.yield_keys()) == ["doc-1", "doc-2", "other"]
    assert sorted(store_a.yield_keys(prefix="doc-")) == ["doc-1", "doc-2"]
    assert sorted(store_a.yield_keys(prefix="zzz")) == []
    assert sorted(store_b.yield_keys()) == ["doc-9"]
    assert sorted(store_none.yield_keys()) == ["doc-0"]
    assert store_a.mget(["doc-9", "doc-0"]) == [None, None]


def test_yield_keys_skips_records_that_declare_another_namespace() -> None:
    """A document's own ``namespace`` field decides, even if its id hashes as ours."""
    store = InMemoryEmbeddingsCache(namespace="mine", key_scheme="legacy")
    store.mset([("listed", b"1")])
    store.repository.put(
        EmbeddingRecord(
            key=store.policy.key("forged"),
            vector_dump="AA==",
            timestamp=T_ANY,
            text_input="forged",
            namespace="theirs",
        )
    )
    assert list(store.yield_keys()) == ["listed"]


def test_legacy_namespace_concatenation_collides_like_the_seed() -> None:
    repository: InMemoryRepository[EmbeddingRecord] = InMemoryRepository()
    ab = RepositoryByteStore(repository, namespace="ab", key_scheme="legacy")
    a = RepositoryByteStore(repository, namespace="a", key_scheme="legacy")
    ab.mset([("c", b"value of ab/c")])
    # md5("ab" + "c") == md5("a" + "bc"): the seed's scheme cannot tell them apart
    assert a.mget(["bc"]) == [b"value of ab/c"]
    # ... but the record is not listed as a key of the other namespace
    assert list(a.yield_keys()) == []


def test_default_scheme_keeps_concatenation_equivalent_namespaces_apart() -> None:
    repository: InMemoryRepository[EmbeddingRecord] = InMemoryRepository()
    ab = RepositoryByteStore(repository, namespace="ab")
    a = RepositoryByteStore(repository, namespace="a")
    ab.mset([("c", b"value of ab/c")])
    assert a.mget(["bc"]) == [None]


def test_store_input_false_makes_yield_keys_raise() -> None:
    store = InMemoryEmbeddingsCache(store_input=False)
    store.mset([("k", b"v")])
    assert store.mget(["k"]) == [b"v"]
    (record,) = list(store.repository.scan())
    assert record.text_input is None
    with pytest.raises(KeysNotStoredError, match="store_input=True"):
        list(store.yield_keys())


async def test_async_store_input_false_makes_ayield_keys_raise() -> None:
    store = AsyncInMemoryEmbeddingsCache(store_input=False)
    await store.amset([("k", b"v")])
    with pytest.raises(KeysNotStoredError):
        [key async for key in store.ayield_keys()]


def test_mdelete_of_missing_keys_does_not_raise_nor_touch_others() -> None:
    store = InMemoryEmbeddingsCache()
    store.mset([("keep", b"1")])
    store.mdelete(["absent", "also-absent", "absent"])
    store.mdelete([])
    assert store.mget(["keep"]) == [b"1"]
    store.mdelete(["keep", "keep"])
    assert store.mget(["keep"]) == [None]


async def test_async_mdelete_of_missing_keys_does_not_raise() -> None:
    store = AsyncInMemoryEmbeddingsCache()
    await store.amset([("keep", b"1")])
    await store.amdelete(["absent"])
    assert await store.amget(["keep"]) == [b"1"]


def test_mget_of_empty_string_key_returns_one_none() -> None:
    store = InMemoryEmbeddingsCache()
    assert store.mget([""]) == [None]  # the seed returned []
    assert store.mget([]) == []
    store.mset([("", b"empty key")])
    assert store.mget(["", ""]) == [b"empty key", b"empty key"]
    assert list(store.yield_keys()) == [""]


async def test_async_mget_of_empty_string_key_returns_one_none() -> None:
    store = AsyncInMemoryEmbeddingsCache()
    assert await store.amget([""]) == [None]
    assert await store.amget([]) == []


def test_mset_stores_namespace_text_and_metadata(clock: FakeClock) -> None:
    store = InMemoryEmbeddingsCache(namespace="ns", metadata={"team": "search"}, clock=clock)
    store.mset([("hello", b"\x00\x01")])
    (record,) = list(store.repository.scan())
    assert record.namespace == "ns"
    assert record.text_input == "hello"
    assert record.metadata == {"team": "search"}
    assert record.timestamp == clock.start
    assert record.vector_dump == "AAE="
    assert record.key == store.policy.key("hello")
