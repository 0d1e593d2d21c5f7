"""A real, throw-away Elasticsearch node for tests and benchmarks, without Docker.

The node is the ``integ-test-zip`` distribution of Elasticsearch published on Maven Central
(``org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>:zip``). It is fetched
with the ordinary Maven client (``mvn dependency:copy``), unpacked once into a cache directory
and then started as many times as needed, each node with its own fresh config, data, log and
temp directories. The distribution is small (about 95 MiB) and holds only the modules
``x-pack-core``, ``x-pack-security``, ``transport-netty4`` and ``apm``: no ``reindex`` module
(so no ``_delete_by_query`` / ``_update_by_query`` / ``_reindex``), no ingest-geoip, no ML,
no watcher, no monitoring.

Things the caller does not have to care about:

* **Java.** The zip has no bundled JDK. A supported JDK is looked up in ``$ES_JAVA_HOME``,
  ``$JAVA_HOME``, the ``java`` on ``$PATH`` and the usual install roots (``/usr/lib/jvm``,
  ``/usr/java``, ``/opt/java``, ``/opt``), reading each JDK's ``release`` file. Elasticsearch
  8.x runs on JDK 17 or 21+, 9.x on 21+; the newest supported JDK found is used.
* **root.** Elasticsearch refuses to run as root. When this process is root, the node runs as
  an unprivileged system user (``escache`` by default, ``$LECACHE_ES_USER`` to change it),
  created with ``useradd --system`` if missing; the node's own directories are chowned to it.
* **The cache directory.** Distributions are cached under ``<cache_dir>/<version>/``. The
  default ``cache_dir`` is ``$LECACHE_HOME/elasticsearch`` when ``LECACHE_HOME`` is set;
  otherwise, for root, ``/var/cache/langchain-elasticsearch-cache/elasticsearch`` (``/root`` is
  usually mode 700, so the unprivileged user could not read an install kept under it); for
  anybody else ``${XDG_CACHE_HOME:-~/.cache}/langchain-elasticsearch-cache/elasticsearch``.
  Every directory this module creates there is mode 755 and every file is world-readable.
  If the install still ends up somewhere the unprivileged user cannot reach (an explicit
  cache dir under ``/root``, say), a one-off copy is made under
  ``/var/cache/langchain-elasticsearch-cache/runtime`` and that copy is run instead.
* **Ports.** The first start binds ``http.port=0`` and ``transport.port=0`` on 127.0.0.1 and
  reads the ports the node chose from its ports file, so there is no race for a "free" port.
  :meth:`LocalElasticsearchNode.restart` binds the same two ports again.
* **Concurrency.** Fetching takes an exclusive file lock per version, so several processes
  (pytest-xdist workers, say) can ask for the same version at once.

Command line::

    python -m langchain_elasticsearch_cache.testing.node start --version 8.19.7
    python -m langchain_elasticsearch_cache.testing.node start --secure   # HTTPS + auth
    python -m langchain_elasticsearch_cache.testing.node fetch --version 9.2.0
    python -m langchain_elasticsearch_cache.testing.node jdk --version 9.2.0

``start`` prints the node's URL on the first line of stdout (with ``--secure``, then the CA
file and the ``elastic`` password) and keeps the node running until Ctrl-C or SIGTERM, then
stops it and removes its data.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType

__all__ = [
    "DEFAULT_VERSION",
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
    "main",
]

logger = logging.getLogger(__name__)

DEFAULT_VERSION = "8.19.9"
"""The Elasticsearch version started when none is asked for."""

MAVEN_COORDINATES = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
DEFAULT_USER = "escache"
"""The unprivileged user that runs the node when this process is root."""

_HOST = "127.0.0.1"
_SHARED_ROOT = Path("/var/cache/langchain-elasticsearch-cache")
_COMPLETE_MARKER = ".complete"
# variables of the caller's environment the node must not inherit
_ENVIRONMENT_REPLACED = frozenset(
    {"ES_JAVA_OPTS", "ES_PATH_CONF", "ES_TMPDIR", "ES_JAVA_HOME", "JAVA_HOME", "CLI_JAVA_OPTS"}
)
_JDK_ROOTS = ("/usr/lib/jvm", "/usr/java", "/opt/java", "/opt", "/usr/local/lib/jvm")

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
    "network.host": _HOST,
    "xpack.security.enabled": "false",
    "cluster.routing.allocation.disk.threshold_enabled": "false",
    "action.destructive_requires_name": "false",
    # makes the node write the ports it bound to <path.logs>/{http,transport}.ports
    "node.portsfile": "true",
}


class NodeError(RuntimeError):
    """A local Elasticsearch node could not be fetched, prepared, started or stopped."""


class JdkNotFoundError(NodeError):
    """No installed JDK fits the Elasticsearch version."""


class DistributionError(NodeError):
    """The distribution could not be downloaded or unpacked."""


class NodeStartError(NodeError):
    """The node died while starting or did not become healthy in time."""


# --------------------------------------------------------------------------- versions and JDKs


def _parse_version(version: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version.strip())
    if match is None:
        raise ValueError(f"not an Elasticsearch release version: {version!r} (want e.g. 8.19.7)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def _jdk_majors_supported(es_version: str) -> list[tuple[int, int | None]]:
    """Ranges of JDK major versions the given Elasticsearch runs on, most preferred first."""
    major = _parse_version(es_version)[0]
    if major >= 9:
        return [(21, None)]
    if major == 8:
        return [(21, None), (17, 17)]
    raise ValueError(f"Elasticsearch {es_version} is not supported here: only 8.x and 9.x are")


def _java_major_from_string(value: str) -> int | None:
    match = re.match(r"(\d+)(?:\.(\d+))?", value.strip().strip('"'))
    if match is None:
        return None
    first = int(match.group(1))
    if first == 1 and match.group(2) is not None:  # "1.8.0_392" is Java 8
        return int(match.group(2))
    return first


def _jdk_major(home: Path) -> int | None:
    """The major version of the JDK at ``home``, or None if it is not a usable JDK."""
    java = home / "bin" / "java"
    if not java.is_file() or not os.access(java, os.X_OK):
        return None
    release = home / "release"
    with contextlib.suppress(OSError):
        for line in release.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("JAVA_VERSION="):
                return _java_major_from_string(line.partition("=")[2])
    try:  # no release file: ask the JVM
        done = subprocess.run(  # noqa: S603 - a JDK's own launcher, no shell
            [str(java), "-XshowSettings:properties", "-version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"java\.specification\.version = (\S+)", done.stderr)
    return _java_major_from_string(match.group(1)) if match else None


def _jdk_candidates() -> Iterator[Path]:
    for variable in ("ES_JAVA_HOME", "JAVA_HOME"):
        value = os.environ.get(variable)
        if value:
            yield Path(value)
    java_on_path = shutil.which("java")
    if java_on_path:
        yield Path(java_on_path).resolve().parent.parent
    for root in _JDK_ROOTS:
        with contextlib.suppress(OSError):
            yield from sorted(Path(root).iterdir())
    mac_root = Path("/Library/Java/JavaVirtualMachines")
    with contextlib.suppress(OSError):
        for entry in sorted(mac_root.iterdir()):
            yield entry / "Contents" / "Home"


def _installed_jdks() -> list[tuple[int, Path]]:
    """Every JDK found, as (major, home), newest first, each real directory once."""
    seen: set[Path] = set()
    found: list[tuple[int, Path]] = []
    for candidate in _jdk_candidates():
        try:
            real = candidate.resolve()
        except OSError:
            continue
        if real in seen or not real.is_dir():
            continue
        seen.add(real)
        major = _jdk_major(real)
        if major is not None:
            found.append((major, real))
    found.sort(key=lambda item: -item[0])  # stable: ties keep the discovery order
    return found


def find_jdk(min_major: int, max_major: int | None = None) -> Path:
    """The home of the newest installed JDK whose major version is in [min_major, max_major].

    Raises :class:`JdkNotFoundError` listing what was found when none fits.
    """
    jdks = _installed_jdks()
    for major, home in jdks:
        if major >= min_major and (max_major is None or major <= max_major):
            return home
    wanted = f"{min_major}+" if max_major is None else f"{min_major}..{max_major}"
    seen = ", ".join(f"{home} (Java {major})" for major, home in jdks) or "none"
    raise JdkNotFoundError(
        f"no JDK {wanted} found (looked at $ES_JAVA_HOME, $JAVA_HOME, java on $PATH and "
        f"{', '.join(_JDK_ROOTS)}); found: {seen}"
    )


def jdk_for_version(es_version: str, java_home: str | os.PathLike[str] | None = None) -> Path:
    """A JDK home that can run Elasticsearch ``es_version``.

    An explicit ``java_home`` is checked and used as given; otherwise the newest supported
    JDK installed is chosen.
    """
    ranges = _jdk_majors_supported(es_version)
    if java_home is not None:
        home = Path(java_home)
        major = _jdk_major(home)
        if major is None:
            raise JdkNotFoundError(f"{home} is not a JDK (no bin/java or unknown version)")
        if not any(low <= major and (high is None or major <= high) for low, high in ranges):
            raise JdkNotFoundError(f"Elasticsearch {es_version} does not run on Java {major}")
        return home
    errors: list[str] = []
    for low, high in ranges:
        try:
            return find_jdk(low, high)
        except JdkNotFoundError as error:
            errors.append(str(error))
    raise JdkNotFoundError(f"no JDK for Elasticsearch {es_version}: " + "; ".join(errors))


# --------------------------------------------------------------------------- distribution cache


def default_cache_dir() -> Path:
    """Where distributions are cached by default (see the module docstring)."""
    explicit = os.environ.get("LECACHE_HOME")
    if explicit:
        return Path(explicit) / "elasticsearch"
    if os.geteuid() == 0:
        return _SHARED_ROOT / "elasticsearch"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "langchain-elasticsearch-cache" / "elasticsearch"


def _chmod_shared(path: Path, *, executable: bool) -> None:
    """Make ``path`` readable (and, if ``executable``, traversable/runnable) by every user.

    Deliberately permissive: the node runs as another, unprivileged user.
    """
    os.chmod(path, 0o755 if executable else 0o644)


def _makedirs_shared(path: Path) -> None:
    """mkdir -p, making every directory created world-readable and traversable (mode 755)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
            _chmod_shared(directory, executable=True)


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _es_home_in(directory: Path) -> Path | None:
    for candidate in [directory, *sorted(p for p in directory.iterdir() if p.is_dir())]:
        if (candidate / "bin" / "elasticsearch").is_file():
            return candidate
    return None


def _unzip(archive: Path, destination: Path) -> None:
    """Extract ``archive`` keeping the Unix modes, made world-readable; refuses unsafe names."""
    root = destination.resolve()
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            target = (destination / info.filename).resolve()
            if target != root and root not in target.parents:
                raise DistributionError(f"unsafe path in {archive}: {info.filename!r}")
            mode = (info.external_attr >> 16) & 0xFFFF
            if info.is_dir():
                _makedirs_shared(target)
                continue
            _makedirs_shared(target.parent)
            if stat.S_ISLNK(mode):
                link = bundle.read(info).decode("utf-8")
                if Path(link).is_absolute() or ".." in Path(link).parts:
                    raise DistributionError(f"unsafe link in {archive}: {info.filename!r}")
                target.symlink_to(link)
                continue
            with bundle.open(info) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            _chmod_shared(target, executable=bool(mode & 0o111))


def _run_maven(version: str, output_dir: Path) -> Path:
    mvn = os.environ.get("LECACHE_MVN") or shutil.which("mvn")
    if not mvn:
        raise DistributionError(
            "Maven ('mvn') is needed to fetch Elasticsearch from Maven Central but is not on "
            "PATH (install it, e.g. 'apt-get install -y maven', or set LECACHE_MVN)"
        )
    artifact = MAVEN_COORDINATES.format(version=version)
    command = [
        mvn,
        "-q",
        "-B",
        "dependency:copy",
        f"-Dartifact={artifact}",
        f"-DoutputDirectory={output_dir}",
    ]
    logger.info("fetching %s with Maven", artifact)
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command,
            cwd=output_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise DistributionError(f"could not run {' '.join(command)}: {error}") from error
    zips = sorted(output_dir.glob("*.zip"))
    if done.returncode != 0 or not zips:
        output = (done.stdout + done.stderr).strip()[-4000:]
        raise DistributionError(
            f"{' '.join(command)} failed (exit {done.returncode}); is {version} published as "
            f"an integ-test-zip on Maven Central?\n{output}"
        )
    return zips[0]


def fetch_distribution(version: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Download (once) and unpack (once) Elasticsearch ``version``; returns its home directory.

    The layout is ``<cache_dir>/<version>/elasticsearch-<version>/``; a ``.complete`` marker
    says the unpack finished, so an interrupted one is redone. The zip itself is deleted after
    unpacking (Maven keeps its own copy in its local repository).
    """
    _parse_version(version)
    version_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    version_dir = version_dir / version
    _makedirs_shared(version_dir)
    with _exclusive_lock(version_dir / ".lock"):
        home = _es_home_in(version_dir)
        if home is not None and (version_dir / _COMPLETE_MARKER).is_file():
            return home
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=version_dir) as scratch_name:
            scratch = Path(scratch_name)
            download_dir = scratch / "download"
            unpack_dir = scratch / "unpack"
            download_dir.mkdir()
            unpack_dir.mkdir()
            archive = _run_maven(version, download_dir)
            downloaded = time.monotonic()
            try:
                _unzip(archive, unpack_dir)
            except (OSError, zipfile.BadZipFile) as error:
                raise DistributionError(f"could not unpack {archive}: {error}") from error
            unpacked_home = _es_home_in(unpack_dir)
            if unpacked_home is None:
                raise DistributionError(f"{archive} holds no bin/elasticsearch")
            final_home = version_dir / unpacked_home.name
            if final_home.exists():  # a half-finished earlier attempt
                shutil.rmtree(final_home)
            unpacked_home.rename(final_home)
            _chmod_shared(final_home, executable=True)
        (version_dir / _COMPLETE_MARKER).write_text(f"{time.time()}\n", encoding="utf-8")
        _chmod_shared(version_dir / _COMPLETE_MARKER, executable=False)
        logger.info(
            "Elasticsearch %s fetched in %.1fs and unpacked in %.1fs into %s",
            version,
            downloaded - started,
            time.monotonic() - downloaded,
            final_home,
        )
        return final_home


# --------------------------------------------------------------------------- unprivileged user


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


def _traversable_by_others(path: Path) -> bool:
    """Whether a user that is neither owner nor in the group can reach and read ``path``."""
    try:
        current = path.resolve()
        if not current.stat().st_mode & stat.S_IROTH:
            return False
        for directory in [current, *current.parents]:
            if not directory.stat().st_mode & stat.S_IXOTH:
                return False
    except OSError:
        return False
    return True


def _runnable_copy(home: Path) -> Path:
    """A copy of ``home`` that any user can read, for installs kept under e.g. /root."""
    runtime = _SHARED_ROOT / "runtime"
    _makedirs_shared(runtime)
    target = runtime / home.name
    with _exclusive_lock(runtime / f".{home.name}.lock"):
        if (runtime / f".{home.name}{_COMPLETE_MARKER}").is_file() and target.is_dir():
            return target
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(home, target, symlinks=True)
        for directory, _subdirs, files in os.walk(target):
            _chmod_shared(Path(directory), executable=True)
            for file_name in files:
                path = Path(directory) / file_name
                if not path.is_symlink():
                    _chmod_shared(path, executable=bool(path.stat().st_mode & 0o111))
        (runtime / f".{home.name}{_COMPLETE_MARKER}").touch(mode=0o644)
    logger.info("copied %s to %s so that an unprivileged user can run it", home, target)
    return target


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for directory, subdirs, files in os.walk(path):
        for name in (*subdirs, *files):
            os.chown(Path(directory) / name, uid, gid, follow_symlinks=False)


# --------------------------------------------------------------------------- TLS material

ELASTIC_USER = "elastic"
"""The built-in superuser whose password a secure node sets through ``bootstrap.password``."""

# Settings a secure node gets on top of BASE_SETTINGS; paths are relative to the config dir.
SECURE_SETTINGS: Mapping[str, str] = {
    "xpack.security.enabled": "true",
    "xpack.security.http.ssl.enabled": "true",
    "xpack.security.http.ssl.key": "certs/node.key",
    "xpack.security.http.ssl.certificate": "certs/node.crt",
    "xpack.security.http.ssl.certificate_authorities": "certs/ca.crt",
    # a single-node cluster on loopback needs no transport TLS (no bootstrap check applies)
}


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """PEM files of a throw-away certificate authority and of a server certificate it
    signed for ``127.0.0.1`` and ``localhost`` (subject alternative names IP and DNS)."""

    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def _run_tool(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    timeout: float = 180.0,
) -> None:
    """Run a helper program; :class:`NodeError` with its output when it fails."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            list(command),
            env=dict(env) if env is not None else None,
            input=stdin_text,
            stdin=None if stdin_text is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise NodeError(f"could not run {Path(command[0]).name}: {error}") from error
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-3000:]
        raise NodeError(
            f"{Path(command[0]).name} {' '.join(command[1:3])} failed "
            f"(exit {done.returncode}):\n{output}"
        )


def _tool_environment(java_home: Path, scratch: Path) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if key not in _ENVIRONMENT_REPLACED
    }
    environment.update(
        {
            "ES_JAVA_HOME": str(java_home),
            "ES_TMPDIR": str(scratch),
            "CLI_JAVA_OPTS": f"-Djava.io.tmpdir={scratch}",
        }
    )
    return environment


def _unzip_flat(archive: Path, names: Mapping[str, Path]) -> None:
    """Extract the members of ``archive`` whose base name is a key of ``names``."""
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            target = names.get(Path(info.filename).name)
            if target is not None and not info.is_dir():
                target.write_bytes(bundle.read(info))


def _certutil_tls_files(
    files: TlsFiles, certutil: Path, java_home: Path, days: int, scratch: Path
) -> None:
    environment = _tool_environment(java_home, scratch)
    ca_zip, node_zip = scratch / "ca.zip", scratch / "node.zip"
    _run_tool(
        [str(certutil), "ca", "--pem", "--silent", "--days", str(days), "--out", str(ca_zip)],
        env=environment,
    )
    _unzip_flat(ca_zip, {"ca.crt": files.ca_cert, "ca.key": files.ca_key})
    _run_tool(
        [
            str(certutil),
            "cert",
            "--pem",
            "--silent",
            "--ca-cert",
            str(files.ca_cert),
            "--ca-key",
            str(files.ca_key),
            "--name",
            "node",
            "--ip",
            _HOST,
            "--dns",
            "localhost",
            "--days",
            str(days),
            "--out",
            str(node_zip),
        ],
        env=environment,
    )
    _unzip_flat(node_zip, {"node.crt": files.cert, "node.key": files.key})


def _openssl_tls_files(files: TlsFiles, openssl: str, days: int, scratch: Path) -> None:
    extensions = scratch / "node.ext"
    extensions.write_text(
        f"subjectAltName=IP:{_HOST},DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n",
        encoding="utf-8",
    )
    request = scratch / "node.csr"
    ca = [
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days)),
        *("-keyout", str(files.ca_key), "-out", str(files.ca_cert)),
        *("-subj", "/CN=langchain-elasticsearch-cache test CA"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    ]
    node_request = [
        *("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"),
        *("-keyout", str(files.key), "-out", str(request)),
    ]
    signing = [
        *("x509", "-req", "-in", str(request), "-days", str(days), "-sha256"),
        *("-CA", str(files.ca_cert), "-CAkey", str(files.ca_key), "-CAcreateserial"),
        *("-CAserial", str(scratch / "ca.srl"), "-extfile", str(extensions)),
        *("-out", str(files.cert)),
    ]
    for arguments in (ca, node_request, signing):
        _run_tool([openssl, *arguments])


def generate_tls_files(
    directory: str | os.PathLike[str],
    *,
    es_home: str | os.PathLike[str] | None = None,
    java_home: str | os.PathLike[str] | None = None,
    days: int = 30,
) -> TlsFiles:
    """Make a new CA and a server certificate for ``127.0.0.1`` / ``localhost`` in PEM.

    Written to ``directory`` as ``ca.crt``, ``ca.key``, ``node.crt`` and ``node.key``.
    With ``es_home`` and ``java_home`` the distribution's own ``bin/elasticsearch-certutil``
    makes them (what Elasticsearch's documentation uses); otherwise, or when that tool is
    missing, the ``openssl`` command line does. Every file is world-readable: the node may
    run as another user, and these are throw-away test credentials.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_cert=target / "ca.crt",
        ca_key=target / "ca.key",
        cert=target / "node.crt",
        key=target / "node.key",
    )
    certutil = Path(es_home) / "bin" / "elasticsearch-certutil" if es_home is not None else None
    openssl = shutil.which("openssl")
    with tempfile.TemporaryDirectory(prefix=".tls-", dir=target) as scratch_name:
        scratch = Path(scratch_name)
        if certutil is not None and java_home is not None and certutil.is_file():
            _certutil_tls_files(files, certutil, Path(java_home), days, scratch)
        elif openssl:
            _openssl_tls_files(files, openssl, days, scratch)
        else:
            raise NodeError(
                "cannot make TLS certificates: no bin/elasticsearch-certutil in the "
                "distribution and no openssl on PATH (install openssl)"
            )
    for path in (files.ca_cert, files.ca_key, files.cert, files.key):
        if not path.is_file():
            raise NodeError(f"certificate generation did not produce {path}")
        _chmod_shared(path, executable=False)
    return files


# --------------------------------------------------------------------------- the .security index

# The integ-test zip lacks the analysis-common module, and the settings of the ``.security``
# system index use three of its components (an ``email`` analyzer built from the
# ``uax_url_email`` tokenizer and the ``pattern_capture`` and ``unique`` token filters).
# Without them that index cannot be created, so a secure node would have no API keys (nor
# native users, roles or tokens): ``_security/api_key`` answers 400 "Unknown filter type
# [pattern_capture]". A secure node therefore runs from a hard-linked copy of the install
# with a tiny *stable* analysis plugin registering those three names: ``uax_url_email`` is
# Lucene's own tokenizer, the two filters pass tokens through (they only shape how the
# e-mail addresses of native users are searched). The stable plugin API is the one
# Elasticsearch keeps compatible across versions; the plugin is compiled here with the
# JDK's ``javac`` against the jars of the distribution it is added to.
_SECURITY_ANALYSIS_PLUGIN = "lecache-security-analysis"
_SECURITY_ANALYSIS_SOURCES: Mapping[str, str] = {
    "PatternCapture": """package lecache;
import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
@NamedComponent("pattern_capture")
public class PatternCapture implements TokenFilterFactory {
    public TokenStream create(TokenStream input) { return input; }
}
""",
    "Unique": """package lecache;
import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
@NamedComponent("unique")
public class Unique implements TokenFilterFactory {
    public TokenStream create(TokenStream input) { return input; }
}
""",
    "UaxUrlEmail": """package lecache;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenizerFactory;
@NamedComponent("uax_url_email")
public class UaxUrlEmail implements TokenizerFactory {
    public Tokenizer create() { return new UAX29URLEmailTokenizer(); }
}
""",
}
_SECURITY_ANALYSIS_COMPONENTS = {
    "org.elasticsearch.plugin.analysis.TokenFilterFactory": {
        "pattern_capture": "lecache.PatternCapture",
        "unique": "lecache.Unique",
    },
    "org.elasticsearch.plugin.analysis.TokenizerFactory": {
        "uax_url_email": "lecache.UaxUrlEmail",
    },
}


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or links not allowed: a real copy
        shutil.copy2(source, destination)


def _build_security_analysis_plugin(home: Path, java_home: Path, target: Path) -> None:
    javac = java_home / "bin" / "javac"
    if not javac.is_file():
        raise NodeError(f"{java_home} has no bin/javac (a JRE?): a JDK is needed")
    lib = home / "lib"
    classpath = []
    for pattern in (
        "elasticsearch-plugin-analysis-api-*.jar",
        "elasticsearch-plugin-api-*.jar",
        "lucene-core-*.jar",
        "lucene-analysis-common-*.jar",
    ):
        found = sorted(lib.glob(pattern))
        if not found:
            raise NodeError(f"{lib} has no {pattern}: cannot build the analysis plugin")
        classpath.append(str(found[0]))
    version = home.name.removeprefix("elasticsearch-")
    with tempfile.TemporaryDirectory(prefix=".plugin-", dir=target.parent) as scratch_name:
        scratch = Path(scratch_name)
        sources = []
        for name, text in _SECURITY_ANALYSIS_SOURCES.items():
            source = scratch / "lecache" / f"{name}.java"
            source.parent.mkdir(exist_ok=True)
            source.write_text(text, encoding="utf-8")
            sources.append(str(source))
        classes = scratch / "classes"
        _run_tool(
            [
                *(str(javac), "--release", "17", "-proc:none", "-nowarn"),
                *("-cp", os.pathsep.join(classpath), "-d", str(classes), *sources),
            ],
            env=_tool_environment(java_home, scratch),
        )
        _makedirs_shared(target)
        with zipfile.ZipFile(target / f"{_SECURITY_ANALYSIS_PLUGIN}.jar", "w") as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            for compiled in sorted(classes.rglob("*.class")):
                jar.write(compiled, compiled.relative_to(classes).as_posix())
    (target / "stable-plugin-descriptor.properties").write_text(
        "description=stand-ins for the analysis-common components of the .security index\n"
        f"version=1.0\nname={_SECURITY_ANALYSIS_PLUGIN}\n"
        f"elasticsearch.version={version}\njava.version=17\n",
        encoding="utf-8",
    )
    (target / "named_components.json").write_text(
        json.dumps(_SECURITY_ANALYSIS_COMPONENTS), encoding="utf-8"
    )
    for path in target.iterdir():
        _chmod_shared(path, executable=False)


def _home_with_security_index(home: Path, java_home: Path) -> Path:
    """``home`` plus the analysis plugin the ``.security`` index needs (see above), made
    once next to it as a hard-linked copy (a plain copy across file systems)."""
    if (home / "modules" / "analysis-common").is_dir():
        return home  # a full distribution: nothing is missing
    root = home.parent / "with-security-index"
    _makedirs_shared(root)
    target = root / home.name
    marker = root / f".{home.name}{_COMPLETE_MARKER}"
    with _exclusive_lock(root / f".{home.name}.lock"):
        if marker.is_file() and target.is_dir():
            return target
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(home, target, symlinks=True, copy_function=_link_or_copy)
        _build_security_analysis_plugin(
            home, java_home, target / "plugins" / _SECURITY_ANALYSIS_PLUGIN
        )
        marker.touch(mode=0o644)
    logger.info("made %s: %s plus a plugin the .security index needs", target, home)
    return target


# --------------------------------------------------------------------------- the node


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


class LocalElasticsearchNode:
    """One single-node Elasticsearch cluster on 127.0.0.1, run from the Maven Central zip.

    >>> with LocalElasticsearchNode("8.19.7") as node:   # doctest: +SKIP
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
        _parse_version(version)
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
        self._process: subprocess.Popen[bytes] | None = None
        self._base_dir: Path | None = None
        self._home: Path | None = None
        self._java_home: Path | None = None
        self._owner: tuple[int, int] | None = None
        self._http_port: int | None = None
        self._transport_port: int | None = None
        self._atexit_registered = False
        self._password = (password or secrets.token_urlsafe(18)) if secure else None
        self._tls: TlsFiles | None = None
        self._home_secured = False

    def __repr__(self) -> str:  # never the password
        where = self.url if self._http_port is not None else "not started"
        return f"LocalElasticsearchNode({self.version!r}, secure={self.secure}, {where})"

    # ----------------------------------------------------------------- properties

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` when secure); known once started."""
        if self._http_port is None:
            raise NodeError("the node has not been started")
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{_HOST}:{self._http_port}"

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
        return self._http_port

    @property
    def transport_port(self) -> int | None:
        return self._transport_port

    @property
    def pid(self) -> int | None:
        """The pid of the node's launcher (its process group holds the server JVM too)."""
        return self._process.pid if self._process is not None else None

    @property
    def base_dir(self) -> Path | None:
        """The directory holding this node's config/, data/, logs/ and tmp/."""
        return self._base_dir

    @property
    def home(self) -> Path | None:
        """The Elasticsearch install in use (known after the first start)."""
        return self._home

    @property
    def java_home(self) -> Path | None:
        """The JDK in use (known after the first start)."""
        return self._java_home

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # ----------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 180.0) -> str:
        """Start the node and wait until its cluster is yellow or green; returns :attr:`url`.

        Raises :class:`NodeStartError` (with the end of the node's output) if the node dies
        or is not healthy within ``timeout`` seconds; the node is then killed.
        """
        if self.is_running():
            raise NodeError(f"the node is already running at {self.url}")
        self._prepare()
        assert self._base_dir is not None
        logs = self._base_dir / "logs"
        for ports_file in ("http.ports", "transport.ports"):
            with contextlib.suppress(FileNotFoundError):
                (logs / ports_file).unlink()
        self._launch()
        try:
            self._wait_until_healthy(timeout)
        except BaseException:
            self._terminate(graceful=False)
            raise
        return self.url

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the node (SIGKILL after ``timeout`` s) and delete its directory."""
        self._terminate(graceful=True, timeout=timeout)
        if self._base_dir is not None:
            shutil.rmtree(self._base_dir, ignore_errors=True)
            self._base_dir = None
        self._tls = None
        self._http_port = None
        self._transport_port = None
        if self._atexit_registered:
            atexit.unregister(self._cleanup_at_exit)
            self._atexit_registered = False

    def kill(self) -> None:
        """SIGKILL the node (a crash); its data stays, for :meth:`restart`."""
        self._terminate(graceful=False)

    def restart(self, timeout: float = 180.0) -> str:
        """Start again on the same data and ports, stopping the node gracefully if it runs."""
        if self._base_dir is None:
            raise NodeError("the node was never started (or was stopped): nothing to restart")
        self._terminate(graceful=True)
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
        if self._base_dir is None:
            return "(no node directory)"
        try:
            with open(self._base_dir / "console.log", "rb") as console:
                console.seek(0, os.SEEK_END)
                size = console.tell()
                console.seek(max(0, size - 256 * 1024))
                text = console.read().decode("utf-8", errors="replace")
        except OSError as error:
            return f"(no console output: {error})"
        return "\n".join(text.splitlines()[-lines:])

    def _first_error(self) -> str:
        """``": <first error line>"`` of the latest run's console output, or ``""``."""
        text = self.log_tail(lines=2000)
        latest_run = text.rpartition("\n=== ")[2]
        for line in latest_run.splitlines():
            if "Exception: " in line or "[ERROR]" in line or line.startswith(("ERROR:", "Error:")):
                return f": {line.strip()[:500]}"
        return ""

    # ----------------------------------------------------------------- internals

    def _prepare(self) -> None:
        if self._home is None:
            home = fetch_distribution(self.version, self._cache_dir)
            if os.geteuid() == 0 and not _traversable_by_others(home / "bin" / "elasticsearch"):
                home = _runnable_copy(home)
            self._home = home
        if self._java_home is None:
            self._java_home = jdk_for_version(self.version, self._java_home_arg)
            logger.info("Elasticsearch %s will run on %s", self.version, self._java_home)
        if self.secure and not self._home_secured:
            self._home = _home_with_security_index(self._home, self._java_home)
            self._home_secured = True
        if self._owner is None and os.geteuid() == 0:
            self._owner = _ensure_user(os.environ.get("LECACHE_ES_USER") or DEFAULT_USER)
        if self._base_dir is None:
            base = Path(tempfile.mkdtemp(prefix=f"lecache-es-{self.version}-"))
            shutil.copytree(self._home / "config", base / "config")
            for name in ("data", "logs", "tmp"):
                (base / name).mkdir()
            if self.secure:
                try:
                    self._tls = self._secure_config(base)
                except BaseException:
                    shutil.rmtree(base, ignore_errors=True)
                    raise
            if self._owner is not None:
                _chown_tree(base, *self._owner)
            self._base_dir = base
        if not self._atexit_registered:
            atexit.register(self._cleanup_at_exit)
            self._atexit_registered = True

    def _secure_config(self, base: Path) -> TlsFiles:
        """Certificates under ``config/certs`` and a keystore holding ``bootstrap.password``.

        The keystore tool and the certificate tool are JVMs taking seconds each, so the
        keystore is made while the certificates are.
        """
        assert self._home is not None and self._java_home is not None
        assert self._password is not None
        environment = _tool_environment(self._java_home, base / "tmp")
        environment["ES_PATH_CONF"] = str(base / "config")
        failure: list[BaseException] = []

        def make_keystore() -> None:
            try:
                _run_tool(
                    [
                        str(self._home_bin("elasticsearch-keystore")),
                        "add",
                        "--stdin",
                        "--force",  # creates the keystore without asking
                        "bootstrap.password",
                    ],
                    env=environment,
                    stdin_text=self._password,
                )
            except BaseException as error:
                failure.append(error)

        keystore = threading.Thread(target=make_keystore, name="es-keystore", daemon=True)
        keystore.start()
        try:
            files = generate_tls_files(
                base / "config" / "certs", es_home=self._home, java_home=self._java_home
            )
        finally:
            keystore.join()
        if failure:
            raise failure[0]
        if not (base / "config" / "elasticsearch.keystore").is_file():
            raise NodeError("elasticsearch-keystore did not create config/elasticsearch.keystore")
        return files

    def _home_bin(self, name: str) -> Path:
        assert self._home is not None
        return self._home / "bin" / name

    def _command(self) -> list[str]:
        assert self._home is not None and self._base_dir is not None
        settings = dict(BASE_SETTINGS)
        if self.secure:
            settings.update(SECURE_SETTINGS)
        settings.update(
            {
                "path.data": str(self._base_dir / "data"),
                "path.logs": str(self._base_dir / "logs"),
                "http.port": str(self._http_port or 0),
                "transport.port": str(self._transport_port or 0),
            }
        )
        settings.update(self._extra_settings)
        command = [str(self._home / "bin" / "elasticsearch")]
        for key, value in settings.items():
            command += ["-E", f"{key}={value}"]
        return command

    def _environment(self) -> dict[str, str]:
        assert self._base_dir is not None and self._java_home is not None
        environment = {
            key: value for key, value in os.environ.items() if key not in _ENVIRONMENT_REPLACED
        }
        environment.update(
            {
                "ES_JAVA_HOME": str(self._java_home),
                "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}",
                "ES_PATH_CONF": str(self._base_dir / "config"),
                "ES_TMPDIR": str(self._base_dir / "tmp"),
                # the launcher JVM's own temp files (it leaves final-flags*/gc.log behind)
                "CLI_JAVA_OPTS": f"-Djava.io.tmpdir={self._base_dir / 'tmp'}",
                "HOME": str(self._base_dir),
            }
        )
        if self._owner is not None:
            user = pwd.getpwuid(self._owner[0]).pw_name
            environment.update({"USER": user, "LOGNAME": user})
        return environment

    def _launch(self) -> None:
        assert self._base_dir is not None
        command = self._command()
        with open(self._base_dir / "console.log", "ab") as console:
            console.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {command}\n".encode())
            console.flush()
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                command,
                cwd=self._base_dir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: launcher JVM + server JVM
                user=self._owner[0] if self._owner else None,
                group=self._owner[1] if self._owner else None,
                extra_groups=[] if self._owner else None,
            )
        logger.info("started Elasticsearch %s launcher, pid %d", self.version, self._process.pid)

    def _read_port(self, name: str) -> int | None:
        assert self._base_dir is not None
        try:
            text = (self._base_dir / "logs" / f"{name}.ports").read_text(encoding="utf-8")
        except OSError:
            return None
        for line in text.splitlines():
            host, _, port = line.strip().rpartition(":")
            if host.strip("[]") == _HOST and port.isdigit():
                return int(port)
        return None

    def _wait_until_healthy(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        last_problem = "no HTTP port yet"
        while True:
            code = self._process.poll()
            if code is not None:
                raise NodeStartError(
                    f"Elasticsearch {self.version} exited with code {code} while starting"
                    f"{self._first_error()}; last lines of {self._base_dir}/console.log:\n"
                    f"{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise NodeStartError(
                    f"Elasticsearch {self.version} not healthy after {timeout:.0f}s "
                    f"({last_problem}){self._first_error()}; last lines of "
                    f"{self._base_dir}/console.log:\n{self.log_tail()}"
                )
            if self._http_port is None or self._transport_port is None:
                http_port = self._read_port("http")
                transport_port = self._read_port("transport")
                if http_port is None or transport_port is None:
                    time.sleep(0.2)
                    continue
                self._http_port, self._transport_port = http_port, transport_port
            status = self._health()
            if status in {"yellow", "green"}:
                return
            last_problem = f"cluster health: {status}"
            time.sleep(0.5)

    def _health(self) -> str:
        url = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        request = urllib.request.Request(url)  # noqa: S310 - always http(s)://127.0.0.1:<port>/
        context: ssl.SSLContext | None = None
        if self.secure:
            assert self._tls is not None and self._password is not None
            context = ssl.create_default_context(cafile=str(self._tls.ca_cert))
            token = base64.b64encode(f"{ELASTIC_USER}:{self._password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as response:  # noqa: S310
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:  # 408 while still red, 503 while booting
            return f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            return f"{type(error).__name__}: {error}"
        return str(body.get("status", "unknown")) if isinstance(body, dict) else "unknown"

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

    def _terminate(self, *, graceful: bool, timeout: float = 30.0) -> None:
        if self._process is None:
            return
        if graceful:
            # both JVMs (launcher and server) get SIGTERM; the server shuts down cleanly
            self._signal_group(signal.SIGTERM)
            if not self._wait_group_gone(timeout):
                logger.warning("Elasticsearch ignored SIGTERM for %.0fs; killing it", timeout)
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(30)
        if not self._wait_group_gone(30):
            logger.warning("processes of group %d outlived SIGKILL", self._process.pid)
        self._process = None

    def _cleanup_at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.stop(timeout=10)


# --------------------------------------------------------------------------- command line


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m langchain_elasticsearch_cache.testing.node",
        description="Run a throw-away Elasticsearch node from Maven Central, without Docker.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--version", default=os.environ.get("LECACHE_ES_VERSION", DEFAULT_VERSION))
        sub.add_argument("--cache-dir", default=None, help="default: see the module docstring")
        sub.add_argument("--java-home", default=None, help="default: newest supported JDK")

    start = commands.add_parser("start", help="start a node, print its URL, run until signalled")
    common(start)
    start.add_argument("--heap", default="512m")
    start.add_argument(
        "--secure",
        action="store_true",
        help="HTTPS and authentication; prints the CA file and the elastic password too",
    )
    start.add_argument("--timeout", type=float, default=180.0)
    start.add_argument(
        "-E",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Elasticsearch setting (repeatable)",
    )
    common(commands.add_parser("fetch", help="download and unpack only; print the install path"))
    common(commands.add_parser("jdk", help="print the JDK that would run the version"))
    return parser


def _serve(arguments: argparse.Namespace) -> int:
    settings: dict[str, str] = {}
    for item in arguments.settings:
        key, separator, value = item.partition("=")
        if not separator:
            print(f"-E wants KEY=VALUE, not {item!r}", file=sys.stderr)
            return 2
        settings[key] = value
    node = LocalElasticsearchNode(
        arguments.version,
        heap=arguments.heap,
        java_home=arguments.java_home,
        cache_dir=arguments.cache_dir,
        settings=settings,
        secure=arguments.secure,
    )
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        url = node.start(timeout=arguments.timeout)
        print(url, flush=True)
        if node.secure:  # a throw-away test node: its credentials are meant to be used
            print(f"ca_certs={node.ca_certs}", flush=True)
            print(f"user={node.username} password={node.password}", flush=True)
        print(
            f"Elasticsearch {node.version} on Java at {node.java_home}, files in {node.base_dir}; "
            "Ctrl-C or SIGTERM stops it",
            file=sys.stderr,
            flush=True,
        )
        while not stop_requested.wait(1.0):
            if not node.is_running():
                print(f"the node died:\n{node.log_tail()}", file=sys.stderr)
                return 1
        return 0
    finally:
        node.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m langchain_elasticsearch_cache.testing.node``."""
    arguments = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        if arguments.command == "fetch":
            print(fetch_distribution(arguments.version, arguments.cache_dir))
            return 0
        if arguments.command == "jdk":
            print(jdk_for_version(arguments.version, arguments.java_home))
            return 0
        return _serve(arguments)
    except (NodeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
