"""``export`` and ``import``: every entry of an index as JSON Lines, and back.

The line format and the index work are in :mod:`..operations`, the checks of an import's
input in :mod:`.import_input`; this module holds the streams (UTF-8 whatever the locale,
stdin/stdout left open), the kind an input declares, the progress lines and the summary
on stderr.

Neither command leaves a half-done result that looks complete: ``export -o FILE`` writes
a temporary file next to ``FILE`` and renames it to ``FILE`` only once every entry is in
it (an interrupted or failed export leaves no ``FILE``, or the previous one unchanged,
and removes its temporary file; SIGTERM, as sent by ``kill``, a container runtime or a
job scheduler, is handled like Ctrl-C, then exits 143); ``import`` checks its whole
input before it writes the first entry, and says how many it wrote when a write fails
midway.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from types import FrameType
from typing import IO, Any

from ...domain.errors import ConfigurationError
from ..operations import kind_of_line
from .connection import add_index_command, client_connection, open_target, require_connection
from .errors import EXIT_FAILED, EXIT_OK
from .import_input import check_input, decoded_lines, open_input
from .progress import add_progress_flags, progress_for
from .values import positive_int

__all__ = [
    "EXIT_TERMINATED",
    "Terminated",
    "add_transfer_commands",
    "atomic_output",
    "cmd_export",
    "cmd_import",
    "peek_kind",
    "sigterm_interrupts",
]

#: The exit code of an export ended by SIGTERM: 128 + the signal's number, as a shell says.
EXIT_TERMINATED = 128 + int(signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised where the program is, like Ctrl-C's ``KeyboardInterrupt``
    (which it is), so every ``except BaseException`` cleanup runs on the way out."""


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` instead of ending the process
    at once (Python's default), which would leave the export's temporary file behind. The
    previous handler is put back on exit. Outside the main thread, where Python cannot
    install a handler, the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _utf8_stdout() -> io.TextIOWrapper:
    sys.stdout.flush()
    return io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")


def peek_kind(lines: Iterator[str]) -> tuple[str | None, Iterator[str]]:
    """The kind the first non-blank line declares, and every line again."""
    seen: list[str] = []
    for line in lines:
        seen.append(line)
        if line.strip():
            return kind_of_line(line), itertools.chain(seen, lines)
    return None, iter(seen)


def _new_file_mode(path: str) -> int:
    """The mode ``open(path, "w")`` would give: the existing file's, else 0o666 - umask."""
    with contextlib.suppress(OSError):
        found = os.stat(path)
        if stat.S_ISREG(found.st_mode):
            return stat.S_IMODE(found.st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[IO[str]]:
    """A UTF-8 text file that appears as ``path`` only if the block completes.

    Written as a hidden temporary file in ``path``'s folder (so the rename cannot cross
    file systems), flushed to disk, then renamed over ``path`` (``os.replace``, atomic).
    An exception, ``KeyboardInterrupt`` (Ctrl-C, SIGINT) included, removes the temporary
    file and leaves ``path`` as it was: absent, or the previous export.
    """
    folder = os.path.dirname(os.path.abspath(path))
    mode = _new_file_mode(path)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)[:100]}.", suffix=".part", dir=folder
        )
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the export to {path!r}: {exc.strerror or exc} in folder "
            f"{folder!r}; check that the folder exists and that you may write in it"
        ) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _export_stream(output: str | None) -> Iterator[IO[str]]:
    if output in (None, "-"):
        out = _utf8_stdout()
        try:
            yield out
            out.flush()
        finally:
            out.detach()  # keep sys.stdout open
        return
    assert output is not None
    with atomic_output(output) as file:
        yield file


def cmd_export(args: argparse.Namespace) -> int:
    try:
        with sigterm_interrupts():
            return _export(args)
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED


def _export(args: argparse.Namespace) -> int:
    with open_target(args, must_exist=True) as target:
        # behind an alias over several indices the older copies are not exported
        total = target.count() if len(target.indices()) == 1 else None
        progress = progress_for(args, "exported", total)
        with _export_stream(args.output) as out:
            for line in target.export_lines(page_size=args.page_size, on_page=progress.advance):
                out.write(line)
                out.write("\n")
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
    from ...adapters.elasticsearch import validate_index_name
    from ...adapters.elasticsearch.admin import index_exists

    # the mistakes that need no input and no server first
    require_connection(args)
    client_connection(args)  # checks --timeout
    validate_index_name(args.index)
    wanted = None if args.kind == "auto" else args.kind
    with open_input(args.input) as (source, name):
        summary = check_input(source, wanted, name)  # the whole input; raises at a bad line
        if summary.kind is None:
            with open_target(args, must_exist=False, kind_if_new=wanted or "llm"):
                pass  # connection problems are reported as for any import
            print(f"{name} holds no entries: nothing imported into {args.index}", file=sys.stderr)
            return EXIT_OK
        with open_target(args, must_exist=False, kind_if_new=summary.kind) as target:
            if summary.kind != target.kind:
                raise ConfigurationError(
                    f"the input holds {summary.kind} entries but {args.index!r} is "
                    f"{_a_cache(target.kind)}: import into another index (a new index is "
                    "created with the entries' kind); nothing was written"
                )
            if summary.dims is not None and index_exists(target.client, args.index):
                stored = target.dimensions()
                if stored is not None and stored != summary.dims:
                    raise ConfigurationError(
                        f"the input's vectors have {summary.dims} dimensions but "
                        f"{args.index!r} holds vectors of {stored}: one index holds one "
                        "vector length (one embedding model); import into a new index; "
                        "nothing was written"
                    )
            progress = progress_for(args, "imported", summary.entries)
            result = target.import_lines(
                decoded_lines(source),
                batch_size=args.batch_size,
                on_batch=progress.advance,
                total=summary.entries,
            )
            progress.finish()
    message = f"imported {result.imported} entries into {args.index} ({target.kind}: "
    message += f"{result.imported})"
    if result.skipped:  # the check accepted these lines: cannot happen, reported if it does
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
