"""The caches on a real 3-node cluster with one replica, while nodes die and come back.

Each scenario runs every kind of :data:`._workload.CACHE_KINDS` at once, one thread per
cache writing fresh keys and reading them back:

* a *multi-host* cache (``es_url=[every node]``, the library's defaults otherwise) of each
  kind must see 0 failed calls, and every acknowledged write must be read back afterwards;
* a *single-host* cache with ``fail_open=True`` whose one node is the one that dies must
  answer every call (misses allowed, no exception).

Scenarios: (a) a data node that is not the master is SIGKILLed and later restarted, (b) a
rolling restart (each node stopped and started in turn, green in between), (c) the elected
master is SIGKILLed. The indices get their replica from an index template, as the README
recommends, put before the caches create them. Counts are printed (``-s`` shows them) and
recorded in docs/RELIABILITY.md. Nothing is timed: the loops are made to run a number of
iterations in each state, and every wait is on the cluster's health.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator

import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import BackendUnavailableError, ElasticsearchCache
from langchain_elasticsearch_cache.interfaces import cli
from lecache_devtools.cluster import LocalElasticsearchCluster

from ..conftest import delete_everything_named
from ._workload import CACHE_KINDS, Workload
from .conftest import HEALTH_TIMEOUT, NODES

pytestmark = [pytest.mark.elasticsearch, pytest.mark.cluster]

# iterations every loop must make before, during and after the failure
WARM_UP, DURING, AFTER = 5, 15, 5

LLM = "cluster-test-model"

TEMPLATE_SETTINGS = {
    "number_of_shards": NODES,  # a primary on every node: any node lost holds one
    "number_of_replicas": 1,
}


@pytest.fixture
def prefix(cluster: LocalElasticsearchCluster) -> Iterator[str]:
    """A fresh name prefix whose indices get one replica from an index template."""
    name = f"test-cluster-{uuid.uuid4().hex[:12]}"
    with Elasticsearch(cluster.urls, request_timeout=60) as client:
        client.indices.put_index_template(
            name=name,
            index_patterns=[f"{name}-*"],
            priority=500,
            template={"settings": TEMPLATE_SETTINGS},
        )
    yield name
    with Elasticsearch(cluster.urls, request_timeout=60) as client:
        delete_everything_named(client, f"{name}-*")
        with contextlib.suppress(Exception):
            client.indices.delete_index_template(name=name)


def _workloads(cluster: LocalElasticsearchCluster, prefix: str, lost: int | None) -> list[Workload]:
    """One multi-host cache per kind, and (when a node is lost for good) one single-host
    fail-open cache per kind on that node."""
    workloads = []
    for kind in CACHE_KINDS:
        index = f"{prefix}-{kind.name}"
        cache = kind.build(index, es_url=cluster.urls)
        workloads.append(Workload(f"{kind.name} multi-host", kind, cache, f"m-{kind.name}"))
        if lost is not None:
            single = kind.build(
                index, es_url=cluster.url(lost), fail_open=True, request_timeout=5, max_retries=0
            )
            workloads.append(
                Workload(
                    f"{kind.name} 1 host fail-open", kind, single, f"f-{kind.name}", fail_open=True
                )
            )
    return workloads


def _run_scenario(
    name: str,
    cluster: LocalElasticsearchCluster,
    prefix: str,
    lost: int | None,
    failure: Callable[[list[Workload]], None],
) -> list[Workload]:
    workloads = _workloads(cluster, prefix, lost)
    try:
        for workload in workloads:
            workload.start()
        for workload in workloads:
            workload.wait_for_iterations(WARM_UP)
        # the replicas of the indices just created must be in sync before a node is lost:
        # a primary killed while its replica is still initialising takes the shard with it
        cluster.wait_for_health("green", nodes=NODES, timeout=HEALTH_TIMEOUT)
        failure(workloads)
        cluster.wait_for_health("green", nodes=NODES, timeout=HEALTH_TIMEOUT)
        for workload in workloads:
            workload.wait_for_iterations(AFTER)
    finally:
        for workload in workloads:
            workload.stop()
    for workload in workloads:
        workload.verify()
        workload.cache.close()
        print(workload.report(name))
    return workloads


def _check(workloads: list[Workload]) -> None:
    for workload in workloads:
        assert workload.calls > 2 * (WARM_UP + DURING), workload.report("too few calls")
        if workload.fail_open:
            # every call answered: misses (and writes skipped) allowed, exceptions not
            assert workload.failures == 0, (workload.report("fail-open"), workload.errors)
            continue
        assert workload.failures == 0, (workload.report("multi-host"), workload.errors)
        assert workload.misses == 0, workload.report("multi-host")
        assert workload.acknowledged
        assert workload.lost == [], workload.report("multi-host")


def _during_outage(workloads: list[Workload]) -> None:
    for workload in workloads:
        workload.wait_for_iterations(DURING)


def _a_data_node(cluster: LocalElasticsearchCluster) -> int:
    master = cluster.elected_master()
    return next(index for index in range(NODES) if index != master)


def test_a_data_node_killed_and_restarted(cluster: LocalElasticsearchCluster, prefix: str) -> None:
    victim = _a_data_node(cluster)

    def failure(workloads: list[Workload]) -> None:
        cluster.kill(victim)
        cluster.wait_for_health("yellow", nodes=NODES - 1, timeout=HEALTH_TIMEOUT)
        _during_outage(workloads)
        cluster.restart(victim, timeout=HEALTH_TIMEOUT)

    _check(_run_scenario("(a) data node killed", cluster, prefix, victim, failure))


def test_a_rolling_restart(cluster: LocalElasticsearchCluster, prefix: str) -> None:
    def failure(workloads: list[Workload]) -> None:
        for index in range(NODES):
            cluster.restart(index, timeout=HEALTH_TIMEOUT)  # a clean stop, then a start
            for workload in workloads:
                workload.wait_for_iterations(DURING // NODES)
            cluster.wait_for_health("green", nodes=NODES, timeout=HEALTH_TIMEOUT)

    _check(_run_scenario("(b) rolling restart", cluster, prefix, None, failure))


def test_the_elected_master_killed(cluster: LocalElasticsearchCluster, prefix: str) -> None:
    master = cluster.elected_master()

    def failure(workloads: list[Workload]) -> None:
        cluster.kill(master)
        cluster.wait_for_health("yellow", nodes=NODES - 1, timeout=HEALTH_TIMEOUT)
        assert cluster.elected_master() != master
        _during_outage(workloads)
        cluster.restart(master, timeout=HEALTH_TIMEOUT)

    _check(_run_scenario("(c) elected master killed", cluster, prefix, master, failure))


# ------------------------------------------------------------- the first host lost


def _answer(n: int) -> Generation:
    return Generation(text=f"answer {n}")


@pytest.mark.usefixtures("cli_logging_restored")
def test_every_way_of_listing_hosts_survives_the_first_host(
    cluster: LocalElasticsearchCluster,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """es_url=[...], --es-url a,b,c and ES_URL=a,b,c, with the FIRST listed node dead."""
    first = _a_data_node(cluster)
    urls = cluster.urls
    urls.insert(0, urls.pop(first))  # the node that dies is listed first
    index = f"{prefix}-llm"
    with ElasticsearchCache(index, es_url=urls) as cache:
        cache.update("before", LLM, [_answer(-1)])
    cluster.wait_for_health("green", nodes=NODES, timeout=HEALTH_TIMEOUT)  # replicas in sync
    cluster.kill(first)
    cluster.wait_for_health("yellow", nodes=NODES - 1, timeout=HEALTH_TIMEOUT)

    # the control: a client that tries the dead first node and may not retry fails
    with pytest.raises(BackendUnavailableError, match="any of its 3 nodes"):
        ElasticsearchCache(
            index, es_url=urls, max_retries=0, es_params={"randomize_nodes_in_pool": False}
        )

    # 1. es_url=[...]: created, written and read with the first host dead
    with ElasticsearchCache(index, es_url=urls) as cache:
        for n in range(NODES * 3):  # round robin over the nodes: the dead one is met
            cache.update(f"prompt {n}", LLM, [_answer(n)])
            assert cache.lookup(f"prompt {n}", LLM) == [_answer(n)]
        assert cache.statistics.errors == 0
        assert cache.lookup("before", LLM) == [_answer(-1)]

    # 2. --es-url a,b,c
    assert cli.main(["stats", index, "--no-models", "--es-url", ",".join(urls)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert f"index:      {index} (llm cache)" in out

    # 3. ES_URL=a,b,c (the demo builds an ElasticsearchCache from it)
    monkeypatch.setenv("ES_URL", ",".join(urls))
    assert cli.main(["demo", "--index", f"{prefix}-demo"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "4 hits, 2 misses, 2 writes" in out
    assert cli.main(["stats", index, "--no-models"]) == cli.EXIT_OK
    assert "documents:  " in capsys.readouterr().out

    cluster.restart(first, timeout=HEALTH_TIMEOUT)
