"""A real, throw-away Elasticsearch cluster of several nodes on 127.0.0.1, without Docker.

:class:`LocalElasticsearchCluster` starts N nodes of the Maven Central ``integ-test-zip``
(the same install, JDK, unprivileged user and process handling as
:class:`~.node.LocalElasticsearchNode`), each in a directory of its own with its own HTTP and
transport ports. They form one cluster through Elasticsearch's real discovery, as separate
hosts would: ``discovery.seed_hosts`` and, for the first election only,
``cluster.initial_master_nodes`` (every node master-eligible and a data node). Tests can
then kill, stop and restart single nodes and watch the cluster lose and elect masters.

**How the transport ports are known without a race.** Seeding discovery needs a transport
address before the seeded node runs; picking "free" ports in advance (bind, close, pass the
number on) races with every other process on this shared machine. Instead node 0 starts
first with ``transport.port=0`` and ``discovery.seed_hosts: []``; as soon as it has bound its
ports (its ports file, long before it could be healthy) nodes 1..N-1 start together, seeded
with node 0's transport address. Discovery is symmetric (a node that is asked for its peers
probes the asker back), so node 0 finds the others, every node learns every peer, and once
a majority of ``cluster.initial_master_nodes`` see each other they elect a master. A
restarted node binds its old ports again and is seeded with every other node's address; it
gets no ``cluster.initial_master_nodes`` (Elasticsearch wants that setting only for the
very first election).

Each cluster gets a random ``cluster.name``, so clusters of concurrent test runs never
merge even if one seeds a port another has since reused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import time
import urllib.error
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from .distribution import runnable_distribution
from .errors import NodeError, NodeStartError
from .jdk import jdk_for_version, parse_version
from .node import DEFAULT_VERSION
from .process import NodeProcess, get_json, node_owner

__all__ = ["CLUSTER_SETTINGS", "LocalElasticsearchCluster"]

logger = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_STATUS_RANK = {"red": 0, "yellow": 1, "green": 2}

CLUSTER_SETTINGS: Mapping[str, str] = {
    "network.host": _HOST,
    "xpack.security.enabled": "false",
    "cluster.routing.allocation.disk.threshold_enabled": "false",
    "action.destructive_requires_name": "false",
}
"""Settings every node of a cluster gets (besides its name, discovery, paths and ports)."""


class LocalElasticsearchCluster:
    """``nodes`` Elasticsearch nodes on 127.0.0.1 forming one cluster (module docstring).

    >>> with LocalElasticsearchCluster(3) as cluster:   # doctest: +SKIP
    ...     Elasticsearch(cluster.urls).cluster.health(wait_for_nodes=3)

    ``start`` returns once all nodes have joined and the cluster is at least yellow;
    ``kill(i)`` SIGKILLs node ``i`` (a crash), ``stop_node(i)`` shuts it down cleanly, and
    ``restart(i)`` brings it back on the same ports and data and waits until it has
    rejoined; ``stop`` ends every node and deletes every directory. Node ``i`` is named
    ``lecache-node-<i>``; :attr:`urls` lists every node's HTTP URL, running or not (a
    killed node keeps its URL for its restart).
    """

    def __init__(
        self,
        nodes: int = 3,
        version: str = DEFAULT_VERSION,
        *,
        heap: str = "512m",
        java_home: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        parse_version(version)
        if not 1 <= nodes <= 9:
            raise ValueError(f"nodes must be between 1 and 9, not {nodes!r}")
        if not re.fullmatch(r"\d+[kKmMgG]?", heap):
            raise ValueError(f"heap must look like 512m or 1g, not {heap!r}")
        self.size = nodes
        self.version = version
        self.heap = heap
        self.cluster_name = f"lecache-cluster-{secrets.token_hex(4)}"
        self.node_names = [f"lecache-node-{index}" for index in range(nodes)]
        self._java_home_arg = java_home
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._extra_settings = dict(settings or {})
        self._nodes: list[NodeProcess] = []

    def __repr__(self) -> str:
        running = sum(node.is_running() for node in self._nodes)
        return (
            f"LocalElasticsearchCluster({self.version!r}, {self.cluster_name}, "
            f"{running}/{self.size} nodes running)"
        )

    # ----------------------------------------------------------------- properties

    @property
    def nodes(self) -> list[NodeProcess]:
        """The nodes' processes, by index (ports, pid, directory, console output)."""
        return list(self._nodes)

    @property
    def urls(self) -> list[str]:
        """``http://127.0.0.1:<port>`` of every node, by index; known once started."""
        return [self.url(index) for index in range(self.size)]

    def url(self, index: int) -> str:
        port = self._node(index).http_port
        if port is None:
            raise NodeError(f"node {index} of the cluster has not been started")
        return f"http://{_HOST}:{port}"

    def is_running(self, index: int) -> bool:
        return self._node(index).is_running()

    # ----------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 300.0) -> list[str]:
        """Start every node and wait until all joined one cluster that is at least yellow.

        Returns :attr:`urls`. On failure every node is killed (their directories stay for
        a look until :meth:`stop`) and :class:`NodeStartError` says which node failed how.
        """
        if self._nodes:
            raise NodeError("the cluster was already started; stop() it first")
        deadline = time.monotonic() + timeout
        home = runnable_distribution(self.version, self._cache_dir)
        java_home = jdk_for_version(self.version, self._java_home_arg)
        owner = node_owner()
        for index in range(self.size):
            node = NodeProcess(
                home=home,
                java_home=java_home,
                heap=self.heap,
                label=f"Elasticsearch {self.version} node {index} of {self.cluster_name}",
                owner=owner,
                prefix=f"lecache-es-{self.version}-n{index}-",
            )
            self._nodes.append(node)
            if index == 0:  # seeded by the others; no default probing of ports 9300-9305
                assert node.base_dir is not None
                with open(node.base_dir / "config" / "elasticsearch.yml", "a") as config:
                    config.write("\ndiscovery.seed_hosts: []\n")
            node.hand_over()
        try:
            first = self._nodes[0]
            first.launch(self._settings(0, first_start=True))
            first.wait_for_ports(_left(deadline))
            for index in range(1, self.size):
                self._nodes[index].launch(self._settings(index, first_start=True))
            for node in self._nodes:
                node.wait_for_ports(_left(deadline))
            self.wait_for_health("yellow", nodes=self.size, timeout=_left(deadline))
        except BaseException:
            for node in self._nodes:
                node.terminate(graceful=False)
            raise
        logger.info("cluster %s of %d nodes is up", self.cluster_name, self.size)
        return self.urls

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node (SIGTERM, SIGKILL after ``timeout`` s) and delete its directory."""
        for node in self._nodes:
            with contextlib.suppress(Exception):
                node.terminate(graceful=True, timeout=timeout)
        for node in self._nodes:
            node.remove(timeout)
        self._nodes = []

    def kill(self, index: int) -> None:
        """SIGKILL node ``index``'s process group (a crash); its data stays for a restart."""
        self._node(index).terminate(graceful=False)

    def stop_node(self, index: int, timeout: float = 30.0) -> None:
        """Shut node ``index`` down cleanly (SIGTERM); its data stays for a restart."""
        self._node(index).terminate(graceful=True, timeout=timeout)

    def restart(self, index: int, timeout: float = 300.0) -> str:
        """Start node ``index`` again (stopping it cleanly first if it runs) on the same
        ports and data, and wait until it has rejoined: the cluster, as that node sees it,
        has every running node and is at least yellow. Returns the node's URL."""
        node = self._node(index)
        node.terminate(graceful=True)
        node.launch(self._settings(index, first_start=False))
        try:
            running = sum(other.is_running() for other in self._nodes)
            self.wait_for_health("yellow", nodes=running, via=index, timeout=timeout)
        except BaseException:
            node.terminate(graceful=False)
            raise
        return self.url(index)

    def __enter__(self) -> LocalElasticsearchCluster:
        if not self._nodes:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- the cluster's view

    def wait_for_health(
        self,
        status: str = "yellow",
        *,
        nodes: int | None = None,
        via: int | None = None,
        timeout: float = 300.0,
    ) -> dict[str, object]:
        """Wait until the cluster has exactly ``nodes`` nodes (default: as many as are
        running) and is at least ``status``, as node ``via`` (default: any running node)
        sees it; returns that ``_cluster/health`` answer.

        Raises :class:`NodeStartError` with the last answer when that does not happen
        within ``timeout`` seconds, or when node ``via`` dies meanwhile.
        """
        if status not in _STATUS_RANK:
            raise ValueError(f"status must be one of {sorted(_STATUS_RANK)}, not {status!r}")
        deadline = time.monotonic() + timeout
        last_problem = "no node asked yet"
        while True:
            wanted = nodes if nodes is not None else sum(n.is_running() for n in self._nodes)
            if via is not None:
                self._node(via).check_alive()
                asked = [via]
            else:
                asked = [i for i, node in enumerate(self._nodes) if node.is_running()]
            for index in asked:
                health, problem = self._health(index, wanted, status)
                if health is not None:
                    return health
                last_problem = f"node {index}: {problem}"
            if time.monotonic() > deadline:
                raise NodeStartError(
                    f"cluster {self.cluster_name} not {status} with {wanted} nodes after "
                    f"{timeout:.0f}s ({last_problem}); each node's console.log is under "
                    f"{[str(node.base_dir) for node in self._nodes]}"
                )
            time.sleep(0.5)

    def elected_master(self) -> int:
        """The index of the node that is the elected master now (``_cat/master``, asked of
        the running nodes in turn). :class:`NodeError` when none of them knows a master."""
        problems: list[str] = []
        for index, node in enumerate(self._nodes):
            if not node.is_running():
                continue
            try:
                answer = get_json(f"{self.url(index)}/_cat/master?format=json&master_timeout=5s")
            except (OSError, ValueError) as error:  # HTTPError 503: no master yet
                problems.append(f"node {index}: {type(error).__name__}: {error}")
                continue
            if isinstance(answer, list) and answer and isinstance(answer[0], dict):
                name = answer[0].get("node")
                if name in self.node_names:
                    return self.node_names.index(str(name))
            problems.append(f"node {index}: unexpected answer {answer!r}")
        answers = "; ".join(problems) or "no node runs"
        raise NodeError(f"no elected master in cluster {self.cluster_name}: {answers}")

    # ----------------------------------------------------------------- internals

    def _node(self, index: int) -> NodeProcess:
        if not self._nodes:
            raise NodeError("the cluster has not been started (or was stopped); call start()")
        if not 0 <= index < len(self._nodes):
            raise IndexError(f"no node {index}: the cluster has nodes 0..{len(self._nodes) - 1}")
        return self._nodes[index]

    def _settings(self, index: int, *, first_start: bool) -> dict[str, str]:
        settings = dict(CLUSTER_SETTINGS)
        settings["cluster.name"] = self.cluster_name
        settings["node.name"] = self.node_names[index]
        seeds = [
            f"{_HOST}:{node.transport_port}"
            for other, node in enumerate(self._nodes)
            if other != index and node.transport_port is not None
        ]
        if seeds:  # node 0's first start: none yet, elasticsearch.yml says []
            settings["discovery.seed_hosts"] = ",".join(seeds)
        if first_start:
            settings["cluster.initial_master_nodes"] = ",".join(self.node_names)
        settings.update(self._extra_settings)
        return settings

    def _health(self, index: int, nodes: int, status: str) -> tuple[dict[str, object] | None, str]:
        """(the health answer, "") when node ``index`` sees ``nodes`` nodes and at least
        ``status``; (None, what it saw) otherwise."""
        url = (
            f"{self.url(index)}/_cluster/health?wait_for_nodes={nodes}"
            f"&wait_for_status={status}&timeout=2s&master_timeout=2s"
        )
        try:
            answer = get_json(url, timeout=15)
        except urllib.error.HTTPError as error:  # 408: timed out waiting, 503: no master
            return None, f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            return None, f"{type(error).__name__}: {error}"
        if not isinstance(answer, dict):
            return None, f"unexpected answer {answer!r}"
        seen = (answer.get("status"), answer.get("number_of_nodes"))
        if (
            answer.get("timed_out") is False
            and answer.get("number_of_nodes") == nodes
            and _STATUS_RANK.get(str(answer.get("status")), -1) >= _STATUS_RANK[status]
        ):
            return answer, ""
        return None, f"status {seen[0]}, {seen[1]} nodes"


def _left(deadline: float) -> float:
    """Seconds left until ``deadline`` (at least one, so a last check still happens)."""
    return max(1.0, deadline - time.monotonic())
