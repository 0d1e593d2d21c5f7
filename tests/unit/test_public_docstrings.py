"""Every public name has a docstring, and every parameter of it is in its ``Args:``.

IDEs show a class's docstring as the help of its constructor, so a parameter missing
from it is undocumented where users look. Attrs value objects may list their fields under
``Attributes:`` (the Google-style section for them) instead of ``Args:``.
"""

from __future__ import annotations

import inspect
import re

import pytest

import langchain_elasticsearch_cache as package

# Documented by the helper restructuring domain/semantic (issue 16); the lead removes this
# exclusion when that branch is merged.
NAMES = sorted(package.__all__)

_SECTION = re.compile(r"^(?P<indent>[ \t]*)(Args|Arguments|Attributes):[ \t]*$", re.MULTILINE)
_HEADING = re.compile(r"^[A-Z][A-Za-z ]*:$")


def documented_parameters(doc: str) -> set[str]:
    """The names listed in the docstring's ``Args:`` / ``Attributes:`` sections: each
    entry is ``name: text`` or ``name (type): text``, one indent level in."""
    doc = inspect.cleandoc(doc)
    names: set[str] = set()
    for section in _SECTION.finditer(doc):
        entry_indent: int | None = None
        for line in doc[section.end() :].splitlines()[1:]:
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip())
            if indent <= len(section["indent"]) or _HEADING.match(line.strip()):
                break
            if entry_indent is None:
                entry_indent = indent
            if indent == entry_indent:
                match = re.match(r"\*{0,2}(\w+)\s*(\([^)]*\))?:", line.strip())
                if match:
                    names.add(match.group(1))
    return names


def parameters(obj: object) -> list[str]:
    """The named parameters a caller passes (``self``, ``*args``, ``**kwargs`` left out)."""
    try:
        signature = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"
    ]


def _is_error(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseException)


def test_the_reader_finds_entries_of_args_and_attributes_only() -> None:
    doc = """Summary.

    Args:
        first: one.
        second (int): two,
            continued: not an entry.

    Attributes:
        third: three.

    Raises:
        ValueError: not a parameter.
    """
    assert documented_parameters(doc) == {"first", "second", "third"}


@pytest.mark.parametrize("name", NAMES)
def test_public_name_has_a_docstring(name: str) -> None:
    obj = getattr(package, name)
    doc = obj.__doc__ if isinstance(obj, type) else inspect.getdoc(obj)
    assert doc and doc.strip(), f"{name} has no docstring"


# errors may have a one-line docstring; names without parameters have no Args to check
WITH_PARAMETERS = [
    n for n in NAMES if not _is_error(getattr(package, n)) and parameters(getattr(package, n))
]


@pytest.mark.parametrize("name", WITH_PARAMETERS)
def test_every_parameter_is_in_the_docstring(name: str) -> None:
    obj = getattr(package, name)
    wanted = parameters(obj)
    missing = [p for p in wanted if p not in documented_parameters(obj.__doc__ or "")]
    assert not missing, f"{name}'s docstring has no Args/Attributes entry for {missing}"
