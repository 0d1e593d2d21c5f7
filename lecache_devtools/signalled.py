"""Send a signal to a CLI command while it is certainly still working.

A command that prints a progress line per step is started with its stderr on a pipe of
one page (4,096 bytes, the smallest Linux allows) that nobody reads until the signal is
sent: once the pipe is full the command blocks on its next progress line. Reading the first
line, then signalling, therefore always lands mid-run, however fast the machine (CI once saw
an export of 20,000 entries finish before a signal sent after its first line arrived).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence

PIPE_BYTES = 4096


def signal_after_first_line(
    argv: Sequence[str],
    sig: signal.Signals,
    *,
    env: Mapping[str, str],
    before_signal: Callable[[str], None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``, wait for its first stderr line, call ``before_signal(line)``, send
    ``sig``; return the exit code, stdout and the whole stderr (first line included).

    The command must print more than ``PIPE_BYTES`` to stderr before it would finish, so it
    is still running when the signal arrives (an export printing a line per page of 100
    entries does from about 11,000 entries on)."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    try:
        process = subprocess.Popen(  # noqa: S603 - the caller's own command
            list(argv),
            stdout=subprocess.PIPE,
            stderr=write_end,
            text=True,
            env=dict(env),
        )
    finally:
        os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as stderr:
        first = stderr.readline()
        try:
            if before_signal is not None:
                before_signal(first)
        finally:
            process.send_signal(sig)
        rest = stderr.read()
    stdout, _ = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, first + rest)
