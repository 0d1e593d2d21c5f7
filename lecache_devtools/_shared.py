"""File-system and subprocess helpers shared by the modules of :mod:`lecache_devtools`.

The node runs as another, unprivileged user when this process is root, so whatever is
created for it (installs, certificates) is made world-readable here, deliberately.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .errors import NodeError

HOST = "127.0.0.1"
"""Every local node binds this address only."""

SHARED_ROOT = Path("/var/cache/langchain-elasticsearch-cache")
COMPLETE_MARKER = ".complete"

ENVIRONMENT_REPLACED = frozenset(
    {"ES_JAVA_OPTS", "ES_PATH_CONF", "ES_TMPDIR", "ES_JAVA_HOME", "JAVA_HOME", "CLI_JAVA_OPTS"}
)
"""Variables of the caller's environment a node or an Elasticsearch tool must not inherit."""


def chmod_shared(path: Path, *, executable: bool) -> None:
    """Make ``path`` readable (and, if ``executable``, traversable/runnable) by every user.

    Deliberately permissive: the node runs as another, unprivileged user.
    """
    os.chmod(path, 0o755 if executable else 0o644)


def makedirs_shared(path: Path) -> None:
    """mkdir -p, making every directory created world-readable and traversable (mode 755)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
            chmod_shared(directory, executable=True)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``lock_path`` (created if missing), across processes."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def link_or_copy(source: str, destination: str) -> None:
    """Hard-link ``source`` to ``destination``; copy it where links are not possible."""
    try:
        os.link(source, destination)
    except OSError:  # another file system, or links not allowed: a real copy
        shutil.copy2(source, destination)


def run_tool(
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


def tool_environment(java_home: Path, scratch: Path) -> dict[str, str]:
    """The environment for one of the distribution's JVM tools (certutil, keystore)."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ENVIRONMENT_REPLACED
    }
    environment.update(
        {
            "ES_JAVA_HOME": str(java_home),
            "ES_TMPDIR": str(scratch),
            "CLI_JAVA_OPTS": f"-Djava.io.tmpdir={scratch}",
        }
    )
    return environment
