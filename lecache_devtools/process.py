"""One Elasticsearch server process: its directory, launch, ports, signals and user.

A :class:`NodeProcess` owns a fresh directory holding the node's ``config/`` (a copy of the
distribution's), ``data/``, ``logs/`` and ``tmp/`` and a ``console.log`` of every run. It
knows nothing of clusters or security: whoever uses it (:mod:`.node`, :mod:`.cluster`) says
which settings each run gets and decides when the node is healthy.

* **Ports.** The first launch binds ``http.port=0`` and ``transport.port=0`` on 127.0.0.1
  (unless the settings name ports) and reads the ports the node chose from its ports files
  (``node.portsfile``), so there is no race for a "free" port. Later launches bind the same
  two ports again, so a restarted node keeps its URL and its transport address.
* **root.** Elasticsearch refuses to run as root. When this process is root, the node runs as
  an unprivileged system user (``escache`` by default, ``$LECACHE_ES_USER`` to change it),
  created with ``useradd --system`` if missing; the node's own directory is chowned to it.
* **Process group.** The launcher JVM and the server JVM run in a process group of their
  own, so a kill reaches both and no JVM outlives the test run (an ``atexit`` hook kills
  whatever is still running and removes the directory).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from ._shared import ENVIRONMENT_REPLACED, HOST
from .errors import NodeError, NodeStartError

__all__ = ["DEFAULT_USER", "NodeProcess", "get_json", "node_owner"]

logger = logging.getLogger(__name__)

DEFAULT_USER = "escache"
"""The unprivileged user that runs the node when this process is root."""


def _ensure_user(name: str) -> tuple[int, int]:
    """The (uid, gid) of system user ``name``, created with useradd if it does not exist."""
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam(name)
        return entry.pw_uid, entry.pw_gid
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    command = [
        useradd,
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        name,
    ]
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, capture_output=True, text=True, timeout=60, check=False
        )
        output = (done.stdout + done.stderr).strip()
    except (OSError, subprocess.SubprocessError) as error:
        output = str(error)
    try:  # also covers another process having created it meanwhile
        entry = pwd.getpwnam(name)
    except KeyError:
        raise NodeError(
            f"Elasticsearch refuses to run as root and user {name!r} could not be created "
            f"with {' '.join(command)}: {output}"
        ) from None
    return entry.pw_uid, entry.pw_gid


def node_owner() -> tuple[int, int] | None:
    """(uid, gid) of the user nodes run as when this process is root; None otherwise."""
    if os.geteuid() != 0:
        return None
    return _ensure_user(os.environ.get("LECACHE_ES_USER") or DEFAULT_USER)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for directory, subdirs, files in os.walk(path):
        for name in (*subdirs, *files):
            os.chown(Path(directory) / name, uid, gid, follow_symlinks=False)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is alive (zombies, which are merely unreaped,
    do not count); reads /proc where there is one."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        fields = raw[raw.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in {"Z", "X"}:
            return True
    return False


def get_json(
    url: str,
    *,
    context: ssl.SSLContext | None = None,
    authorization: str | None = None,
    timeout: float = 5.0,
) -> object:
    """GET ``url`` (always ``http(s)://127.0.0.1:<port>/...``) and parse its JSON answer.

    Raises ``urllib.error.HTTPError`` for an error status, ``OSError`` when the node does
    not answer and ``ValueError`` for a body that is not JSON.
    """
    request = urllib.request.Request(url)  # noqa: S310 - a local node's http(s) URL
    if authorization is not None:
        request.add_header("Authorization", authorization)
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
        return json.loads(response.read().decode("utf-8"))


class NodeProcess:
    """One Elasticsearch process and the directory it owns (see the module docstring).

    ``label`` names the node in errors and logs (``Elasticsearch 8.19.9``, say). The
    directory is made by the constructor and deleted by :meth:`remove`; in between the
    process can be launched, killed and launched again any number of times.
    """

    def __init__(
        self,
        *,
        home: Path,
        java_home: Path,
        heap: str,
        label: str,
        owner: tuple[int, int] | None,
        prefix: str = "lecache-es-",
    ) -> None:
        self.home = home
        self.java_home = java_home
        self.heap = heap
        self.label = label
        self.owner = owner
        self.http_port: int | None = None
        self.transport_port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        base = Path(tempfile.mkdtemp(prefix=prefix))
        try:
            shutil.copytree(home / "config", base / "config")
            for name in ("data", "logs", "tmp"):
                (base / name).mkdir()
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
        self.base_dir: Path | None = base
        atexit.register(self._cleanup_at_exit)

    def __repr__(self) -> str:
        return f"NodeProcess({self.label!r}, pid={self.pid}, dir={self.base_dir})"

    @property
    def pid(self) -> int | None:
        """The pid of the node's launcher (its process group holds the server JVM too)."""
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def hand_over(self) -> None:
        """Give the directory to the unprivileged owner, once everything is written to it."""
        if self.owner is not None and self.base_dir is not None:
            _chown_tree(self.base_dir, *self.owner)

    # ----------------------------------------------------------------- running

    def launch(self, settings: Mapping[str, str]) -> None:
        """Start the node with ``settings`` (``-E``) plus its paths and ports; returns at once.

        The ports are those of the previous run, ``0`` (any free port) the first time.
        """
        if self.base_dir is None:
            raise NodeError(f"{self.label}: its directory was removed; make a new NodeProcess")
        if self.is_running():
            raise NodeError(f"{self.label} is already running (pid {self.pid})")
        for ports_file in ("http.ports", "transport.ports"):
            with contextlib.suppress(FileNotFoundError):
                (self.base_dir / "logs" / ports_file).unlink()
        command = [str(self.home / "bin" / "elasticsearch")]
        for key, value in self._settings(settings).items():
            command += ["-E", f"{key}={value}"]
        with open(self.base_dir / "console.log", "ab") as console:
            console.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {command}\n".encode())
            console.flush()
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                command,
                cwd=self.base_dir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: launcher JVM + server JVM
                user=self.owner[0] if self.owner else None,
                group=self.owner[1] if self.owner else None,
                extra_groups=[] if self.owner else None,
            )
        logger.info("started %s launcher, pid %d", self.label, self._process.pid)

    def read_ports(self) -> bool:
        """Whether both ports are known, reading the node's ports files if need be."""
        if self.http_port is None or self.transport_port is None:
            http_port, transport_port = self._read_port("http"), self._read_port("transport")
            if http_port is None or transport_port is None:
                return False
            self.http_port, self.transport_port = http_port, transport_port
        return True

    def check_alive(self) -> None:
        """:class:`NodeStartError` (with the node's output) if the process has exited."""
        code = self._process.poll() if self._process is not None else -1
        if code is not None:
            raise self.start_error(f"exited with code {code} while starting")

    def wait_for_ports(self, timeout: float) -> None:
        """Wait until the node bound its ports (long before it joins a cluster)."""
        deadline = time.monotonic() + timeout
        while not self.read_ports():
            self.check_alive()
            if time.monotonic() > deadline:
                raise self.start_error(f"bound no ports within {timeout:.0f}s")
            time.sleep(0.2)

    def start_error(self, problem: str) -> NodeStartError:
        """An error saying ``problem``, with the first error line and the end of the output."""
        return NodeStartError(
            f"{self.label} {problem}{self._first_error()}; last lines of "
            f"{self.base_dir}/console.log:\n{self.log_tail()}"
        )

    def terminate(self, *, graceful: bool, timeout: float = 30.0) -> None:
        """End the process group: SIGTERM first when ``graceful``, SIGKILL in any case."""
        if self._process is None:
            return
        if graceful:
            # both JVMs (launcher and server) get SIGTERM; the server shuts down cleanly
            self._signal_group(signal.SIGTERM)
            if not self._wait_group_gone(timeout):
                logger.warning("%s ignored SIGTERM for %.0fs; killing it", self.label, timeout)
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(30)
        if not self._wait_group_gone(30):
            logger.warning("processes of group %d outlived SIGKILL", self._process.pid)
        self._process = None

    def remove(self, timeout: float = 30.0) -> None:
        """Stop the process (gracefully, SIGKILL after ``timeout`` s) and delete its directory."""
        self.terminate(graceful=True, timeout=timeout)
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        atexit.unregister(self._cleanup_at_exit)

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the node's console output (launcher + server)."""
        if self.base_dir is None:
            return "(no node directory)"
        try:
            with open(self.base_dir / "console.log", "rb") as console:
                console.seek(0, os.SEEK_END)
                size = console.tell()
                console.seek(max(0, size - 256 * 1024))
                text = console.read().decode("utf-8", errors="replace")
        except OSError as error:
            return f"(no console output: {error})"
        return "\n".join(text.splitlines()[-lines:])

    # ----------------------------------------------------------------- internals

    def _settings(self, settings: Mapping[str, str]) -> dict[str, str]:
        assert self.base_dir is not None
        merged = dict(settings)
        merged.update(
            {
                "path.data": str(self.base_dir / "data"),
                "path.logs": str(self.base_dir / "logs"),
                # makes the node write the ports it bound to <path.logs>/{http,transport}.ports
                "node.portsfile": "true",
            }
        )
        if self.http_port is not None:
            merged["http.port"] = str(self.http_port)
        if self.transport_port is not None:
            merged["transport.port"] = str(self.transport_port)
        merged.setdefault("http.port", "0")
        merged.setdefault("transport.port", "0")
        return merged

    def _environment(self) -> dict[str, str]:
        assert self.base_dir is not None
        environment = {
            key: value for key, value in os.environ.items() if key not in ENVIRONMENT_REPLACED
        }
        environment.update(
            {
                "ES_JAVA_HOME": str(self.java_home),
                "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}",
                "ES_PATH_CONF": str(self.base_dir / "config"),
                "ES_TMPDIR": str(self.base_dir / "tmp"),
                # the launcher JVM's own temp files (it leaves final-flags*/gc.log behind)
                "CLI_JAVA_OPTS": f"-Djava.io.tmpdir={self.base_dir / 'tmp'}",
                "HOME": str(self.base_dir),
            }
        )
        if self.owner is not None:
            user = pwd.getpwuid(self.owner[0]).pw_name
            environment.update({"USER": user, "LOGNAME": user})
        return environment

    def _read_port(self, name: str) -> int | None:
        assert self.base_dir is not None
        try:
            text = (self.base_dir / "logs" / f"{name}.ports").read_text(encoding="utf-8")
        except OSError:
            return None
        for line in text.splitlines():
            host, _, port = line.strip().rpartition(":")
            if host.strip("[]") == HOST and port.isdigit():
                return int(port)
        return None

    def _first_error(self) -> str:
        """``": <first error line>"`` of the latest run's console output, or ``""``."""
        text = self.log_tail(lines=2000)
        latest_run = text.rpartition("\n=== ")[2]
        for line in latest_run.splitlines():
            if "Exception: " in line or "[ERROR]" in line or line.startswith(("ERROR:", "Error:")):
                return f": {line.strip()[:500]}"
        return ""

    def _signal_group(self, signum: int) -> None:
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signum)

    def _wait_group_gone(self, timeout: float) -> bool:
        """Wait until no live process is left in the node's process group."""
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while True:
            self._process.poll()  # reap the launcher once it exits
            if not _group_alive(self._process.pid):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _cleanup_at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.remove(timeout=10)
