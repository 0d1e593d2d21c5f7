"""The Elasticsearch distribution: fetched from Maven Central, unpacked once, cached.

The node is the ``integ-test-zip`` distribution of Elasticsearch published on Maven Central
(``org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>:zip``). It is fetched
with the ordinary Maven client (``mvn dependency:copy``) and unpacked once into a cache
directory. The distribution is small (about 95 MiB) and holds only the modules
``x-pack-core``, ``x-pack-security``, ``transport-netty4`` and ``apm``: no ``reindex`` module
(so no ``_delete_by_query`` / ``_update_by_query`` / ``_reindex``), no ingest-geoip, no ML,
no watcher, no monitoring, no ``GET /`` handler, no ILM.

**The cache directory.** Distributions are cached under ``<cache_dir>/<version>/``. The
default ``cache_dir`` is ``$LECACHE_HOME/elasticsearch`` when ``LECACHE_HOME`` is set;
otherwise, for root, ``/var/cache/langchain-elasticsearch-cache/elasticsearch`` (``/root`` is
usually mode 700, so the unprivileged user could not read an install kept under it); for
anybody else ``${XDG_CACHE_HOME:-~/.cache}/langchain-elasticsearch-cache/elasticsearch``.
Every directory this module creates there is mode 755 and every file is world-readable.
If the install still ends up somewhere the unprivileged user cannot reach (an explicit
cache dir under ``/root``, say), :func:`runnable_copy` makes a one-off copy under
``/var/cache/langchain-elasticsearch-cache/runtime`` and that copy is run instead.

**Concurrency.** Fetching takes an exclusive file lock per version, so several processes
(pytest-xdist workers, say) can ask for the same version at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from ._shared import (
    COMPLETE_MARKER,
    SHARED_ROOT,
    chmod_shared,
    exclusive_lock,
    makedirs_shared,
)
from .errors import DistributionError
from .jdk import parse_version

__all__ = [
    "MAVEN_COORDINATES",
    "default_cache_dir",
    "fetch_distribution",
    "runnable_copy",
    "runnable_distribution",
    "traversable_by_others",
]

logger = logging.getLogger(__name__)

MAVEN_COORDINATES = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"


def default_cache_dir() -> Path:
    """Where distributions are cached by default (see the module docstring)."""
    explicit = os.environ.get("LECACHE_HOME")
    if explicit:
        return Path(explicit) / "elasticsearch"
    if os.geteuid() == 0:
        return SHARED_ROOT / "elasticsearch"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "langchain-elasticsearch-cache" / "elasticsearch"


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
                makedirs_shared(target)
                continue
            makedirs_shared(target.parent)
            if stat.S_ISLNK(mode):
                link = bundle.read(info).decode("utf-8")
                if Path(link).is_absolute() or ".." in Path(link).parts:
                    raise DistributionError(f"unsafe link in {archive}: {info.filename!r}")
                target.symlink_to(link)
                continue
            with bundle.open(info) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            chmod_shared(target, executable=bool(mode & 0o111))


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
    parse_version(version)
    version_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    version_dir = version_dir / version
    makedirs_shared(version_dir)
    with exclusive_lock(version_dir / ".lock"):
        home = _es_home_in(version_dir)
        if home is not None and (version_dir / COMPLETE_MARKER).is_file():
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
            chmod_shared(final_home, executable=True)
        (version_dir / COMPLETE_MARKER).write_text(f"{time.time()}\n", encoding="utf-8")
        chmod_shared(version_dir / COMPLETE_MARKER, executable=False)
        logger.info(
            "Elasticsearch %s fetched in %.1fs and unpacked in %.1fs into %s",
            version,
            downloaded - started,
            time.monotonic() - downloaded,
            final_home,
        )
        return final_home


def traversable_by_others(path: Path) -> bool:
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


def runnable_copy(home: Path) -> Path:
    """A copy of ``home`` that any user can read, for installs kept under e.g. /root."""
    runtime = SHARED_ROOT / "runtime"
    makedirs_shared(runtime)
    target = runtime / home.name
    with exclusive_lock(runtime / f".{home.name}.lock"):
        if (runtime / f".{home.name}{COMPLETE_MARKER}").is_file() and target.is_dir():
            return target
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(home, target, symlinks=True)
        for directory, _subdirs, files in os.walk(target):
            chmod_shared(Path(directory), executable=True)
            for file_name in files:
                path = Path(directory) / file_name
                if not path.is_symlink():
                    chmod_shared(path, executable=bool(path.stat().st_mode & 0o111))
        (runtime / f".{home.name}{COMPLETE_MARKER}").touch(mode=0o644)
    logger.info("copied %s to %s so that an unprivileged user can run it", home, target)
    return target


def runnable_distribution(version: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """:func:`fetch_distribution`, then, for root, a copy the unprivileged user can run if
    the install itself is out of its reach (see the module docstring)."""
    home = fetch_distribution(version, cache_dir)
    if os.geteuid() == 0 and not traversable_by_others(home / "bin" / "elasticsearch"):
        home = runnable_copy(home)
    return home
