"""The ``langchain-elasticsearch-cache`` command-line tool (console script: :func:`main`).

Connection options come from flags or the usual environment variables (``ES_URL``,
``ES_CLOUD_ID``, ``ES_API_KEY``, ``ES_USER``, ``ES_PASSWORD``, ``ES_CA_CERTS``); they are
never printed. Errors are one line on stderr (``-v`` adds the traceback). Exit codes:
0 success, 1 operation failed, 2 usage or configuration error, 3 cannot connect or
authenticate, 4 index not found, 130 interrupted.

The modules, each importing only from the ones above it in this list (never from this
``__init__``, which only re-exports):

* :mod:`.errors` - exit codes, an error as one line and a code;
* :mod:`.values` - option values: durations, positive counts, timeouts;
* :mod:`.progress` - progress lines on stderr and their flags;
* :mod:`.connection` - connection flags, ``split_hosts``, the cache/client keywords, the
  arguments of every index command;
* :mod:`.stats`, :mod:`.maintenance` (purge, rollover, clear), :mod:`.transfer` (export,
  import, + :mod:`.import_input`), :mod:`.demo` (+ :mod:`.semantic_demo`), :mod:`.calibrate`
  (+ :mod:`.calibrate_inputs`) - the commands, each with its ``add_..._command(s)``;
* :mod:`.app` - the parser and :func:`main`.
"""

from __future__ import annotations

from .app import build_parser, configure_logging, main
from .calibrate import add_calibrate_command
from .connection import cache_connection, client_connection, glue_verbatim_values, split_hosts
from .demo import cmd_demo
from .errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    exit_code,
    one_line,
)
from .maintenance import cmd_clear, cmd_purge, cmd_purge_by_index, cmd_rollover
from .progress import Progress
from .stats import cmd_stats, human_size
from .transfer import cmd_export, cmd_import, peek_kind
from .values import parse_duration

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "Progress",
    "add_calibrate_command",
    "build_parser",
    "cache_connection",
    "client_connection",
    "cmd_clear",
    "cmd_demo",
    "cmd_export",
    "cmd_import",
    "cmd_purge",
    "cmd_purge_by_index",
    "cmd_rollover",
    "cmd_stats",
    "configure_logging",
    "exit_code",
    "glue_verbatim_values",
    "human_size",
    "main",
    "one_line",
    "parse_duration",
    "peek_kind",
    "split_hosts",
]

# The private names these helpers had when the CLI was one module, still used by existing
# callers (the unit tests); new code uses the public names above.
_cache_connection = cache_connection
_client_connection = client_connection
_configure_logging = configure_logging
_exit_code = exit_code
_glue_verbatim_values = glue_verbatim_values
_human_size = human_size
_one_line = one_line
_peek_kind = peek_kind
