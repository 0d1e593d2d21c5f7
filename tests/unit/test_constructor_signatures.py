"""The six Elasticsearch cache constructors agree, and each parameter reaches the options.

The constructors keep explicit keyword signatures (the drop-in contract with
``langchain_elasticsearch`` 1.0.0, and what IDEs show), so nothing but these tests keeps
them consistent: twins identical, shared options identical everywhere, every parameter
handed by name to the family's options object and kept there under its own name.
"""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import langchain_elasticsearch
import pytest

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    AsyncElasticsearchSemanticCache,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    ElasticsearchSemanticCache,
)
from langchain_elasticsearch_cache.interfaces.langchain.options import (
    ConnectionOptions,
    EmbeddingsCacheOptions,
    LlmCacheOptions,
    SemanticCacheOptions,
    StoreOptions,
)

CONNECTION = frozenset(
    {
        "client",
        "es_url",
        "es_cloud_id",
        "es_user",
        "es_api_key",
        "es_password",
        "es_params",
        "ca_certs",
        "verify_certs",
        "request_timeout",
        "max_retries",
    }
)
CACHE = frozenset(
    {
        "index_name",
        "store_input",
        "metadata",
        "key_scheme",
        "ttl",
        "refresh",
        "fail_open",
        "maximum_duplicates_allowed",
        "clock",
    }
)
LLM_ONLY = frozenset({"store_input_params"})
EMBEDDINGS_ONLY = frozenset({"namespace"})
SEMANTIC_ONLY = frozenset(
    {
        "embedding",
        "similarity_threshold",
        "prompt_splitter",
        "hit_guard",
        "k",
        "num_candidates",
        "max_error_rate",
        "answer_judge",
        "vector_index_type",
    }
)

# class -> (its options class, the parameters only its family has)
FAMILIES: dict[type, tuple[type, frozenset[str]]] = {
    ElasticsearchCache: (LlmCacheOptions, LLM_ONLY),
    AsyncElasticsearchCache: (LlmCacheOptions, LLM_ONLY),
    ElasticsearchEmbeddingsCache: (EmbeddingsCacheOptions, EMBEDDINGS_ONLY),
    AsyncElasticsearchEmbeddingsCache: (EmbeddingsCacheOptions, EMBEDDINGS_ONLY),
    ElasticsearchSemanticCache: (SemanticCacheOptions, LLM_ONLY | SEMANTIC_ONLY),
    AsyncElasticsearchSemanticCache: (SemanticCacheOptions, LLM_ONLY | SEMANTIC_ONLY),
}
CLASSES = list(FAMILIES)
TWINS = [
    (ElasticsearchCache, AsyncElasticsearchCache),
    (ElasticsearchEmbeddingsCache, AsyncElasticsearchEmbeddingsCache),
    (ElasticsearchSemanticCache, AsyncElasticsearchSemanticCache),
]
OPTION_CLASSES = (
    ConnectionOptions,
    StoreOptions,
    LlmCacheOptions,
    EmbeddingsCacheOptions,
    SemanticCacheOptions,
)


def described(cls: type) -> dict[str, tuple[Any, ...]]:
    """Each constructor parameter as (kind, default, annotation), the client's type named
    the same for the sync and async classes (the one difference twins may have)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # type: ignore[misc]
    return {
        p.name: (
            p.kind,
            p.default,
            str(p.annotation).replace("AsyncElasticsearch", "Elasticsearch"),
        )
        for p in params
    }


@pytest.mark.parametrize(("sync", "async_"), TWINS, ids=lambda c: c.__name__)
def test_twins_take_the_same_parameters_in_the_same_order(sync: type, async_: type) -> None:
    assert list(described(sync).items()) == list(described(async_).items())


def args_section(cls: type) -> str:
    doc = inspect.cleandoc(cls.__doc__ or "")
    return doc[doc.index("\nArgs:\n") : doc.index("\nRaises:\n")]


@pytest.mark.parametrize(("sync", "async_"), TWINS, ids=lambda c: c.__name__)
def test_twins_document_their_parameters_alike(sync: type, async_: type) -> None:
    """The twins' Args are written twice (IDEs read the literal docstring): the same text."""
    assert args_section(async_).replace("AsyncElasticsearch", "Elasticsearch") == args_section(sync)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_shared_options_are_the_same_in_every_class(cls: type) -> None:
    reference = described(ElasticsearchCache)
    mine = described(cls)
    for name in sorted(CONNECTION | CACHE):
        assert mine.get(name) == reference[name], f"{cls.__name__}: {name}"


def test_options_of_the_llm_and_semantic_caches_agree() -> None:
    for name in LLM_ONLY:
        assert described(ElasticsearchSemanticCache)[name] == described(ElasticsearchCache)[name]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_parameter_is_a_known_option(cls: type) -> None:
    """A parameter outside the groups above must be added to them (and so to every class
    of its family), not to one class alone."""
    assert set(described(cls)) == CONNECTION | CACHE | FAMILIES[cls][1]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_only_the_index_and_the_embedding_are_positional(cls: type) -> None:
    positional = [
        name
        for name, (kind, *_) in described(cls).items()
        if kind is not inspect.Parameter.KEYWORD_ONLY
    ]
    expected = ["index_name", "embedding"] if "embedding" in described(cls) else ["index_name"]
    assert positional == expected


@pytest.mark.parametrize("cls", CLASSES[:4], ids=lambda c: c.__name__)
def test_every_parameter_of_langchain_elasticsearch_is_taken_with_its_default(cls: type) -> None:
    seed = inspect.signature(getattr(langchain_elasticsearch, cls.__name__)).parameters
    mine = inspect.signature(cls).parameters
    for name, parameter in seed.items():
        assert name in mine, f"{cls.__name__} lacks {name}"
        assert (mine[name].kind, mine[name].default) == (parameter.kind, parameter.default), name


class _Stop(Exception):
    """Raised by the spy once it has seen the arguments: nothing is checked or connected."""


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_each_parameter_reaches_the_options_under_its_own_name(
    cls: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distinct marker per parameter, so one passed under another's name is caught too."""
    seen: dict[str, object] = {}

    def spy(**arguments: object) -> None:
        seen.update(arguments)
        raise _Stop

    monkeypatch.setattr(FAMILIES[cls][0], "from_arguments", spy)
    markers = {name: object() for name in described(cls)}
    with pytest.raises(_Stop):
        cls(**markers)
    assert seen.keys() == markers.keys()
    assert [name for name in markers if seen[name] is not markers[name]] == []


def flattened(options: object) -> dict[str, object]:
    """The options object's attributes, nested option objects opened, by name."""
    values: dict[str, object] = {}
    for field in attrs.fields(type(options)):
        value = getattr(options, field.name)
        inner = flattened(value) if isinstance(value, OPTION_CLASSES) else {field.name: value}
        assert not values.keys() & inner.keys(), f"{sorted(values.keys() & inner.keys())} twice"
        values.update(inner)
    return values


@pytest.mark.parametrize(
    "options_class",
    [LlmCacheOptions, EmbeddingsCacheOptions, SemanticCacheOptions],
    ids=lambda c: c.__name__,
)
def test_each_argument_is_kept_under_its_own_name(options_class: Any) -> None:
    names = list(inspect.signature(options_class.from_arguments).parameters)
    markers = {name: object() for name in names}
    assert flattened(options_class.from_arguments(**markers)) == markers


def test_the_connection_options_are_never_printed() -> None:
    markers: dict[str, Any] = {name: None for name in CONNECTION}
    assert (
        repr(ConnectionOptions(**{**markers, "es_password": "s3cret"})) == "ConnectionOptions(...)"
    )
