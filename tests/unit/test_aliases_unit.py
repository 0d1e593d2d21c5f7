"""Which index behind an alias takes writes, and which fields it lacks (the first use of a
cache on an alias maps only those, only there)."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_elasticsearch_cache.adapters.elasticsearch.aliases import (
    alias_write_index,
    unmapped_properties,
)


def _aliases(**flags: bool | None) -> dict[str, Any]:
    """A ``GET _alias/cache`` body: index name -> its ``is_write_index`` (None: unset)."""
    return {
        index: {"aliases": {"cache": {} if flag is None else {"is_write_index": flag}}}
        for index, flag in flags.items()
    }


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"c-1": False, "c-2": True}, "c-2"),
        ({"c-1": None, "c-2": True, "c-3": None}, "c-2"),
        ({"c-1": None}, "c-1"),  # the only index takes writes unless marked not to
        ({"c-1": False}, None),
        ({"c-1": None, "c-2": None}, None),  # several, none marked: writes are refused
        ({}, None),
    ],
)
def test_the_write_index(flags: dict[str, bool | None], expected: str | None) -> None:
    assert alias_write_index(_aliases(**flags), "cache") == expected


def test_the_write_index_of_another_alias_does_not_count() -> None:
    body = {
        "c-1": {"aliases": {"other": {"is_write_index": True}, "cache": {}}},
        "c-2": {"aliases": {"cache": {"is_write_index": True}}},
    }
    assert alias_write_index(body, "cache") == "c-2"


def test_unmapped_properties_are_those_not_mapped_whatever_their_parameters() -> None:
    wanted = {"a": {"type": "text", "index": False}, "b": {"type": "date"}, "c": {"type": "object"}}
    mappings = {"properties": {"a": {"type": "text"}, "x": {"type": "keyword"}}}
    assert unmapped_properties(wanted, mappings) == {"b": {"type": "date"}, "c": {"type": "object"}}
    assert unmapped_properties(wanted, {}) == wanted
    assert unmapped_properties(wanted, {"properties": dict(wanted)}) == {}
