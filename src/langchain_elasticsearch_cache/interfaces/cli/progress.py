"""Progress lines on stderr for the long commands (export, import, calibrate), and their
``--progress`` / ``--progress-every`` flags."""

from __future__ import annotations

import argparse
import sys
import time
from typing import IO

__all__ = ["Progress", "add_progress_flags", "progress_for"]


class Progress:
    """Progress lines on stderr, at most one every ``interval`` seconds plus a last one.

    Enabled by ``--progress`` (or when stderr is a terminal): lines, not a redrawn bar,
    so they read well in logs too.
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        enabled: bool,
        interval: float = 2.0,
        stream: IO[str] | None = None,
    ) -> None:
        self.label, self.total, self.enabled, self.interval = label, total, enabled, interval
        self.stream = stream
        self.done = 0
        self.started = time.monotonic()
        self._last = self.started

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and now - self._last >= self.interval:
            self._last = now
            self._print(now)

    def finish(self) -> None:
        if self.enabled:
            self._print(time.monotonic())

    def _print(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = f"{self.done / elapsed:,.0f}/s"
        if self.total:
            pct = 100.0 * self.done / self.total
            text = f"{self.label}: {self.done}/{self.total} ({pct:.0f}%), {rate}"
        else:
            text = f"{self.label}: {self.done}, {rate}"
        print(text, file=self.stream or sys.stderr, flush=True)


def add_progress_flags(parser: argparse.ArgumentParser) -> None:
    """``--progress`` and ``--progress-every``, read by :func:`progress_for`."""
    parser.add_argument(
        "--progress",
        action="store_true",
        help="progress lines on stderr (default: only when stderr is a terminal)",
    )
    parser.add_argument(
        "--progress-every",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="at most one progress line per this many seconds (default 2)",
    )


def progress_for(args: argparse.Namespace, label: str, total: int | None) -> Progress:
    """The :class:`Progress` the command's flags ask for (on when stderr is a terminal)."""
    enabled = bool(args.progress or sys.stderr.isatty())
    return Progress(label, total, enabled=enabled, interval=args.progress_every)
