"""Every name an invalid-index-name error suggests is itself a valid name."""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import validate_index_name
from langchain_elasticsearch_cache.domain.errors import InvalidIndexNameError

_SUGGESTED = re.compile(
    r"\((?:try|use lower case \(try) ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\)"
)

# the characters the rules are about, often, plus any text
_NAMEISH = st.text(
    alphabet=st.one_of(st.sampled_from('\\/*?"<>| ,#:-_+.AZaz09İẞΣ'), st.characters(codec="utf-8")),
    max_size=300,
)


def suggestions(name: str) -> list[str]:
    try:
        validate_index_name(name)
    except InvalidIndexNameError as exc:
        return [ast.literal_eval(found) for found in _SUGGESTED.findall(str(exc))]
    return []


@pytest.mark.parametrize(
    ("name", "suggested"),
    [("Bad*Name", "bad-name"), ("-X", "x"), ("My Cache", "my-cache"), ("*", "llm-cache")],
)
def test_named_hints(name: str, suggested: str) -> None:
    assert suggestions(name) == [suggested]


@settings(deadline=None, max_examples=600)
@given(_NAMEISH)
@example("Bad*Name")
@example("A" * 300)
@example("İ" * 200)
@example("+..X")
def test_every_suggested_name_is_valid(name: str) -> None:
    for suggested in suggestions(name):
        assert validate_index_name(suggested) == suggested


@settings(deadline=None, max_examples=300)
@given(_NAMEISH.filter(lambda name: name != name.lower() or any(c in name for c in "*?# ")))
def test_names_with_upper_case_or_forbidden_characters_get_a_suggestion(name: str) -> None:
    try:
        validate_index_name(name)
    except InvalidIndexNameError as exc:
        if "upper-case" in str(exc) or "names may not contain" in str(exc):
            assert suggestions(name), str(exc)
