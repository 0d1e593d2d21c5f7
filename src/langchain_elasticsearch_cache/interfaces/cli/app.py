"""The parser (each command registered by its own module) and :func:`main`: read the
arguments, set up logging, run the command, turn an error into one line and an exit code.

To add a command: write ``cmd_<name>(args) -> int`` and ``add_<name>_command(sub)`` in a
module of this package (see :mod:`.stats` for a small one; index commands take their
common arguments from :func:`.connection.add_index_command`), then register it in
:func:`build_parser`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence

from ...domain.errors import CacheError
from .calibrate import add_calibrate_command
from .connection import SECRET_FLAGS, glue_verbatim_values
from .demo import add_demo_command
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, exit_code, one_line
from .maintenance import add_maintenance_commands
from .stats import add_stats_command
from .transfer import add_transfer_commands

__all__ = ["build_parser", "configure_logging", "main"]

logger = logging.getLogger("langchain_elasticsearch_cache")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="langchain-elasticsearch-cache",
        description="Inspect and operate a LangChain cache stored in Elasticsearch.",
        epilog="exit codes: 0 ok, 1 failed, 2 usage or configuration error, "
        "3 cannot connect or authenticate, 4 index not found, 130 interrupted, "
        "143 export ended by SIGTERM",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log more, and show tracebacks"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # the order of --help
    add_demo_command(sub)
    add_stats_command(sub)
    add_maintenance_commands(sub)  # purge, rollover, clear
    add_transfer_commands(sub)  # export, import
    add_calibrate_command(sub)
    return parser


class _FewOfEach(logging.Filter):
    """Let through the first ``limit`` records of each message template, then one notice:
    a file of a million corrupt lines must not print a million warnings."""

    def __init__(self, limit: int = 10) -> None:
        super().__init__()
        self.limit = limit
        self.seen: Counter[tuple[str, object]] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        template = (record.name, record.msg)
        self.seen[template] += 1
        seen = self.seen[template]
        if seen == self.limit + 1:
            record.msg = f"{record.msg} [further warnings like this one are not shown]"
        return seen <= self.limit + 1


def configure_logging(verbose: bool) -> None:
    """Warnings on stderr as ``warning: ...`` (each template at most 11 times), or with
    ``-v`` everything from INFO with the logger's name."""
    handler = logging.StreamHandler(sys.stderr)
    if not verbose:
        handler.addFilter(_FewOfEach())
    handler.setFormatter(
        logging.Formatter(
            "%(levelname)s %(name)s: %(message)s" if verbose else "warning: %(message)s"
        )
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # the client logs every retry and dead node; the error message says what matters
    for noisy in ("elastic_transport", "elasticsearch"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(glue_verbatim_values(sys.argv[1:] if argv is None else argv))
    configure_logging(args.verbose)
    secrets = [str(getattr(args, name)) for name in SECRET_FLAGS if getattr(args, name, None)]
    try:
        code: int = args.func(args)
    except (CacheError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            return _broken_pipe()
        if args.verbose:
            logger.exception("%s failed", args.command)
        print(one_line(exc, secrets), file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, OSError) else exit_code(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


def _broken_pipe() -> int:
    """The reader went away (``export | head``): stop quietly, without Python's own
    "Exception ignored ... BrokenPipeError" when stdout is flushed at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_FAILED
