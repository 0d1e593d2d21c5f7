"""Which mappings are positively a cache's (pure: no node). The real mappings the seed and
the cache create are checked against a node in tests/integration/test_foreign_index_es.py."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_elasticsearch_cache.adapters.elasticsearch import (
    EMBEDDING_PROPERTIES,
    EMBEDDING_RECORDS,
    LLM_PROPERTIES,
    LLM_RECORDS,
    SEMANTIC_PROPERTIES,
    SEMANTIC_RECORDS,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import (
    CACHE_MARKER,
    check_index_mapping,
    foreign_index_error,
    identify_mapping,
)
from langchain_elasticsearch_cache.domain.errors import ConfigurationError

TEXT = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}


@pytest.mark.parametrize(
    ("mappings", "kind"),
    [
        (LLM_RECORDS.mappings, "llm"),
        (EMBEDDING_RECORDS.mappings, "embeddings"),
        (SEMANTIC_RECORDS.mappings, "semantic"),
        ({"properties": dict(LLM_PROPERTIES)}, "llm"),  # the seed, earlier versions
        ({"properties": dict(EMBEDDING_PROPERTIES)}, "embeddings"),
        ({"properties": dict(SEMANTIC_PROPERTIES)}, "semantic"),
        # the seed's first write into an index without mapping (dynamic types)
        (
            {
                "properties": {
                    "llm_output": TEXT,
                    "timestamp": {"type": "date"},
                    "metadata": {"properties": {"team": TEXT}},
                }
            },
            "llm",
        ),
        ({"properties": {"vector_dump": TEXT, "timestamp": {"type": "date"}}}, "embeddings"),
        # a marked index may have a template's extra field
        ({**LLM_RECORDS.mappings, "properties": {"team": {"type": "keyword"}}}, "llm"),
    ],
)
def test_caches_are_identified(mappings: dict[str, Any], kind: str) -> None:
    assert identify_mapping(mappings).kind == kind


@pytest.mark.parametrize(
    "mappings",
    [
        {},
        {"dynamic": "false"},
        {"properties": {"message": TEXT, "host": TEXT, "@timestamp": {"type": "date"}}},
        {"properties": {"timestamp": {"type": "date"}, "value": {"type": "long"}}},
        {"properties": {**LLM_PROPERTIES, "owner": {"type": "keyword"}}},
        {"properties": {"llm_output": TEXT}},  # no timestamp: not every entry's fields
        {"properties": {**LLM_PROPERTIES, **EMBEDDING_PROPERTIES}},
        {"_meta": {CACHE_MARKER: {"kind": "llm", "schema": 2}}, "properties": LLM_PROPERTIES},
        {"_meta": {CACHE_MARKER: "llm"}, "properties": dict(LLM_PROPERTIES)},
        {"_meta": {CACHE_MARKER: {"kind": "other", "schema": 1}}},
    ],
)
def test_anything_else_is_not_a_cache(mappings: dict[str, Any]) -> None:
    identity = identify_mapping(mappings)
    assert identity.kind is None
    with pytest.raises(ConfigurationError, match="nothing was changed") as refused:
        if not check_index_mapping(LLM_RECORDS, "logs", mappings):
            pytest.fail("an index that is not a cache was accepted")
        raise foreign_index_error("logs", identity, kind="llm", documents=5)
    assert "'logs'" in str(refused.value) and "--kind" not in str(refused.value)


def test_the_message_says_what_was_found() -> None:
    mappings = {"properties": {"message": TEXT, "host": TEXT, "@timestamp": {"type": "date"}}}
    with pytest.raises(ConfigurationError) as refused:
        check_index_mapping(LLM_RECORDS, "logs", mappings)
    message = str(refused.value)
    assert "index 'logs' is not an LLM cache index" in message
    assert "fields @timestamp, host, message; no cache marker" in message


def test_an_unmapped_index_may_be_taken_over_only_when_empty() -> None:
    # True: the caller counts its documents (none: it is taken over; some: refused)
    assert check_index_mapping(LLM_RECORDS, "fresh", {}) is True
    assert check_index_mapping(EMBEDDING_RECORDS, "fresh", {"dynamic": "false"}) is True
    assert check_index_mapping(LLM_RECORDS, "half", {"properties": {"timestamp": {}}}) is True
    assert check_index_mapping(LLM_RECORDS, "cache", LLM_RECORDS.mappings) is False


def test_new_mappings_carry_the_marker() -> None:
    for kind in (LLM_RECORDS, EMBEDDING_RECORDS, SEMANTIC_RECORDS):
        assert kind.mappings["_meta"] == {CACHE_MARKER: {"kind": kind.name, "schema": 1}}
