"""A real, throw-away single-node Elasticsearch cluster for tests and benchmarks, no Docker.

:class:`LocalElasticsearchNode` runs the Maven Central ``integ-test-zip`` distribution (see
:mod:`.distribution`) on a JDK found on this machine (:mod:`.jdk`), as an unprivileged user
when this process is root, in a fresh directory of its own with ports chosen by the node
(:mod:`.process`); ``secure=True`` adds HTTPS and authentication (:mod:`.tls`,
:mod:`.security_index`). Several nodes forming one cluster: :mod:`.cluster`.

This module gathers the names tests import (``from lecache_devtools.node import
LocalElasticsearchNode``). The command line that starts a node by hand is
:mod:`lecache_devtools.__main__` (``python -m lecache_devtools``, from the repository root).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
import ssl
import time
import urllib.error
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from .distribution import (
    MAVEN_COORDINATES,
    default_cache_dir,
    fetch_distribution,
    runnable_distribution,
)
from .errors import DistributionError, JdkNotFoundError, NodeError, NodeStartError
from .jdk import find_jdk, jdk_for_version, parse_version
from .process import DEFAULT_USER, NodeProcess, get_json, node_owner
from .security_index import home_with_security_index
from .tls import ELASTIC_USER, SECURE_SETTINGS, TlsFiles, generate_tls_files, secure_node_config

__all__ = [
    "BASE_SETTINGS",
    "DEFAULT_USER",
    "DEFAULT_VERSION",
    "ELASTIC_USER",
    "MAVEN_COORDINATES",
    "SECURE_SETTINGS",
    "DistributionError",
    "JdkNotFoundError",
    "LocalElasticsearchNode",
    "NodeError",
    "NodeStartError",
    "TlsFiles",
    "default_cache_dir",
    "fetch_distribution",
    "find_jdk",
    "generate_tls_files",
    "jdk_for_version",
]

logger = logging.getLogger(__name__)

DEFAULT_VERSION = "8.19.9"
"""The Elasticsearch version started when none is asked for."""

# Settings every node gets. Checked against the integ-test zip of 8.19.7, 9.1.0 and 9.2.0:
# settings of modules that zip lacks are refused at boot with "unknown setting [...]"
# (ingest.geoip.downloader.enabled, xpack.monitoring.*, stack.templates.enabled,
# cluster.deprecation_indexing.enabled, indices.lifecycle.history_index_enabled), so they
# must not be passed. xpack.ml.enabled / xpack.watcher.enabled are accepted but do nothing
# there, so they are left out too.
BASE_SETTINGS: Mapping[str, str] = {
    "cluster.name": "lecache-local",
    "node.name": "lecache-node-0",
    "discovery.type": "single-node",
    "network.host": "127.0.0.1",
    "xpack.security.enabled": "false",
    "cluster.routing.allocation.disk.threshold_enabled": "false",
    "action.destructive_requires_name": "false",
    # makes the node write the ports it bound to <path.logs>/{http,transport}.ports
    "node.portsfile": "true",
}


class LocalElasticsearchNode:
    """One single-node Elasticsearch cluster on 127.0.0.1, run from the Maven Central zip.

    >>> with LocalElasticsearchNode("8.19.9") as node:   # doctest: +SKIP
    ...     Elasticsearch(node.url).info()

    ``start`` creates a fresh directory holding the node's config, data, logs and temp files;
    ``stop`` ends the node and deletes that directory; ``kill`` SIGKILLs the node and keeps
    it, so that ``restart`` brings the same data back on the same ports (fault tests).

    ``secure=True`` starts the node with security on, as a production cluster runs: HTTPS
    with a certificate signed by a CA made for this node (see :func:`generate_tls_files`;
    subject alternative names IP ``127.0.0.1`` and DNS ``localhost``) and authentication
    required, the ``elastic`` superuser's password set through the keystore's
    ``bootstrap.password`` (``password``, random unless given). Connect with
    :attr:`url` (``https://...``), :attr:`ca_certs`, :attr:`username` and :attr:`password`,
    or ``Elasticsearch(**node.client_options())``.

    ``settings`` are extra ``-E`` settings, merged over :data:`BASE_SETTINGS` (and
    :data:`SECURE_SETTINGS`).
    """

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        *,
        secure: bool = False,
        heap: str = "512m",
        java_home: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        settings: Mapping[str, str] | None = None,
        password: str | None = None,
    ) -> None:
        parse_version(version)
        if password is not None and not secure:
            raise ValueError("password is only used with secure=True")
        if password is not None and len(password) < 6:
            raise ValueError("Elasticsearch wants a password of at least 6 characters")
        if not re.fullmatch(r"\d+[kKmMgG]?", heap):
            raise ValueError(f"heap must look like 512m or 1g, not {heap!r}")
        self.version = version
        self.secure = secure
        self.heap = heap
        self._java_home_arg = java_home
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._extra_settings = dict(settings or {})
        self._node: NodeProcess | None = None
        self._home: Path | None = None
        self._java_home: Path | None = None
        self._password = (password or secrets.token_urlsafe(18)) if secure else None
        self._tls: TlsFiles | None = None

    def __repr__(self) -> str:  # never the password
        where = self.url if self.http_port is not None else "not started"
        return f"LocalElasticsearchNode({self.version!r}, secure={self.secure}, {where})"

    # ----------------------------------------------------------------- properties

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` when secure); known once started."""
        if self.http_port is None:
            raise NodeError("the node has not been started")
        scheme = "https" if self.secure else "http"
        return f"{scheme}://127.0.0.1:{self.http_port}"

    @property
    def username(self) -> str | None:
        """``elastic`` for a secure node, ``None`` otherwise."""
        return ELASTIC_USER if self.secure else None

    @property
    def password(self) -> str | None:
        """The ``elastic`` user's password (secure nodes only)."""
        return self._password

    @property
    def ca_certs(self) -> str | None:
        """Path of the PEM file of the CA that signed a secure node's certificate."""
        return str(self._tls.ca_cert) if self._tls is not None else None

    @property
    def tls_files(self) -> TlsFiles | None:
        """The secure node's CA and certificate files (kept until :meth:`stop`)."""
        return self._tls

    def client_options(self) -> dict[str, object]:
        """Keyword arguments for ``Elasticsearch(...)`` that reach this node."""
        options: dict[str, object] = {"hosts": [self.url]}
        if self.secure:
            options["basic_auth"] = (ELASTIC_USER, self._password)
            options["ca_certs"] = self.ca_certs
        return options

    @property
    def http_port(self) -> int | None:
        return self._node.http_port if self._node is not None else None

    @property
    def transport_port(self) -> int | None:
        return self._node.transport_port if self._node is not None else None

    @property
    def pid(self) -> int | None:
        """The pid of the node's launcher (its process group holds the server JVM too)."""
        return self._node.pid if self._node is not None else None

    @property
    def base_dir(self) -> Path | None:
        """The directory holding this node's config/, data/, logs/ and tmp/."""
        return self._node.base_dir if self._node is not None else None

    @property
    def home(self) -> Path | None:
        """The Elasticsearch install in use (known after the first start)."""
        return self._home

    @property
    def java_home(self) -> Path | None:
        """The JDK in use (known after the first start)."""
        return self._java_home

    def is_running(self) -> bool:
        return self._node is not None and self._node.is_running()

    # ----------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 180.0) -> str:
        """Start the node and wait until its cluster is yellow or green; returns :attr:`url`.

        Raises :class:`NodeStartError` (with the end of the node's output) if the node dies
        or is not healthy within ``timeout`` seconds; the node is then killed.
        """
        if self.is_running():
            raise NodeError(f"the node is already running at {self.url}")
        node = self._prepare()
        settings = dict(BASE_SETTINGS)
        if self.secure:
            settings.update(SECURE_SETTINGS)
        settings.update(self._extra_settings)
        node.launch(settings)
        try:
            self._wait_until_healthy(node, timeout)
        except BaseException:
            node.terminate(graceful=False)
            raise
        return self.url

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the node (SIGKILL after ``timeout`` s) and delete its directory."""
        if self._node is not None:
            self._node.remove(timeout)
            self._node = None
        self._tls = None

    def kill(self) -> None:
        """SIGKILL the node (a crash); its data stays, for :meth:`restart`."""
        if self._node is not None:
            self._node.terminate(graceful=False)

    def restart(self, timeout: float = 180.0) -> str:
        """Start again on the same data and ports, stopping the node gracefully if it runs."""
        if self._node is None:
            raise NodeError("the node was never started (or was stopped): nothing to restart")
        self._node.terminate(graceful=True)
        return self.start(timeout)

    def __enter__(self) -> LocalElasticsearchNode:
        if not self.is_running():
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the node's console output (launcher + server)."""
        if self._node is None:
            return "(no node directory)"
        return self._node.log_tail(lines)

    # ----------------------------------------------------------------- internals

    def _prepare(self) -> NodeProcess:
        """The node's process (and directory), made on first use after construction or stop."""
        if self._home is None:
            self._home = runnable_distribution(self.version, self._cache_dir)
        if self._java_home is None:
            self._java_home = jdk_for_version(self.version, self._java_home_arg)
            logger.info("Elasticsearch %s will run on %s", self.version, self._java_home)
            if self.secure:
                self._home = home_with_security_index(self._home, self._java_home)
        if self._node is None:
            node = NodeProcess(
                home=self._home,
                java_home=self._java_home,
                heap=self.heap,
                label=f"Elasticsearch {self.version}",
                owner=node_owner(),
                prefix=f"lecache-es-{self.version}-",
            )
            try:
                if self.secure:
                    assert node.base_dir is not None and self._password is not None
                    self._tls = secure_node_config(
                        node.base_dir / "config",
                        es_home=self._home,
                        java_home=self._java_home,
                        password=self._password,
                    )
                node.hand_over()
            except BaseException:
                node.remove()
                raise
            self._node = node
        return self._node

    def _wait_until_healthy(self, node: NodeProcess, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_problem = "no HTTP port yet"
        while True:
            node.check_alive()
            if time.monotonic() > deadline:
                raise node.start_error(f"not healthy after {timeout:.0f}s ({last_problem})")
            if not node.read_ports():
                time.sleep(0.2)
                continue
            status = self._health()
            if status in {"yellow", "green"}:
                return
            last_problem = f"cluster health: {status}"
            time.sleep(0.5)

    def _health(self) -> str:
        url = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        context: ssl.SSLContext | None = None
        authorization: str | None = None
        if self.secure:
            assert self._tls is not None and self._password is not None
            context = ssl.create_default_context(cafile=str(self._tls.ca_cert))
            token = base64.b64encode(f"{ELASTIC_USER}:{self._password}".encode()).decode()
            authorization = f"Basic {token}"
        try:
            body = get_json(url, context=context, authorization=authorization)
        except urllib.error.HTTPError as error:  # 408 while still red, 503 while booting
            return f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            return f"{type(error).__name__}: {error}"
        return str(body.get("status", "unknown")) if isinstance(body, dict) else "unknown"
