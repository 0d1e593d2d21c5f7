"""LocalElasticsearchCluster refuses bad arguments before it starts anything."""

from __future__ import annotations

import pytest

from lecache_devtools.cluster import LocalElasticsearchCluster
from lecache_devtools.errors import NodeError


@pytest.mark.parametrize("nodes", [0, -1, 10])
def test_node_count_out_of_range(nodes: int) -> None:
    with pytest.raises(ValueError, match="nodes must be between 1 and 9"):
        LocalElasticsearchCluster(nodes)


def test_bad_heap_and_version() -> None:
    with pytest.raises(ValueError, match="heap must look like 512m"):
        LocalElasticsearchCluster(3, heap="half a gig")
    with pytest.raises(ValueError, match="not an Elasticsearch release version"):
        LocalElasticsearchCluster(3, "8.19")


def test_nodes_of_a_cluster_not_started() -> None:
    cluster = LocalElasticsearchCluster(3)
    assert cluster.nodes == []
    assert len(cluster.node_names) == 3 and cluster.cluster_name.startswith("lecache-cluster-")
    with pytest.raises(NodeError, match=r"has not been started .*call start\(\)"):
        cluster.kill(0)
    with pytest.raises(NodeError, match="has not been started"):
        _ = cluster.urls
    with pytest.raises(ValueError, match="status must be one of"):
        cluster.wait_for_health("blue")
    cluster.stop()  # nothing to stop: no error


def test_each_cluster_has_its_own_name() -> None:
    # clusters of concurrent test runs on one machine must never merge
    assert LocalElasticsearchCluster(3).cluster_name != LocalElasticsearchCluster(3).cluster_name
