"""Labelled prompt pairs: what a semantic cache should and should not treat as the same.

A calibration is only as good as its labels, so reading them is strict: every problem is a
:class:`ConfigurationError` on one line that names the file, the line and the fix, and the
first problem stops the read (a half-read set would calibrate on the wrong pairs).

Two formats, told apart by the file's extension:

* JSON Lines (``.jsonl``, ``.ndjson``, ``.json``): one object per line,
  ``{"a": "...", "b": "...", "same": true, "category": "..."}``; other keys are ignored;
* CSV (``.csv``): a header naming at least the columns ``a``, ``b`` and ``same`` (and
  optionally ``category``), then one pair per row.

``same`` is a boolean: JSON ``true``/``false``, or (in either format) ``true``/``false``,
``1``/``0``, ``yes``/``no`` in any case. Blank lines are skipped.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from ..domain.errors import ConfigurationError

__all__ = [
    "BUILTIN_PAIRS",
    "HOLDOUT_PAIRS",
    "LabelledPair",
    "builtin_pairs",
    "holdout_pairs",
    "parse_csv",
    "parse_jsonl",
    "read_pairs",
]

#: The name :func:`read_pairs` resolves to the evaluation set shipped with the library
#: (``evaluation/data/pairs.jsonl``, described in the README next to it).
BUILTIN_PAIRS = "builtin"
#: The name :func:`read_pairs` resolves to the small held-out set shipped next to it
#: (``evaluation/data/pairs-holdout.jsonl``): new sentences, written before the default hit
#: guard was tuned, to check a rule does not merely fit the main set.
HOLDOUT_PAIRS = "builtin-holdout"

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
_EXAMPLE = '{"a": "first prompt", "b": "second prompt", "same": true}'


@attrs.frozen
class LabelledPair:
    """Two prompts and whether one cached answer is right for both (``same``).

    ``category`` (optional) groups pairs in reports, e.g. ``"changed_number"``; ``line`` is
    where the pair was read, so a report can point back at it.
    """

    a: str
    b: str
    same: bool
    category: str | None = None
    line: int | None = attrs.field(default=None, eq=False)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(source: str, line: int) -> str:
    return f"{source}, line {line}"


def _boolean(value: object, source: str, line: int) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ConfigurationError(
        f"{_where(source, line)}: 'same' is {_short(value)}, not a boolean; "
        "write true or false (1/0 and yes/no are accepted too)"
    )


def _pair(
    fields: Mapping[str, Any], source: str, line: int, *, csv_row: bool = False
) -> LabelledPair:
    for name in ("a", "b", "same"):
        fix = "write true or false" if name == "same" else "write the prompt text"
        if name not in fields or (csv_row and fields[name] is None):
            # a CSV row shorter than its header reads as None: the cell is not there
            raise ConfigurationError(
                f"{_where(source, line)}: missing field {name!r}; every pair needs "
                "'a' and 'b' (the two prompts) and 'same' (true or false)"
            )
        value = fields[name]
        if value is None:
            unknown = " (leave out a pair whose label you do not know)" if name == "same" else ""
            raise ConfigurationError(
                f"{_where(source, line)}: field {name!r} is null; {fix}{unknown}"
            )
        if value == "":
            raise ConfigurationError(f"{_where(source, line)}: field {name!r} is empty; {fix}")
    texts = []
    for name in ("a", "b"):
        value = fields[name]
        if not isinstance(value, str):
            raise ConfigurationError(
                f"{_where(source, line)}: field {name!r} is a {type(value).__name__} "
                f"({_short(value)}), not a string; quote the prompt text"
            )
        texts.append(value)
    category = fields.get("category")
    if category == "":
        category = None
    if category is not None and not isinstance(category, str):
        raise ConfigurationError(
            f"{_where(source, line)}: field 'category' is a {type(category).__name__} "
            f'({_short(category)}), not a string; use a name such as "negation" or leave it out'
        )
    same = _boolean(fields["same"], source, line)
    return LabelledPair(texts[0], texts[1], same, category, line)


def _empty(source: str) -> ConfigurationError:
    return ConfigurationError(
        f"{source} holds no labelled pairs (it is empty); write one pair per line, e.g. {_EXAMPLE}"
    )


def parse_jsonl(text: str, source: str = "<jsonl>") -> list[LabelledPair]:
    """The pairs of a JSON Lines text (``source`` names it in error messages)."""
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"{_where(source, number)}: not valid JSON ({exc.msg} at column {exc.colno}); "
                f"write one JSON object per line, e.g. {_EXAMPLE}"
            ) from None
        if not isinstance(fields, dict):
            raise ConfigurationError(
                f"{_where(source, number)}: a JSON {type(fields).__name__}, not an object; "
                f"write one JSON object per line, e.g. {_EXAMPLE}"
            )
        pairs.append(_pair(fields, source, number))
    if not pairs:
        raise _empty(source)
    return pairs


def parse_csv(text: str, source: str = "<csv>") -> list[LabelledPair]:
    """The pairs of a CSV text with a header row (``source`` names it in error messages)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise ConfigurationError(f"{_where(source, 1)}: not valid CSV ({exc})") from None
    if not header:
        raise _empty(source)
    columns = [name.strip() for name in header]
    for name in ("a", "b", "same"):
        if name not in columns:
            raise ConfigurationError(
                f"{_where(source, 1)}: the header has no column {name!r}; the first line "
                "must name the columns, e.g. a,b,same (category is optional)"
            )
    reader.fieldnames = columns
    pairs = []
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                raise ConfigurationError(
                    f"{_where(source, number)}: more cells than the header has columns; "
                    "put prompt text that contains a comma in double quotes"
                )
            pairs.append(_pair(row, source, number, csv_row=True))
    except csv.Error as exc:
        raise ConfigurationError(
            f"{_where(source, reader.line_num)}: not valid CSV ({exc})"
        ) from None
    if not pairs:
        raise ConfigurationError(
            f"{source} has a header but no labelled pairs; add one pair per row after it"
        )
    return pairs


def read_pairs(source: str | os.PathLike[str]) -> list[LabelledPair]:
    """The labelled pairs in a ``.jsonl`` or ``.csv`` file, or the shipped set by name.

    ``read_pairs("builtin")`` (:data:`BUILTIN_PAIRS`) reads the evaluation set that ships
    with the library, ``read_pairs("builtin-holdout")`` (:data:`HOLDOUT_PAIRS`) its small
    held-out companion; any other value is a path.
    """
    if str(source) == BUILTIN_PAIRS:
        return builtin_pairs()
    if str(source) == HOLDOUT_PAIRS:
        return holdout_pairs()
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in _JSONL_SUFFIXES and suffix != ".csv":
        raise ConfigurationError(
            f"cannot tell the format of {path} from its extension; name the file .jsonl "
            f"(JSON Lines) or .csv (header a,b,same), or pass {BUILTIN_PAIRS!r} for the "
            "shipped set"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigurationError(
            f"{path}: no such file; check the path (or pass {BUILTIN_PAIRS!r} for the "
            "shipped evaluation set)"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot be read ({exc.strerror})") from None
    if suffix == ".csv":
        return parse_csv(text, str(path))
    return parse_jsonl(text, str(path))


def builtin_pairs() -> list[LabelledPair]:
    """The evaluation set shipped with the library (see ``evaluation/data/README.md``)."""
    package = __name__.rpartition(".")[0]
    data = resources.files(package).joinpath("data").joinpath("pairs.jsonl")
    return parse_jsonl(data.read_text(encoding="utf-8"), f"{BUILTIN_PAIRS}:pairs.jsonl")


def holdout_pairs() -> list[LabelledPair]:
    """The small held-out set shipped with the library (see ``evaluation/data/README.md``)."""
    package = __name__.rpartition(".")[0]
    data = resources.files(package).joinpath("data").joinpath("pairs-holdout.jsonl")
    return parse_jsonl(data.read_text(encoding="utf-8"), f"{HOLDOUT_PAIRS}:pairs-holdout.jsonl")
