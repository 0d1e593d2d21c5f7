"""The semantic record kind: its mapping and how a search hit's fields are put back."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_elasticsearch_cache.adapters.elasticsearch import (
    LLM_PROPERTIES,
    LLM_RECORDS,
    SEMANTIC_PROPERTIES,
    SEMANTIC_RECORDS,
)


def test_the_vector_field_has_no_dims_and_is_fetched_through_fields() -> None:
    vector = SEMANTIC_PROPERTIES["prompt_vector"]
    assert vector["type"] == "dense_vector" and vector["similarity"] == "cosine"
    assert "dims" not in vector and vector["index"] is True
    assert SEMANTIC_RECORDS.fetched_fields == ("prompt_vector",)
    assert "prompt_vector" not in SEMANTIC_RECORDS.source_fields
    assert SEMANTIC_RECORDS.source_fields[: len(LLM_PROPERTIES)] == list(LLM_PROPERTIES)
    assert LLM_RECORDS.fetched_fields == ()


def test_source_of_puts_the_fetched_vector_back() -> None:
    hit = {"_source": {"llm_string_hash": "m"}, "fields": {"prompt_vector": [1.0, 2.0]}}
    assert SEMANTIC_RECORDS.source_of(hit) == {"llm_string_hash": "m", "prompt_vector": [1.0, 2.0]}
    assert hit["_source"] == {"llm_string_hash": "m"}  # not mutated


@pytest.mark.parametrize(
    "hit",
    [
        {"_source": {"a": 1}},
        {"_source": {"a": 1}, "fields": "nope"},
        {"_source": {"a": 1}, "fields": {"other": [1]}},
        {"_source": None, "fields": {"prompt_vector": [1.0]}},
        {"_source": ["not", "a", "mapping"], "fields": {"prompt_vector": [1.0]}},
        {},
    ],
)
def test_source_of_leaves_anything_else_to_the_document_reader(hit: dict[str, Any]) -> None:
    assert SEMANTIC_RECORDS.source_of(hit) == hit.get("_source")
    assert SEMANTIC_RECORDS.from_document("k", SEMANTIC_RECORDS.source_of(hit)) is None
