"""The embedding model is part of a semantic store's identity: how it is described (by an
allowlist, never a secret), compared, recorded, and refused by the in-memory store."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.outputs import Generation
from pydantic import BaseModel, SecretStr

from langchain_elasticsearch_cache import ConfigurationError
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import (
    CACHE_MARKER,
    SEMANTIC_RECORDS,
    identify_mapping,
    marker_with_embedding,
    recorded_embedding,
)
from langchain_elasticsearch_cache.adapters.memory_vector import (
    AsyncInMemoryVectorRepository,
    InMemoryVectorRepository,
)
from langchain_elasticsearch_cache.domain.semantic import EmbeddingIdentity
from langchain_elasticsearch_cache.interfaces.langchain.embedding_identity import (
    embedding_identity,
)
from langchain_elasticsearch_cache.interfaces.langchain.semantic_cache import (
    AsyncRepositorySemanticCache,
    RepositorySemanticCache,
)
from langchain_elasticsearch_cache.interfaces.langchain.wordllama import WordLlamaEmbeddings

SECRET = "sk-very-secret-0123456789"
ANSWER = [Generation(text="Paris")]


class FakeOpenAIEmbeddings(BaseModel, Embeddings):
    """Shaped like langchain_openai.OpenAIEmbeddings: a model, a key, a client, a URL."""

    model: str = "text-embedding-3-small"
    dimensions: int | None = None
    openai_api_key: SecretStr = SecretStr(SECRET)
    api_token: str = SECRET
    openai_api_base: str = f"https://user:{SECRET}@api.example.com/v1?key={SECRET}"
    client: Any = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 2.0, 3.0]


class UrlModelEmbeddings(DeterministicFakeEmbedding):
    """A model named by an endpoint URL with credentials in it."""

    model: str = f"https://user:{SECRET}@models.example.com:8443/e5?token={SECRET}"


class CacheBacked(Embeddings):
    """Shaped like CacheBackedEmbeddings: the vectors are the inner model's."""

    def __init__(self, underlying: Embeddings) -> None:
        self.underlying_embeddings = underlying

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.underlying_embeddings.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.underlying_embeddings.embed_query(text)


class CountingFake(DeterministicFakeEmbedding):
    calls: int = 0

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return super().embed_query(text)


# -- extraction ------------------------------------------------------------------------


def test_deterministic_fake_embeddings_are_identified_by_their_size() -> None:
    small, big = (embedding_identity(DeterministicFakeEmbedding(size=n)) for n in (3, 256))
    assert small.class_name == "DeterministicFakeEmbedding"
    assert small.cls == "langchain_core.embeddings.fake.DeterministicFakeEmbedding"
    assert (small.model, dict(small.params), small.dims) == (None, {"size": 3}, 3)
    assert (dict(big.params), big.dims) == ({"size": 256}, 256)
    assert not small.matches(big)
    assert embedding_identity(DeterministicFakeEmbedding(size=256)) == big
    assert big.matches(embedding_identity(DeterministicFakeEmbedding(size=256)))


def test_wordllama_is_identified_by_its_configuration_and_dim() -> None:
    wordllama = WordLlamaEmbeddings()
    identity = embedding_identity(wordllama)
    assert identity.class_name == "WordLlamaEmbeddings"
    assert (identity.model, dict(identity.params), identity.dims) == (
        "l2_supercat",
        {"dim": 256},
        256,
    )
    # the same model object passed in is the same model
    assert embedding_identity(WordLlamaEmbeddings(wordllama.model)) == identity
    fake = embedding_identity(DeterministicFakeEmbedding(size=256))
    assert fake.dims == identity.dims  # same length: the length cannot tell them apart
    assert not fake.matches(identity) and not identity.matches(fake)


def test_secrets_are_never_recorded() -> None:
    identity = embedding_identity(FakeOpenAIEmbeddings(dimensions=512))
    assert identity.model == "text-embedding-3-small"
    assert dict(identity.params) == {"dimensions": 512}
    assert identity.dims == 512
    recorded = json.dumps(identity.to_document()) + identity.describe()
    assert SECRET not in recorded
    for name in ("openai_api_key", "api_token", "openai_api_base", "client"):
        assert name not in recorded
    assert not identity.matches(embedding_identity(FakeOpenAIEmbeddings(model="other")))


def test_a_url_loses_its_credentials_and_query() -> None:
    identity = embedding_identity(UrlModelEmbeddings(size=8))
    assert identity.model == "https://models.example.com:8443/e5"
    assert SECRET not in json.dumps(identity.to_document())


def test_a_caching_wrapper_has_its_inner_models_identity() -> None:
    inner = DeterministicFakeEmbedding(size=16)
    assert embedding_identity(CacheBacked(CacheBacked(inner))) == embedding_identity(inner)


def test_the_identity_is_the_same_in_another_process() -> None:
    code = (
        "import json\n"
        "from langchain_core.embeddings import DeterministicFakeEmbedding\n"
        "from langchain_elasticsearch_cache.interfaces.langchain.embedding_identity "
        "import embedding_identity\n"
        "from langchain_elasticsearch_cache.interfaces.langchain.wordllama "
        "import WordLlamaEmbeddings\n"
        "print(json.dumps([embedding_identity(e).to_document() for e in "
        "(DeterministicFakeEmbedding(size=256), WordLlamaEmbeddings())], sort_keys=True))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    here = [
        embedding_identity(e).to_document()
        for e in (DeterministicFakeEmbedding(size=256), WordLlamaEmbeddings())
    ]
    assert json.loads(out) == json.loads(json.dumps(here, sort_keys=True))


# -- comparison and records ------------------------------------------------------------


def test_what_counts_as_the_same_model() -> None:
    base = EmbeddingIdentity("pkg.a.Model", "m-1", {"dimensions": 256}, 256)
    moved = EmbeddingIdentity("pkg.b.Model", "m-1", {"dimensions": 256}, 256)
    newer_reads_more = EmbeddingIdentity("pkg.a.Model", "m-1", {"dimensions": 256, "x": 1}, 256)
    assert base.matches(moved)  # a class that moved package makes the same vectors
    assert base.matches(newer_reads_more) and newer_reads_more.matches(base)
    assert not base.matches(EmbeddingIdentity("pkg.a.Model", "m-2", {"dimensions": 256}, 256))
    assert not base.matches(EmbeddingIdentity("pkg.a.Other", "m-1", {"dimensions": 256}, 256))
    assert not base.matches(EmbeddingIdentity("pkg.a.Model", "m-1", {"dimensions": 512}, 512))
    assert not base.matches(EmbeddingIdentity("pkg.a.Model", "m-1", {"dimensions": None}, 128))
    assert EmbeddingIdentity.from_document(base.to_document()) == base


@pytest.mark.parametrize(
    "document",
    [None, "x", {}, {"class": ""}, {"class": "A", "model": 3}, {"class": "A", "dims": "8"}],
)
def test_an_unreadable_record_is_none(document: Any) -> None:
    assert EmbeddingIdentity.from_document(document) is None


def test_the_marker_records_the_model_and_keeps_the_rest() -> None:
    identity = embedding_identity(DeterministicFakeEmbedding(size=8))
    mappings = SEMANTIC_RECORDS.mappings
    mappings["_meta"]["owner"] = "ops"
    assert recorded_embedding(mappings) is None
    mappings["_meta"] = marker_with_embedding(mappings["_meta"], "semantic", identity)
    assert mappings["_meta"]["owner"] == "ops"
    assert mappings["_meta"][CACHE_MARKER]["kind"] == "semantic"
    assert recorded_embedding(mappings) == identity
    assert identify_mapping(mappings).kind == "semantic"  # still the semantic marker
    # an index without a marker (an earlier version's) gets a whole one
    unmarked = marker_with_embedding(None, "semantic", identity)
    assert unmarked[CACHE_MARKER]["schema"] == 1
    assert recorded_embedding({"_meta": unmarked}) == identity


# -- the in-memory store refuses another model -------------------------------------------


def test_the_in_memory_store_refuses_another_model_of_the_same_length() -> None:
    store = InMemoryVectorRepository()
    wordllama = RepositorySemanticCache(store, WordLlamaEmbeddings())
    wordllama.update("What is the capital of France?", "llm", ANSWER)
    other_model = CountingFake(size=256)
    other = RepositorySemanticCache(store, other_model, fail_open=True)
    before = store.count()
    for call in (
        lambda: other.lookup("What is the capital of Spain?", "llm"),
        lambda: other.update("What is the capital of Spain?", "llm", ANSWER),
    ):
        with pytest.raises(ConfigurationError) as caught:
            call()
        message = str(caught.value)
        assert "WordLlamaEmbeddings(model='l2_supercat', dim=256)" in message
        assert "CountingFake(size=256)" in message
        assert "same embedding model" in message
    assert other_model.calls == 0  # refused before the model was paid
    assert store.count() == before
    # the same model in another cache object is fine
    RepositorySemanticCache(store, WordLlamaEmbeddings()).lookup("Capital of France?", "llm")
    # clear() forgets the model, as it forgets the vector length
    store.clear()
    assert other.lookup("What is the capital of Spain?", "llm") is None


async def test_the_async_in_memory_store_refuses_another_model() -> None:
    store = AsyncInMemoryVectorRepository()
    first = AsyncRepositorySemanticCache(store, DeterministicFakeEmbedding(size=8))
    await first.aupdate("What is the capital of France?", "llm", ANSWER)
    other = AsyncRepositorySemanticCache(store, FakeOpenAIEmbeddings())
    with pytest.raises(ConfigurationError, match="FakeOpenAIEmbeddings"):
        await other.alookup("What is the capital of Spain?", "llm")
    with pytest.raises(ConfigurationError, match=r"DeterministicFakeEmbedding\(size=8\)"):
        await other.aupdate("What is the capital of Spain?", "llm", ANSWER)
    assert await store.count() == 1
    same = AsyncRepositorySemanticCache(store, DeterministicFakeEmbedding(size=8))
    assert await same.alookup("What is the capital of Spain?", "llm") is None
