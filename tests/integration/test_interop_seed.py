"""Indices are shared with langchain-elasticsearch 1.0.0 (the seed) under the legacy keys."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation
from langchain_elasticsearch.cache import ElasticsearchCache as SeedCache
from langchain_elasticsearch.cache import (
    ElasticsearchEmbeddingsCache as SeedEmbeddingsCache,
)

from langchain_elasticsearch_cache.cache import (
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)

pytestmark = pytest.mark.elasticsearch

GENERATIONS = [
    Generation(text="plain answer", generation_info={"finish_reason": "stop"}),
    ChatGeneration(message=AIMessage(content="chat answer", response_metadata={"n": 1})),
]


def test_seed_writes_we_read_with_legacy_keys(es_client: Elasticsearch, index_name: str) -> None:
    seed = SeedCache(index_name, client=es_client, metadata={"team": "a"})
    seed.update("prompt ü", "llm-params", GENERATIONS)
    ours = ElasticsearchCache(index_name, client=es_client, key_scheme="legacy")
    assert ours.lookup("prompt ü", "llm-params") == GENERATIONS
    assert ours.lookup("prompt ü", "other-params") is None
    # The default (collision-free) scheme does not see the seed's entries.
    assert ElasticsearchCache(index_name, client=es_client).lookup("prompt ü", "llm-params") is None


def test_we_write_seed_reads(es_client: Elasticsearch, index_name: str) -> None:
    ours = ElasticsearchCache(index_name, client=es_client, key_scheme="legacy")
    ours.update("prompt", "llm-params", GENERATIONS)
    seed = SeedCache(index_name, client=es_client)
    assert seed.lookup("prompt", "llm-params") == GENERATIONS


def test_documents_have_the_seed_fields(es_client: Elasticsearch, index_name: str) -> None:
    ours = ElasticsearchCache(
        index_name, client=es_client, key_scheme="legacy", metadata={"team": "a"}
    )
    ours.update("p", "l", GENERATIONS[:1])
    seed_index = index_name + "-seed"
    SeedCache(seed_index, client=es_client, metadata={"team": "a"}).update(
        "p", "l", GENERATIONS[:1]
    )
    key = SeedCache._key("p", "l")
    mine = es_client.get(index=index_name, id=key)["_source"]
    theirs = es_client.get(index=seed_index, id=key)["_source"]
    assert (
        set(mine)
        == set(theirs)
        == {"llm_output", "llm_params", "llm_input", "metadata", "timestamp"}
    )
    assert mine["llm_output"] == theirs["llm_output"]
    mapping_mine = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    mapping_seed = es_client.indices.get_mapping(index=seed_index)[seed_index]["mappings"]
    # the same fields and types; ours also carries the cache marker, the seed's has none
    assert mapping_mine.pop("_meta") == {
        "langchain_elasticsearch_cache": {"kind": "llm", "schema": 1}
    }
    assert mapping_mine == mapping_seed


def test_embeddings_interoperate_both_ways(es_client: Elasticsearch, index_name: str) -> None:
    seed = SeedEmbeddingsCache(index_name, client=es_client, namespace="model-x")
    seed.mset([("from seed", b"\x01\x02"), ("shared", b"seed value")])
    ours = ElasticsearchEmbeddingsCache(
        index_name, client=es_client, namespace="model-x", key_scheme="legacy"
    )
    assert ours.mget(["from seed", "shared", "absent"]) == [b"\x01\x02", b"seed value", None]
    ours.mset([("from us", b"\x03"), ("shared", b"our value")])
    assert seed.mget(["from us", "shared"]) == [b"\x03", b"our value"]
    assert sorted(ours.yield_keys()) == ["from seed", "from us", "shared"]
