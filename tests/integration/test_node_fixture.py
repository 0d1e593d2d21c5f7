"""The session's Elasticsearch node (tests/conftest.py) is real and behaves as documented."""

from __future__ import annotations

import os

import pytest
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch

from lecache_devtools.node import DEFAULT_VERSION, LocalElasticsearchNode

from ..conftest import delete_everything_named

pytestmark = pytest.mark.elasticsearch


def _local_node_only(es_node: LocalElasticsearchNode | None) -> LocalElasticsearchNode:
    if es_node is None:
        pytest.skip("the node is not a LocalElasticsearchNode (ES_URL or a container)")
    return es_node


def test_node_runs_the_requested_version(
    es_client: Elasticsearch, es_node: LocalElasticsearchNode | None
) -> None:
    # nodes.info rather than info(): the integ-test distribution has no GET / handler
    nodes = es_client.nodes.info(node_id="_local", metric="_none")["nodes"]
    (node,) = nodes.values()
    if es_node is not None or not os.environ.get("ES_URL"):
        assert node["version"] == (os.environ.get("LECACHE_ES_VERSION") or DEFAULT_VERSION)
    assert int(node["version"].split(".")[0]) in {8, 9}


def test_index_get_round_trip(es_client: Elasticsearch, index_name: str) -> None:
    es_client.index(index=index_name, id="k1", document={"value": "v1"}, refresh=True)

    assert es_client.get(index=index_name, id="k1")["_source"] == {"value": "v1"}
    assert es_client.count(index=index_name)["count"] == 1


async def test_async_client_round_trip(
    async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    await async_es_client.index(index=index_name, id="k1", document={"n": 1}, refresh=True)

    found = await async_es_client.mget(index=index_name, ids=["k1", "missing"])
    assert [doc["found"] for doc in found["docs"]] == [True, False]


def test_integ_test_distribution_lacks_delete_by_query_and_root(
    es_client: Elasticsearch, es_node: LocalElasticsearchNode | None, index_name: str
) -> None:
    """What the Maven Central integ-test zip answers for APIs of modules it does not ship."""
    _local_node_only(es_node)
    es_client.index(index=index_name, id="k1", document={"n": 1}, refresh=True)

    with pytest.raises(ApiError) as no_reindex:
        es_client.delete_by_query(index=index_name, query={"match_all": {}})
    assert no_reindex.value.meta.status == 400
    assert no_reindex.value.body == {
        "error": f"no handler found for uri [/{index_name}/_delete_by_query] and method [POST]"
    }

    with pytest.raises(ApiError) as no_root:  # the rest-root module is missing too
        es_client.info()
    assert no_root.value.meta.status == 405

    with pytest.raises(ApiError) as no_painless:
        es_client.update(index=index_name, id="k1", script={"source": "ctx._source.n += 1"})
    assert no_painless.value.meta.status == 400
    assert "script_lang not supported [painless]" in str(no_painless.value.body)


def test_index_name_cleanup_removes_aliased_and_plain_indices(
    es_client: Elasticsearch, index_name: str
) -> None:
    assert index_name == index_name.lower() and index_name.startswith("test-")
    es_client.indices.create(index=f"{index_name}-v1", aliases={index_name: {}})
    es_client.indices.create(index=f"{index_name}-other")
    assert len(es_client.indices.get(index=f"{index_name}*")) == 2

    delete_everything_named(es_client, f"{index_name}*")

    left = es_client.indices.get(index=f"{index_name}*", allow_no_indices=True)
    assert dict(left) == {}


def test_kill_and_restart_keep_data_and_port(
    es_client: Elasticsearch, es_node: LocalElasticsearchNode | None, index_name: str
) -> None:
    node = _local_node_only(es_node)
    url = node.url
    es_client.index(index=index_name, id="k1", document={"n": 1}, refresh=True)

    node.kill()
    assert not node.is_running()
    with (
        Elasticsearch(url, request_timeout=2, max_retries=0) as probe,
        pytest.raises(Exception),  # noqa: B017 - any transport error
    ):
        probe.count(index=index_name)

    assert node.restart() == url
    es_client.cluster.health(index=index_name, wait_for_status="yellow", timeout="60s")
    assert es_client.get(index=index_name, id="k1")["_source"] == {"n": 1}
