"""A real 3-node cluster on loopback: discovery, replicas, node loss, restarts, re-election.

Every wait is on the cluster's own state (``_cluster/health`` with ``wait_for_*``), with
timeouts meant for a slow shared machine; nothing is timed. The client is a plain
elasticsearch-py client that knows every node's URL, listed with the lost node first and
not shuffled, so its first request meets the dead node and has to go on to a live one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from lecache_devtools.cluster import LocalElasticsearchCluster

from .conftest import HEALTH_TIMEOUT, NODES

pytestmark = [pytest.mark.elasticsearch, pytest.mark.cluster]

# a node that left must not have its shard copies rebuilt elsewhere while the test looks
# at the yellow cluster: the default delay (1 minute) can pass on a slow machine
INDEX_SETTINGS = {
    "number_of_shards": NODES,
    "number_of_replicas": 1,
    "unassigned.node_left.delayed_timeout": "30m",
}


def _client(cluster: LocalElasticsearchCluster, first: int | None = None) -> Elasticsearch:
    urls = cluster.urls
    if first is not None:
        urls.insert(0, urls.pop(first))
    return Elasticsearch(
        urls,
        request_timeout=60,
        max_retries=5,
        retry_on_timeout=True,
        randomize_nodes_in_pool=False,
    )


@pytest.fixture
def client(cluster: LocalElasticsearchCluster) -> Iterator[Elasticsearch]:
    with _client(cluster) as es:
        yield es


def _replicated_index(client: Elasticsearch, name: str, documents: int = 30) -> None:
    client.indices.create(index=name, settings=INDEX_SETTINGS)
    for n in range(documents):
        client.index(index=name, id=f"doc-{n}", document={"n": n})
    client.indices.refresh(index=name)
    health = client.cluster.health(
        index=name, wait_for_status="green", timeout=f"{HEALTH_TIMEOUT:.0f}s"
    )
    assert health["status"] == "green", health


def _node_names(url: str) -> list[str]:
    with Elasticsearch(url, request_timeout=60) as one_node:
        return sorted(row["name"] for row in one_node.cat.nodes(format="json", h="name"))


def _serves_reads_and_writes(client: Elasticsearch, name: str, documents: int = 30) -> None:
    """Every document written before is still there, and new ones can be written and read."""
    found = client.mget(index=name, ids=[f"doc-{n}" for n in range(documents)])["docs"]
    assert [doc["_source"]["n"] for doc in found if doc["found"]] == list(range(documents))
    client.index(index=name, id="written-later", document={"n": -1}, refresh=True)
    assert client.get(index=name, id="written-later")["_source"] == {"n": -1}
    assert client.count(index=name)["count"] == documents + 1


def _a_node_other_than(cluster: LocalElasticsearchCluster, master: int) -> int:
    return next(index for index in range(NODES) if index != master)


def test_all_nodes_joined_one_cluster(cluster: LocalElasticsearchCluster) -> None:
    names = [f"lecache-node-{index}" for index in range(NODES)]
    masters = set()
    for url in cluster.urls:  # every node sees the same three members and the same master
        assert _node_names(url) == names
        with Elasticsearch(url, request_timeout=60) as one_node:
            state = one_node.cluster.state(metric="master_node")
            health = one_node.cluster.health()
        masters.add(state["master_node"])
        assert health["cluster_name"] == cluster.cluster_name
        assert health["number_of_nodes"] == NODES
        assert health["number_of_data_nodes"] == NODES
    assert len(masters) == 1
    assert cluster.elected_master() in range(NODES)
    assert len(set(cluster.urls)) == NODES
    assert len({node.transport_port for node in cluster.nodes}) == NODES


def test_an_index_with_one_replica_goes_green_with_copies_on_different_nodes(
    cluster: LocalElasticsearchCluster, client: Elasticsearch, cluster_index: str
) -> None:
    _replicated_index(client, cluster_index)

    shards = client.cat.shards(index=cluster_index, format="json", h="shard,prirep,state,node")
    assert len(shards) == 2 * NODES
    assert {row["state"] for row in shards} == {"STARTED"}
    for shard in range(NODES):
        copies = [row for row in shards if row["shard"] == str(shard)]
        assert sorted(row["prirep"] for row in copies) == ["p", "r"]
        assert len({row["node"] for row in copies}) == 2  # never both copies on one node
    assert len({row["node"] for row in shards}) == NODES


def test_losing_a_data_node_leaves_the_index_yellow_but_serving_and_a_restart_heals_it(
    cluster: LocalElasticsearchCluster, cluster_index: str
) -> None:
    lost = _a_node_other_than(cluster, cluster.elected_master())
    with _client(cluster) as setup:
        _replicated_index(setup, cluster_index)
        shards = setup.cat.shards(index=cluster_index, format="json", h="node")
    copies_on_lost = sum(row["node"] == f"lecache-node-{lost}" for row in shards)
    assert copies_on_lost > 0
    url = cluster.url(lost)

    cluster.kill(lost)

    assert not cluster.is_running(lost)
    health = cluster.wait_for_health("yellow", nodes=NODES - 1, timeout=HEALTH_TIMEOUT)
    assert health["status"] == "yellow"  # copies were lost; every shard still has one
    assert health["unassigned_shards"] == copies_on_lost
    with _client(cluster, first=lost) as client:
        _serves_reads_and_writes(client, cluster_index)

    assert cluster.restart(lost, timeout=HEALTH_TIMEOUT) == url
    assert _node_names(url) == [f"lecache-node-{index}" for index in range(NODES)]
    health = cluster.wait_for_health("green", nodes=NODES, timeout=HEALTH_TIMEOUT)
    assert health["unassigned_shards"] == 0
    with _client(cluster) as client:
        assert client.count(index=cluster_index)["count"] == 31


def test_killing_the_elected_master_elects_another_and_the_cluster_recovers(
    cluster: LocalElasticsearchCluster, cluster_index: str
) -> None:
    with _client(cluster) as setup:
        _replicated_index(setup, cluster_index)
    old_master = cluster.elected_master()

    cluster.kill(old_master)

    health = cluster.wait_for_health("yellow", nodes=NODES - 1, timeout=HEALTH_TIMEOUT)
    assert health["status"] == "yellow"
    new_master = cluster.elected_master()
    assert new_master != old_master
    assert cluster.is_running(new_master)
    with _client(cluster, first=old_master) as client:
        _serves_reads_and_writes(client, cluster_index)

    cluster.restart(old_master, timeout=HEALTH_TIMEOUT)
    cluster.wait_for_health("green", nodes=NODES, timeout=HEALTH_TIMEOUT)
    assert cluster.elected_master() in range(NODES)
    with _client(cluster, first=old_master) as client:
        assert client.count(index=cluster_index)["count"] == 31


def test_a_node_stopped_cleanly_leaves_and_rejoins(cluster: LocalElasticsearchCluster) -> None:
    leaving = _a_node_other_than(cluster, cluster.elected_master())

    cluster.stop_node(leaving)

    assert not cluster.is_running(leaving)
    health = cluster.wait_for_health("green", nodes=NODES - 1, timeout=HEALTH_TIMEOUT)
    assert health["number_of_nodes"] == NODES - 1
    remaining = cluster.url(_a_node_other_than(cluster, leaving))
    assert f"lecache-node-{leaving}" not in _node_names(remaining)

    cluster.restart(leaving, timeout=HEALTH_TIMEOUT)
    assert f"lecache-node-{leaving}" in _node_names(remaining)
