"""The input of ``import``, read twice: first every line is checked, then it is written.

Nothing is written unless the *whole* input is an export of one kind whose every line
the cache can store: a file cut short, converted to another encoding, edited by hand or
made from another index kind is refused with one line naming the first bad line, what
is wrong with it and how to fix it (exit 2), before the first write. Memory stays bounded
whatever the size of the input: the check keeps counts, not lines, and the writing pass
reads the input again (standard input, and any input that cannot be read twice such as
a pipe, is first copied to a temporary file, removed at the end).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

import attrs

from ...adapters.elasticsearch.mappings import MAX_ID_BYTES
from ...domain.entries import read_embedding_document, read_llm_document
from ...domain.errors import ConfigurationError
from ...domain.semantic.records import read_semantic_document
from ..operations import KINDS

__all__ = ["InputError", "InputSummary", "check_input", "decoded_lines", "open_input"]

_READERS: dict[str, Callable[[str, Any], object]] = {
    "llm": read_llm_document,
    "embeddings": read_embedding_document,
    "semantic": read_semantic_document,
}
_NOTHING_WRITTEN = "nothing was written"


class InputError(ConfigurationError):
    """A line of the input cannot be imported (exit 2); ``line`` is its number."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@attrs.frozen
class InputSummary:
    """What the checked input holds: its entries' kind (``None`` when it holds none),
    how many entries, and for semantic entries their vectors' length."""

    kind: str | None
    entries: int
    dims: int | None = None


@contextlib.contextmanager
def open_input(path: str | None) -> Iterator[tuple[IO[bytes], str]]:
    """The input as a binary file that can be read twice, and its name for messages.

    ``None`` or ``-`` is standard input, copied to a temporary file first (as is a file
    that cannot seek, e.g. a named pipe): the check and the writing pass each read it.
    """
    if path in (None, "-"):
        if sys.stdin.isatty():
            print("reading export lines from the terminal; end with Ctrl-D", file=sys.stderr)
        with _spooled(sys.stdin.buffer) as spool:
            yield spool, "standard input"
        return
    assert path is not None
    with open(path, "rb") as given:
        if given.seekable():
            yield given, repr(path)
            return
        with _spooled(given) as spool:
            yield spool, repr(path)


@contextlib.contextmanager
def _spooled(stream: IO[bytes]) -> Iterator[IO[bytes]]:
    with tempfile.TemporaryFile(prefix="lecache-import-", suffix=".jsonl") as spool:
        shutil.copyfileobj(stream, spool, 1 << 20)
        spool.seek(0)
        yield spool


def decoded_lines(source: IO[bytes]) -> Iterator[str]:
    """Every line of ``source`` from its start, as text (for the writing pass, after
    :func:`check_input` accepted it: the line numbers are the same)."""
    source.seek(0)
    for number, raw in enumerate(source, start=1):
        text = raw.decode("utf-8")
        yield text.removeprefix("\ufeff") if number == 1 else text


def check_input(source: IO[bytes], kind: str | None, name: str) -> InputSummary:
    """Read ``source`` from its start and check every line; :class:`InputError` at the
    first line that cannot be imported.

    ``kind`` is the kind the caller requires (``--kind``), or ``None``: then the first
    entry's kind, which every other line must have too (one index holds one kind).
    Blank lines are allowed; a UTF-8 byte order mark at the start is too.
    """
    source.seek(0)
    entries = 0
    first_entry = 0
    dims: int | None = None
    for number, raw in enumerate(source, start=1):
        text = _decoded(raw, number, name)
        if number == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        item = _entry(text, number, name)
        line_kind = item["kind"]
        if kind is None:
            kind = line_kind
        if line_kind != kind:
            raise _mixed_kinds(line_kind, kind, number, first_entry, name)
        if not first_entry:
            first_entry = number
        record = _record(kind, item, number, name)
        if kind == "semantic":
            length = _vector_length(record, item["id"], number, name)
            if dims is None:
                dims = length
            elif length != dims:
                raise InputError(
                    f"line {number} of {name}: the vector of entry {item['id']!r} has {length} "
                    f"dimensions, the entries before it (from line {first_entry}) {dims}: one "
                    "index holds vectors of one length (one embedding model); split the "
                    f"input by embedding model and import each part into its own index; "
                    f"{_NOTHING_WRITTEN}",
                    number,
                )
        entries += 1
    return InputSummary(kind if entries else None, entries, dims)


def _decoded(raw: bytes, number: int, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start : exc.start + 1].hex().upper()
        raise InputError(
            f"line {number} of {name} is not UTF-8 (byte 0x{byte} at byte {exc.start + 1} of "
            "the line): export writes UTF-8; convert the file (e.g. iconv -f latin1 -t "
            f"utf-8 FILE > FILE.utf8) or export the index again; {_NOTHING_WRITTEN}",
            number,
        ) from None


def _entry(text: str, number: int, name: str) -> dict[str, Any]:
    try:
        item = json.loads(text.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"line {number} of {name} is not JSON ({exc.msg}: character {exc.pos + 1}): each "
            "line of an export is one JSON object; was the file cut short or edited? export "
            f"the index again, or remove the line; {_NOTHING_WRITTEN}",
            number,
        ) from None
    except RecursionError:
        raise InputError(
            f"line {number} of {name} is JSON nested too deeply to read: export never writes "
            f"such a line; remove it; {_NOTHING_WRITTEN}",
            number,
        ) from None
    missing = (
        [field for field in ("kind", "id", "doc") if field not in item]
        if isinstance(item, dict)
        else ["kind", "id", "doc"]
    )
    if missing:
        raise InputError(
            f"line {number} of {name} is not an export line (it has no "
            f"{', '.join(repr(field) for field in missing)}): import reads the lines export "
            f'writes, {{"kind": ..., "id": ..., "doc": ...}}; {_NOTHING_WRITTEN}',
            number,
        )
    assert isinstance(item, dict)
    if item["kind"] not in KINDS:
        raise InputError(
            f"line {number} of {name} has kind {item['kind']!r}, which is none of "
            f"{', '.join(KINDS)}: import reads the lines export writes; {_NOTHING_WRITTEN}",
            number,
        )
    key = item["id"]
    if not isinstance(key, str) or not key:
        raise InputError(
            f"line {number} of {name}: its id {key!r} is not a non-empty string (the "
            f"entry's key, as export writes it); {_NOTHING_WRITTEN}",
            number,
        )
    if len(key.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
        raise InputError(
            f"line {number} of {name}: its id is longer than {MAX_ID_BYTES} bytes, the "
            f"longest Elasticsearch stores; export never writes such a line; {_NOTHING_WRITTEN}",
            number,
        )
    return item


def _mixed_kinds(found: str, kind: str, number: int, first_entry: int, name: str) -> InputError:
    if first_entry:
        reason = f"the entries before it (from line {first_entry}) are {kind} entries"
        fix = "one index holds one kind: split the input by kind and import each part into "
        fix += "its own index"
    else:
        reason = f"--kind {kind} was given"
        fix = f"import it with --kind {found} (into an index of that kind) or --kind auto"
    return InputError(
        f"line {number} of {name} holds {'a' if found == 'semantic' else 'an'} {found} "
        f"entry but {reason}; {fix}; {_NOTHING_WRITTEN}",
        number,
    )


def _record(kind: str, item: dict[str, Any], number: int, name: str) -> object:
    key = item["id"]
    record = _READERS[kind](key, item["doc"])
    problem = record if isinstance(record, str) else None
    if problem is None and kind == "embeddings":
        try:
            base64.b64decode(item["doc"]["vector_dump"], validate=True)
        except (binascii.Error, ValueError):
            problem = "vector_dump is not base64 text"
    if problem is not None:
        raise InputError(
            f"line {number} of {name}: the {kind} entry {key!r} cannot be stored ({problem}): "
            f"correct the line or remove it, or export the index again; {_NOTHING_WRITTEN}",
            number,
        )
    return record


def _vector_length(record: Any, key: str, number: int, name: str) -> int:
    vector = record.vector
    if vector is None:
        raise InputError(
            f"line {number} of {name}: the semantic entry {key!r} has no prompt_vector, so "
            "no lookup by meaning could find it: export the index again (export writes "
            f"every entry's vector); {_NOTHING_WRITTEN}",
            number,
        )
    return len(vector)
