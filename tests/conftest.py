"""Session-wide fixtures: a real Elasticsearch node and clients for it.

Where the node comes from, first match wins:

1. ``ES_URL`` set: that cluster is used as it is (nothing is started or stopped).
2. A Docker engine answers: testcontainers' ``ElasticSearchContainer``
   (image ``docker.elastic.co/elasticsearch/elasticsearch:$LECACHE_ES_VERSION``).
3. Otherwise :class:`LocalElasticsearchNode` runs the Maven Central distribution of
   ``$LECACHE_ES_VERSION`` (default 8.19.9) and removes its data at the end of the session.

When none can be had, tests that need a node are skipped, or fail when ``CI=true``.
Only tests that request one of these fixtures start a node, so unit tests stay fast.

The local node is the *integ-test* distribution: no ``GET /`` (so ``client.info()`` answers
405), no ``reindex`` module (no ``_delete_by_query``), no painless, no data streams or ILM.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any, NoReturn

import elasticsearch
import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from hypothesis import settings

from lecache_devtools.node import DEFAULT_VERSION, LocalElasticsearchNode

# Property tests judge results, not speed: on a shared, noisy machine a per-example deadline
# fails a correct test. Examples stay random (a counterexample prints its reproduction blob).
settings.register_profile("lecache", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "lecache"))

_DOCKER_PING_TIMEOUT = 3  # seconds
_DOCKER_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:{version}"


def _es_version() -> str:
    return os.environ.get("LECACHE_ES_VERSION") or DEFAULT_VERSION


def _no_node(reason: str) -> NoReturn:
    """Skip, or fail under CI, where a missing node must not pass silently."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"no Elasticsearch node for the tests (CI=true): {reason}", pytrace=False)
    pytest.skip(f"no Elasticsearch node: {reason}")


def _docker_answers() -> bool:
    """Whether a Docker engine answers a ping within a few seconds."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
        return False  # the usual case here: no engine, so no need to ask docker-py
    # docker-py leaves its socket unclosed when the engine does not answer; that
    # ResourceWarning must not turn into an error of whichever test collects it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            import docker  # type: ignore[import-untyped,unused-ignore]

            client = docker.from_env(timeout=_DOCKER_PING_TIMEOUT)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:
            return False
        finally:
            gc.collect()


def _container(version: str) -> Any:
    try:
        from testcontainers.community.elasticsearch import ElasticSearchContainer
    except ImportError:  # testcontainers < 4.10
        from testcontainers.elasticsearch import ElasticSearchContainer

    container = ElasticSearchContainer(_DOCKER_IMAGE.format(version=version), mem_limit="2g")
    container.with_env("ES_JAVA_OPTS", "-Xms512m -Xmx512m")
    container.with_env("action.destructive_requires_name", "false")
    container.with_env("cluster.routing.allocation.disk.threshold_enabled", "false")
    return container


class _NodeSource:
    """What the session got: a URL, plus the local node or container to stop at the end."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.node: LocalElasticsearchNode | None = None
        self.container: Any = None
        self.failure: str | None = None

    def open(self) -> None:
        url = os.environ.get("ES_URL")
        if url:
            self.url = url.rstrip("/")
            return
        version = _es_version()
        problems: list[str] = []
        if _docker_answers():
            try:
                container = _container(version)
                container.start()
            except Exception as error:
                problems.append(f"Docker answers but the container did not start: {error}")
            else:
                self.container = container
                host = container.get_container_host_ip()
                self.url = f"http://{host}:{container.get_exposed_port(container.port)}"
                return
        # The hostile-input tests write 10 MB documents. On a 512 MiB heap Elasticsearch 9
        # rejects them with 429 (parent circuit breaker), and with the default indexing
        # pressure limit (10% of the heap) even on 1 GiB: give both some room.
        node = LocalElasticsearchNode(
            version,
            heap=os.environ.get("LECACHE_ES_HEAP", "1g"),
            settings={"indexing_pressure.memory.limit": "40%"},
        )
        try:
            self.url = node.start()
        except Exception as error:
            node.stop()
            problems.append(f"local Elasticsearch {version} did not start: {error}")
            self.failure = "; ".join(problems)
            return
        self.node = node

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.stop()


@pytest.fixture(scope="session")
def _node_source() -> Iterator[_NodeSource]:
    source = _NodeSource()
    try:
        source.open()
        yield source
    finally:
        source.close()


@pytest.fixture(scope="session")
def es_url(_node_source: _NodeSource) -> str:
    """Base URL (``http://host:port``, no trailing slash) of a real Elasticsearch node."""
    if _node_source.url is None:
        _no_node(_node_source.failure or "unknown reason")
    return _node_source.url


@pytest.fixture(scope="session")
def es_node(es_url: str, _node_source: _NodeSource) -> LocalElasticsearchNode | None:
    """The locally started node (for kill/restart fault tests), or None when the node is
    an ``ES_URL`` cluster or a container."""
    return _node_source.node


@pytest.fixture
def es_client(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=30)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
async def async_es_client(es_url: str) -> AsyncIterator[AsyncElasticsearch]:
    client = AsyncElasticsearch(es_url, request_timeout=30)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def index_name(es_url: str) -> Iterator[str]:
    """A fresh lowercase index name (``test-<32 hex>``). Afterwards everything named
    ``<name>*`` is deleted: indices, indices behind such aliases, data streams and index
    templates (the last two where the node has them)."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    with Elasticsearch(es_url, request_timeout=30) as client:
        delete_everything_named(client, f"{name}*")


def delete_everything_named(client: Elasticsearch, pattern: str) -> None:
    """Best-effort removal of the indices, aliased indices, data streams and index
    templates matching ``pattern``; each step on its own, so one refusal stops none."""
    with contextlib.suppress(Exception):
        client.indices.delete_data_stream(name=pattern)
    aliased: list[str] = []
    with contextlib.suppress(Exception):  # delete-index refuses alias names: resolve them
        aliased = sorted(client.indices.get_alias(name=pattern, ignore_unavailable=True))
    for target in (*aliased, pattern):
        with contextlib.suppress(Exception):
            client.indices.delete(index=target, ignore_unavailable=True, allow_no_indices=True)
    with contextlib.suppress(Exception):
        client.indices.delete_index_template(name=pattern)


@pytest.fixture
def cli_logging_restored() -> Iterator[None]:
    """``cli.main`` configures logging for a process: a root handler on the stderr of the
    moment and the client's loggers at ERROR. Undo it after a test that runs it in-process,
    so later tests (which check what the client logs) see the logging they expect."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {name: logging.getLogger(name).level for name in ("elastic_transport", "elasticsearch")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)


CLIENT_MAJOR = int(elasticsearch.__versionstr__.split(".", 1)[0])
_NEEDS_CLIENT_9 = "client9_against_es8"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the node, so ``-m elasticsearch`` selects exactly them.

    Tests marked ``client9_against_es8`` prove what a user of elasticsearch-py 9 sees
    against an Elasticsearch 8 server: with another client installed they cannot run, so
    they are deselected (reported at the end of the run, never counted as passed or
    skipped); row 2 of ``scripts/test.sh`` installs client 9 and selects them.
    """
    for item in items:
        if "es_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.elasticsearch)
    if CLIENT_MAJOR == 9:
        return
    kept = [item for item in items if item.get_closest_marker(_NEEDS_CLIENT_9) is None]
    deselected = [item for item in items if item.get_closest_marker(_NEEDS_CLIENT_9)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
        config.stash[_DESELECTED_FOR_CLIENT] = len(deselected)


_DESELECTED_FOR_CLIENT = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    count = config.stash.get(_DESELECTED_FOR_CLIENT, 0)
    if count:
        terminalreporter.write_line(
            f"deselected {count} test(s) marked {_NEEDS_CLIENT_9}: they need elasticsearch-py "
            f"9 and this environment has {elasticsearch.__versionstr__} (row 2 of "
            "scripts/test.sh runs them)"
        )
