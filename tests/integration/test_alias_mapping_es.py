"""A cache whose index name is an alias puts its mapping on the alias's write index only,
and only the fields that index lacks (``adapters/elasticsearch/aliases.py``), checked on a
secured node with an API key of the caches' role (``read``, ``write``,
``view_index_metadata``):

* no deprecation warning: a put-mapping request on the alias made Elasticsearch 8.19 and
  9.2 warn that "the index privilege [write] allowed the update mapping action ... this
  privilege will not permit mapping updates in the next major release", once for the
  alias and once per index behind it;
* an older, read-only index behind the alias (``index.blocks.read_only``) does not stop
  the cache: the put on the alias was refused for it ("blocked by: [FORBIDDEN/5/index
  read-only (api)]"), a ``PermissionDeniedError`` at the first call, although the cache
  never writes there;
* a field the write index lacks is mapped there, and the older indices are left as they
  are.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch, ElasticsearchWarning
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    ElasticsearchSemanticCache,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import LLM_RECORDS
from langchain_elasticsearch_cache.adapters.elasticsearch.retention import (
    bootstrap_alias,
    rollover,
)
from lecache_devtools.node import LocalElasticsearchNode

from ._secured import admin_client, api_key, basic_options, key_options

pytestmark = pytest.mark.elasticsearch

PREFIX = "alias-map-"
CACHE_ROLE = ("read", "write", "view_index_metadata")
LLM_STRING = "fake-llm"


@pytest.fixture(scope="module")
def admin(secure_node: LocalElasticsearchNode) -> Iterator[Elasticsearch]:
    with admin_client(secure_node, PREFIX, lift_read_only=True) as client:
        yield client


def _key_options(node: LocalElasticsearchNode, admin: Elasticsearch) -> dict[str, Any]:
    return key_options(node, api_key(admin, "alias-mapping", f"{PREFIX}*", CACHE_ROLE))


# -- one write and one read per cache kind ---------------------------------------------------


def _llm_put(options: dict[str, Any], alias: str, key: str) -> None:
    with ElasticsearchCache(alias, **options) as cache:
        cache.update(key, LLM_STRING, [Generation(text=f"answer to {key}")])


def _llm_get(options: dict[str, Any], alias: str, key: str) -> bool:
    with ElasticsearchCache(alias, **options) as cache:
        return cache.lookup(key, LLM_STRING) == [Generation(text=f"answer to {key}")]


def _embeddings_put(options: dict[str, Any], alias: str, key: str) -> None:
    with ElasticsearchEmbeddingsCache(alias, **options) as store:
        store.mset([(key, key.encode())])


def _embeddings_get(options: dict[str, Any], alias: str, key: str) -> bool:
    with ElasticsearchEmbeddingsCache(alias, **options) as store:
        return store.mget([key]) == [key.encode()]


def _semantic(alias: str, options: dict[str, Any]) -> ElasticsearchSemanticCache:
    return ElasticsearchSemanticCache(alias, DeterministicFakeEmbedding(size=4), **options)


def _semantic_put(options: dict[str, Any], alias: str, key: str) -> None:
    with _semantic(alias, options) as cache:
        cache.update(key, LLM_STRING, [Generation(text=f"answer to {key}")])


def _semantic_get(options: dict[str, Any], alias: str, key: str) -> bool:
    with _semantic(alias, options) as cache:
        return cache.lookup(key, LLM_STRING) == [Generation(text=f"answer to {key}")]


KINDS: dict[str, tuple[Callable[..., None], Callable[..., bool]]] = {
    "llm": (_llm_put, _llm_get),
    "embeddings": (_embeddings_put, _embeddings_get),
    "semantic": (_semantic_put, _semantic_get),
}


@pytest.mark.parametrize("read_only", [False, True], ids=["older-index", "read-only-older-index"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_cache_on_a_rolled_over_alias(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch, kind: str, read_only: bool
) -> None:
    put, get = KINDS[kind]
    alias = f"{PREFIX}{kind}-{uuid.uuid4().hex[:8]}"
    old = bootstrap_alias(admin, alias, kind)
    put(basic_options(secure_node), alias, "old entry")
    admin.indices.refresh(index=alias)
    new = rollover(admin, alias, max_docs=1).new_index
    if read_only:
        admin.indices.put_settings(index=old, settings={"index.blocks.read_only": True})

    options = _key_options(secure_node, admin)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert get(options, alias, "old entry")
        put(options, alias, "new entry")
        assert get(options, alias, "new entry")
    deprecations = [str(w.message) for w in caught if issubclass(w.category, ElasticsearchWarning)]
    assert deprecations == []

    admin.indices.refresh(index=new)
    assert admin.count(index=old)["count"] == 1
    assert admin.count(index=new)["count"] == 1


def test_only_the_write_index_gets_the_fields_it_lacks(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    """Indices made by hand (or by a template) that do not map ``llm_params``: the cache
    maps it on the write index, with its type (``text``, not indexed; a dynamic mapping
    would index it as ``text`` plus ``keyword``), and leaves the older index alone."""
    alias = f"{PREFIX}partial-{uuid.uuid4().hex[:8]}"
    mappings = dict(LLM_RECORDS.mappings)
    mappings["properties"] = {
        name: value for name, value in mappings["properties"].items() if name != "llm_params"
    }
    old, new = f"{alias}-000001", f"{alias}-000002"
    admin.indices.create(index=old, mappings=mappings, aliases={alias: {}})
    admin.indices.create(index=new, mappings=mappings, aliases={alias: {"is_write_index": True}})

    _llm_put(basic_options(secure_node), alias, "prompt")

    found = admin.indices.get_mapping(index=alias).body
    assert found[new]["mappings"]["properties"]["llm_params"] == {"type": "text", "index": False}
    assert "llm_params" not in found[old]["mappings"]["properties"]
