"""Finding a JDK that runs a given Elasticsearch version.

The integ-test zip has no bundled JDK. A supported JDK is looked up in ``$ES_JAVA_HOME``,
``$JAVA_HOME``, the ``java`` on ``$PATH`` and the usual install roots (``/usr/lib/jvm``,
``/usr/java``, ``/opt/java``, ``/opt``), reading each JDK's ``release`` file. Elasticsearch
8.x runs on JDK 17 or 21+, 9.x on 21+; the newest supported JDK found is used.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from .errors import JdkNotFoundError

__all__ = ["find_jdk", "jdk_for_version", "parse_version"]

_JDK_ROOTS = ("/usr/lib/jvm", "/usr/java", "/opt/java", "/opt", "/usr/local/lib/jvm")


def parse_version(version: str) -> tuple[int, int, int]:
    """``(major, minor, patch)`` of a release version such as ``8.19.9``; ValueError otherwise."""
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version.strip())
    if match is None:
        raise ValueError(f"not an Elasticsearch release version: {version!r} (want e.g. 8.19.9)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def _jdk_majors_supported(es_version: str) -> list[tuple[int, int | None]]:
    """Ranges of JDK major versions the given Elasticsearch runs on, most preferred first."""
    major = parse_version(es_version)[0]
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
