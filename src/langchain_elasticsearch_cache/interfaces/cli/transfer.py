"""``export`` and ``import``: every entry of an index as JSON Lines, and back.

The line format and the index work are in :mod:`..operations`; this module holds the
streams (UTF-8 whatever the locale, stdin/stdout left open), the kind an input declares,
the progress lines and the summary on stderr.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
from collections.abc import Iterator
from typing import Any

from ...domain.errors import ConfigurationError
from ..operations import kind_of_line
from .connection import add_index_command, open_target
from .errors import EXIT_FAILED, EXIT_OK
from .progress import add_progress_flags, progress_for
from .values import positive_int

__all__ = ["add_transfer_commands", "cmd_export", "cmd_import", "peek_kind"]


def _utf8_stdout() -> io.TextIOWrapper:
    sys.stdout.flush()
    return io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")


def _utf8_stdin() -> io.TextIOWrapper:
    return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")


def peek_kind(lines: Iterator[str]) -> tuple[str | None, Iterator[str]]:
    """The kind the first non-blank line declares, and every line again."""
    seen: list[str] = []
    for line in lines:
        seen.append(line)
        if line.strip():
            return kind_of_line(line), itertools.chain(seen, lines)
    return None, iter(seen)


def cmd_export(args: argparse.Namespace) -> int:
    with open_target(args, must_exist=True) as target:
        # behind an alias over several indices the older copies are not exported
        total = target.count() if len(target.indices()) == 1 else None
        progress = progress_for(args, "exported", total)
        to_stdout = args.output in (None, "-")
        out = _utf8_stdout() if to_stdout else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
        try:
            for line in target.export_lines(page_size=args.page_size, on_page=progress.advance):
                out.write(line)
                out.write("\n")
            out.flush()
        finally:
            if to_stdout:
                out.detach()  # keep sys.stdout open
            else:
                out.close()
        progress.finish()
    skipped = (
        f", skipped {target.unreadable} unreadable documents (misses for the cache too)"
        if target.unreadable
        else ""
    )
    print(f"exported {progress.done} entries from {args.index}{skipped}", file=sys.stderr)
    return EXIT_OK


def _a_cache(kind: str) -> str:
    return f"{'a' if kind == 'semantic' else 'an'} {kind} cache"  # "an llm", "a semantic"


def cmd_import(args: argparse.Namespace) -> int:
    from_stdin = args.input in (None, "-")
    if from_stdin and sys.stdin.isatty():
        print("reading export lines from the terminal; end with Ctrl-D", file=sys.stderr)
    source = _utf8_stdin() if from_stdin else open(args.input, encoding="utf-8")  # noqa: SIM115
    try:
        declared, lines = peek_kind(iter(source))
        with open_target(args, must_exist=False, kind_if_new=declared) as target:
            if args.kind == "auto" and declared is not None and declared != target.kind:
                raise ConfigurationError(
                    f"the input holds {declared} entries but {args.index!r} is "
                    f"{_a_cache(target.kind)}: import into another index (a new index is "
                    "created with the entries' kind)"
                )
            progress = progress_for(args, "imported", None)
            result = target.import_lines(
                lines, batch_size=args.batch_size, on_batch=progress.advance
            )
            progress.finish()
    finally:
        if from_stdin:
            source.detach()  # keep sys.stdin open
        else:
            source.close()
    message = f"imported {result.imported} entries into {args.index}"
    if result.skipped:
        where = ", ".join(str(number) for number in result.first_skipped)
        more = ", ..." if result.skipped > len(result.first_skipped) else ""
        print(
            f"{message}; skipped {result.skipped} lines that are not {target.kind} export "
            f"lines (lines {where}{more})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(message, file=sys.stderr)
    return EXIT_OK


def add_transfer_commands(sub: Any) -> None:
    """Register ``export`` and ``import`` on the CLI's subparsers."""
    export = add_index_command(sub, "export", "write every entry as JSON Lines", cmd_export)
    export.add_argument("-o", "--output", help="file (default: standard output)")
    export.add_argument("--page-size", type=positive_int, default=1000)
    add_progress_flags(export)

    imp = add_index_command(sub, "import", "read JSON Lines written by export", cmd_import)
    imp.add_argument("-i", "--input", help="file (default: standard input)")
    imp.add_argument("--batch-size", type=positive_int, default=500)
    add_progress_flags(imp)
