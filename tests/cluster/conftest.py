"""One local 3-node Elasticsearch cluster for the whole session (tests/cluster only).

Always a :class:`LocalElasticsearchCluster` of ``$LECACHE_ES_VERSION`` (default
:data:`CLUSTER_VERSION`, 8.19.9), whatever the session's single node is: the tests kill and restart
its nodes, so they need processes this run controls. Started on first use only; when it
cannot start the tests are skipped, or fail under ``CI=true``.

Tests may leave nodes killed or stopped: :func:`cluster` brings every node back and waits
for green before each test, so the tests do not depend on their order.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from lecache_devtools.cluster import LocalElasticsearchCluster

from ..conftest import delete_everything_named
from ..integration._nodes import no_node

NODES = 3
CLUSTER_VERSION = "8.19.9"
# A slow, shared 2-core machine: three JVMs starting at once take minutes there.
START_TIMEOUT = 900.0
HEALTH_TIMEOUT = 600.0


def es_version() -> str:
    return os.environ.get("LECACHE_ES_VERSION") or CLUSTER_VERSION


@pytest.fixture(scope="session")
def _session_cluster() -> Iterator[LocalElasticsearchCluster]:
    cluster = LocalElasticsearchCluster(NODES, es_version(), heap="512m")
    try:
        cluster.start(timeout=START_TIMEOUT)
    except Exception as error:
        cluster.stop()
        no_node(f"a local {NODES}-node Elasticsearch {es_version()} cluster did not start: {error}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(_session_cluster: LocalElasticsearchCluster) -> LocalElasticsearchCluster:
    """The session's cluster with every node running and the cluster green."""
    for index in range(NODES):
        if not _session_cluster.is_running(index):
            _session_cluster.restart(index, timeout=HEALTH_TIMEOUT)
    _session_cluster.wait_for_health("green", nodes=NODES, timeout=HEALTH_TIMEOUT)
    return _session_cluster


@pytest.fixture
def cluster_index(cluster: LocalElasticsearchCluster) -> Iterator[str]:
    """A fresh index name; whatever is named ``<name>*`` is deleted afterwards."""
    name = f"test-cluster-{uuid.uuid4().hex}"
    yield name
    with Elasticsearch(cluster.urls, request_timeout=60) as client:
        delete_everything_named(client, f"{name}*")
